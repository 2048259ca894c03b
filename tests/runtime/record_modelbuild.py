"""Record the AWS calls of the model-build seed's CodeBuild run, offline (moto).

Run it with the seed's own virtual environment (its pinned SageMaker SDK), from the catalog root::

    .venv-seed-modelbuild/bin/python tests/runtime/record_modelbuild.py --seed-dir seedcode/modelbuild \\
        [--env NAME=VALUE ...]

It takes the arguments of ``run-pipeline`` from the seed's ``codebuild-buildspec.yml`` itself: the
build phase's commands run in bash with the CodeBuild environment below and a stand-in
``run-pipeline`` that only notes its arguments. Then, with the buildspec's ``env.variables`` set as
CodeBuild sets them, inside moto (``mock_aws``, fake credentials,
the account and region below) with the artifact bucket created, it calls
``pipelines.run_pipeline.main(<those arguments>)`` without ``--wait`` and records every botocore
API call (``botocore.client.BaseClient._make_api_call``; bucket creation before the run is not
recorded; moto has no SageMaker projects, so ListTags on the project ARN is answered with the
project's ``sagemaker:project-name``/``-id`` tags). Stdout gets one JSON document, keys sorted::

    {"argv": [...run-pipeline arguments...],
     "env": {...the CodeBuild environment used...},
     "calls": [{"service": "s3", "operation": "PutObject", "params": {...}}, ...],
     "pipeline_definition": {...}}

``params`` are the API parameters as the caller passed them, with bodies (``Body``, bytes, streams)
replaced by ``"<bytes>"``; ``pipeline_definition`` is the (parsed) definition passed to the last
CreatePipeline/UpdatePipeline. Everything the run prints or logs goes to stderr. The exit status
is 0 when ``run-pipeline`` returned 0, else 1.

The environment: ``DEFAULT_ENV`` below (the values the model-build template gives CodeBuild for
project ``churn``, ``p-abcdef123456`` in account 111111111111, us-east-1); a variable of the same
name in this process's environment replaces the default, and ``--env NAME=VALUE`` replaces both.
``AWS_ACCOUNT_ID`` is the account moto runs as (STS GetCallerIdentity; the SDK sets
``ExpectedBucketOwner`` from it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import json
import logging
import os
import socket
import stat
import subprocess
import sys
import tempfile
from typing import Any

PROJECT_NAME = "churn"
PROJECT_ID = "p-abcdef123456"
ACCOUNT = "111111111111"
REGION = "us-east-1"

DEFAULT_ENV = {
    "SAGEMAKER_PROJECT_NAME": PROJECT_NAME,
    "SAGEMAKER_PROJECT_ID": PROJECT_ID,
    "SAGEMAKER_PROJECT_ARN": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:project/{PROJECT_NAME}",
    # products/model_build.py: project_name() = sagemaker-<project name>-<project id>
    "SAGEMAKER_PIPELINE_NAME": f"sagemaker-{PROJECT_NAME}-{PROJECT_ID}",
    "SAGEMAKER_PIPELINE_ROLE_ARN": (
        f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole"
    ),
    # products/model_build.py: bucket_name("sagemaker-${SageMakerProjectId}") ->
    # generator/blocks/storage.py bucket_name: <parts>-${AWS::AccountId}-${AWS::Region}
    "ARTIFACT_BUCKET": f"sagemaker-{PROJECT_ID}-{ACCOUNT}-{REGION}",
    "ARTIFACT_KEY_ARN": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{ACCOUNT}-build-artifactkey",
    "MODEL_PACKAGE_GROUP_NAME": f"{PROJECT_NAME}-{PROJECT_ID}",
    "AWS_REGION": REGION,
    "AWS_ACCOUNT_ID": ACCOUNT,
}
BODY = "<bytes>"
UPSERTS = ("CreatePipeline", "UpdatePipeline")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed-dir", required=True, help="the model-build seed repository (seedcode/modelbuild)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a CodeBuild environment value (repeatable)",
    )
    return parser.parse_args(argv)


def build_env(overrides: list[str]) -> dict[str, str]:
    env = {name: os.environ.get(name) or value for name, value in DEFAULT_ENV.items()}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise SystemExit(f"--env expects NAME=VALUE, got {item!r}")
        env[name] = value
    return env


def read_buildspec(seed_dir: str) -> dict[str, Any]:
    import yaml  # the SDK's dependency; in the seed venv

    with open(os.path.join(seed_dir, "codebuild-buildspec.yml")) as f:
        return yaml.safe_load(f)


def buildspec_variables(buildspec: dict[str, Any]) -> dict[str, str]:
    """The buildspec's ``env.variables``: CodeBuild sets them for every command of the build."""
    return {k: str(v) for k, v in (buildspec.get("env", {}).get("variables") or {}).items()}


