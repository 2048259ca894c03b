"""Build the pipeline definition offline (moto stands in for S3) and check its structure."""

from __future__ import annotations

import io
import json
import re
import tarfile

import boto3
import pytest

from pipelines.regression import pipeline as regression
from pipelines.regression.pipeline import DEFAULT_INTENDED_USE, DEFAULT_MSE_THRESHOLD, get_pipeline

REGION = "us-east-1"
ROLE = "arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole"
BUCKET = "sagemaker-project-p-abc123"
NAME = "my-project-p-abc123"
HUB_GROUP_ARN = "arn:aws:sagemaker:eu-west-1:222222222222:model-package-group/hub-models"


def build(**overrides) -> dict:
    kwargs = dict(region=REGION, role=ROLE, default_bucket=BUCKET, model_package_group_name=NAME,
                  pipeline_name=NAME, base_job_prefix=NAME)
    kwargs.update(overrides)
    return json.loads(get_pipeline(**kwargs).definition())


@pytest.fixture(scope="module")
def built(built_in_moto):
    """One build shared by the read-only checks: (definition, objects in the bucket)."""
    return built_in_moto(build, BUCKET)


@pytest.fixture
def definition(built) -> dict:
    return built[0]


def steps_by_name(definition: dict) -> dict:
    """All steps, including those nested in condition branches."""
    found = {}

    def visit(steps):
        for step in steps:
            found[step["Name"]] = step
            if step["Type"] == "Condition":
                visit(step["Arguments"]["IfSteps"])
                visit(step["Arguments"]["ElseSteps"])

    visit(definition["Steps"])
    return found


def condition_step(definition: dict) -> dict:
    return steps_by_name(definition)["CheckMseEvaluation"]


def test_steps_in_order(definition):
    assert [(s["Name"], s["Type"]) for s in definition["Steps"]] == [
        ("PreprocessData", "Processing"),
        ("TrainModel", "Training"),
        ("EvaluateModel", "Processing"),
        ("CheckMseEvaluation", "Condition"),
    ]
    cond = condition_step(definition)["Arguments"]
    # No repack job: the model already holds its inference code (train.py puts it there).
    assert [(s["Name"], s["Type"]) for s in cond["IfSteps"]] == [("RegisterModel", "RegisterModel")]
    assert [(s["Name"], s["Type"]) for s in cond["ElseSteps"]] == [("MseThresholdExceeded", "Fail")]


