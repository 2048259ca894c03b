"""Tests of endpoint-config-template.yml: lint, NVMe/KMS condition, deployment config, tags, scaling."""

from __future__ import annotations

import json
import re

import botocore.session
import pytest
from cfn_eval import Evaluator
from cfnlint.api import lint_by_config, lint_file
from cfnlint.config import ManualArgs
from conftest import REPO, TEMPLATE

KMS = "arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PACKAGE = "arn:aws:sagemaker:us-east-1:111122223333:model-package/central-churn/7"
LONGEST_NAME = "a" + "-b" * 15 + "c"  # 32 characters, valid project name
LONGEST_ID = "p-" + "x" * 18  # 20 characters
assert len(LONGEST_NAME) == 32 and len(LONGEST_ID) == 20

# Independent record of which SageMaker hosting families have NVMe instance
# store (from the EC2 instance type specifications). Every family botocore
# knows must be in exactly one of the two sets, so a botocore upgrade that
# adds a family fails test_every_botocore_family_is_classified until someone
# looks the new family up and updates the template condition.
NVME_FAMILIES = {
    "c5d", "c6gd", "c7gd", "m5d", "m6gd", "m7gd", "r5d", "r6gd", "r7gd",
    "g4dn", "g5", "g6", "g6e", "g7", "g7e", "dl1", "trn1", "trn1n", "trn2",
    "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200", "p6-b300", "p6e-gb200",
}
EBS_ONLY_FAMILIES = {
    "c4", "c5", "c6g", "c6gn", "c6i", "c6in", "c7g", "c7i", "c8g",
    "m4", "m5", "m6g", "m6i", "m7i", "m8g",
    "r5", "r6g", "r6i", "r7i", "r8g",
    "t2", "p2", "p3", "inf1", "inf2",
}


def hosting_instance_types() -> list[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    return list(model.shape_for("ProductionVariantInstanceType").enum)


def family(instance_type: str) -> str:
    return instance_type.split(".")[1]


_DECLARED: dict = {}


def declared_parameters(build) -> dict:
    """The template's Parameters section, parsed once (YAML parsing dominates otherwise)."""
    if not _DECLARED:
        _DECLARED.update(build.load_template_parameters(TEMPLATE))
    return _DECLARED


def stage_parameters(build, stage: str, **overrides) -> dict[str, str]:
    """What build.py produces for a stage config, with sample pipeline values."""
    config = json.loads((REPO / f"{stage}-config.json").read_text())
    result = build.compute_stage_parameters(
        stage,
        config,
        model_package_arn=PACKAGE,
        project_name="churn",
        project_id="p-abc123",
        execution_role_name="sagemaker-role-x",
        kms_key_arn=KMS,
        template_parameters=declared_parameters(build),
    )
    return {**result.parameters, **overrides}


def resources(template, parameters) -> dict:
    return Evaluator(template, parameters).resources()


def assert_lint_clean(matches):
    assert [f"{m.rule.id} {m.message} ({m.filename}:{m.linenumber})" for m in matches] == []


# --------------------------------------------------------------------------
# Lint
# --------------------------------------------------------------------------


def test_template_lints_clean():
    assert_lint_clean(lint_file(TEMPLATE))


def test_template_fits_stackset_template_body_limit():
    # deploy_stackset.py passes the template as TemplateBody (max 51,200 bytes).
    assert len(TEMPLATE.read_bytes()) < 51_200


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_lints_clean_with_each_stage_parameter_file(build, stage, tmp_path):
    """Lint with the exact StackSet parameter file build.py writes for the stage."""
    result = build.compute_stage_parameters(
        stage,
        json.loads((REPO / f"{stage}-config.json").read_text()),
        model_package_arn=PACKAGE, project_name="churn", project_id="p-abc123",
        execution_role_name="sagemaker-role-x", kms_key_arn=KMS,
    )
    params_file = tmp_path / f"{stage}-params-export.json"
    params_file.write_text(json.dumps(build.to_stackset_parameters(result)))
    assert_lint_clean(lint_by_config(ManualArgs(templates=[str(TEMPLATE)], parameter_files=[str(params_file)])))


@pytest.mark.parametrize(
    "overrides",
    [
        {"EndpointInstanceType": "ml.g5.xlarge", "DeploymentStrategy": "LINEAR", "KmsKeyArn": ""},
        {"EndpointInstanceType": "ml.p4d.24xlarge", "AutoScalingEnabled": "false", "DataCaptureEnabled": "true",
         "DataCaptureUploadPath": "s3://central-capture/churn"},
        {"SageMakerProjectName": LONGEST_NAME, "SageMakerProjectId": LONGEST_ID, "StageName": "staging"},
    ],
)
def test_lints_clean_with_other_parameter_combinations(build, tmp_path, overrides):
    params = stage_parameters(build, "prod", **overrides)
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]))
    assert_lint_clean(lint_by_config(ManualArgs(templates=[str(TEMPLATE)], parameter_files=[str(params_file)])))


