"""Each check can fail: deliberately broken calls, jobs and keys are reported (no recording needed)."""

from __future__ import annotations

import pytest

from tests.hub.conftest import DATA_SCIENCE, HUB, STAGING
from tests.hub.test_fit import PROD_ENDPOINT, STAGING_ENDPOINT, SYNC
from tests.runtime.calls import Call, UnknownOperation, check_calls, requests_for
from tests.runtime.objects import AWS_S3_KEY_ID, aws_s3_key_arn, reader_problems
from tests.runtime.pipeline import run_pipeline
from tests.runtime.recording import principal

USE_ROLE = principal(f"arn:aws:iam::{DATA_SCIENCE}:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole")
PIPELINE_ROLE = principal(f"arn:aws:iam::{DATA_SCIENCE}:role/sagemaker-projects-pipeline-role")


def bucket(rw) -> str:
    return rw.world.build["Outputs"]["ArtifactBucketName"]


def project_key(rw) -> str:
    return rw.world.build["Outputs"]["ArtifactKeyArn"]


def upload(rw, key: str, **sse) -> Call:
    return Call("s3", "PutObject", {"Bucket": bucket(rw), "Key": key, "Body": "<bytes>", **sse}, USE_ROLE)


# --- the key of an object comes from the request that wrote it -----------------------------------


def test_the_key_of_an_upload_follows_its_sse_parameters(rw):
    store = rw.store
    requests_for(upload(rw, "t/named", ServerSideEncryption="aws:kms", SSEKMSKeyId=project_key(rw)), store)
    requests_for(upload(rw, "t/aws-s3", ServerSideEncryption="aws:kms"), store)
    requests_for(upload(rw, "t/default"), store)
    assert store.get(bucket(rw), "t/named").kms_key == project_key(rw)
    assert store.get(bucket(rw), "t/aws-s3").kms_key == aws_s3_key_arn(DATA_SCIENCE)
    assert store.get(bucket(rw), "t/default").kms_key == project_key(rw)  # the bucket's default key


def test_an_upload_without_sse_kms_key_id_is_unreadable_in_other_accounts(rw):
    """SSE aws:kms without SSEKMSKeyId: aws/s3 of the uploader; its key policy keeps other accounts out."""
    requests_for(upload(rw, "t/model.tar.gz", ServerSideEncryption="aws:kms"), rw.store)
    problems = reader_problems(rw.grants, rw.store, f"s3://{bucket(rw)}/t/model.tar.gz",
                               [STAGING_ENDPOINT, PROD_ENDPOINT, SYNC], "deploy")
    assert len([p for p in problems if "kms:Decrypt" in p and AWS_S3_KEY_ID in p]) == 3, problems
    # ... while the project key (named) lets them decrypt.
    requests_for(upload(rw, "t/ok.tar.gz", ServerSideEncryption="aws:kms", SSEKMSKeyId=project_key(rw)), rw.store)
    assert not [p for p in reader_problems(rw.grants, rw.store, f"s3://{bucket(rw)}/t/ok.tar.gz",
                                           [STAGING_ENDPOINT, PROD_ENDPOINT, SYNC], "deploy") if "kms:" in p]


def test_the_aws_s3_key_is_usable_in_its_own_account_through_s3_only(rw):
    from tests.hub.access import need

    key = aws_s3_key_arn(DATA_SCIENCE)
    via = {"kms:ViaService": "s3.us-east-1.amazonaws.com"}
    own = principal(f"arn:aws:iam::{DATA_SCIENCE}:role/anything")
    assert rw.grants.check(need(own, "kms:Decrypt", key, "own", **via, **{"kms:CallerAccount": DATA_SCIENCE})) == []
    assert rw.grants.check(need(own, "kms:Decrypt", key, "direct", **{"kms:CallerAccount": DATA_SCIENCE}))
    other = principal(f"arn:aws:iam::{HUB}:role/anything")
    assert rw.grants.check(need(other, "kms:Decrypt", key, "other", **via, **{"kms:CallerAccount": HUB}))


# --- jobs -----------------------------------------------------------------------------------------


def definition(rw, kms_key: str | None) -> dict:
    output = {"S3OutputPath": f"s3://{bucket(rw)}/p/model"}
    if kms_key:
        output["KmsKeyId"] = kms_key
    register = {
        "Name": "Register", "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": rw.world.build["Outputs"]["RegistrationTarget"],
            "ModelApprovalStatus": {"Get": "Parameters.ModelApprovalStatus"},
            "InferenceSpecification": {"Containers": [
                {"Image": "i", "ModelDataUrl": {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}}]},
        },
    }
    return {
        "Parameters": [{"Name": "ModelApprovalStatus", "Type": "String", "DefaultValue": "PendingManualApproval"}],
        "Steps": [
            {"Name": "Train", "Type": "Training",
             "Arguments": {"RoleArn": USE_ROLE.arn, "OutputDataConfig": output, "InputDataConfig": []}},
            {"Name": "Check", "Type": "Condition", "Arguments": {"IfSteps": [register], "ElseSteps": []}},
        ],
    }


