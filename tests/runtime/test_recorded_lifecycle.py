"""record_stage.py (PromotionMode LifecycleStage) run as its buildspec runs it, as the record
project's role of multi-account-deploy resolved in stage mode; every call recorded and checked
against the fit world's policies with the condition keys the request sets
(sagemaker:ModelLifeCycle:stage / :stageStatus). moto ignores ModelLifeCycle, so SageMaker's
answers come from a Stubber (the calls are recorded all the same)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
from botocore.stub import Stubber

from tests.hub.access import Principal
from tests.hub.conftest import DATA_SCIENCE, HUB, REGION
from tests.hub.resolve import resolve
from tests.hub.test_fit import GROUP, OU_PROD, OU_STAGING, PROJECT, products
from tests.runtime.calls import Call, check_calls
from tests.runtime.modelbuild import ROOT
from tests.runtime.recording import Recorder, codebuild
from tests.runtime.test_recorded_calls import load  # a seed script as a module

RECORD_STAGE = ROOT / "seedcode" / "modeldeploy" / "record_stage.py"
OWN_GROUP = "churn-p-abcdef123456"
OWN_VERSION = f"arn:aws:sagemaker:{REGION}:{DATA_SCIENCE}:model-package/{OWN_GROUP}/3"
HUB_VERSION = f"arn:aws:sagemaker:{REGION}:{HUB}:model-package/{GROUP}/7"


@pytest.fixture(scope="module")
def record_project() -> tuple[Principal, dict[str, str]]:
    """multi-account-deploy in stage mode: the record project's role and environment."""
    staged = resolve(products()["multi-account-deploy"], DATA_SCIENCE, {
        **PROJECT, "SeedCodeModeldeployKey": "modeldeploy.zip", "SageMakerModelPackageGroupName": OWN_GROUP,
        "OrganizationId": "o-abcdefghij", "OrganizationalUnitStagingId": OU_STAGING,
        "OrganizationalUnitProdId": OU_PROD, "PromotionMode": "LifecycleStage",
    }, stack="multi-staged")
    return codebuild(staged, "ModelDeployRecordProject")


def described(arn: str, stage: str, status: str) -> dict:
    return {
        "ModelPackageName": arn.split("/")[-2], "ModelPackageArn": arn, "ModelPackageStatus": "Completed",
        "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "ModelApprovalStatus": "Approved",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelLifeCycle": {"Stage": stage, "StageStatus": status},
    }


def run_record(tmp_path, record_project, package_arn, responses):
    role, project_env = record_project
    config = tmp_path / "prod-config-export.json"
    config.write_text(json.dumps({"Parameters": {"ModelPackageArn": package_arn}, "Tags": {}}))
    env = {**project_env, "STAGE": "prod", "LIFECYCLE_STAGE": "Production", "DEPLOYED_TO": f"the prod OU {OU_PROD}",
           "PIPELINE_EXECUTION_ID": "e-1",
           "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:{REGION}:{DATA_SCIENCE}:build/x:1"}
    module = load(RECORD_STAGE, "modeldeploy_record_stage_runtime")
    client = boto3.client("sagemaker", region_name=REGION)
    stubber = Stubber(client)
    for operation, response in responses:
        stubber.add_response(operation, response)
    with stubber, Recorder(role) as recorder:
        # buildspec-record-stage.yml: python record_stage.py --import-config "${STAGE}-config-export.json" --stage
        code = module.main(["--import-config", str(config), "--stage", "prod"], sm_client=client, env=env)
    stubber.assert_no_pending_responses()
    return code, recorder.calls


def test_recording_production_is_allowed_to_the_pipeline_role(tmp_path, rw, record_project):
    code, calls = run_record(tmp_path, record_project, OWN_VERSION, [
        ("describe_model_package", described(OWN_VERSION, "Production", "Approved")),
        ("update_model_package", {"ModelPackageArn": OWN_VERSION}),
    ])
    assert code == 0
    assert [c.operation for c in calls] == ["DescribeModelPackage", "UpdateModelPackage"]
    assert calls[1].params["ModelLifeCycle"]["StageDescription"] == (
        f"Deployed to the prod OU {OU_PROD} by CodePipeline sagemaker-churn-p-abcdef123456-modeldeploy execution e-1")
    assert calls[1].principal.arn.endswith(":role/sagemaker-projects-pipeline-role")
    assert check_calls(calls, rw.grants, rw.store).problems == []


def test_a_hub_version_is_left_to_the_hub(tmp_path, rw, record_project):
    """Described through the hub's group policy; no UpdateModelPackage, which the hub refuses."""
    code, calls = run_record(tmp_path, record_project, HUB_VERSION, [
        ("describe_model_package", described(HUB_VERSION, "Production", "Approved")),
    ])
    assert code == 0 and [c.operation for c in calls] == ["DescribeModelPackage"]
    assert check_calls(calls, rw.grants, rw.store).problems == []


def test_the_stage_keys_of_a_recorded_call_decide(rw, record_project):
    """The same UpdateModelPackage by the pipeline role, promoting instead of recording, is refused:
    the keys come from the recorded request."""
    role, _ = record_project
    promote = Call("sagemaker", "UpdateModelPackage", {
        "ModelPackageArn": OWN_VERSION, "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Approved"}}, role)
    record = Call("sagemaker", "UpdateModelPackage", {
        "ModelPackageArn": OWN_VERSION, "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Deployed"}}, role)
    assert check_calls([promote], rw.grants, rw.store).problems
    assert check_calls([record], rw.grants, rw.store).problems == []
