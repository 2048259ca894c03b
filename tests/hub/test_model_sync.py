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
    copied = f"pull/{DATA_SCIENCE}/{SPOKE_BUCKET}/{ARTIFACT_KEY}"
    metrics = f"pull/{DATA_SCIENCE}/{SPOKE_BUCKET}/evaluation.json"
    for key, target in ((ARTIFACT_KEY, copied), ("evaluation.json", metrics)):
        s3_stub.add_response(
            "list_objects_v2",
            {"Contents": [{"Key": key}], "IsTruncated": False},
            {"Bucket": SPOKE_BUCKET, "Prefix": key, "ExpectedBucketOwner": DATA_SCIENCE},
        )
        s3_stub.add_response("head_object", {"ContentLength": 11}, {"Bucket": SPOKE_BUCKET, "Key": key})
        s3_stub.add_response(
            "copy_object",
            {},
            {"Bucket": HUB_BUCKET, "Key": target, "CopySource": {"Bucket": SPOKE_BUCKET, "Key": key}},
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
        "ModelMetrics": {
            "ModelQuality": {
                "Statistics": {"ContentType": "application/json", "S3Uri": f"s3://{HUB_BUCKET}/{metrics}"}
            }
        },
    }
    assert request_violations(sagemaker, "CreateModelPackage", expected) == []
    sm_stub.add_response("create_model_package", {"ModelPackageArn": HUB_VERSION}, expected)

    with sm_stub, s3_stub:
        result, _ = run(sync, event_for(SOURCE), sm=sagemaker, s3=s3)
        sm_stub.assert_no_pending_responses()
        s3_stub.assert_no_pending_responses()
    assert result == {"status": "created", "hub_package_arn": HUB_VERSION}


