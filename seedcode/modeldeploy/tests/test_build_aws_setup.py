"""build.py without AWS credentials or a region: one line, exit status 1, no traceback, no files."""

from __future__ import annotations

import os
import subprocess
import sys

import boto3
import pytest
from aws_validation import strict_stubber
from conftest import REPO

ARGS = ["--model-package-group-name", "churn-p-abc123", "--sagemaker-project-name", "churn",
        "--sagemaker-project-id", "p-abc123", "--execution-role-name", "sagemaker-role-stg",
        "--config-dir", str(REPO)]

NO_CREDENTIALS = ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, "
                  "or run where a role provides them (CodeBuild)")
NO_REGION = "no AWS region configured: pass --region or set AWS_DEFAULT_REGION or AWS_REGION"
PARTIAL = "incomplete AWS credentials: Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY"
EXPIRED = "the AWS credentials have expired: refresh them (aws sso login, or new temporary credentials)"


@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    """No credentials and no region anywhere botocore looks; never the instance metadata service."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                 "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "BOTO_CONFIG"):
        empty = tmp_path / name.lower()
        empty.write_text("")
        monkeypatch.setenv(name, str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # boto3.client() uses a default session that keeps the credentials an earlier test resolved.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


def errors(caplog):
    return [(r.levelname, r.getMessage()) for r in caplog.records if r.levelname == "ERROR"]


def run_main(build, tmp_path, *extra):
    out = tmp_path / "out"
    code = build.main([*ARGS, "--output-dir", str(out), *extra], env=os.environ)
    assert not out.exists()  # nothing written
    return code


def test_no_region(build, no_aws, tmp_path, caplog):
    assert run_main(build, tmp_path) == 1
    assert errors(caplog) == [("ERROR", NO_REGION)]


def test_no_credentials(build, no_aws, tmp_path, caplog):
    assert run_main(build, tmp_path, "--region", "us-east-1") == 1
    assert errors(caplog) == [("ERROR", NO_CREDENTIALS)]


def test_partial_credentials(build, no_aws, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert run_main(build, tmp_path) == 1
    assert errors(caplog) == [("ERROR", PARTIAL)]


def test_aws_region_is_used_when_boto3_finds_none(build, no_aws, monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert run_main(build, tmp_path) == 1
    assert errors(caplog) == [("ERROR", NO_CREDENTIALS)]  # got past the region


def test_expired_token(build, tmp_path, caplog):
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client) as stub:
        stub.add_client_error("list_model_packages", service_error_code="ExpiredTokenException",
                              service_message="The security token included in the request is expired")
        code = build.main([*ARGS, "--output-dir", str(tmp_path / "out")], sm_client=client, env={})
    assert code == 1
    assert errors(caplog) == [("ERROR", EXPIRED)]
    assert not (tmp_path / "out").exists()


def test_command_prints_one_line_without_traceback(no_aws, tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "build.py"), *ARGS, "--output-dir", str(tmp_path / "out")],
                            capture_output=True, text=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
                            timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"ERROR build: {NO_REGION}\n")
