"""The model sync function (generator/lambdas/model_sync.py): the pull pattern's copy into the hub.

moto plays S3 and SageMaker in the data science (spoke) and hub accounts. AWS routes a
DescribeModelPackage of another account's ARN to that account, moto does not: CrossAccountSageMaker
does the routing. What moto cannot do (access denied, bucket ownership) is played by botocore
Stubbers, and every request, to moto or to a Stubber, is checked against the service model
(patterns, enums, lengths) as the real service would.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import json
import tokenize
import types
from contextlib import redirect_stdout

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from generator.blocks import hub
from generator.blocks.lambda_function import INLINE_LIMIT, inline_source

from .conftest import DATA_SCIENCE, HUB, REGION, CrossAccountSageMaker, client_in
from .service_model import request_violations, validate_requests

GROUP = "churn"
SPOKE_BUCKET = f"sagemaker-model-hub-{DATA_SCIENCE}-{REGION}"
HUB_BUCKET = f"sagemaker-model-hub-{HUB}-{REGION}"
ARTIFACT_KEY = "pipelines/churn/train/output/model.tar.gz"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def real_module():
    return importlib.import_module("generator.lambdas.model_sync")


def inline_module():
    """What the template embeds (comments and docstrings stripped), run as its own module."""
    module = types.ModuleType("index")
    exec(compile(inline_source("model_sync"), "index.py", "exec"), module.__dict__)  # noqa: S102
    return module


@pytest.fixture(params=["module", "inline"])
def sync(request):
    """The handler, as the repository's module and as the code the template embeds."""
    return real_module() if request.param == "module" else inline_module()


@pytest.fixture
def hub_env(monkeypatch):
    monkeypatch.setenv("HUB_BUCKET", HUB_BUCKET)
    monkeypatch.setenv("HUB_GROUPS", f"{GROUP},fraud,,,")


@pytest.fixture
def accounts(aws, hub_env):
    """A spoke with an approved version of `churn` (artifact in its bucket), a hub with the group."""
    spoke_s3, spoke_sm = client_in(DATA_SCIENCE, "s3"), client_in(DATA_SCIENCE, "sagemaker")
    hub_s3, hub_sm = client_in(HUB, "s3"), client_in(HUB, "sagemaker")
    spoke_s3.create_bucket(Bucket=SPOKE_BUCKET)
    spoke_s3.put_object(Bucket=SPOKE_BUCKET, Key=ARTIFACT_KEY, Body=b"model bytes")
    hub_s3.create_bucket(Bucket=HUB_BUCKET)
    for client in (spoke_sm, hub_sm):
        client.create_model_package_group(ModelPackageGroupName=GROUP)
    source = spoke_sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelPackageDescription="diabetes regression",
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{SPOKE_BUCKET}/{ARTIFACT_KEY}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        CustomerMetadataProperties={"team": "growth"},
    )["ModelPackageArn"]
    return types.SimpleNamespace(
        source=source,
        spoke_s3=spoke_s3,
        spoke_sm=spoke_sm,
        hub_s3=hub_s3,
        hub_sm=hub_sm,
        sagemaker=CrossAccountSageMaker(hub_sm, {DATA_SCIENCE: spoke_sm}),
    )