def test_an_artifact_in_a_bucket_the_sender_does_not_own_is_refused(sync, hub_env):
    """ListObjectsV2 with ExpectedBucketOwner fails with 403 AccessDenied when the bucket belongs to
    someone else (S3 user guide, "Verifying bucket ownership with bucket owner condition"): a spoke
    cannot make the hub copy another account's model."""
    sagemaker, sm_stub = stubbed("sagemaker")
    s3, s3_stub = stubbed("s3")
    sm_stub.add_response("list_model_packages", {"ModelPackageSummaryList": []}, None)
    sm_stub.add_response("describe_model_package", described(), {"ModelPackageName": SOURCE})
    s3_stub.add_client_error(
        "list_objects_v2",
        "AccessDenied",
        "Access Denied",
        403,
        expected_params={"Bucket": SPOKE_BUCKET, "Prefix": ARTIFACT_KEY, "ExpectedBucketOwner": DATA_SCIENCE},
    )

    with sm_stub, s3_stub:
        error, logs = run(sync, event_for(SOURCE), sm=sagemaker, s3=s3)
    assert type(error).__name__ == "SyncError"
    assert str(error) == (
        f"cannot read s3://{SPOKE_BUCKET}/{ARTIFACT_KEY} (AccessDenied): it must be in a bucket of {DATA_SCIENCE} "
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


# --- Every S3 URI of a package -------------------------------------------------------------------
# A package with every S3 URI member DescribeModelPackage has: model data (object and prefix),
# code (SAGEMAKER_SUBMIT_DIRECTORY), extra data, reports, baselines, payload, source. Each URI names
# its own spoke key, so a dropped or unrewritten member shows as a spoke URI left in the request.

PREFIX_KEYS = ("uncompressed/config.json", "uncompressed/weights.bin")  # an S3Prefix model


def uri(name: str) -> str:
    return f"s3://{SPOKE_BUCKET}/{name}"


def hub_uri(name: str) -> str:
    return f"s3://{HUB_BUCKET}/pull/{DATA_SCIENCE}/{SPOKE_BUCKET}/{name}"


def s3_data(name: str) -> dict:
    return {"S3Uri": uri(name), "S3DataType": "S3Prefix", "CompressionType": "None"}


def containers(prefix: str) -> list[dict]:
    """Two containers holding every S3 URI member a container has."""
    return [
        {
            "Image": IMAGE,
            "ModelDataUrl": uri(f"{prefix}model.tar.gz"),
            "Environment": {
                "SAGEMAKER_SUBMIT_DIRECTORY": uri(f"{prefix}code/sourcedir.tar.gz"),
                "SAGEMAKER_PROGRAM": "inference.py",
            },
            "AdditionalS3DataSource": {"S3DataType": "S3Object", "S3Uri": uri(f"{prefix}extra.tar.gz")},
        },
        {
            "Image": IMAGE,
            "ModelDataSource": {"S3DataSource": s3_data("uncompressed/")},
            "AdditionalModelDataSources": [{"ChannelName": "draft", "S3DataSource": s3_data(f"{prefix}draft.bin")}],
        },
    ]


def report(name: str) -> dict:
    return {"ContentType": "application/json", "S3Uri": uri(f"reports/{name}.json")}


FULL_PACKAGE = {
    "InferenceSpecification": {
        "Containers": containers(""),
        "SupportedContentTypes": ["text/csv"],
        "SupportedResponseMIMETypes": ["text/csv"],
    },
    "AdditionalInferenceSpecifications": [{"Name": "batch", "Containers": containers("batch/")}],
    "SourceAlgorithmSpecification": {
        "SourceAlgorithms": [  # at most one
            {
                "AlgorithmName": "xgboost",
                "ModelDataUrl": uri("algorithm/model.tar.gz"),
                "ModelDataSource": {"S3DataSource": s3_data("algorithm/prefix/")},
            }
        ]
    },
    "ModelMetrics": {
        "ModelQuality": {"Statistics": report("mq-statistics"), "Constraints": report("mq-constraints")},
        "ModelDataQuality": {"Statistics": report("dq-statistics"), "Constraints": report("dq-constraints")},
        "Bias": {
            "Report": report("bias"),
            "PreTrainingReport": report("bias-pre"),
            "PostTrainingReport": report("bias-post"),
        },
        "Explainability": {"Report": report("explainability")},
    },
    "DriftCheckBaselines": {
        "Bias": {
            "ConfigFile": report("d-bias-config"),
            "PreTrainingConstraints": report("d-bias-pre"),
            "PostTrainingConstraints": report("d-bias-post"),
        },
        "Explainability": {"Constraints": report("d-expl-constraints"), "ConfigFile": report("d-expl-config")},
        "ModelQuality": {"Statistics": report("d-mq-statistics"), "Constraints": report("d-mq-constraints")},
        "ModelDataQuality": {"Statistics": report("d-dq-statistics"), "Constraints": report("d-dq-constraints")},
    },
    "SamplePayloadUrl": uri("payload/payload.tar.gz"),
    "SourceUri": uri("model.tar.gz"),
    "Domain": "MACHINE_LEARNING",
    "Task": "REGRESSION",
}
# URI members model_sync does not carry over (see its docstring): the validation runs as the spoke's
# ValidationRole; a manifest lists spoke locations (refused).
NOT_CARRIED = ("ValidationSpecification.", "ManifestS3Uri")


def uri_paths(value, path: str = "") -> dict[str, set[str]]:
    """path -> the s3:// URIs found there (lists as [], maps as {})."""
    found: dict[str, set[str]] = {}
    if isinstance(value, dict):
        environment = path.endswith(".Environment")
        for key, item in value.items():
            for p, uris in uri_paths(item, f"{path}{{}}" if environment else f"{path}.{key}").items():
                found.setdefault(p, set()).update(uris)
    elif isinstance(value, list):
        for item in value:
            for p, uris in uri_paths(item, f"{path}[]").items():
                found.setdefault(p, set()).update(uris)
    elif isinstance(value, str) and value.startswith("s3://"):
        found[path] = {value}
    return found


def shape_uri_paths(shape, path: str = "", seen: frozenset = frozenset()) -> set[str]:
    """Every string member of a botocore shape that holds an S3 URI: an S3 URI pattern, a *Url/*Uri/
    *Path name, or a container Environment value (SAGEMAKER_SUBMIT_DIRECTORY)."""
    kind, found = shape.type_name, set()
    if kind == "structure" and shape.name not in seen:
        for name, member in shape.members.items():
            found |= shape_uri_paths(member, f"{path}.{name}", seen | {shape.name})
    elif kind == "list":
        found |= shape_uri_paths(shape.member, f"{path}[]", seen)
    elif kind == "map":
        found |= shape_uri_paths(shape.value, f"{path}{{}}", seen)
    elif kind == "string":
        pattern = shape.metadata.get("pattern", "")
        name = path.rsplit(".", 1)[-1]
        if ("s3" in pattern and "://" in pattern) or name.endswith(("Url", "Uri", "Path")) or path.endswith(
            "Environment{}"
        ):
            found.add(path)
    return found


def test_the_full_package_has_every_s3_uri_member_of_describe_model_package():
    """Walks DescribeModelPackage's output shape (botocore): a member botocore adds that may hold an
    S3 URI fails here until FULL_PACKAGE has it (and then the copy test checks it is rewritten)."""
    import boto3

    shape = boto3.client("sagemaker", region_name=REGION).meta.service_model.operation_model(
        "DescribeModelPackage"
    ).output_shape
    members = {p for p in shape_uri_paths(shape) if not any(n in p for n in NOT_CARRIED)}
    assert ".InferenceSpecification.Containers[].Environment{}" in members
    assert set(uri_paths(FULL_PACKAGE)) == members


class Recording(CrossAccountSageMaker):
    """Records the hub's CreateModelPackage requests; the source's description gets back the
    members moto does not keep (SourceUri), as SageMaker returns them."""

    def __init__(self, home, others):
        super().__init__(home, others)
        self.created: list[dict] = []

    def describe_model_package(self, ModelPackageName):  # noqa: N803 (boto3's name)
        described = super().describe_model_package(ModelPackageName)
        if ModelPackageName.split(":")[4] == DATA_SCIENCE:
            for key, value in FULL_PACKAGE.items():
                described.setdefault(key, value)
        return described

    def create_model_package(self, **request):
        self.created.append(request)
        return self.home.create_model_package(**request)


@pytest.fixture
def full(accounts):
    keys = {u.removeprefix(f"s3://{SPOKE_BUCKET}/") for uris in uri_paths(FULL_PACKAGE).values() for u in uris}
    for key in {k for k in keys if not k.endswith("/")} | {*PREFIX_KEYS, "algorithm/prefix/a.bin"}:
        accounts.spoke_s3.put_object(Bucket=SPOKE_BUCKET, Key=key, Body=key.encode())
    source = accounts.spoke_sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved", **FULL_PACKAGE
    )["ModelPackageArn"]
    accounts.recording = Recording(accounts.hub_sm, {DATA_SCIENCE: accounts.spoke_sm})
    accounts.full_source = source
    return accounts


