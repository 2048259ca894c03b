"""E9110 (names fit their limits) and W9111 (names that can't be bounded)."""

from __future__ import annotations

import pytest

LOOSE_NAME = {"Type": "String", "MinLength": 1, "MaxLength": 32, "AllowedPattern": "^[a-zA-Z](-*[a-zA-Z0-9])*"}


def resource(rtype, prop, value):
    return {"Res": {"Type": rtype, "Properties": {prop: value}}}


@pytest.mark.parametrize("rtype,prop,value", [
    ("AWS::S3::Bucket", "BucketName", {"Fn::Sub": "sagemaker-${SageMakerProjectId}-artifacts"}),
    ("AWS::Events::Rule", "Name", {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}"}),
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupName",
     {"Fn::Join": ["-", [{"Ref": "SageMakerProjectName"}, {"Ref": "SageMakerProjectId"}]]}),
    ("AWS::CodePipeline::Pipeline", "Name",
     {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-modelbuild"}),
    ("AWS::IAM::Role", "RoleName", {"Fn::Sub": "sagemaker-${SageMakerProjectId}-${AWS::Region}"}),
])
def test_names_that_fit_pass(project, lint, rtype, prop, value):
    assert lint(project(resource(rtype, prop, value)), "E9110") == []


def test_bucket_name_too_long(project, lint):
    tpl = project(resource("AWS::S3::Bucket", "BucketName",
                           {"Fn::Sub": "sagemaker-project-${SageMakerProjectName}-${SageMakerProjectId}"}))
    [finding] = lint(tpl, "E9110")
    assert finding.path == ("Resources", "Res", "Properties", "BucketName")
    assert finding.message.startswith(
        "Res BucketName 'sagemaker-project-${SageMakerProjectName}-${SageMakerProjectId}' is 71 characters at "
        "the longest SageMakerProjectName (32) and SageMakerProjectId (20); S3 bucket names allow at most 63 "
        "(8 over). To fix:"
    )


def test_event_rule_name_too_long(project, lint):
    tpl = project(resource("AWS::Events::Rule", "Name",
                           {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-modeldeploy-rule"}))
    [finding] = lint(tpl, "E9110")
    assert "is 80 characters" in finding.message
    assert "EventBridge rule names allow at most 64 (16 over)" in finding.message


def test_uppercase_project_name_in_bucket_name(project, lint):
    tpl = project(resource("AWS::S3::Bucket", "BucketName", {"Fn::Sub": "sagemaker-${SageMakerProjectName}"}),
                  parameters={"SageMakerProjectName": LOOSE_NAME})
    [finding] = lint(tpl, "E9110")
    assert "can contain uppercase letters: SageMakerProjectName allows them" in finding.message
    assert "S3 bucket names must be lowercase" in finding.message
    assert "narrow the AllowedPattern of SageMakerProjectName" in finding.message


def test_character_the_name_does_not_allow(project, lint):
    params = {"Suffix": {"Type": "String", "MaxLength": 10, "AllowedPattern": "[a-z_]+"}}
    tpl = project(resource("AWS::CodeCommit::Repository", "RepositoryName", {"Fn::Sub": "repo-${Suffix}"}),
                  parameters=params)
    assert lint(tpl, "E9110") == []  # '_' is fine in a CodeCommit name
    tpl = project(resource("AWS::SageMaker::Endpoint", "EndpointName", {"Fn::Sub": "ep-${Suffix}"}),
                  parameters=params)
    tpl["Resources"]["Res"]["Properties"]["EndpointConfigName"] = "cfg"
    [finding] = lint(tpl, "E9110")
    assert "can contain '_': Suffix allows it" in finding.message


def test_static_name_breaking_pattern(project, lint):
    tpl = project(resource("AWS::S3::Bucket", "BucketName", "My_Bucket"))
    [finding] = lint(tpl, "E9110")
    assert "contains uppercase letters; S3 bucket names must be lowercase" in finding.message


def test_reserved_kms_alias(project, lint):
    tpl = project(resource("AWS::KMS::Alias", "AliasName", "alias/aws/mine"))
    [finding] = lint(tpl, "E9110")
    assert "starts with alias/aws/" in finding.message


def test_names_left_out_are_not_checked(project, lint):
    tpl = project({"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}})
    assert lint(tpl, "E9110") == [] and lint(tpl, "W9111") == []


def test_unbounded_parameter_is_a_warning(project, lint):
    tpl = project(resource("AWS::S3::Bucket", "BucketName", {"Fn::Sub": "data-${Env}"}),
                  parameters={"Env": {"Type": "String"}})
    assert lint(tpl, "E9110") == []
    [finding] = lint(tpl, "W9111")
    assert finding.message == (
        "Res BucketName 'data-${Env}' cannot be bounded before deployment: parameter Env has no MaxLength or "
        "AllowedValues. Its length can't be checked against the 63-character limit of S3 bucket names. Give "
        "the parameter a MaxLength (or AllowedValues), or build the name from parts of known length."
    )


@pytest.mark.parametrize("value,reason", [
    ({"Fn::GetAtt": ["Other", "Name"]}, "Fn::GetAtt Other.Name"),
    ({"Fn::Sub": "x-${Other.Name}"}, "${Other.Name}"),
    ({"Fn::ImportValue": "shared-name"}, "Fn::ImportValue"),
    ({"Fn::Sub": "x-${Other}"}, "resource Other"),
])
def test_cannot_bound(project, lint, value, reason):
    tpl = project({**resource("AWS::Events::Rule", "Name", value),
                   "Other": {"Type": "AWS::SNS::Topic", "Properties": {}}})
    [finding] = lint(tpl, "W9111")
    assert reason in finding.message


def test_project_parameters_without_maxlength_use_api_limits(lint):
    params = {"SageMakerProjectName": {"Type": "String"}, "SageMakerProjectId": {"Type": "String"}}
    tpl = {"Parameters": params, "Resources": resource(
        "AWS::S3::Bucket", "BucketName", {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-x"})}
    length, uppercase = lint(tpl, "E9110")
    assert "is 65 characters at the longest SageMakerProjectName (32) and SageMakerProjectId (20)" in length.message
    assert "can contain uppercase letters" in uppercase.message


def test_finding_can_be_suppressed_per_resource(project, lint):
    tpl = project(resource("AWS::S3::Bucket", "BucketName", "Not_A_Valid_Bucket"))
    assert lint(tpl, "E9110")
    tpl["Resources"]["Res"]["Metadata"] = {"cfn-lint": {"config": {"ignore_checks": ["E9110"]}}}
    assert lint(tpl, "E9110") == []
