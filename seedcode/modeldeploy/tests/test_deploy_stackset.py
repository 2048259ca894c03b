"""Tests of deploy_stackset.py: planning (pure) and applying (botocore Stubber, model-validated).

moto 5.2 accepts SERVICE_MANAGED StackSets but ignores CallAs, AutoDeployment
and ManagedExecution, does not report OrganizationalUnitId on stack
instances, and finishes every operation instantly; the planning logic
depends on exactly those details, so the AWS side is stubbed here with
requests checked against the CloudFormation API model.
"""

from __future__ import annotations

import json

import boto3
import pytest
from aws_validation import strict_stubber

NAME = "sagemaker-churn-p-abc123-deploy-staging"
OU = "ou-ab12-cdef3456"
OU2 = "ou-ab12-99999999"
REGION = "us-east-1"
BODY = "AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n"
PARAMS = {"StageName": "staging", "SageMakerProjectName": "churn", "SageMakerProjectId": "p-abc123"}
TAGS = {"sagemaker:project-name": "churn", "sagemaker:deployment-stage": "staging"}
PREFS = {"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 100, "FailureTolerancePercentage": 0}


@pytest.fixture
def desired(deploy_stackset):
    return deploy_stackset.DesiredStackSet(
        name=NAME, template_body=BODY, parameters=dict(PARAMS), tags=dict(TAGS), description="endpoint (staging)"
    )


@pytest.fixture
def targets(deploy_stackset):
    return deploy_stackset.Targets((OU,), (REGION,))


def existing(desired, **changes):
    """describe_stack_set's StackSet for a StackSet deployed exactly as ``desired``."""
    stack_set = {
        "StackSetName": desired.name,
        "StackSetId": f"{desired.name}:1111",
        "Status": "ACTIVE",
        "TemplateBody": desired.template_body,
        "Description": desired.description,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in desired.parameters.items()],
        "Tags": [{"Key": k, "Value": v} for k, v in desired.tags.items()],
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        "ManagedExecution": {"Active": True},
        "OrganizationalUnitIds": [OU],
        "Regions": [REGION],
    }
    stack_set.update(changes)
    return stack_set


def instance(deploy_stackset, account="222222222222", ou=OU, status="CURRENT", region=REGION, reason=None):
    return deploy_stackset.InstanceState(account, region, ou, status, None, reason)


# --------------------------------------------------------------------------
# Planning (pure)
# --------------------------------------------------------------------------


def test_plan_creates_stack_set_and_instances_when_missing(deploy_stackset, desired, targets):
    plan = deploy_stackset.plan_deployment(desired, targets, deploy_stackset.CurrentState(None))
    assert plan.create_stack_set and not plan.update_stack_set
    assert plan.create_instances == {REGION: [OU]}


def test_plan_is_noop_when_everything_matches(deploy_stackset, desired, targets):
    current = deploy_stackset.CurrentState(existing(desired), (instance(deploy_stackset),))
    plan = deploy_stackset.plan_deployment(desired, targets, current)
    assert plan.is_noop and not plan.blockers
    assert plan.describe().startswith("nothing to do")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"TemplateBody": "old"}, "template changed"),
        ({"Parameters": [{"ParameterKey": "StageName", "ParameterValue": "staging"}]},
         "parameters changed: SageMakerProjectId, SageMakerProjectName"),
        ({"Tags": []}, "tags changed"),
        ({"AutoDeployment": {"Enabled": False}}, "auto-deployment settings changed"),
        ({"ManagedExecution": {"Active": False}}, "managed execution off"),
    ],
)
def test_plan_updates_on_any_difference(deploy_stackset, desired, targets, change, reason):
    current = deploy_stackset.CurrentState(existing(desired, **change), (instance(deploy_stackset),))
    plan = deploy_stackset.plan_deployment(desired, targets, current)
    assert plan.update_stack_set and plan.update_reasons == [reason]
    assert not plan.create_stack_set and not plan.create_instances


def test_plan_retries_outdated_instances(deploy_stackset, desired, targets):
    current = deploy_stackset.CurrentState(
        existing(desired), (instance(deploy_stackset), instance(deploy_stackset, "333333333333", status="OUTDATED"))
    )
    plan = deploy_stackset.plan_deployment(desired, targets, current)
    assert plan.update_reasons == ["retry outdated stack instances"]


