"""generator.names: resolving property values at the longest parameter values, and name budgets."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator import names
from generator.names import NAME_LIMITS, explain, name_violations, physical_names, resolve, to_sub_text

TEMPLATES = Path(__file__).resolve().parent / "rules" / "templates"

PARAMS = {
    "Parameters": {
        "SageMakerProjectName": {"Type": "String", "MaxLength": 32, "AllowedPattern": "^[a-zA-Z](-*[a-zA-Z0-9])*"},
        "SageMakerProjectId": {"Type": "String", "MaxLength": 20},
        "Stage": {"Type": "String", "AllowedValues": ["dev", "staging", "prod"]},
        "Env": {"Type": "String"},
        "Short": {"Type": "String", "MaxLength": 10, "AllowedPattern": "[a-z0-9](-*[a-z0-9])*"},
        "Code": {"Type": "String", "MaxLength": 20, "AllowedPattern": "[a-z]{3}-[0-9]{2,4}"},
        "Pairs": {"Type": "String", "MaxLength": 7, "AllowedPattern": "(ab)+"},
        "Count": {"Type": "Number", "MinValue": 1, "MaxValue": 1000},
        "Names": {"Type": "CommaDelimitedList"},
    },
    "Mappings": {"Regions": {
        "us-east-1": {"Short": "use1"},
        "ap-southeast-2": {"Short": "apse2"},
    }},
    "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}},
}
NAME, ID = "a" * 32, "a" * 20


def load(name: str) -> dict:
    from cfnlint.decode.decode import decode_str

    template, errors = decode_str((TEMPLATES / name).read_text())
    assert not errors
    return template


# ---------------------------------------------------------------------------- resolve


@pytest.mark.parametrize("value,expected", [
    ("plain-name", "plain-name"),
    ({"Ref": "SageMakerProjectName"}, NAME),
    ({"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}"}, f"sagemaker-{NAME}-{ID}"),
    ({"Fn::Sub": ["${Prefix}-${SageMakerProjectId}", {"Prefix": {"Fn::Join": ["-", ["sm", {"Ref": "Stage"}]]}}]},
     f"sm-staging-{ID}"),
    ({"Fn::Join": ["", ["x-", {"Fn::Sub": "${SageMakerProjectId}"}, "-", {"Ref": "Stage"}]]}, f"x-{ID}-staging"),
    ({"Fn::Join": ["/", [{"Fn::Join": ["-", ["a", "b"]]}, {"Fn::Sub": ["${X}", {"X": {"Ref": "Short"}}]}]]},
     "a-b/" + "a" * 10),
    ({"Fn::Sub": "${!Literal}-${SageMakerProjectId}"}, "${Literal}-" + ID),
    ({"Fn::Select": [1, ["one", {"Ref": "Stage"}]]}, "staging"),
    ({"Fn::Select": [0, {"Fn::Split": ["-", {"Fn::Sub": "${Stage}-x"}]}]}, "staging"),
    ({"Ref": "Count"}, "1000"),
    ({"Fn::FindInMap": ["Regions", "us-east-1", "Short"]}, "use1"),
    ({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Short"]}, "apse2"),  # unknown key: longest entry
    ({"Fn::If": ["C", "short", {"Fn::Sub": "longer-${Stage}"}]}, "longer-staging"),
])
def test_resolve(value, expected):
    assert resolve(value, PARAMS) == expected


def test_pseudo_parameters_take_their_longest_values():
    value = {"Fn::Sub": "${AWS::Partition}:${AWS::Region}:${AWS::AccountId}:${AWS::URLSuffix}"}
    assert resolve(value, PARAMS) == "aws-us-gov:us-isof-south-1:123456789012:amazonaws.com.cn"
    assert len(resolve({"Ref": "AWS::StackName"}, PARAMS)) == 128
    stack_id = resolve({"Ref": "AWS::StackId"}, PARAMS)
    assert re.fullmatch(r"arn:aws-us-gov:cloudformation:us-isof-south-1:123456789012:stack/a{128}/[0-9a-f-]{36}",
                        stack_id)


def test_longest_region_is_a_real_one():
    import botocore

    partitions = Path(botocore.__file__).parent / "data" / "endpoints.json"
    import json

    regions = [r for p in json.loads(partitions.read_text())["partitions"] for r in p["regions"]]
    assert names.PSEUDO_PARAMETERS["AWS::Region"] in regions
    assert len(names.PSEUDO_PARAMETERS["AWS::Region"]) == max(map(len, regions))


def test_parameters_override():
    value = {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${AWS::Region}-${Env}"}
    assert resolve(value, PARAMS, {"SageMakerProjectName": "demo", "AWS::Region": "eu-west-1", "Env": "x"}) == (
        "sagemaker-demo-eu-west-1-x")


def test_allowed_pattern_shapes_the_longest_value():
    assert resolve({"Ref": "Short"}, PARAMS) == "a" * 10
    assert resolve({"Ref": "Code"}, PARAMS) == "aaa-0000"  # the pattern allows only 8 of MaxLength 20
    assert resolve({"Ref": "Pairs"}, PARAMS) == "ababab"  # 7 can't be reached: 6 is the longest
    for ref in ("Short", "Code", "Pairs"):
        value = resolve({"Ref": ref}, PARAMS)
        assert re.fullmatch(PARAMS["Parameters"][ref]["AllowedPattern"], value)


def test_project_parameters_default_to_the_api_limits():
    template = {"Parameters": {"SageMakerProjectName": {"Type": "String"}, "SageMakerProjectId": {"Type": "String"}}}
    assert resolve({"Fn::Sub": "${SageMakerProjectName}/${SageMakerProjectId}"}, template) == f"{NAME}/{ID}"
    template["Parameters"]["SageMakerProjectName"]["MaxLength"] = 64  # Studio never passes more than 32
    assert len(resolve({"Ref": "SageMakerProjectName"}, template)) == 32


def test_probing_characters():
    assert names.longest_matching(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", 32) == "a" * 32
    assert names.longest_matching(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", 32, prefer="A") == "A" * 32
    dashed = names.longest_matching(r"[a-z0-9](-*[a-z0-9])*", 12, prefer="-")
    assert len(dashed) == 12 and "-" in dashed and re.fullmatch(r"[a-z0-9](-*[a-z0-9])*", dashed)
    assert names.longest_matching(r"[0-9]+", 5, prefer="A") == "00000"
    assert names.longest_matching(r"x{3}", 10) == "xxx"
    assert names.longest_matching(r"x{3}", 2) is None


@pytest.mark.parametrize("value,reason", [
    ({"Fn::GetAtt": ["Topic", "TopicName"]}, "Fn::GetAtt Topic.TopicName"),
    ({"Fn::Sub": "x-${Topic.TopicName}"}, "${Topic.TopicName}"),
    ({"Fn::ImportValue": "x"}, "Fn::ImportValue"),
    ({"Ref": "Topic"}, "resource Topic"),
    ({"Fn::Sub": "x-${Env}"}, "parameter Env has no MaxLength or AllowedValues"),
    ({"Ref": "Names"}, "CommaDelimitedList"),
    ({"Ref": "Nope"}, "neither a parameter nor a resource"),
    ({"Fn::Join": ["-", {"Ref": "Names"}]}, "CommaDelimitedList"),
    ({"Fn::Base64": "x"}, "Fn::Base64"),
])
def test_unresolvable(value, reason):
    assert resolve(value, PARAMS) is None
    result = explain(value, PARAMS)
    assert result.value is None and reason in result.reason


def test_no_value_is_absent():
    result = explain({"Fn::If": ["C", {"Ref": "AWS::NoValue"}, {"Ref": "AWS::NoValue"}]}, PARAMS)
    assert result.absent and result.value is None and result.reason is None


def test_explain_reports_the_parameters_used():
    result = explain({"Fn::Sub": "sagemaker-${SageMakerProjectName}-${AWS::AccountId}"}, PARAMS)
    assert result.used == {"SageMakerProjectName": NAME, "AWS::AccountId": "123456789012"}


def test_fn_if_keeps_only_the_chosen_branch_parameters():
    result = explain({"Fn::If": ["C", {"Ref": "Stage"}, {"Fn::Sub": "${SageMakerProjectName}"}]}, PARAMS)
    assert result.used == {"SageMakerProjectName": NAME}


@pytest.mark.parametrize("value,text", [
    ({"Fn::Join": ["-", ["a", {"Ref": "P"}, {"Fn::GetAtt": ["R", "Arn"]}]]}, "a-${P}-${R.Arn}"),
    ({"Fn::Sub": ["${X}-y", {"X": {"Ref": "P"}}]}, "${P}-y"),
    ({"Fn::Sub": "plain-${P}"}, "plain-${P}"),
    (True, "true"),
])
def test_to_sub_text(value, text):
    assert to_sub_text(value) == text


# ---------------------------------------------------------------------------- limits


REQUIRED = [
    ("AWS::S3::Bucket", "BucketName", 63), ("AWS::Events::Rule", "Name", 64), ("AWS::Events::EventBus", "Name", 256),
    ("AWS::IAM::Role", "RoleName", 64), ("AWS::IAM::ManagedPolicy", "ManagedPolicyName", 128),
    ("AWS::IAM::Policy", "PolicyName", 128), ("AWS::CodeBuild::Project", "Name", 150),
    ("AWS::CodePipeline::Pipeline", "Name", 100), ("AWS::CodeCommit::Repository", "RepositoryName", 100),
    ("AWS::CloudFormation::StackSet", "StackSetName", 128),
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName", 63),
    ("AWS::SageMaker::Endpoint", "EndpointName", 63), ("AWS::SageMaker::EndpointConfig", "EndpointConfigName", 63),
    ("AWS::SageMaker::Model", "ModelName", 63), ("AWS::SageMaker::Pipeline", "PipelineName", 256),
    ("AWS::KMS::Alias", "AliasName", 256), ("AWS::Lambda::Function", "FunctionName", 64),
    ("AWS::CloudWatch::Alarm", "AlarmName", 255), ("AWS::SSM::Parameter", "Name", 1011),
    ("AWS::Logs::LogGroup", "LogGroupName", 512),
]


@pytest.mark.parametrize("rtype,prop,limit", REQUIRED)
def test_required_limits(rtype, prop, limit):
    assert NAME_LIMITS[(rtype, prop)].max_length == limit


@pytest.mark.parametrize("key", sorted(NAME_LIMITS))
def test_limits_agree_with_provider_schemas(key):
    """Never looser than CloudFormation's own schema, and the maximum is reachable by the pattern."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    limit = NAME_LIMITS[key]
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", key[0]).schema
    prop = schema["properties"][key[1]]
    assert limit.max_length <= prop.get("maxLength", limit.max_length)
    longest = names.longest_matching(limit.pattern, limit.max_length, prefer="a")
    assert longest is not None and len(longest) == limit.max_length
    if limit.pattern:
        re.compile(limit.pattern)