def event_for(source: str, account: str = DATA_SCIENCE, status: str = "Approved") -> dict:
    """A forwarded "SageMaker Model Package State Change" event, as the hub's bus delivers it."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": account,
        "time": "2024-05-01T12:00:00Z",
        "region": REGION,
        "resources": [source],
        "detail": {
            "ModelPackageGroupName": source.split("/")[1],
            "ModelPackageVersion": int(source.rsplit("/", 1)[1]),
            "ModelPackageArn": source,
            "ModelApprovalStatus": status,
        },
    }


def run(sync, event, **clients):
    """Calls the handler; returns (result or raised exception, log records)."""
    out = io.StringIO()
    with redirect_stdout(out):
        try:
            result = sync.handler(event, None, **clients)
        except Exception as error:  # noqa: BLE001 - the tests look at it
            result = error
    return result, [json.loads(line) for line in out.getvalue().splitlines()]


def hub_versions(hub_sm) -> list[dict]:
    summaries = hub_sm.list_model_packages(ModelPackageGroupName=GROUP)["ModelPackageSummaryList"]
    return [hub_sm.describe_model_package(ModelPackageName=s["ModelPackageArn"]) for s in summaries]


# --- With moto ------------------------------------------------------------------------------------


def test_an_approved_spoke_version_is_copied_into_the_hub_pending_approval(sync, accounts):
    result, logs = run(sync, event_for(accounts.source), sm=accounts.sagemaker, s3=accounts.hub_s3)

    assert result["status"] == "created"
    (version,) = hub_versions(accounts.hub_sm)
    assert result["hub_package_arn"] == version["ModelPackageArn"]
    assert version["ModelPackageArn"].startswith(f"arn:aws:sagemaker:{REGION}:{HUB}:model-package/{GROUP}/")
    assert version["ModelApprovalStatus"] == "PendingManualApproval"
    assert version["CustomerMetadataProperties"] == {
        "team": "growth",
        "smcat:source-model-package-arn": accounts.source,
    }
    assert accounts.source in version["ModelPackageDescription"]
    copied_key = f"pull/{DATA_SCIENCE}/{SPOKE_BUCKET}/{ARTIFACT_KEY}"
    (container,) = version["InferenceSpecification"]["Containers"]
    assert container == {"Image": IMAGE, "ModelDataUrl": f"s3://{HUB_BUCKET}/{copied_key}"}
    assert accounts.hub_s3.get_object(Bucket=HUB_BUCKET, Key=copied_key)["Body"].read() == b"model bytes"
    assert version["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]

    (record,) = logs
    assert record == {
        "level": "INFO",
        "message": "synced",
        "status": "created",
        "hub_package_arn": version["ModelPackageArn"],
        "source_package_arn": accounts.source,
        "source_account": DATA_SCIENCE,
        "event_id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    }


def test_a_redelivered_event_creates_no_second_version(sync, accounts):
    event = event_for(accounts.source)
    first, _ = run(sync, event, sm=accounts.sagemaker, s3=accounts.hub_s3)
    second, logs = run(sync, event, sm=accounts.sagemaker, s3=accounts.hub_s3)

    assert second == {"status": "exists", "hub_package_arn": first["hub_package_arn"]}
    assert len(hub_versions(accounts.hub_sm)) == 1
    assert logs[0]["message"] == "already synced" and logs[0]["level"] == "INFO"


def test_an_unrelated_version_mentioning_the_source_does_not_count_as_synced(sync, accounts):
    """Idempotency rests on the metadata property, not on the (editable) description."""
    accounts.hub_sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelPackageDescription=f"compare with {accounts.source}",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )
    result, _ = run(sync, event_for(accounts.source), sm=accounts.sagemaker, s3=accounts.hub_s3)
    assert result["status"] == "created"
    assert len(hub_versions(accounts.hub_sm)) == 2


def test_two_spoke_versions_become_two_hub_versions(sync, accounts):
    second = accounts.spoke_sm.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus="Approved",
        InferenceSpecification={
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{SPOKE_BUCKET}/{ARTIFACT_KEY}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    for source in (accounts.source, second):
        run(sync, event_for(source), sm=accounts.sagemaker, s3=accounts.hub_s3)
    sources = {v["CustomerMetadataProperties"]["smcat:source-model-package-arn"] for v in hub_versions(accounts.hub_sm)}
    assert sources == {accounts.source, second}


def test_a_missing_artifact_is_a_clear_error_and_nothing_is_registered(sync, accounts):
    accounts.spoke_s3.delete_object(Bucket=SPOKE_BUCKET, Key=ARTIFACT_KEY)

    error, logs = run(sync, event_for(accounts.source), sm=accounts.sagemaker, s3=accounts.hub_s3)

    assert type(error).__name__ == "SyncError"
    assert str(error) == f"model artifact s3://{SPOKE_BUCKET}/{ARTIFACT_KEY} does not exist"
    assert hub_versions(accounts.hub_sm) == []
    (record,) = logs
    assert record["level"] == "ERROR" and record["error"] == "SyncError"
    assert record["message"] == str(error)
    assert record["source_package_arn"] == accounts.source


def test_a_version_no_longer_approved_is_skipped(sync, accounts):
    accounts.spoke_sm.update_model_package(ModelPackageArn=accounts.source, ModelApprovalStatus="Rejected")

    result, logs = run(sync, event_for(accounts.source), sm=accounts.sagemaker, s3=accounts.hub_s3)

    assert result == {"status": "skipped"}
    assert logs[0]["message"] == "source is Rejected, not Approved"
    assert hub_versions(accounts.hub_sm) == []


def test_a_package_of_another_account_than_the_sender_is_refused(sync, accounts):
    error, logs = run(
        sync, event_for(accounts.source, account="999999999999"), sm=accounts.sagemaker, s3=accounts.hub_s3
    )
    assert type(error).__name__ == "SyncError"
    assert "is not a model version of the sending account" in str(error)
    assert logs[0]["source_account"] == "999999999999"
    assert hub_versions(accounts.hub_sm) == []


def test_a_group_the_hub_does_not_have_is_refused_with_what_to_do(sync, accounts, monkeypatch):
    monkeypatch.setenv("HUB_GROUPS", "fraud,,,,")
    error, _ = run(sync, event_for(accounts.source), sm=accounts.sagemaker, s3=accounts.hub_s3)
    assert str(error) == "the hub has no model package group churn: add it to the hub stack"


def test_every_request_to_moto_satisfies_the_service_model(accounts):
    """The validating hook is on: a request breaking a pattern fails as the service would."""
    with pytest.raises(ClientError, match="ValidationException") as caught:
        accounts.hub_sm.create_model_package(
            ModelPackageGroupName=GROUP,
            ClientToken="not_valid!",
            ModelApprovalStatus="PendingManualApproval",
            InferenceSpecification={
                "Containers": [{"Image": IMAGE}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
        )
    assert "ClientToken" in str(caught.value)


# --- With Stubbers (what moto does not do) ------------------------------------------------------


def stubbed(service: str):
    import boto3

    client = validate_requests(boto3.client(service, region_name=REGION))
    return client, Stubber(client)


SOURCE = f"arn:aws:sagemaker:{REGION}:{DATA_SCIENCE}:model-package/{GROUP}/7"
HUB_VERSION = f"arn:aws:sagemaker:{REGION}:{HUB}:model-package/{GROUP}/3"


def described(status: str = "Approved") -> dict:
    return {
        "ModelPackageName": GROUP,
        "ModelPackageGroupName": GROUP,
        "ModelPackageVersion": 7,
        "ModelPackageArn": SOURCE,
        "CreationTime": "2024-05-01T12:00:00Z",
        "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []},
        "ModelApprovalStatus": status,
        "InferenceSpecification": {
            "Containers": [
                {"Image": IMAGE, "ModelDataUrl": f"s3://{SPOKE_BUCKET}/{ARTIFACT_KEY}", "ModelDataETag": "abc-2"}
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{SPOKE_BUCKET}/evaluation.json"}
            }
        },
    }


def test_the_create_request_is_exactly_the_one_expected(sync, hub_env):
    """Stubbed end to end: the requests, in order, with their parameters."""
    sagemaker, sm_stub = stubbed("sagemaker")
    s3, s3_stub = stubbed("s3")
    sm_stub.add_response(
        "list_model_packages",
        {"ModelPackageSummaryList": []},
        {"ModelPackageGroupName": GROUP, "SortBy": "CreationTime", "SortOrder": "Descending"},
    )
    sm_stub.add_response("describe_model_package", described(), {"ModelPackageName": SOURCE})
    s3_stub.add_response(
        "head_object",
        {"ContentLength": 11},
        {"Bucket": SPOKE_BUCKET, "Key": ARTIFACT_KEY, "ExpectedBucketOwner": DATA_SCIENCE},
    )
    copied = f"pull/{DATA_SCIENCE}/{SPOKE_BUCKET}/{ARTIFACT_KEY}"
    s3_stub.add_response("head_object", {"ContentLength": 11}, {"Bucket": SPOKE_BUCKET, "Key": ARTIFACT_KEY})
    s3_stub.add_response(
        "copy_object",
        {},
        {"Bucket": HUB_BUCKET, "Key": copied, "CopySource": {"Bucket": SPOKE_BUCKET, "Key": ARTIFACT_KEY}},
    )
    expected = {
        "ModelPackageGroupName": GROUP,
        "ModelPackageDescription": f"Synced from {SOURCE}",
        "InferenceSpecification": {
            "Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{HUB_BUCKET}/{copied}"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
        "ModelApprovalStatus": "PendingManualApproval",
        "CustomerMetadataProperties": {"smcat:source-model-package-arn": SOURCE},
        "ClientToken": hashlib.sha256(SOURCE.encode()).hexdigest()[:36],
        "ModelMetrics": described()["ModelMetrics"],
    }
    assert request_violations(sagemaker, "CreateModelPackage", expected) == []
    sm_stub.add_response("create_model_package", {"ModelPackageArn": HUB_VERSION}, expected)

    with sm_stub, s3_stub:
        result, _ = run(sync, event_for(SOURCE), sm=sagemaker, s3=s3)
        sm_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()
    assert result == {"status": "created", "hub_package_arn": HUB_VERSION}


def test_an_artifact_in_a_bucket_the_sender_does_not_own_is_refused(sync, hub_env):
    """HeadObject with ExpectedBucketOwner fails with 403 when the bucket belongs to someone else:
    a spoke cannot make the hub copy another account's model."""
    sagemaker, sm_stub = stubbed("sagemaker")
    s3, s3_stub = stubbed("s3")
    sm_stub.add_response("list_model_packages", {"ModelPackageSummaryList": []}, None)
    sm_stub.add_response("describe_model_package", described(), {"ModelPackageName": SOURCE})
    s3_stub.add_client_error(
        "head_object",
        "403",
        "Forbidden",
        403,
        expected_params={"Bucket": SPOKE_BUCKET, "Key": ARTIFACT_KEY, "ExpectedBucketOwner": DATA_SCIENCE},
    )

    with sm_stub, s3_stub:
        error, logs = run(sync, event_for(SOURCE), sm=sagemaker, s3=s3)
    assert type(error).__name__ == "SyncError"
    assert str(error) == (
        f"cannot read s3://{SPOKE_BUCKET}/{ARTIFACT_KEY} (403): it must be in a bucket of {DATA_SCIENCE} "
        "granting the hub read"
    )
    assert logs[-1]["level"] == "ERROR"