def test_parameters(definition):
    assert definition["Parameters"] == [
        {"Name": "ProcessingInstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        {"Name": "ProcessingInstanceCount", "Type": "Integer", "DefaultValue": 1},
        {"Name": "TrainingInstanceType", "Type": "String", "DefaultValue": "ml.m5.xlarge"},
        {"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "PendingManualApproval"},
        {"Name": "InputDataUrl", "Type": "String",
         "DefaultValue": f"s3://{BUCKET}/{NAME}/sample-data/diabetes.csv"},
        {"Name": "MseThreshold", "Type": "Float", "DefaultValue": DEFAULT_MSE_THRESHOLD},
        {"Name": "ModelIntendedUse", "Type": "String", "DefaultValue": DEFAULT_INTENDED_USE},
        {"Name": "ModelRiskRating", "Type": "String", "DefaultValue": "Unknown"},
        {"Name": "ModelLifeCycleStage", "Type": "String", "DefaultValue": "Development"},
        {"Name": "ModelLifeCycleStageStatus", "Type": "String", "DefaultValue": "Approved"},
    ]


def test_parameters_are_wired_into_the_jobs(definition):
    steps = steps_by_name(definition)
    preprocess = steps["PreprocessData"]["Arguments"]
    cluster = preprocess["ProcessingResources"]["ClusterConfig"]
    assert cluster["InstanceType"] == {"Get": "Parameters.ProcessingInstanceType"}
    assert cluster["InstanceCount"] == {"Get": "Parameters.ProcessingInstanceCount"}
    data_input = next(i for i in preprocess["ProcessingInputs"] if i["InputName"] != "code")
    assert data_input["S3Input"]["S3Uri"] == {"Get": "Parameters.InputDataUrl"}
    assert data_input["S3Input"]["LocalPath"] == "/opt/ml/processing/input"
    training = steps["TrainModel"]["Arguments"]
    assert training["ResourceConfig"]["InstanceType"] == {"Get": "Parameters.TrainingInstanceType"}
    assert training["RoleArn"] == ROLE


def test_data_flows_from_step_to_step(definition):
    steps = steps_by_name(definition)
    outputs = [o["OutputName"] for o in steps["PreprocessData"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]]
    assert outputs == ["train", "validation", "test"]

    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in steps["TrainModel"]["Arguments"]["InputDataConfig"]}
    assert channels == {
        "train": {"Get": "Steps.PreprocessData.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"},
        "validation": {"Get": "Steps.PreprocessData.ProcessingOutputConfig.Outputs['validation'].S3Output.S3Uri"},
    }

    evaluation = steps["EvaluateModel"]
    inputs = {i["S3Input"]["LocalPath"]: i["S3Input"]["S3Uri"] for i in evaluation["Arguments"]["ProcessingInputs"]}
    assert inputs["/opt/ml/processing/model"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    assert inputs["/opt/ml/processing/test"] == {
        "Get": "Steps.PreprocessData.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"}
    assert evaluation["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"},
        {"PropertyFileName": "ModelCard", "OutputName": "evaluation", "FilePath": "model-card.json"}]


def test_scripts_and_containers(definition):
    steps = steps_by_name(definition)
    for name, script in (("PreprocessData", "preprocess.py"), ("EvaluateModel", "evaluate.py")):
        app = steps[name]["Arguments"]["AppSpecification"]
        assert app["ContainerEntrypoint"] == ["python3", f"/opt/ml/processing/input/code/{script}"]
        assert app["ImageUri"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    training = steps["TrainModel"]["Arguments"]
    algorithm = training["AlgorithmSpecification"]
    assert algorithm["TrainingImage"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    # The container's own script mode (its training toolkit reads these), not the SDK's drivers.
    assert "ContainerEntrypoint" not in algorithm and "ContainerArguments" not in algorithm
    hyperparameters = training["HyperParameters"]
    assert hyperparameters["sagemaker_program"] == '"train.py"'
    assert json.loads(hyperparameters["sagemaker_submit_directory"]).endswith("/sourcedir.tar.gz")
    assert hyperparameters["alpha"] == "1.0"
    assert hyperparameters["target-column"] == "target"
    assert [m["Name"] for m in algorithm["MetricDefinitions"]] == ["validation:mse", "validation:r2"]


def test_condition_compares_evaluation_mse_with_threshold(definition):
    conditions = condition_step(definition)["Arguments"]["Conditions"]
    assert conditions == [{
        "Type": "LessThanOrEqualTo",
        "LeftValue": {"Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.EvaluateModel.PropertyFiles.EvaluationReport"},
            "Path": "regression_metrics.mse.value",
        }},
        "RightValue": {"Get": "Parameters.MseThreshold"},
    }]


def register_arguments(definition: dict) -> dict:
    return steps_by_name(definition)["RegisterModel"]["Arguments"]


def test_register_step(definition):
    register = register_arguments(definition)
    assert register["ModelPackageGroupName"] == NAME
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"] == {"Std:Join": {"On": "/", "Values": [
        {"Get": "Steps.EvaluateModel.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
        "evaluation.json",
    ]}}
    spec = register["InferenceSpecification"]
    assert spec["SupportedContentTypes"] == ["text/csv"]
    assert spec["SupportedResponseMIMETypes"] == ["text/csv"]
    [container] = spec["Containers"]
    assert container["Image"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    # The training job's model.tar.gz holds code/train.py (more in test_encryption.py).
    assert container["ModelDataUrl"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"


def test_register_step_attaches_the_model_card_written_by_the_evaluation(definition):
    """CreateModelPackage ModelCard {ModelCardContent, ModelCardStatus}: the content is the
    evaluation step's model-card.json "content" string, the status PendingReview."""
    assert register_arguments(definition)["ModelCard"] == {
        "ModelCardContent": {"Std:JsonGet": {
            "PropertyFile": {"Get": "Steps.EvaluateModel.PropertyFiles.ModelCard"}, "Path": "content"}},
        "ModelCardStatus": "PendingReview",
    }
    # The property file model-card.json: test_data_flows_from_step_to_step.


def test_the_card_gets_the_parameters_and_the_data_locations(definition):
    """evaluate.py writes the card from these arguments (tests/test_scripts.py runs it)."""
    arguments = steps_by_name(definition)["EvaluateModel"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    pairs = list(zip(arguments[::2], arguments[1::2]))
    assert pairs == [
        ("--target-column", "target"),
        ("--intended-use", {"Get": "Parameters.ModelIntendedUse"}),
        ("--risk-rating", {"Get": "Parameters.ModelRiskRating"}),
        ("--training-data", {"Get": "Parameters.InputDataUrl"}),
        ("--training-data", {"Get": "Steps.PreprocessData.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}),
        ("--test-data", {"Get": "Steps.PreprocessData.ProcessingOutputConfig.Outputs['test'].S3Output.S3Uri"}),
    ]


def test_register_step_starts_the_version_at_its_lifecycle_stage(definition):
    """CreateModelPackage ModelLifeCycle {Stage, StageStatus, StageDescription} from parameters."""
    assert register_arguments(definition)["ModelLifeCycle"] == {
        "Stage": {"Get": "Parameters.ModelLifeCycleStage"},
        "StageStatus": {"Get": "Parameters.ModelLifeCycleStageStatus"},
        "StageDescription": {"Std:Join": {"On": " ", "Values": [
            "Registered by pipeline", NAME, "execution", {"Get": "Execution.PipelineExecutionId"}]}},
    }


def test_registration_defaults_can_be_changed(aws):
    definition = build(model_lifecycle_stage="QA", model_lifecycle_stage_status="PendingApproval",
                       risk_rating="Medium", intended_use="Churn scoring for the retention team.")
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert (defaults["ModelLifeCycleStage"], defaults["ModelLifeCycleStageStatus"]) == ("QA", "PendingApproval")
    assert defaults["ModelRiskRating"] == "Medium"
    assert defaults["ModelIntendedUse"] == "Churn scoring for the retention team."


@pytest.mark.parametrize("overrides, message", [
    ({"model_lifecycle_stage": "Pre Production"}, "model_lifecycle_stage 'Pre Production'"),
    ({"model_lifecycle_stage_status": "x" * 64}, "model_lifecycle_stage_status"),
    ({"risk_rating": "Severe"}, "risk_rating 'Severe' is not one of High, Medium, Low, Unknown"),
    ({"intended_use": "x" * 257}, "intended_use must be 1-256 characters, got 257"),
    ({"intended_use": ""}, "intended_use must be 1-256 characters, got 0"),
])
def test_invalid_registration_defaults_are_rejected_before_anything_is_uploaded(aws, overrides, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build(**overrides)
    assert boto3.client("s3", region_name=REGION).list_buckets()["Buckets"] == []  # S3 untouched


def test_register_into_a_hub_account_group_by_arn(aws):
    definition = build(model_package_group_name=HUB_GROUP_ARN)
    assert register_arguments(definition)["ModelPackageGroupName"] == HUB_GROUP_ARN


@pytest.mark.parametrize("bad", [
    "has_underscore",
    "-leading-dash",
    "x" * 64,
    "arn:aws:sagemaker:eu-west-1:2222:model-package-group/short-account",
    "arn:aws:sagemaker:eu-west-1:222222222222:model-package/not-a-group",
])
def test_invalid_model_package_group_is_rejected(bad):
    with pytest.raises(ValueError, match="model package group"):
        regression.validate_model_package_group(bad)


def test_fail_step_reports_mse_and_threshold(definition):
    [fail] = condition_step(definition)["Arguments"]["ElseSteps"]
    values = fail["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert {"Get": "Parameters.MseThreshold"} in values
    assert {"Std:JsonGet": {"PropertyFile": {"Get": "Steps.EvaluateModel.PropertyFiles.EvaluationReport"},
                            "Path": "regression_metrics.mse.value"}} in values


def test_code_and_sample_data_are_uploaded(built, repo_root):
    definition, objects = built
    assert f"{NAME}/sample-data/diabetes.csv" in objects
    steps = steps_by_name(definition)
    code_uri = next(i["S3Input"]["S3Uri"] for i in steps["PreprocessData"]["Arguments"]["ProcessingInputs"]
                    if i["InputName"] == "code")
    with open(f"{repo_root}/pipelines/regression/preprocess.py", "rb") as f:
        assert objects[code_uri.split(f"s3://{BUCKET}/", 1)[1]] == f.read()
    # The training code: sourcedir.tar.gz holding train.py, at a key named by train.py's content.
    code_uri = json.loads(steps["TrainModel"]["Arguments"]["HyperParameters"]["sagemaker_submit_directory"])
    key = code_uri.split(f"s3://{BUCKET}/", 1)[1]
    assert re.fullmatch(rf"{NAME}/code/[0-9a-f]{{64}}/sourcedir\.tar\.gz", key), key
    with tarfile.open(fileobj=io.BytesIO(objects[key])) as tar:
        assert tar.getnames() == ["train.py"]
        with open(f"{repo_root}/pipelines/regression/train.py", "rb") as f:
            assert tar.extractfile("train.py").read() == f.read()


def test_explicit_input_data_url_skips_the_sample_upload(aws):
    definition = build(input_data_url="s3://my-data/diabetes/", mse_threshold=3000.0)
    parameters = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert parameters["InputDataUrl"] == "s3://my-data/diabetes/"
    assert parameters["MseThreshold"] == 3000.0
    keys = [o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert not any("sample-data" in k for k in keys)


def test_definition_is_reproducible(aws):
    assert build() == build()