def test_s3_extra_rules():
    bucket = NAME_LIMITS[("AWS::S3::Bucket", "BucketName")]
    assert bucket.problems("my-bucket") == []
    assert bucket.problems("My-Bucket") == ["contains uppercase letters; S3 bucket names must be lowercase"]
    assert any("two adjacent periods" in p for p in bucket.problems("a..b"))
    assert any("IP address" in p for p in bucket.problems("192.168.1.1"))
    assert any("reserved prefix" in p for p in bucket.problems("xn--abc"))


# ---------------------------------------------------------------------------- physical names


def test_physical_names_of_a_template():
    template = load("mlops_build_train_buggy.yaml")
    found = {(n.logical_id, n.property): n for n in physical_names(template)}
    bucket = found[("MlOpsArtifactsBucket", "BucketName")]
    assert bucket.resource_type == "AWS::S3::Bucket"
    assert bucket.value == f"sagemaker-project-{NAME}-{ID}"
    assert bucket.expression == "sagemaker-project-${SageMakerProjectName}-${SageMakerProjectId}"
    assert bucket.used == {"SageMakerProjectName": NAME, "SageMakerProjectId": ID}
    assert bucket.limit is NAME_LIMITS[("AWS::S3::Bucket", "BucketName")]
    assert bucket.path == ["Resources", "MlOpsArtifactsBucket", "Properties", "BucketName"]
    assert set(found) == {
        ("MlOpsArtifactsBucket", "BucketName"), ("ModelBuildCodeCommitRepository", "RepositoryName"),
        ("ModelBuildCodeCommitEventRule", "Name"), ("SageMakerModelBuildPipelineBuild", "Name"),
        ("ModelBuildPipeline", "Name"), ("ModelPackageGroup", "ModelPackageGroupName"),
    }