def test_plan_blocks_on_inoperable_instances_and_wrong_permission_model(deploy_stackset, desired, targets):
    current = deploy_stackset.CurrentState(
        existing(desired, PermissionModel="SELF_MANAGED"),
        (instance(deploy_stackset, status="INOPERABLE", reason="stack deleted outside StackSets"),),
    )
    blockers = deploy_stackset.plan_deployment(desired, targets, current).blockers
    assert any("SELF_MANAGED" in b for b in blockers)
    assert any("INOPERABLE (stack deleted outside StackSets)" in b for b in blockers)


def test_plan_adds_instances_only_for_new_ous(deploy_stackset, desired):
    targets = deploy_stackset.Targets((OU, OU2), (REGION,))
    current = deploy_stackset.CurrentState(existing(desired), (instance(deploy_stackset),))
    plan = deploy_stackset.plan_deployment(desired, targets, current)
    assert plan.create_instances == {REGION: [OU2]} and not plan.update_stack_set


def test_plan_treats_recorded_empty_ou_as_deployed(deploy_stackset, desired, targets):
    # The OU has no accounts yet, so no instances; the StackSet records it as a target.
    plan = deploy_stackset.plan_deployment(desired, targets, deploy_stackset.CurrentState(existing(desired), ()))
    assert plan.is_noop


def test_plan_adds_instances_for_a_new_region_and_ignores_other_regions(deploy_stackset, desired):
    targets = deploy_stackset.Targets((OU,), ("eu-west-1",))
    current = deploy_stackset.CurrentState(
        existing(desired), (instance(deploy_stackset, status="INOPERABLE", region=REGION),)
    )
    plan = deploy_stackset.plan_deployment(desired, targets, current)
    assert plan.create_instances == {"eu-west-1": [OU]}
    assert not plan.blockers  # the broken instance is in a region this run does not touch


# --------------------------------------------------------------------------
# Applying against stubbed CloudFormation
# --------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def waiter(deploy_stackset, clock):
    return deploy_stackset.Waiter(timeout_seconds=300, poll_seconds=30, sleep=clock.sleep, clock=clock)


@pytest.fixture
def cfn():
    client = boto3.client("cloudformation", region_name=REGION)
    stub = strict_stubber(client)
    stub.activate()
    yield client, stub
    stub.deactivate()


CALL_AS = "DELEGATED_ADMIN"


def expect_describe(stub, stack_set=None):
    if stack_set is None:
        stub.add_client_error("describe_stack_set", "StackSetNotFoundException", "not found",
                              expected_params={"StackSetName": NAME, "CallAs": CALL_AS})
    else:
        stub.add_response("describe_stack_set", {"StackSet": stack_set}, {"StackSetName": NAME, "CallAs": CALL_AS})


def expect_instances(stub, summaries):
    stub.add_response("list_stack_instances", {"Summaries": summaries},
                      {"StackSetName": NAME, "CallAs": CALL_AS, "StackInstanceRegion": REGION})


def expect_operations(stub, summaries=()):
    stub.add_response("list_stack_set_operations", {"Summaries": list(summaries)},
                      {"StackSetName": NAME, "CallAs": CALL_AS})


def expect_operation_status(stub, operation_id, *statuses, action="UPDATE", reason=None):
    for status in statuses:
        operation = {"OperationId": operation_id, "Action": action, "Status": status}
        if reason and status == statuses[-1]:
            operation["StatusReason"] = reason
        stub.add_response("describe_stack_set_operation", {"StackSetOperation": operation},
                          {"StackSetName": NAME, "OperationId": operation_id, "CallAs": CALL_AS})


def stack_set_request(desired):
    return {
        "StackSetName": NAME,
        "TemplateBody": BODY,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(PARAMS.items())],
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(TAGS.items())],
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        "ManagedExecution": {"Active": True},
        "CallAs": CALL_AS,
        "Description": desired.description,
    }