def test_a_training_job_without_kms_key_id_writes_under_aws_s3(rw):
    run = run_pipeline(definition(rw, None), rw.store, USE_ROLE, principal)
    (package,) = run.packages
    url = package.containers[0]["ModelDataUrl"]
    assert rw.store.get(*url[5:].split("/", 1)).kms_key == aws_s3_key_arn(DATA_SCIENCE)
    problems = reader_problems(rw.grants, rw.store, url, [STAGING_ENDPOINT], "endpoint")
    assert any("kms:Decrypt" in p and AWS_S3_KEY_ID in p for p in problems), problems


def test_a_training_job_with_the_project_key_is_readable(rw):
    run = run_pipeline(definition(rw, project_key(rw)), rw.store, USE_ROLE, principal)
    url = run.packages[0].containers[0]["ModelDataUrl"]
    assert rw.store.get(*url[5:].split("/", 1)).kms_key == project_key(rw)
    assert not [p for p in reader_problems(rw.grants, rw.store, url, [STAGING_ENDPOINT], "e") if "kms:" in p]


def test_an_unmodelled_pipeline_expression_fails_loudly(rw):
    broken = definition(rw, None)
    broken["Steps"][0]["Arguments"]["OutputDataConfig"]["S3OutputPath"] = {"Get": "Steps.Train.Unknown"}
    with pytest.raises(ValueError, match="not modelled"):
        run_pipeline(broken, rw.store, USE_ROLE, principal)


# --- PassRole and unknown operations ---------------------------------------------------------------


def test_passing_a_role_the_caller_may_not_pass_is_reported(rw):
    """The pipeline role may pass AmazonSageMakerServiceCatalogProducts* roles to SageMaker only."""
    target = f"arn:aws:iam::{DATA_SCIENCE}:role/Admin"
    call = Call("sagemaker", "CreatePipeline",
                {"PipelineName": "sagemaker-churn-p-abcdef123456", "RoleArn": target}, PIPELINE_ROLE)
    checked = check_calls([call], rw.grants, rw.store)
    assert any("iam:PassRole" in p and target in p for p in checked.problems), checked.problems
    allowed = Call("sagemaker", "CreatePipeline",
                   {"PipelineName": "sagemaker-churn-p-abcdef123456", "RoleArn": USE_ROLE.arn}, PIPELINE_ROLE)
    assert not [p for p in check_calls([allowed], rw.grants, rw.store).problems if "iam:PassRole" in p]


def test_pass_role_carries_the_service_it_is_passed_to(rw):
    call = Call("sagemaker", "CreatePipeline", {"PipelineName": "p", "RoleArn": USE_ROLE.arn}, PIPELINE_ROLE)
    (passed,) = [n for n in requests_for(call, rw.store) if n.action == "iam:PassRole"]
    assert passed.resource == USE_ROLE.arn
    assert dict(passed.context) == {"iam:PassedToService": "sagemaker.amazonaws.com"}


def test_sse_parameters_reach_the_condition_context(rw):
    call = upload(rw, "t/x", ServerSideEncryption="aws:kms", SSEKMSKeyId=project_key(rw))
    put, generate = requests_for(call, rw.store)
    assert dict(put.context)["s3:x-amz-server-side-encryption-aws-kms-key-id"] == project_key(rw)
    assert (generate.action, generate.resource) == ("kms:GenerateDataKey", project_key(rw))
    assert dict(generate.context) == {"kms:ViaService": "s3.us-east-1.amazonaws.com", "kms:CallerAccount": DATA_SCIENCE}


def test_an_unknown_operation_fails_loudly(rw):
    with pytest.raises(UnknownOperation, match="DeleteBucket"):
        requests_for(Call("s3", "DeleteBucket", {"Bucket": bucket(rw)}, USE_ROLE), rw.store)


def test_a_read_in_another_account_without_a_grant_is_reported(rw):
    tester = principal(f"arn:aws:iam::{STAGING}:role/sagemaker-mlops-tester")
    requests_for(upload(rw, "t/secret", ServerSideEncryption="aws:kms", SSEKMSKeyId=project_key(rw)), rw.store)
    checked = check_calls([Call("s3", "GetObject", {"Bucket": bucket(rw), "Key": "t/secret"}, tester)],
                          rw.grants, rw.store)
    assert any("s3:GetObject" in p for p in checked.problems), checked.problems
