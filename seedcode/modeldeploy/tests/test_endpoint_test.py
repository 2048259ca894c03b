"""Tests of test/test.py (the endpoint smoke test run after each stage deployment)."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from aws_validation import strict_stubber
from botocore.response import StreamingBody

NAME = "churn-p-abc123-staging"
PAYLOAD = b"59,2,32.1,101,157,93.2,38,4,4.8598,87\n"


def described(status, reason=None):
    response = {
        "EndpointName": NAME,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{NAME}",
        "EndpointConfigName": "EndpointConfig-abc",
        "EndpointStatus": status,
        "CreationTime": "2025-01-01T00:00:00Z",
        "LastModifiedTime": "2025-01-01T00:00:00Z",
    }
    if reason:
        response["FailureReason"] = reason
    return response


def invoked(body=b"152.3\n"):
    return {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "text/csv"}


class FakeClock:
    """Monotonic clock that advances only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Target:
    """Stubbed SageMaker clients of one account, as a boto3-session stand-in."""

    def __init__(self, region="us-east-1"):
        self.region_name = region
        self.clients = {
            "sagemaker": boto3.client("sagemaker", region_name=region),
            "sagemaker-runtime": boto3.client("sagemaker-runtime", region_name=region),
            "cloudformation": boto3.client("cloudformation", region_name=region),
        }
        self.stubs = {name: strict_stubber(client) for name, client in self.clients.items()}
        for stub in self.stubs.values():
            stub.activate()

    def client(self, name):
        return self.clients[name]

    def get_partition_for_region(self, region):
        return "aws"

    def expect_healthy(self, name=NAME):
        self.stubs["sagemaker"].add_response("describe_endpoint", described("InService"), {"EndpointName": name})
        self.stubs["sagemaker-runtime"].add_response(
            "invoke_endpoint", invoked(), {"EndpointName": name, "ContentType": "text/csv", "Body": PAYLOAD}
        )

    def verify(self):
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


def check(endpoint_test, target, clock=None, wait_seconds=0):
    clock = clock or FakeClock()
    return endpoint_test.check_endpoint(
        target.client("sagemaker"), target.client("sagemaker-runtime"), NAME, PAYLOAD, "text/csv",
        wait_seconds=wait_seconds, poll_seconds=30, sleep=clock.sleep, clock=clock,
    )


def test_in_service_and_answering_passes(endpoint_test):
    target = Target()
    target.expect_healthy()
    result = check(endpoint_test, target)
    assert result.ok and result.status == "InService"
    assert "152.3" in result.message
    target.verify()


def test_failed_endpoint_fails_without_invoking(endpoint_test):
    target = Target()
    target.stubs["sagemaker"].add_response(
        "describe_endpoint", described("Failed", "ModelError: image not found"), {"EndpointName": NAME}
    )
    result = check(endpoint_test, target)  # no invoke_endpoint queued: calling it would raise
    assert not result.ok
    assert result.message == "endpoint status is Failed: ModelError: image not found"
    target.verify()


def test_waits_while_updating_then_passes(endpoint_test):
    target = Target()
    target.stubs["sagemaker"].add_response("describe_endpoint", described("Updating"), {"EndpointName": NAME})
    target.expect_healthy()
    clock = FakeClock()
    result = check(endpoint_test, target, clock=clock, wait_seconds=600)
    assert result.ok
    assert clock.sleeps == [30]
    target.verify()


def test_gives_up_when_still_creating_after_the_wait(endpoint_test):
    target = Target()
    for _ in range(3):
        target.stubs["sagemaker"].add_response("describe_endpoint", described("Creating"), {"EndpointName": NAME})
    clock = FakeClock()
    result = check(endpoint_test, target, clock=clock, wait_seconds=60)
    assert not result.ok and result.message == "endpoint status is Creating"
    assert clock.sleeps == [30, 30]
    target.verify()


def test_model_error_on_invoke_fails_with_a_hint(endpoint_test):
    target = Target()
    target.stubs["sagemaker"].add_response("describe_endpoint", described("InService"), {"EndpointName": NAME})
    target.stubs["sagemaker-runtime"].add_client_error("invoke_endpoint", "ModelError", "could not convert string",
                                                       http_status_code=424)
    result = check(endpoint_test, target)
    assert not result.ok
    assert "ModelError" in result.message and "sample-payload.csv" in result.message


def test_empty_prediction_fails(endpoint_test):
    target = Target()
    target.stubs["sagemaker"].add_response("describe_endpoint", described("InService"), {"EndpointName": NAME})
    target.stubs["sagemaker-runtime"].add_response("invoke_endpoint", invoked(b""))
    assert check(endpoint_test, target).message == "invoke_endpoint returned an empty body"


# --------------------------------------------------------------------------
# main()
# --------------------------------------------------------------------------


@pytest.fixture
def staging_export(tmp_path):
    path = tmp_path / "staging-config-export.json"
    path.write_text(json.dumps({
        "Parameters": {"SageMakerProjectName": "churn", "SageMakerProjectId": "p-abc123", "StageName": "staging",
                       "ModelExecutionRoleName": "sagemaker-role-stg"},
        "Tags": {},
    }))
    return path


