"""Build the pipeline definition offline (moto stands in for S3) and check its structure."""

from __future__ import annotations

import json

import boto3
import pytest

from pipelines.regression import pipeline as regression
from pipelines.regression.pipeline import DEFAULT_MSE_THRESHOLD, get_pipeline

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


@pytest.fixture
def definition(aws) -> dict:
    return build()


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
    assert [(s["Name"], s["Type"]) for s in cond["IfSteps"]] == [
        ("DiabetesModel-RepackModel-inference", "Training"),  # puts the inference code into the model
        ("DiabetesModel-RegisterModel", "RegisterModel"),
    ]
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
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}]


def test_scripts_and_containers(definition):
    steps = steps_by_name(definition)
    for name, script in (("PreprocessData", "preprocess.py"), ("EvaluateModel", "evaluate.py")):
        app = steps[name]["Arguments"]["AppSpecification"]
        assert app["ContainerEntrypoint"] == ["python3", f"/opt/ml/processing/input/code/{script}"]
        assert app["ImageUri"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    training = steps["TrainModel"]["Arguments"]
    assert training["AlgorithmSpecification"]["TrainingImage"].endswith("/sagemaker-scikit-learn:1.2-1-cpu-py3")
    assert training["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert training["HyperParameters"]["alpha"] == "1.0"
    metric_names = [m["Name"] for m in training["AlgorithmSpecification"]["MetricDefinitions"]]
    assert metric_names == ["validation:mse", "validation:r2"]


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


def test_register_step(definition):
    register = steps_by_name(definition)["DiabetesModel-RegisterModel"]["Arguments"]
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
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "train.py"
    # The inference code (train.py) is inside the repacked model.tar.gz, not in S3 next to it
    # (more in test_encryption.py).
    assert container["ModelDataUrl"] == {
        "Get": "Steps.DiabetesModel-RepackModel-inference.ModelArtifacts.S3ModelArtifacts"}
    assert container["Environment"]["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    repack = steps_by_name(definition)["DiabetesModel-RepackModel-inference"]["Arguments"]
    assert repack["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == {
        "Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    assert repack["HyperParameters"]["inference_script"] == '"train.py"'
    assert repack["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/{NAME}/repacked-model/inference"


def test_register_into_a_hub_account_group_by_arn(aws):
    definition = build(model_package_group_name=HUB_GROUP_ARN)
    register = steps_by_name(definition)["DiabetesModel-RegisterModel"]["Arguments"]
    assert register["ModelPackageGroupName"] == HUB_GROUP_ARN


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


def test_code_and_sample_data_are_uploaded(definition, repo_root):
    s3 = boto3.client("s3", region_name=REGION)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert f"{NAME}/sample-data/diabetes.csv" in keys
    steps = steps_by_name(definition)
    code_uri = next(i["S3Input"]["S3Uri"] for i in steps["PreprocessData"]["Arguments"]["ProcessingInputs"]
                    if i["InputName"] == "code")
    key = code_uri.split(f"s3://{BUCKET}/", 1)[1]
    uploaded = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with open(f"{repo_root}/pipelines/regression/preprocess.py", "rb") as f:
        assert uploaded == f.read()
    # The repack job's code (train.py and the SDK's repack script), at a content-addressed key.
    repack_code = json.loads(steps["DiabetesModel-RepackModel-inference"]["Arguments"]["HyperParameters"][
        "sagemaker_submit_directory"])
    assert repack_code.startswith(f"s3://{BUCKET}/{NAME}/code/repack-")
    assert repack_code.endswith("/source/sourcedir.tar.gz")
    assert repack_code.split(f"s3://{BUCKET}/", 1)[1] in keys


def test_explicit_input_data_url_skips_the_sample_upload(aws):
    definition = build(input_data_url="s3://my-data/diabetes/", mse_threshold=3000.0)
    parameters = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert parameters["InputDataUrl"] == "s3://my-data/diabetes/"
    assert parameters["MseThreshold"] == 3000.0
    keys = [o["Key"] for o in boto3.client("s3", region_name=REGION).list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert not any("sample-data" in k for k in keys)


def test_definition_is_reproducible(aws):
    assert build() == build()