def test_lint_with_parameters_catches_bad_values(build, tmp_path):
    """Guard: the parameter-file lint above is able to fail."""
    params = stage_parameters(build, "prod", DeploymentStrategy="BLUE_GREEN", EndpointInstanceType="ml.nope.large")
    params_file = tmp_path / "params.json"
    params_file.write_text(json.dumps([{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()]))
    rule_ids = {m.rule.id for m in lint_by_config(ManualArgs(templates=[str(TEMPLATE)],
                                                             parameter_files=[str(params_file)]))}
    assert "E2900" in rule_ids  # BLUE_GREEN not in AllowedValues
    assert "W1030" in rule_ids  # ml.nope.large is no SageMaker instance type


@pytest.mark.parametrize("stage", ["staging", "prod"])
def test_stage_config_keys_are_template_parameters(template, stage):
    config = json.loads((REPO / f"{stage}-config.json").read_text())
    assert set(config) <= {"Parameters", "Tags"}
    assert set(config["Parameters"]) <= set(template["Parameters"])
    assert config["Parameters"]["StageName"] == stage


def test_stage_configs_match_the_agreed_sizing(build):
    staging = stage_parameters(build, "staging")
    prod = stage_parameters(build, "prod")
    assert (staging["EndpointInstanceType"], staging["EndpointInstanceCount"]) == ("ml.m5.large", "1")
    assert (staging["MinCapacity"], staging["MaxCapacity"], staging["DeploymentStrategy"]) == ("1", "2", "ALL_AT_ONCE")
    assert (prod["EndpointInstanceCount"], prod["MinCapacity"], prod["MaxCapacity"]) == ("2", "2", "4")
    assert (prod["DeploymentStrategy"], prod["DataCaptureEnabled"]) == ("CANARY", "true")
    # A canary may hold at most half of the fleet.
    assert prod["TrafficShiftSizeType"] == "INSTANCE_COUNT"
    assert int(prod["CanarySize"]) * 2 <= int(prod["EndpointInstanceCount"])


# --------------------------------------------------------------------------
# NVMe instance storage and KMS
# --------------------------------------------------------------------------


def test_every_botocore_family_is_classified():
    families = {family(t) for t in hosting_instance_types()}
    assert NVME_FAMILIES.isdisjoint(EBS_ONLY_FAMILIES)
    unclassified = families - NVME_FAMILIES - EBS_ONLY_FAMILIES
    assert not unclassified, f"look up these families' instance storage and classify them: {sorted(unclassified)}"


def test_template_condition_lists_exactly_the_nvme_families(template):
    listed = set(re.findall(r"'Fn::Equals': \[\{'Fn::Select'.*?\]\}, '([a-z0-9-]+)'\]",
                            str(template["Conditions"]["HasInstanceStorage"])))
    assert listed == NVME_FAMILIES


@pytest.mark.parametrize("instance_type", hosting_instance_types())
def test_volume_kms_key_is_dropped_exactly_for_nvme_types(build, template, instance_type):
    params = stage_parameters(build, "prod", EndpointInstanceType=instance_type)
    config = resources(template, params)["EndpointConfig"]["Properties"]
    has_nvme = family(instance_type) in NVME_FAMILIES
    assert ("KmsKeyId" in config) is (not has_nvme)
    if not has_nvme:
        assert config["KmsKeyId"] == KMS
    # Captured data is written to S3, so its key applies on every instance type.
    assert config["DataCaptureConfig"]["KmsKeyId"] == KMS


def test_no_kms_key_means_no_key_anywhere(build, template):
    params = stage_parameters(build, "prod", KmsKeyArn="")
    config = resources(template, params)["EndpointConfig"]["Properties"]
    assert "KmsKeyId" not in config
    assert "KmsKeyId" not in config["DataCaptureConfig"]


# --------------------------------------------------------------------------
# Endpoint, deployment guardrails
# --------------------------------------------------------------------------


def test_staging_deploys_all_at_once(build, template):
    endpoint = resources(template, stage_parameters(build, "staging"))["Endpoint"]["Properties"]
    routing = endpoint["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": "0"}


def test_prod_deploys_canary_with_alarm_rollback(build, template):
    res = resources(template, stage_parameters(build, "prod"))
    deployment = res["Endpoint"]["Properties"]["DeploymentConfig"]
    routing = deployment["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {
        "Type": "CANARY",
        "WaitIntervalInSeconds": "600",
        "CanarySize": {"Type": "INSTANCE_COUNT", "Value": "1"},
    }
    assert deployment["BlueGreenUpdatePolicy"]["TerminationWaitInSeconds"] == "600"
    alarms = [a["AlarmName"] for a in deployment["AutoRollbackConfiguration"]["Alarms"]]
    assert alarms == ["<ref:Invocation5XXErrorsAlarm>", "<ref:ModelLatencyAlarm>"]
    assert res["Invocation5XXErrorsAlarm"]["Properties"]["MetricName"] == "Invocation5XXErrors"
    assert res["ModelLatencyAlarm"]["Properties"]["MetricName"] == "ModelLatency"


def test_linear_strategy_sets_step_size_only(build, template):
    params = stage_parameters(build, "prod", DeploymentStrategy="LINEAR", LinearStepSize="1")
    routing = resources(template, params)["Endpoint"]["Properties"]["DeploymentConfig"][
        "BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing == {"Type": "LINEAR", "WaitIntervalInSeconds": "600",
                       "LinearStepSize": {"Type": "INSTANCE_COUNT", "Value": "1"}}


def test_endpoint_name_fits_for_longest_project_name_and_id(build, template, endpoint_test):
    params = stage_parameters(build, "staging", SageMakerProjectName=LONGEST_NAME, SageMakerProjectId=LONGEST_ID)
    res = resources(template, params)
    name = res["Endpoint"]["Properties"]["EndpointName"]
    assert len(name) <= 63
    assert re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name)
    # The alarms watch this endpoint, and test/test.py computes the same name.
    for alarm in ("Invocation5XXErrorsAlarm", "ModelLatencyAlarm"):
        dims = {d["Name"]: d["Value"] for d in res[alarm]["Properties"]["Dimensions"]}
        assert dims == {"EndpointName": name, "VariantName": "AllTraffic"}
        assert len(res[alarm]["Properties"]["AlarmName"]) <= 255
    assert endpoint_test.endpoint_name(params) == name


