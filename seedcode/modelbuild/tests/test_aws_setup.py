"""Missing or expired AWS credentials, or no region: one line on stderr, exit status 2, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from botocore.exceptions import ClientError

from pipelines import _utils, get_pipeline_definition, run_pipeline

ROLE = "arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole"
KWARGS = {"region": "us-east-1", "role": ROLE, "default_bucket": "sagemaker-project-p-abc123",
          "kms_key": "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"}

NO_CREDENTIALS = ("error: no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, "
                  "or run where a role provides them (CodeBuild, SageMaker Studio)\n")
NO_REGION = 'error: no AWS region configured: set AWS_DEFAULT_REGION or AWS_REGION, or pass "region" in --kwargs\n'
PARTIAL = "error: incomplete AWS credentials: Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY\n"
EXPIRED = "error: the AWS credentials have expired: refresh them (aws sso login, or new temporary credentials)\n"


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


@pytest.fixture
def region(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def definition(*args):
    return get_pipeline_definition.main(list(args))


def run(kwargs):
    return run_pipeline.main(["--role-arn", ROLE, "--pipeline-name", "p", "--kwargs", json.dumps(kwargs)])


def test_get_pipeline_definition_without_credentials(no_aws, capsys):
    assert definition("--kwargs", json.dumps(KWARGS)) == 2
    assert capsys.readouterr().err == NO_CREDENTIALS


def test_get_pipeline_definition_with_partial_credentials(no_aws, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    assert definition("--kwargs", json.dumps(KWARGS)) == 2
    assert capsys.readouterr().err == PARTIAL


def test_get_pipeline_definition_without_region(no_aws, capsys):
    kwargs = {k: v for k, v in KWARGS.items() if k != "region"}
    assert definition("--offline", "--kwargs", json.dumps(kwargs)) == 2
    assert capsys.readouterr().err == NO_REGION


def test_null_region_is_missing_too(no_aws, capsys):
    assert definition("--offline", "--kwargs", json.dumps(dict(KWARGS, region=None))) == 2
    assert capsys.readouterr().err == NO_REGION


def test_run_pipeline_without_credentials(no_aws, capsys, caplog):
    assert run(KWARGS) == 2
    assert capsys.readouterr().err == NO_CREDENTIALS
    assert "Traceback" not in caplog.text and not caplog.records


def test_run_pipeline_without_region(no_aws, capsys, caplog):
    assert run({k: v for k, v in KWARGS.items() if k != "region"}) == 2
    assert capsys.readouterr().err == NO_REGION
    assert not caplog.records


def test_run_pipeline_with_an_expired_token(monkeypatch, capsys, caplog):
    class Pipeline:
        def definition(self):
            return "{}"

        def upsert(self, **_):
            raise ClientError({"Error": {"Code": "ExpiredTokenException",
                                         "Message": "The security token included in the request is expired"}},
                              "CreatePipeline")

    monkeypatch.setattr(run_pipeline, "get_pipeline_driver", lambda module, kwargs: Pipeline())
    assert run(KWARGS) == 2
    assert capsys.readouterr().err == EXPIRED
    assert not caplog.records


def test_other_client_errors_still_fail_the_run(monkeypatch, capsys):
    def driver(module, kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "CreatePipeline")

    monkeypatch.setattr(run_pipeline, "get_pipeline_driver", driver)
    assert run(KWARGS) == 1
    assert "AccessDeniedException" in capsys.readouterr().err


@pytest.mark.parametrize("env, expected", [
    ({"AWS_DEFAULT_REGION": "us-west-2", "AWS_REGION": "eu-west-1"}, "us-west-2"),
    ({"AWS_REGION": "eu-west-1"}, "eu-west-1"),
    ({}, None),
])
def test_default_region_reads_what_boto3_reads_then_aws_region(no_aws, monkeypatch, env, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _utils.default_region() == expected


@pytest.mark.parametrize("module", ["pipelines.run_pipeline", "pipelines.get_pipeline_definition"])
def test_commands_print_one_line_and_no_traceback(module, no_aws, region, repo_root):
    args = ["--kwargs", json.dumps(KWARGS)]
    if module == "pipelines.run_pipeline":
        args += ["--role-arn", ROLE]
    result = subprocess.run([sys.executable, "-m", module, *args], cwd=repo_root, capture_output=True, text=True,
                            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), timeout=300)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] + "\n" == NO_CREDENTIALS