def test_name_violations_message():
    messages = name_violations(load("mlops_build_train_buggy.yaml"))
    assert messages[0].startswith(
        "MlOpsArtifactsBucket BucketName 'sagemaker-project-${SageMakerProjectName}-${SageMakerProjectId}' is 71 "
        "characters at the longest SageMakerProjectName (32) and SageMakerProjectId (20); S3 bucket names allow "
        "at most 63 (8 over)."
    )
    assert len(messages) == 3


def test_name_violations_with_given_parameters():
    template = load("mlops_build_train_buggy.yaml")
    short = {"SageMakerProjectName": "churn", "SageMakerProjectId": "p-abcdefghijkl"}
    assert name_violations(template, short) == []  # fine for the short name it was tried with


def test_fixed_template_has_no_violations_and_every_name_is_bounded():
    template = load("mlops_build_deploy_fixed.yaml")
    assert name_violations(template) == []
    assert names.unbounded_names(template) == []


def test_unbounded_names():
    template = {"Parameters": {"Env": {"Type": "String"}},
                "Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "x-${Env}"}}}}}
    [name] = names.unbounded_names(template)
    assert name.value is None and "Env" in name.reason
    assert name_violations(template) == []


# ---------------------------------------------------------------------------- properties

PROJECT_NAMES = st.from_regex(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", fullmatch=True).filter(lambda s: len(s) <= 32)
PROJECT_IDS = st.from_regex(r"[a-z0-9](-*[a-z0-9]){0,19}", fullmatch=True).filter(lambda s: len(s) <= 20)
SAMPLES = {name: load(name) for name in ("mlops_build_train_buggy.yaml", "mlops_deploy_buggy.yaml",
                                         "mlops_build_deploy_fixed.yaml")}
LONGEST = {name: {(n.logical_id, n.property): n for n in physical_names(t)} for name, t in SAMPLES.items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(project_name=PROJECT_NAMES, project_id=PROJECT_IDS, sample=st.sampled_from(sorted(SAMPLES)))
def test_resolved_names_follow_the_arithmetic(project_name, project_id, sample):
    template = SAMPLES[sample]
    given_values = {"SageMakerProjectName": project_name, "SageMakerProjectId": project_id}
    for name in physical_names(template, given_values):
        expected = (name.expression.replace("${SageMakerProjectName}", project_name)
                    .replace("${SageMakerProjectId}", project_id))
        assert name.value == expected
        fixed = len(name.expression) - name.expression.count("${SageMakerProjectName}") * 23 \
            - name.expression.count("${SageMakerProjectId}") * 21
        assert len(name.value) == fixed + name.expression.count("${SageMakerProjectName}") * len(project_name) \
            + name.expression.count("${SageMakerProjectId}") * len(project_id)
        # The longest value bounds every real one, so a name that fits at the longest always fits.
        longest = LONGEST[sample][(name.logical_id, name.property)]
        assert len(name.value) <= len(longest.value)
        if len(longest.value) <= longest.limit.max_length:
            assert len(name.value) <= name.limit.max_length


def test_violation_with_given_values_says_so():
    template = {"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {
        "BucketName": {"Fn::Sub": "${Team}-${AWS::Region}"}}}},
        "Parameters": {"Team": {"Type": "String", "MaxLength": 20}}}
    [message] = name_violations(template, {"Team": "t" * 60})
    assert "is 76 characters with Team (60, given) and AWS::Region (15); S3 bucket names allow at most 63" in message
