"""Shared fixtures: offline AWS settings, a network guard, and the modules under test.

The scripts of this repository are plain files (``build.py``,
``deploy_stackset.py``, ``test/test.py``), not a package; ``test/test.py``
cannot even be imported by name because the standard library owns ``test``.
They are loaded from their paths instead.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import socket
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "endpoint-config-template.yml"
TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # helper modules next to the tests


def load_module(name: str, path: Path) -> ModuleType:
    """Import the file at ``path`` as module ``name`` (cached in sys.modules)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch, tmp_path):
    """Fake credentials and region; never read the developer's AWS config."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # The scripts read these as defaults; a developer's shell must not leak in.
    for var in (
        "MODEL_PACKAGE_GROUP_NAME", "SAGEMAKER_PROJECT_NAME", "SAGEMAKER_PROJECT_ID",
        "MODEL_EXECUTION_ROLE_NAME", "MODEL_EXECUTION_ROLE_NAME_STAGING", "MODEL_EXECUTION_ROLE_NAME_PROD",
        "KMS_KEY_ARN", "KMS_KEY_ARN_STAGING", "KMS_KEY_ARN_PROD", "STACK_SET_NAME", "ORGANIZATIONAL_UNIT_IDS",
        "TEMPLATE_CONFIGURATION", "EXPORT_TEMPLATE_NAME", "CALL_AS", "TARGET_ACCOUNT_IDS", "TEST_ROLE_NAME",
        "STAGE_CONFIG", "DEPLOY_TIMEOUT_SECONDS", "PROMOTION_MODE", "STAGE", "LIFECYCLE_STAGE", "DEPLOYED_TO",
        "PIPELINE_NAME", "PIPELINE_EXECUTION_ID", "CODEBUILD_BUILD_ARN",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail any test that opens a connection to anything but loopback.

    moto's decorators work in-process, so nothing legitimate needs a socket;
    a real AWS call would be a bug in a test (or a stub that was bypassed).
    """
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        try:
            if ipaddress.ip_address(host).is_loopback:
                return real_connect(self, address)
        except ValueError:
            if host == "localhost":
                return real_connect(self, address)
        raise RuntimeError(f"test tried to open a network connection to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture(scope="session")
def build():
    return load_module("modeldeploy_build", REPO / "build.py")


@pytest.fixture(scope="session")
def deploy_stackset():
    return load_module("modeldeploy_deploy_stackset", REPO / "deploy_stackset.py")


@pytest.fixture(scope="session")
def record_stage():
    return load_module("modeldeploy_record_stage", REPO / "record_stage.py")


@pytest.fixture(scope="session")
def endpoint_test():
    return load_module("modeldeploy_endpoint_test", REPO / "test" / "test.py")


@pytest.fixture(scope="session")
def template(build):
    """The endpoint template as plain data (short-form tags expanded)."""
    return build.load_template(TEMPLATE)