def test_a_spoke_group_without_the_policy_fails_loudly(sync, hub_env):
    """The spoke's group policy is missing: DescribeModelPackage is denied; the error is logged
    with the source and raised (Lambda retries, then keeps the event in the dead-letter queue)."""
    sagemaker, sm_stub = stubbed("sagemaker")
    s3, _ = stubbed("s3")
    sm_stub.add_response("list_model_packages", {"ModelPackageSummaryList": []}, None)
    sm_stub.add_client_error(
        "describe_model_package",
        "AccessDeniedException",
        "not authorized",
        400,
        expected_params={"ModelPackageName": SOURCE},
    )
    with sm_stub:
        error, logs = run(sync, event_for(SOURCE), sm=sagemaker, s3=s3)
    assert isinstance(error, ClientError)
    assert logs[-1]["error"] == "ClientError" and "AccessDeniedException" in logs[-1]["message"]
    assert logs[-1]["source_package_arn"] == SOURCE


def test_a_synced_version_is_found_through_its_metadata(sync, hub_env):
    sagemaker, sm_stub = stubbed("sagemaker")
    s3, _ = stubbed("s3")
    sm_stub.add_response(
        "list_model_packages",
        {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageArn": HUB_VERSION,
                    "ModelPackageDescription": f"Synced from {SOURCE}",
                    "CreationTime": "2024-05-02T00:00:00Z",
                    "ModelPackageStatus": "Completed",
                }
            ]
        },
        {"ModelPackageGroupName": GROUP, "SortBy": "CreationTime", "SortOrder": "Descending"},
    )
    sm_stub.add_response(
        "describe_model_package",
        {
            **described("PendingManualApproval"),
            "ModelPackageArn": HUB_VERSION,
            "CustomerMetadataProperties": {"smcat:source-model-package-arn": SOURCE},
        },
        {"ModelPackageName": HUB_VERSION},
    )
    with sm_stub:
        result, _ = run(sync, event_for(SOURCE), sm=sagemaker, s3=s3)
        sm_stub.assert_no_pending_responses()
    assert result == {"status": "exists", "hub_package_arn": HUB_VERSION}