def buildspec_argv(seed_dir: str, env: dict[str, str]) -> list[str]:
    """The arguments the buildspec's build phase passes to ``run-pipeline``, minus ``--wait``."""
    buildspec = read_buildspec(seed_dir)
    script = "\n".join(buildspec["phases"]["build"]["commands"])
    with tempfile.TemporaryDirectory() as tmp:
        bin_dir = os.path.join(tmp, "bin")
        os.mkdir(bin_dir)
        record = os.path.join(tmp, "argv.json")
        fake = os.path.join(bin_dir, "run-pipeline")
        with open(fake, "w") as f:
            f.write(f"#!{sys.executable}\nimport json, sys\njson.dump(sys.argv[1:], open({record!r}, 'w'))\n")
        os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
        os.symlink(sys.executable, os.path.join(bin_dir, "python"))
        variables = buildspec_variables(buildspec)
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=seed_dir,
            capture_output=True,
            text=True,
            check=False,
            env={**variables, **env, "PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        )
        sys.stderr.write(done.stdout + done.stderr)
        if done.returncode != 0 or not os.path.exists(record):
            raise SystemExit(f"the buildspec's build phase failed (exit {done.returncode}) before run-pipeline")
        with open(record) as f:
            argv = json.load(f)
    return [a for a in argv if a != "--wait"]


def _plain(value: Any) -> Any:
    """API parameters as JSON: bodies replaced by "<bytes>"."""
    if isinstance(value, dict):
        return {str(k): (BODY if k == "Body" else _plain(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview) or hasattr(value, "read"):
        return BODY
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


@contextlib.contextmanager
def no_network():
    """Any connection that would leave the machine fails (moto answers every AWS call in-process)."""
    real_connect = socket.socket.connect

    def connect(sock, address):
        if isinstance(address, tuple) and address[0] != "localhost":
            try:
                local = ipaddress.ip_address(address[0]).is_loopback
            except ValueError:
                local = False
            if not local:
                raise OSError(f"record_modelbuild.py: no network; tried to connect to {address!r}")
        return real_connect(sock, address)

    socket.socket.connect = connect
    try:
        yield
    finally:
        socket.socket.connect = real_connect


@contextlib.contextmanager
def recording(calls: list[dict[str, Any]], project_tags: tuple[str, str]):
    import botocore.client

    original = botocore.client.BaseClient._make_api_call

    def record(client, operation_name, api_params):
        service = client.meta.service_model.service_name
        calls.append({"service": service, "operation": operation_name, "params": _plain(api_params)})
        if service == "sagemaker" and operation_name == "ListTags" and ":project/" in api_params["ResourceArn"]:
            # moto has no SageMaker projects (its ListTags fails on a project ARN): answer with the
            # tags SageMaker puts on a project.
            return {
                "Tags": [
                    {"Key": "sagemaker:project-name", "Value": project_tags[0]},
                    {"Key": "sagemaker:project-id", "Value": project_tags[1]},
                ]
            }
        return original(client, operation_name, api_params)

    botocore.client.BaseClient._make_api_call = record
    try:
        yield
    finally:
        botocore.client.BaseClient._make_api_call = original


def offline_environment(env: dict[str, str], tmp: str) -> dict[str, str]:
    config = os.path.join(tmp, "sagemaker-config.yaml")  # empty: no user/admin SDK defaults (or S3 reads)
    open(config, "w").close()
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": env["AWS_REGION"],
        "AWS_REGION": env["AWS_REGION"],
        "AWS_CONFIG_FILE": os.path.join(tmp, "aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "aws-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "MOTO_ACCOUNT_ID": env["AWS_ACCOUNT_ID"],
        "SAGEMAKER_ADMIN_CONFIG_OVERRIDE": config,
        "SAGEMAKER_USER_CONFIG_OVERRIDE": config,
    }


def pipeline_definition(calls: list[dict[str, Any]]) -> Any:
    """The definition of the last CreatePipeline/UpdatePipeline (inline, or read back from S3)."""
    upserts = [c for c in calls if c["service"] == "sagemaker" and c["operation"] in UPSERTS]
    if not upserts:
        return None
    params = upserts[-1]["params"]
    if "PipelineDefinition" in params:
        return json.loads(params["PipelineDefinition"])
    location = params["PipelineDefinitionS3Location"]
    import boto3

    body = boto3.client("s3").get_object(Bucket=location["Bucket"], Key=location["ObjectKey"])["Body"].read()
    return json.loads(body)


def record_run(seed_dir: str, env: dict[str, str]) -> dict[str, Any]:
    seed_dir = os.path.abspath(seed_dir)
    argv = buildspec_argv(seed_dir, env)
    sys.dont_write_bytecode = True  # the seed folder is zipped as the project's seed code
    sys.path.insert(0, seed_dir)
    calls: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        # As in CodeBuild: the buildspec's env.variables hold for run-pipeline too.
        os.environ.update({**buildspec_variables(read_buildspec(seed_dir)), **offline_environment(env, tmp)})
        for name in (
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_ROLE_ARN",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ):
            os.environ.pop(name, None)
        import boto3
        from moto import mock_aws

        try:
            from pipelines._utils import configure_logging  # what run-pipeline's cli() does first
        except ImportError:  # pragma: no cover - a seed without it
            configure_logging = None
        if configure_logging:
            configure_logging(logging.INFO)
        from pipelines import run_pipeline

        with no_network(), mock_aws(), _no_telemetry():
            boto3.client("s3", region_name=env["AWS_REGION"]).create_bucket(Bucket=env["ARTIFACT_BUCKET"])
            with recording(calls, (env["SAGEMAKER_PROJECT_NAME"], env["SAGEMAKER_PROJECT_ID"])):
                code = run_pipeline.main(argv)
            definition = pipeline_definition(calls)
    return {"argv": argv, "env": env, "calls": calls, "pipeline_definition": definition, "_exit": code}


@contextlib.contextmanager
def _no_telemetry():
    """The SDK's usage telemetry would make an HTTPS request (from a thread) when steps are built."""
    try:
        from sagemaker.core.telemetry import telemetry_logging  # SDK v3
    except ImportError:  # pragma: no cover - SDK v2, or versions without telemetry
        try:
            from sagemaker.telemetry import telemetry_logging
        except ImportError:
            yield
            return
    original = getattr(telemetry_logging, "_send_telemetry_request", None)
    if original is None:  # pragma: no cover
        yield
        return
    telemetry_logging._send_telemetry_request = lambda *a, **k: None
    try:
        yield
    finally:
        telemetry_logging._send_telemetry_request = original


def main(argv=None) -> int:
    args = parse_args(argv)
    env = build_env(args.env)
    stdout = sys.stdout
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.redirect_stdout(sys.stderr):  # run-pipeline's prints and the SDK's stdout logs
        result = record_run(args.seed_dir, env)
    code = result.pop("_exit")
    text = io.StringIO()
    json.dump(result, text, indent=1, sort_keys=True)
    stdout.write(text.getvalue() + "\n")
    stdout.flush()
    if code != 0:
        print(f"record_modelbuild.py: run-pipeline exited {code}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
