"""Everything the pipeline writes is encrypted with the project's KMS key; the model carries its code.

The project's key (``ARTIFACT_KEY_ARN`` in CodeBuild, ``kms_key`` of ``get_pipeline()``) is the
one other accounts (the model registry hub, the deployment accounts) are allowed to use. An object
encrypted with the account's AWS managed ``aws/s3`` key cannot be read from another account, and
that is what S3 and SageMaker use when no key id is given:

* S3 PutObject with ``ServerSideEncryption: aws:kms`` and no ``SSEKMSKeyId``;
* a training job without ``OutputDataConfig.KmsKeyId``, a processing job without
  ``ProcessingOutputConfig.KmsKeyId``.

The endpoint runs the model with network isolation, so the inference code must be inside
``model.tar.gz`` (train.py copies itself to ``code/`` of the model directory), not at an S3 URI
read when the container starts.
"""

from __future__ import annotations

import json
import logging

import botocore.client
import pytest

from pipelines import run_pipeline
from pipelines.regression.pipeline import MODEL_CODE_DIR, TRAINING_SCRIPT, get_pipeline

REGION = "us-east-1"
ROLE = "arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole"
BUCKET = "sagemaker-p-abc123-111111111111-us-east-1"
NAME = "sagemaker-my-project-p-abc123"
KEY = "arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555"
KWARGS = {"region": REGION, "role": ROLE, "default_bucket": BUCKET, "kms_key": KEY,
          "model_package_group_name": "my-project-p-abc123", "pipeline_name": NAME, "base_job_prefix": NAME}
UPLOADS = {"PutObject", "CreateMultipartUpload", "CopyObject"}


@pytest.fixture
def api_calls(monkeypatch):
    """Every AWS API call made through botocore: (service, operation, params), in order."""
    calls = []
    real = botocore.client.BaseClient._make_api_call

    def record(self, operation_name, api_params):
        calls.append((self.meta.service_model.service_name, operation_name, dict(api_params)))
        return real(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", record)
    return calls


def all_steps(definition: dict) -> list:
    found = []

    def visit(steps):
        for step in steps:
            found.append(step)
            if step["Type"] == "Condition":
                visit(step["Arguments"]["IfSteps"])
                visit(step["Arguments"]["ElseSteps"])

    visit(definition["Steps"])
    return found


@pytest.fixture(scope="module")
def definition(built_in_moto) -> dict:
    return built_in_moto(lambda: json.loads(get_pipeline(**KWARGS).definition()), BUCKET)[0]


def test_every_processing_and_training_output_is_encrypted_with_the_key(definition):
    jobs = {s["Name"]: s for s in all_steps(definition) if s["Type"] in ("Processing", "Training")}
    assert sorted(jobs) == sorted(["PreprocessData", "TrainModel", "EvaluateModel"])
    for name, step in jobs.items():
        arguments = step["Arguments"]
        if step["Type"] == "Processing":
            assert arguments["ProcessingOutputConfig"].get("KmsKeyId") == KEY, name
            for output in arguments["ProcessingOutputConfig"]["Outputs"]:
                # s3://<bucket>/<pipeline>/<execution id>/<step>/output/<name>, a Join
                assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"][:2] == ["s3:/", BUCKET], (name, output)
        else:
            assert arguments["OutputDataConfig"].get("KmsKeyId") == KEY, name
            assert arguments["OutputDataConfig"]["S3OutputPath"].startswith(f"s3://{BUCKET}/"), name
            # Debugger/profiler outputs have no KMS key field: they stay off.
            assert "DebugHookConfig" not in arguments, name
            assert arguments.get("ProfilerConfig", {"DisableProfiler": True})["DisableProfiler"] is True, name


def test_the_registered_model_is_the_training_output_written_with_the_key(definition):
    steps = {s["Name"]: s for s in all_steps(definition)}
    [container] = steps["RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    assert steps["TrainModel"]["Arguments"]["OutputDataConfig"] == {
        "S3OutputPath": f"s3://{BUCKET}/{NAME}/model", "KmsKeyId": KEY, "CompressionType": "GZIP"}


def test_registered_model_runs_its_code_from_inside_the_model(definition):
    """SAGEMAKER_SUBMIT_DIRECTORY is the model's own code/ directory (tests/test_scripts.py checks
    that train.py puts itself there and that the container would find model_fn)."""
    steps = {s["Name"]: s for s in all_steps(definition)}
    [container] = steps["RegisterModel"]["Arguments"]["InferenceSpecification"]["Containers"]
    environment = container["Environment"]
    assert environment["SAGEMAKER_SUBMIT_DIRECTORY"] == MODEL_CODE_DIR == "/opt/ml/model/code"
    assert environment["SAGEMAKER_PROGRAM"] == TRAINING_SCRIPT == "train.py"
    assert not any("s3://" in str(value) for value in environment.values()), environment
    # No repack job: nothing but the training job writes the registered model.
    assert [s["Name"] for s in all_steps(definition) if s["Type"] == "Training"] == ["TrainModel"]


def test_every_upload_names_the_key(aws, api_calls, capsys):
    """Build, create and start the pipeline as CodeBuild does; every S3 write names the key."""
    assert run_pipeline.main(["--role-arn", ROLE, "--pipeline-name", NAME, "--kwargs", json.dumps(KWARGS)]) == 0
    uploads = [(op, params) for service, op, params in api_calls if service == "s3" and op in UPLOADS]
    # Sample data, the two processing scripts and the training code (the processing scripts are
    # uploaded again when run-pipeline builds the definition a second time, to upsert it).
    keys = sorted({params["Key"] for _, params in uploads})
    assert len(keys) == 4, keys
    assert f"{NAME}/sample-data/diabetes.csv" in keys
    assert sum(k.endswith("/sourcedir.tar.gz") for k in keys) == 1, keys
    for op, params in uploads:
        assert params["Bucket"] == BUCKET, params
        assert params.get("ServerSideEncryption") == "aws:kms", (op, params["Key"])
        assert params.get("SSEKMSKeyId") == KEY, (op, params["Key"])
    # The definition is passed inline: above 100 KB the SDK would upload it to S3 without a key
    # (sagemaker/mlops/workflow/pipeline.py Pipeline._create_args).
    [create] = [params for service, op, params in api_calls if service == "sagemaker" and op == "CreatePipeline"]
    assert "PipelineDefinition" in create and "PipelineDefinitionS3Location" not in create
    assert create["RoleArn"] == ROLE
    # The build's role reads no IAM: the SDK's role checks are off (SAGEMAKER_VALIDATE_ROLE=false,
    # as in the buildspec) and no ModelTrainer SourceCode staging probes the bucket with
    # iam:SimulatePrincipalPolicy.
    assert [op for service, op, _ in api_calls if service == "iam"] == []


def test_without_a_key_a_warning_is_logged(aws, caplog):
    kwargs = dict(KWARGS)
    del kwargs["kms_key"]
    with caplog.at_level(logging.WARNING, logger="pipelines.regression.pipeline"):
        get_pipeline(**kwargs)
    assert any("aws/s3" in r.getMessage() and r.name == "pipelines.regression.pipeline" for r in caplog.records)


def test_with_a_key_no_warning_is_logged(aws, caplog):
    with caplog.at_level(logging.WARNING, logger="pipelines.regression.pipeline"):
        get_pipeline(**KWARGS)
    assert not [r for r in caplog.records if r.name == "pipelines.regression.pipeline"]