# --- The request's values, for any valid source ----------------------------------------------------

group_names = st.from_regex(r"[a-zA-Z0-9](-?[a-zA-Z0-9]){0,30}", fullmatch=True)


@given(group=group_names, version=st.integers(min_value=1, max_value=10**6))
def test_client_token_and_metadata_fit_the_api_for_any_source(group, version):
    source = f"arn:aws-us-gov:sagemaker:us-gov-west-1:{DATA_SCIENCE}:model-package/{group}/{version}"
    match = real_module().PACKAGE.match(source)
    assert match and match[1] == DATA_SCIENCE and match[2] == group
    import boto3

    client = boto3.client("sagemaker", region_name=REGION)
    request = {
        "ModelPackageGroupName": group,
        "ModelPackageDescription": f"Synced from {source}",
        "ModelApprovalStatus": "PendingManualApproval",
        "CustomerMetadataProperties": {real_module().SOURCE_KEY: source},
        "ClientToken": hashlib.sha256(source.encode()).hexdigest()[:36],
    }
    assert request_violations(client, "CreateModelPackage", request) == []


# --- Packaging -------------------------------------------------------------------------------------


def test_the_embedded_code_fits_inline_and_keeps_every_function():
    code = inline_source("model_sync")
    assert len(code.encode()) <= INLINE_LIMIT
    tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    assert not [t for t in tokens if t.type == tokenize.COMMENT]
    assert '"""' not in code  # no docstrings
    module = inline_module()
    for name in ("handler", "sync", "find_synced", "copy_artifact", "log", "SyncError"):
        assert hasattr(module, name)
    assert module.PREFIX == real_module().PREFIX == hub.PULL_PREFIX  # the bucket policies' pull/ prefix
    assert module.SOURCE_KEY == real_module().SOURCE_KEY