def test_model_comes_from_the_package_with_the_local_execution_role(build, template):
    model = resources(template, stage_parameters(build, "prod"))["Model"]["Properties"]
    assert model["PrimaryContainer"] == {"ModelPackageName": PACKAGE}
    # Built from the deploying account's id so one value serves every account of an OU.
    assert model["ExecutionRoleArn"] == "arn:aws:iam::123456789012:role/sagemaker-role-x"
    assert model["EnableNetworkIsolation"] == "true"


def test_data_capture_destination(build, template):
    default = resources(template, stage_parameters(build, "prod"))["EndpointConfig"]["Properties"]
    capture = default["DataCaptureConfig"]
    # target-account-bootstrap's bucket in each target account (nothing creates sagemaker-<region>-<account>).
    assert capture["DestinationS3Uri"] == "s3://sagemaker-datacapture-123456789012-us-east-1"
    assert capture["EnableCapture"] is True and capture["InitialSamplingPercentage"] == "100"
    explicit = stage_parameters(build, "prod", DataCaptureUploadPath="s3://capture-bucket/churn")
    capture = resources(template, explicit)["EndpointConfig"]["Properties"]["DataCaptureConfig"]
    assert capture["DestinationS3Uri"] == "s3://capture-bucket/churn"
    staging = resources(template, stage_parameters(build, "staging"))["EndpointConfig"]["Properties"]
    assert "DataCaptureConfig" not in staging