@pytest.fixture
def payload_file(tmp_path):
    path = tmp_path / "payload.csv"
    path.write_bytes(PAYLOAD)
    return path


def test_main_current_account_pass_writes_results(endpoint_test, staging_export, payload_file, tmp_path):
    target = Target()
    target.expect_healthy()
    results = tmp_path / "results.json"
    code = endpoint_test.main(
        ["--import-config", str(staging_export), "--payload-file", str(payload_file),
         "--export-test-results", str(results)],
        session=target,
    )
    assert code == 0
    written = json.loads(results.read_text())
    assert written["endpoint_name"] == NAME
    assert [(r["account"], r["ok"]) for r in written["results"]] == [("current", True)]


def test_main_fails_when_endpoint_not_in_service(endpoint_test, staging_export, payload_file):
    target = Target()
    target.stubs["sagemaker"].add_response("describe_endpoint", described("OutOfService"), {"EndpointName": NAME})
    code = endpoint_test.main(
        ["--import-config", str(staging_export), "--payload-file", str(payload_file), "--wait-seconds", "0"],
        session=target,
    )
    assert code == 1


def test_main_tests_every_stackset_account_with_the_tester_role(endpoint_test, staging_export, payload_file):
    tooling = Target()
    tooling.stubs["cloudformation"].add_response(
        "list_stack_instances",
        {"Summaries": [
            {"StackSetId": "ss:1", "Region": "us-east-1", "Account": "222222222222", "Status": "CURRENT"},
            {"StackSetId": "ss:1", "Region": "us-east-1", "Account": "333333333333", "Status": "CURRENT"},
        ]},
        {"StackSetName": "sagemaker-churn-p-abc123-deploy-staging", "CallAs": "DELEGATED_ADMIN",
         "StackInstanceRegion": "us-east-1"},
    )
    healthy, broken = Target(), Target()
    healthy.expect_healthy()
    broken.stubs["sagemaker"].add_client_error("describe_endpoint", "ValidationException", "Could not find endpoint")
    accounts = {"222222222222": healthy, "333333333333": broken}
    assumed = []

    def session_for_role(base, role_arn):
        assumed.append(role_arn)
        return accounts[role_arn.split(":")[4]]

    code = endpoint_test.main(
        ["--import-config", str(staging_export), "--payload-file", str(payload_file),
         "--stack-set-name", "sagemaker-churn-p-abc123-deploy-staging", "--call-as", "DELEGATED_ADMIN",
         "--role-name", "sagemaker-mlops-tester"],
        session=tooling,
        session_for_role=session_for_role,
    )
    assert code == 1  # one of the two accounts has no endpoint
    assert assumed == [
        "arn:aws:iam::222222222222:role/sagemaker-mlops-tester",
        "arn:aws:iam::333333333333:role/sagemaker-mlops-tester",
    ]
    healthy.verify()
    tooling.verify()


def test_main_never_falls_back_to_the_execution_role(endpoint_test, staging_export, payload_file, monkeypatch,
                                                    caplog):
    """The stage's ModelExecutionRoleName serves the endpoint; the pipeline tests with a tester role."""
    monkeypatch.delenv("TEST_ROLE_NAME", raising=False)
    assumed = []
    code = endpoint_test.main(
        ["--import-config", str(staging_export), "--payload-file", str(payload_file), "--account-id", "222222222222"],
        session=Target(), session_for_role=lambda base, arn: assumed.append(arn),
    )
    assert code == 2 and assumed == []
    assert "TEST_ROLE_NAME" in caplog.text and "tester" in caplog.text


def test_main_takes_the_tester_role_from_the_environment(endpoint_test, staging_export, payload_file, monkeypatch):
    monkeypatch.setenv("TEST_ROLE_NAME", "sagemaker-mlops-tester")
    healthy = Target()
    healthy.expect_healthy()
    assumed = []

    def session_for_role(base, role_arn):
        assumed.append(role_arn)
        return healthy

    code = endpoint_test.main(
        ["--import-config", str(staging_export), "--payload-file", str(payload_file), "--account-id", "222222222222"],
        session=Target(), session_for_role=session_for_role,
    )
    assert code == 0
    assert assumed == ["arn:aws:iam::222222222222:role/sagemaker-mlops-tester"]


def test_main_without_config_is_a_usage_error(endpoint_test, payload_file):
    assert endpoint_test.main(["--payload-file", str(payload_file)], session=Target()) == 2


def test_endpoint_name_matches_both_export_formats(endpoint_test, staging_export, tmp_path):
    as_list = tmp_path / "staging-params-export.json"
    params = json.loads(staging_export.read_text())["Parameters"]
    as_list.write_text(json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]))
    for path in (staging_export, as_list):
        assert endpoint_test.endpoint_name(endpoint_test.load_stage_parameters(path)) == NAME
