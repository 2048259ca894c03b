"""The command line tools: ``run-pipeline`` (CodeBuild) and ``get-pipeline-definition``."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import boto3
import pytest
from botocore.exceptions import WaiterError

from pipelines import _utils, get_pipeline_definition, run_pipeline

REGION = "us-east-1"
ROLE = "arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole"
BUCKET = "sagemaker-project-p-abc123"
TAGS = [{"Key": "sagemaker:project-name", "Value": "my-project"},
        {"Key": "sagemaker:project-id", "Value": "p-abc123"}]
KWARGS = {"region": REGION, "default_bucket": BUCKET, "model_package_group_name": "my-project-p-abc123",
          "base_job_prefix": "my-project-p-abc123"}


# -- get-pipeline-definition ---------------------------------------------------------------

def test_get_pipeline_definition_offline_writes_json(tmp_path, monkeypatch):
    output = tmp_path / "definition.json"
    kwargs = dict(KWARGS, role=ROLE)
    code = get_pipeline_definition.main(["--offline", "--kwargs", json.dumps(kwargs), "--file-name", str(output)])
    assert code == 0
    definition = json.loads(output.read_text())
    assert [s["Name"] for s in definition["Steps"]] == [
        "PreprocessData", "TrainModel", "EvaluateModel", "CheckMseEvaluation"]


def test_get_pipeline_definition_command_prints_only_json(repo_root):
    kwargs = dict(KWARGS, role=ROLE)
    result = subprocess.run(
        [sys.executable, "-m", "pipelines.get_pipeline_definition", "--offline", "--kwargs", json.dumps(kwargs)],
        cwd=repo_root, capture_output=True, text=True, env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    assert result.returncode == 0, result.stderr
    definition = json.loads(result.stdout)  # SDK log lines must go to stderr
    assert definition["Parameters"][0]["Name"] == "ProcessingInstanceType"


def test_get_pipeline_definition_rejects_bad_kwargs(capsys):
    assert get_pipeline_definition.main(["--kwargs", "[1, 2]"]) == 2
    assert "--kwargs must be a JSON dict" in capsys.readouterr().err


# -- run-pipeline against moto ---------------------------------------------------------------

def run(*extra) -> int:
    return run_pipeline.main(["--role-arn", ROLE, "--pipeline-name", "my-project-p-abc123",
                              "--tags", json.dumps(TAGS), "--kwargs", json.dumps(KWARGS), *extra])


def test_run_pipeline_creates_tags_and_starts_the_pipeline(aws, capsys):
    assert run() == 0
    sm = boto3.client("sagemaker", region_name=REGION)
    described = sm.describe_pipeline(PipelineName="my-project-p-abc123")
    assert described["RoleArn"] == ROLE
    definition = json.loads(described["PipelineDefinition"])
    assert definition["Steps"][0]["Name"] == "PreprocessData"
    tags = sm.list_tags(ResourceArn=described["PipelineArn"])["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {t["Key"]: t["Value"] for t in TAGS}
    executions = sm.list_pipeline_executions(PipelineName="my-project-p-abc123")["PipelineExecutionSummaries"]
    assert len(executions) == 1
    assert "### Started execution" in capsys.readouterr().out


def test_run_pipeline_updates_an_existing_pipeline(aws):
    assert run() == 0
    assert run("--description", "second push") == 0
    sm = boto3.client("sagemaker", region_name=REGION)
    assert sm.describe_pipeline(PipelineName="my-project-p-abc123")["PipelineDescription"] == "second push"
    executions = sm.list_pipeline_executions(PipelineName="my-project-p-abc123")["PipelineExecutionSummaries"]
    assert len(executions) == 2


@pytest.mark.parametrize("args, message", [
    (["--tags", "not json"], "--tags is not valid JSON"),
    (["--tags", '[{"Key": "a"}]'], "--tags entries must be"),
    (["--kwargs", '"region"'], "--kwargs must be a JSON dict"),
])
def test_run_pipeline_rejects_bad_arguments(args, message, capsys):
    assert run_pipeline.main(["--role-arn", ROLE, *args]) == 2
    assert message in capsys.readouterr().err


def test_run_pipeline_reports_failure_to_build_the_pipeline(aws, capsys):
    kwargs = dict(KWARGS, model_package_group_name="not_valid!")
    assert run_pipeline.main(["--role-arn", ROLE, "--kwargs", json.dumps(kwargs)]) == 1
    assert "ValueError" in capsys.readouterr().err


# -- run-pipeline --wait, with a stand-in pipeline (moto does not run executions) -------------

class FakeExecution:
    arn = "arn:aws:sagemaker:us-east-1:111111111111:pipeline/p/execution/e1"

    def __init__(self, status, steps):
        self.status, self.steps, self.waited = status, steps, None

    def wait(self, delay, max_attempts):
        self.waited = (delay, max_attempts)
        if self.status != "Succeeded":
            raise WaiterError(name="PipelineExecutionComplete", reason="failed", last_response={})

    def describe(self):
        return {"PipelineExecutionStatus": self.status}

    def list_steps(self):
        return self.steps


class FakePipeline:
    def __init__(self, execution):
        self.execution, self.upserted = execution, None

    def definition(self):
        return json.dumps({"Steps": []})

    def upsert(self, role_arn, description=None, tags=None):
        self.upserted = {"role_arn": role_arn, "description": description, "tags": tags}
        return {"PipelineArn": "arn:aws:sagemaker:us-east-1:111111111111:pipeline/p"}

    def start(self):
        return self.execution


@pytest.fixture
def fake_driver(monkeypatch):
    calls = {}

    def install(execution):
        pipeline = FakePipeline(execution)

        def driver(module_name, kwargs):
            calls.update(module_name=module_name, kwargs=kwargs)
            return pipeline

        monkeypatch.setattr(run_pipeline, "get_pipeline_driver", driver)
        return pipeline, calls

    return install


def test_wait_succeeds(fake_driver, capsys):
    execution = FakeExecution("Succeeded", [{"StepName": "TrainModel", "StepStatus": "Succeeded"}])
    pipeline, calls = fake_driver(execution)
    code = run_pipeline.main(["--role-arn", ROLE, "--pipeline-name", "p", "--kwargs", '{"region": "us-east-1"}',
                              "--wait", "--max-wait-minutes", "30", "--poll-seconds", "60"])
    assert code == 0
    assert execution.waited == (60, 30)
    assert calls == {"module_name": "pipelines.regression.pipeline",
                     "kwargs": {"region": "us-east-1", "role": ROLE, "pipeline_name": "p"}}
    assert pipeline.upserted == {"role_arn": ROLE, "description": None, "tags": None}
    assert "TrainModel: Succeeded" in capsys.readouterr().out


def test_wait_fails_when_the_execution_fails(fake_driver, capsys):
    execution = FakeExecution("Failed", [
        {"StepName": "MseThresholdExceeded", "StepStatus": "Failed", "FailureReason": "MSE too high"}])
    fake_driver(execution)
    assert run_pipeline.main(["--role-arn", ROLE, "--wait"]) == 1
    out = capsys.readouterr().out
    assert "Execution status: Failed" in out
    assert "MseThresholdExceeded: Failed (MSE too high)" in out


def test_project_tags_are_copied_and_explicit_tags_win(fake_driver):
    execution = FakeExecution("Succeeded", [])
    pipeline, _ = fake_driver(execution)

    class Client:
        def list_tags(self, ResourceArn, NextToken=None):
            if NextToken is None:
                return {"Tags": [{"Key": "team", "Value": "risk"},
                                 {"Key": "aws:cloudformation:stack-name", "Value": "SC-1"}], "NextToken": "t"}
            return {"Tags": [{"Key": "sagemaker:project-name", "Value": "old"}]}

    pipeline.sagemaker_session = type("Session", (), {"sagemaker_client": Client()})()
    assert run_pipeline.main(["--role-arn", ROLE, "--tags", json.dumps(TAGS),
                              "--project-arn", "arn:aws:sagemaker:us-east-1:111111111111:project/my-project"]) == 0
    assert pipeline.upserted["tags"] == [
        {"Key": "team", "Value": "risk"},
        {"Key": "sagemaker:project-name", "Value": "my-project"},
        {"Key": "sagemaker:project-id", "Value": "p-abc123"},
    ]


def test_merge_tags_last_value_wins():
    assert _utils.merge_tags([{"Key": "a", "Value": "1"}], None, [{"Key": "a", "Value": "2"}]) == [
        {"Key": "a", "Value": "2"}]