# --------------------------------------------------------------------------
# Auto scaling
# --------------------------------------------------------------------------


def test_prod_autoscaling_settings(build, template):
    res = resources(template, stage_parameters(build, "prod"))
    target = res["ScalableTarget"]["Properties"]
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ResourceId"] == "endpoint/<getatt:Endpoint.EndpointName>/variant/AllTraffic"
    assert (target["MinCapacity"], target["MaxCapacity"]) == ("2", "4")
    policy = res["InvocationsScalingPolicy"]["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    assert policy["ScalingTargetId"] == "<ref:ScalableTarget>"
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    metric = tracking["PredefinedMetricSpecification"]
    assert metric == {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"}
    assert tracking["TargetValue"] == "1000"
    # The scaler's instance count survives model updates; data capture follows the new config.
    endpoint = res["Endpoint"]["Properties"]
    assert endpoint["RetainAllVariantProperties"] is True
    assert endpoint["ExcludeRetainedVariantProperties"] == [{"VariantPropertyType": "DataCaptureConfig"}]
    # The variant the scalable target names is the one the endpoint config creates.
    assert res["EndpointConfig"]["Properties"]["ProductionVariants"][0]["VariantName"] == "AllTraffic"


def test_autoscaling_can_be_switched_off(build, template):
    res = resources(template, stage_parameters(build, "prod", AutoScalingEnabled="false"))
    assert "ScalableTarget" not in res and "InvocationsScalingPolicy" not in res
    endpoint = res["Endpoint"]["Properties"]
    assert endpoint["RetainAllVariantProperties"] is False
    assert "ExcludeRetainedVariantProperties" not in endpoint


# --------------------------------------------------------------------------
# Tags
# --------------------------------------------------------------------------


def taggable_types() -> set[str]:
    """Resource types whose CloudFormation schema (bundled with cfn-lint) has a Tags property."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    types = set()
    for type_name in ("AWS::SageMaker::Model", "AWS::SageMaker::EndpointConfig", "AWS::SageMaker::Endpoint",
                      "AWS::CloudWatch::Alarm", "AWS::ApplicationAutoScaling::ScalableTarget",
                      "AWS::ApplicationAutoScaling::ScalingPolicy"):
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", type_name).schema
        if "Tags" in schema.get("properties", {}):
            types.add(type_name)
    return types


def test_every_taggable_resource_carries_the_project_tags(build, template):
    params = stage_parameters(build, "prod")
    types_in_template = {r["Type"] for r in template["Resources"].values()}
    taggable = taggable_types()
    assert types_in_template - taggable == {"AWS::ApplicationAutoScaling::ScalingPolicy"}  # no Tags property
    expected = {"sagemaker:deployment-stage": "prod", "sagemaker:project-name": "churn",
                "sagemaker:project-id": "p-abc123"}
    for name, resource in resources(template, params).items():
        if resource["Type"] in taggable:
            tags = {t["Key"]: t["Value"] for t in resource["Properties"]["Tags"]}
            assert tags == expected, name


# --------------------------------------------------------------------------
# Rules: traffic shifting sizes that fit the fleet
# --------------------------------------------------------------------------

CHECKED_SIZES = 10  # the rules list the fitting counts for INSTANCE_COUNT sizes 1-10
COUNTS = range(1, 121)


def fits(strategy: str, size: int, count: int, scaling: tuple[int, int] | None = None) -> bool:
    """SageMaker's limits, as arithmetic: a canary at most 50% of the fleet, a linear step 10-50%.
    With auto scaling the fleet may be anywhere between MinCapacity and MaxCapacity."""
    if size > CHECKED_SIZES:
        return True  # left to SageMaker
    fleets = [count] if scaling is None else [count, *scaling]
    if strategy == "CANARY":
        return all(2 * size <= fleet for fleet in fleets)
    low = [count] if scaling is None else [count, scaling[0]]
    high = [count] if scaling is None else [count, scaling[1]]
    return all(2 * size <= fleet for fleet in low) and all(fleet <= 10 * size for fleet in high)


def rule_problems(build, template, **values):
    return build.check_rules({k: str(v) for k, v in values.items()}, template)


@pytest.mark.parametrize("strategy", ["CANARY", "LINEAR"])
def test_instance_count_rules_match_the_arithmetic(build, template, strategy):
    size_key = "CanarySize" if strategy == "CANARY" else "LinearStepSize"
    for size in range(1, CHECKED_SIZES + 3):
        for count in COUNTS:
            problems = rule_problems(
                build, template, DeploymentStrategy=strategy, TrafficShiftSizeType="INSTANCE_COUNT",
                AutoScalingEnabled="false", EndpointInstanceCount=count, **{size_key: size})
            assert (problems == []) is fits(strategy, size, count), (size, count, problems)


@pytest.mark.parametrize("strategy", ["CANARY", "LINEAR"])
def test_instance_count_rules_cover_the_fleet_auto_scaling_may_leave(build, template, strategy):
    size_key = "CanarySize" if strategy == "CANARY" else "LinearStepSize"
    for size in range(1, CHECKED_SIZES + 3):
        for low in range(1, 41):
            for high in (low, low + 1, 2 * low, 10 * size, 10 * size + 1):
                if high < low:
                    continue
                problems = rule_problems(
                    build, template, DeploymentStrategy=strategy, TrafficShiftSizeType="INSTANCE_COUNT",
                    AutoScalingEnabled="true", EndpointInstanceCount=low, MinCapacity=low, MaxCapacity=high,
                    **{size_key: size})
                assert (problems == []) is fits(strategy, size, low, (low, high)), (size, low, high, problems)


def test_a_single_instance_cannot_shift_traffic_by_instance_count(build, template):
    """The reviewer's case: EndpointInstanceCount 1 breaks CANARY and LINEAR on the first update."""
    for strategy, key in (("CANARY", "CanarySize"), ("LINEAR", "LinearStepSize")):
        problems = rule_problems(build, template, DeploymentStrategy=strategy, TrafficShiftSizeType="INSTANCE_COUNT",
                                 EndpointInstanceCount=1, MinCapacity=1, **{key: 1})
        assert problems and all(strategy in p and "INSTANCE_COUNT" in p for p in problems), problems
    assert rule_problems(build, template, DeploymentStrategy="ALL_AT_ONCE", EndpointInstanceCount=1) == []


def test_capacity_percent_sizes_are_in_range(build, template):
    for value in range(1, 101):
        canary = rule_problems(build, template, DeploymentStrategy="CANARY", TrafficShiftSizeType="CAPACITY_PERCENT",
                               CanarySize=value)
        linear = rule_problems(build, template, DeploymentStrategy="LINEAR", TrafficShiftSizeType="CAPACITY_PERCENT",
                               LinearStepSize=value)
        assert (canary == []) is (value <= 50), value
        assert (linear == []) is (10 <= value <= 50), value


def test_the_stage_configs_pass_the_rules(build, template):
    for stage in ("staging", "prod"):
        assert build.check_rules(stage_parameters(build, stage), template) == []


def test_the_build_step_fails_on_a_rule_with_its_description(build, template):
    config = json.loads((REPO / "prod-config.json").read_text())
    config["Parameters"].update(EndpointInstanceCount="1", MinCapacity="1")
    with pytest.raises(build.BuildError, match="CanarySize must be at most half of EndpointInstanceCount"):
        build.compute_stage_parameters(
            "prod", config, model_package_arn=PACKAGE, project_name="churn", project_id="p-abc123",
            execution_role_name="sagemaker-role-x", kms_key_arn=KMS,
            template_parameters=declared_parameters(build), template=template,
        )


def test_rules_use_only_what_build_py_evaluates(template):
    """build.py raises on a rule function it does not know; every rule runs through it above."""
    text = json.dumps(template["Rules"])
    functions = set(re.findall(r'"(Fn::\w+|Ref)"', text))
    assert functions <= {"Fn::And", "Fn::Or", "Fn::Not", "Fn::Equals", "Fn::Contains", "Ref"}, functions
