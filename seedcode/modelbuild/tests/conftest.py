"""Test set-up: no AWS account, no network.

* Fake AWS credentials and region; no AWS config/credentials files or instance metadata.
* An empty SageMaker SDK defaults config, so no user or admin config (local or in S3) is read.
* Any socket connection to a non-loopback address fails the test that makes it.
* ``built_in_moto`` builds something once inside moto and returns it with the objects written
  to S3, for module-scoped fixtures (building the definition takes seconds).
* The ``aws`` fixture runs a test inside moto (an in-memory AWS) with the SDK's usage
  telemetry switched off, the same set-up as ``get-pipeline-definition --offline``.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import sys
import tempfile

import pytest

# Keep the repository free of __pycache__ folders (it is zipped as the project's seed code).
sys.dont_write_bytecode = True

_TMP = tempfile.mkdtemp(prefix="modelbuild-tests-")
_EMPTY_SDK_CONFIG = os.path.join(_TMP, "sagemaker-config.yaml")

ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.path.join(_TMP, "aws-config"),
    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(_TMP, "aws-credentials"),
    "AWS_EC2_METADATA_DISABLED": "true",
    "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": _EMPTY_SDK_CONFIG,
    "SAGEMAKER_USER_CONFIG_OVERRIDE": _EMPTY_SDK_CONFIG,
    # As the buildspec: no client-side IAM checks of the roles (moto has no SimulatePrincipalPolicy).
    "SAGEMAKER_VALIDATE_ROLE": "false",
}


def pytest_configure(config):
    # Before any test module imports sagemaker or boto3.
    open(_EMPTY_SDK_CONFIG, "w").close()
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE",
                 "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        os.environ.pop(name, None)
    os.environ.update(ENV)


def pytest_unconfigure(config):
    shutil.rmtree(_TMP, ignore_errors=True)


def _is_local(address) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX path
        return True
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def no_network():
    """Fail on any connection that would leave the machine (for the whole session, so that
    module-scoped builds are guarded too)."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address):
        if not _is_local(address):
            raise AssertionError(f"test tried to open a network connection to {address!r}")

    def connect(self, address):
        guard(address)
        return real_connect(self, address)

    def connect_ex(self, address):
        guard(address)
        return real_connect_ex(self, address)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield


@pytest.fixture
def aws():
    """An in-memory AWS (moto) with SDK telemetry off; yields nothing."""
    from pipelines.get_pipeline_definition import offline_aws

    with offline_aws():
        yield


@pytest.fixture(scope="session")
def repo_root() -> str:
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="session")
def built_in_moto():
    """``built_in_moto(build, bucket)`` -> ``(build(), {key: bytes})``: ``build`` run inside moto,
    and what it left in ``bucket``."""
    import boto3

    from pipelines.get_pipeline_definition import offline_aws

    def run(build, bucket: str):
        with offline_aws():
            result = build()
            s3 = boto3.client("s3", region_name=ENV["AWS_REGION"])
            listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
            objects = {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}
        return result, objects

    return run
