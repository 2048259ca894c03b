"""E9102: project resources carry sagemaker:project-name and sagemaker:project-id."""

from __future__ import annotations

PROJECT_TAGS = [
    {"Key": "sagemaker:project-name", "Value": {"Ref": "SageMakerProjectName"}},
    {"Key": "sagemaker:project-id", "Value": {"Ref": "SageMakerProjectId"}},
]

RULE = "E9102"


def test_tagged_resources_pass(project, lint):
    tpl = project({
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(1 day)"}},
        "Group": {"Type": "AWS::SageMaker::ModelPackageGroup", "Properties": {}},
    })
    assert lint(tpl, RULE) == []


def test_untaggable_resources_are_not_checked(project, lint):
    tpl = project({
        "Policy": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": []}}},
        "Alias": {"Type": "AWS::KMS::Alias", "Properties": {"AliasName": "alias/x", "TargetKeyId": "k"}},
        "Custom": {"Type": "Custom::Thing", "Properties": {"ServiceToken": "arn"}},
    }, tags=False)
    assert lint(tpl, RULE) == []


def test_missing_tags_are_flagged(project, lint):
    tpl = project({"Rule": {"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(1 day)"}}},
                  tags=False)
    [finding] = lint(tpl, RULE)
    assert finding.path == ("Resources", "Rule", "Properties")
    assert finding.message.startswith("Rule (AWS::Events::Rule) has no Tags: SageMaker Studio finds")
    assert "{Key: sagemaker:project-name, Value: !Ref SageMakerProjectName}" in finding.message


def test_one_missing_tag_is_named(project, lint):
    tpl = project({"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": PROJECT_TAGS[:1]}}})
    [finding] = lint(tpl, RULE)
    assert "is not tagged sagemaker:project-id" in finding.message
    assert "Add {Key: sagemaker:project-id, Value: !Ref SageMakerProjectId} to Tags." in finding.message


def test_map_form_tags(project, lint):
    param = {"Type": "AWS::SSM::Parameter", "Properties": {
        "Type": "String", "Value": "v", "Tags": {"sagemaker:project-name": {"Ref": "SageMakerProjectName"}},
    }}
    [finding] = lint(project({"Param": param}), RULE)
    assert "Add sagemaker:project-id: !Ref SageMakerProjectId to Tags." in finding.message


def test_hard_coded_tag_value_is_flagged(project, lint):
    tags = [{"Key": "sagemaker:project-name", "Value": "my-project"}, PROJECT_TAGS[1]]
    [finding] = lint(project({"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": tags}}}), RULE)
    assert "tag sagemaker:project-name is 'my-project', not the SageMakerProjectName parameter" in finding.message


def test_template_without_project_name_is_not_checked(lint):
    tpl = {"Parameters": {"Env": {"Type": "String"}},
           "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}}}
    assert lint(tpl, RULE) == []


def test_tags_inside_fn_if_are_read(project, lint):
    tags = {"Fn::If": ["C", PROJECT_TAGS, {"Ref": "AWS::NoValue"}]}
    tpl = project({"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": tags}}})
    tpl["Conditions"] = {"C": {"Fn::Equals": ["a", "a"]}}
    assert lint(tpl, RULE) == []