def test_every_s3_uri_of_the_package_is_copied_into_the_hub_and_rewritten(sync, full):
    result, _ = run(sync, event_for(full.full_source), sm=full.recording, s3=full.hub_s3)

    assert result["status"] == "created"
    (request,) = full.recording.created
    text = json.dumps(request).replace(f"{HUB_BUCKET}/pull/{DATA_SCIENCE}/{SPOKE_BUCKET}/", "")
    assert f"{SPOKE_BUCKET}/" not in text  # no URI left that a workload account would read in the spoke
    expected = {
        path: {hub_uri(u.removeprefix(f"s3://{SPOKE_BUCKET}/")) for u in uris}
        for path, uris in uri_paths(FULL_PACKAGE).items()
    }
    assert uri_paths(request) == expected  # every path kept, every URI rewritten
    assert "ModelDataETag" not in json.dumps(request)
    # The objects are in the hub, byte for byte; a prefix brings every object under it.
    for uris in expected.values():
        for copied in uris:
            key = copied.removeprefix(f"s3://{HUB_BUCKET}/")
            if key.endswith("/"):
                listed = full.hub_s3.list_objects_v2(Bucket=HUB_BUCKET, Prefix=key).get("Contents", [])
                assert listed, copied
                continue
            body = full.hub_s3.get_object(Bucket=HUB_BUCKET, Key=key)["Body"].read()
            assert body == key.rsplit(f"{SPOKE_BUCKET}/", 1)[1].encode()
    for key in PREFIX_KEYS:
        full.hub_s3.head_object(Bucket=HUB_BUCKET, Key=f"pull/{DATA_SCIENCE}/{SPOKE_BUCKET}/{key}")
    # What moto keeps of the hub version says the same.
    (version,) = [v for v in hub_versions(full.hub_sm) if v["ModelPackageArn"] == result["hub_package_arn"]]
    stored = uri_paths({k: version[k] for k in FULL_PACKAGE if k in version})
    assert stored and all(uris <= expected[path] for path, uris in stored.items())


def test_a_redelivered_full_package_copies_and_creates_nothing_new(sync, full):
    event = event_for(full.full_source)
    first, _ = run(sync, event, sm=full.recording, s3=full.hub_s3)
    objects = full.hub_s3.list_objects_v2(Bucket=HUB_BUCKET)["KeyCount"]
    second, _ = run(sync, event, sm=full.recording, s3=full.hub_s3)
    assert second == {"status": "exists", "hub_package_arn": first["hub_package_arn"]}
    assert len(full.recording.created) == 1
    assert full.hub_s3.list_objects_v2(Bucket=HUB_BUCKET)["KeyCount"] == objects


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda p: p["InferenceSpecification"]["Containers"][1]["ModelDataSource"]["S3DataSource"].update(
                ManifestS3Uri=uri("manifest.json")
            ),
            "ManifestS3Uri cannot be synced",
        ),
        (
            lambda p: p.update(SamplePayloadUrl=f"https://{SPOKE_BUCKET}.s3.{REGION}.amazonaws.com/payload.tar.gz"),
            "is not an s3:// URL",
        ),
        (lambda p: p["ModelMetrics"]["Bias"]["Report"].update(S3Uri=uri("missing.json")), "does not exist"),
    ],
)
def test_a_uri_that_cannot_be_copied_fails_and_registers_nothing(sync, full, change, message):
    """A manifest (it lists spoke locations), an https URL, a missing object: a clear error, no version."""
    original = FULL_PACKAGE

    def describe(ModelPackageName):  # noqa: N803 (boto3's name)
        described = {**Recording.describe_model_package(full.recording, ModelPackageName)}
        described = json.loads(json.dumps(described, default=str))
        change(described)
        return described

    full.recording.describe_model_package = describe
    error, _ = run(sync, event_for(full.full_source), sm=full.recording, s3=full.hub_s3)
    assert type(error).__name__ == "SyncError" and message in str(error)
    assert full.recording.created == []
    assert FULL_PACKAGE is original