CURRENT_SUMMARY = {"Account": "222222222222", "Region": REGION, "OrganizationalUnitId": OU, "Status": "CURRENT",
                   "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}


def test_first_deployment_creates_stack_set_and_ou_instances(deploy_stackset, desired, targets, cfn, waiter, clock):
    client, stub = cfn
    expect_describe(stub, None)
    stub.add_response("create_stack_set", {"StackSetId": f"{NAME}:1111"}, stack_set_request(desired))
    stub.add_response(
        "create_stack_instances", {"OperationId": "op-create"},
        {"StackSetName": NAME, "DeploymentTargets": {"OrganizationalUnitIds": [OU]}, "Regions": [REGION],
         "OperationPreferences": PREFS, "CallAs": CALL_AS},
    )
    expect_operation_status(stub, "op-create", "RUNNING", "SUCCEEDED", action="CREATE")

    plan = deploy_stackset.deploy(client, desired, targets, CALL_AS, waiter, PREFS)

    assert plan.create_stack_set
    assert clock.sleeps == [30]
    stub.assert_no_pending_responses()


def test_up_to_date_stack_set_makes_no_changes(deploy_stackset, desired, targets, cfn, waiter):
    client, stub = cfn
    expect_describe(stub, existing(desired))
    expect_instances(stub, [CURRENT_SUMMARY])
    expect_operations(stub, [{"OperationId": "old", "Status": "SUCCEEDED"}])
    plan = deploy_stackset.deploy(client, desired, targets, CALL_AS, waiter, PREFS)
    assert plan.is_noop
    stub.assert_no_pending_responses()  # and no create/update call was made


def test_failed_update_reports_instance_reasons(deploy_stackset, desired, targets, cfn, waiter):
    client, stub = cfn
    expect_describe(stub, existing(desired, TemplateBody="old body"))
    expect_instances(stub, [CURRENT_SUMMARY])
    expect_operations(stub)
    stub.add_response("update_stack_set", {"OperationId": "op-update"},
                      {**stack_set_request(desired), "OperationPreferences": PREFS})
    expect_operation_status(stub, "op-update", "FAILED", reason="Failure tolerance exceeded")
    stub.add_response(
        "list_stack_set_operation_results",
        {"Summaries": [
            {"Account": "222222222222", "Region": REGION, "Status": "FAILED", "OrganizationalUnitId": OU,
             "StatusReason": "ResourceLogicalId:Endpoint, ResourceStatusReason:Could not access model data"},
            {"Account": "333333333333", "Region": REGION, "Status": "SUCCEEDED"},
        ]},
        {"StackSetName": NAME, "OperationId": "op-update", "CallAs": CALL_AS},
    )

    with pytest.raises(deploy_stackset.DeployError) as info:
        deploy_stackset.deploy(client, desired, targets, CALL_AS, waiter, PREFS)

    message = str(info.value)
    assert "ended FAILED: Failure tolerance exceeded" in message
    assert f"222222222222/{REGION} (OU {OU}): FAILED: ResourceLogicalId:Endpoint" in message
    assert "333333333333" not in message
    stub.assert_no_pending_responses()


def test_operation_timeout_is_reported(deploy_stackset, desired, targets, cfn, waiter, clock):
    client, stub = cfn
    expect_describe(stub, existing(desired, TemplateBody="old body"))
    expect_instances(stub, [CURRENT_SUMMARY])
    expect_operations(stub)
    stub.add_response("update_stack_set", {"OperationId": "op-slow"},
                      {**stack_set_request(desired), "OperationPreferences": PREFS})
    expect_operation_status(stub, "op-slow", *["RUNNING"] * 11)  # 0s, 30s, ... 300s

    with pytest.raises(deploy_stackset.DeployError, match="Timed out after 300s .* op-slow"):
        deploy_stackset.deploy(client, desired, targets, CALL_AS, waiter, PREFS)
    assert len(clock.sleeps) == 10


def test_waits_for_running_operation_then_replans(deploy_stackset, desired, targets, cfn, waiter):
    """A retried build finds the previous attempt's update still running and must not collide."""
    client, stub = cfn
    expect_describe(stub, existing(desired, TemplateBody="old body"))
    expect_instances(stub, [CURRENT_SUMMARY])
    expect_operations(stub, [{"OperationId": "op-previous", "Status": "RUNNING"}])
    expect_operation_status(stub, "op-previous", "SUCCEEDED")
    # After waiting, the state is re-read: the previous attempt already deployed this body.
    expect_describe(stub, existing(desired))
    expect_instances(stub, [CURRENT_SUMMARY])

    plan = deploy_stackset.deploy(client, desired, targets, CALL_AS, waiter, PREFS)
    assert plan.is_noop
    stub.assert_no_pending_responses()


def test_concurrent_creation_is_handled_by_replanning(deploy_stackset, desired, targets, cfn, waiter):
    client, stub = cfn
    expect_describe(stub, None)
    stub.add_client_error("create_stack_set", "NameAlreadyExistsException", "exists",
                          expected_params=stack_set_request(desired))
    expect_describe(stub, existing(desired, OrganizationalUnitIds=[], Regions=[]))
    expect_instances(stub, [])
    expect_operations(stub)
    stub.add_response(
        "create_stack_instances", {"OperationId": "op-2"},
        {"StackSetName": NAME, "DeploymentTargets": {"OrganizationalUnitIds": [OU]}, "Regions": [REGION],
         "OperationPreferences": PREFS, "CallAs": CALL_AS},
    )
    expect_operation_status(stub, "op-2", "SUCCEEDED", action="CREATE")

    plan = deploy_stackset.deploy(client, desired, targets, CALL_AS, waiter, PREFS)
    assert plan.create_instances == {REGION: [OU]} and not plan.create_stack_set
    stub.assert_no_pending_responses()


def test_blocked_plan_fails_without_changes(deploy_stackset, desired, targets, cfn, waiter):
    client, stub = cfn
    expect_describe(stub, existing(desired))
    expect_instances(stub, [{**CURRENT_SUMMARY, "Status": "INOPERABLE", "StatusReason": "gone"}])
    expect_operations(stub)
    with pytest.raises(deploy_stackset.DeployError, match="INOPERABLE"):
        deploy_stackset.deploy(client, desired, targets, CALL_AS, waiter, PREFS)
    stub.assert_no_pending_responses()


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    template = tmp_path / "template-export.yml"
    template.write_text(BODY)
    config = tmp_path / "staging-config-export.json"
    config.write_text(json.dumps({"Parameters": PARAMS, "Tags": TAGS}))
    return template, config


def test_main_dry_run_prints_plan_and_changes_nothing(deploy_stackset, files, cfn, waiter, capsys):
    client, stub = cfn
    template, config = files
    expect_describe(stub, None)
    code = deploy_stackset.main(
        ["--stack-set-name", NAME, "--template-file", str(template), "--template-configuration", str(config),
         "--organizational-unit-id", OU, "--call-as", CALL_AS, "--dry-run"],
        cfn=client, waiter=waiter,
    )
    assert code == 0
    assert capsys.readouterr().out.splitlines() == ["create StackSet", f"create stack instances for {OU} in {REGION}"]
    stub.assert_no_pending_responses()


def test_main_accepts_the_stackset_parameter_list_format(deploy_stackset, files, tmp_path):
    params_file = tmp_path / "staging-params-export.json"
    params_file.write_text(json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMS.items()]))
    assert deploy_stackset.load_parameters_and_tags(params_file) == (PARAMS, {})
    assert deploy_stackset.load_parameters_and_tags(files[1]) == (PARAMS, TAGS)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organizational-unit-id", "ou-bad"], "is not an OU id"),
        (["--organizational-unit-id", OU, "--stack-set-name", "1-starts-with-digit"], "--stack-set-name"),
    ],
)
def test_main_rejects_bad_arguments_before_calling_aws(deploy_stackset, files, args, message, caplog):
    template, config = files
    argv = ["--stack-set-name", NAME, "--template-file", str(template), "--template-configuration", str(config)]
    code = deploy_stackset.main(argv + args, cfn=object())
    assert code == 1
    assert message in caplog.text


def test_main_rejects_templates_over_the_body_limit(deploy_stackset, files, caplog):
    template, config = files
    template.write_text("#" * 51_201)
    code = deploy_stackset.main(
        ["--stack-set-name", NAME, "--template-file", str(template), "--template-configuration", str(config),
         "--organizational-unit-id", OU],
        cfn=object(),
    )
    assert code == 1 and "TemplateBody allows 51200" in caplog.text


def test_main_explains_missing_delegated_admin_registration(deploy_stackset, files, cfn, waiter, caplog):
    client, stub = cfn
    template, config = files
    stub.add_client_error("describe_stack_set", "ValidationError",
                          "Account used is not a delegated administrator",
                          expected_params={"StackSetName": NAME, "CallAs": CALL_AS})
    code = deploy_stackset.main(
        ["--stack-set-name", NAME, "--template-file", str(template), "--template-configuration", str(config),
         "--organizational-unit-id", OU], cfn=client, waiter=waiter,
    )
    assert code == 1
    assert "register-delegated-administrator" in caplog.text
