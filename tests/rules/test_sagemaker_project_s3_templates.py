"""E9103: a SageMaker project template does not depend on a Service Catalog launch (S3 templates)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RULE = "E9103"
REPO = Path(__file__).resolve().parents[2]


def _role(statement: dict, name: str = "Role") -> dict:
    return {name: {"Type": "AWS::IAM::Role", "Properties": {
        "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
        "Policies": [{"PolicyName": "p", "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}],
    }}}


def _stacks(*resources) -> dict:
    return {"Effect": "Allow", "Action": "cloudformation:DescribeStacks", "Resource": list(resources)}


SC_STACKS = {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/SC-*/*"}
SP_STACKS = {"Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/SP-*/*"}
STACK_NAME_PART = {"Fn::Select": [2, {"Fn::Split": ["-", {"Ref": "AWS::StackName"}]}]}


def test_portable_template_passes(lint, project):
    """Stack ids, the stack's own name in a name, project parameters and both prefixes are fine."""
    resources = {
        **_role(_stacks(SC_STACKS, SP_STACKS, {"Ref": "AWS::StackId"})),
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {
            "TopicName": {"Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}"},
            "DisplayName": {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]},
        }},
    }
    assert lint(project(resources), RULE) == []


def test_non_project_template_is_not_checked(lint):
    """project-roles names SC-* stacks on purpose: admin templates are not project templates."""
    template = {"Resources": _role(_stacks(SC_STACKS))}
    assert lint(template, RULE) == []


def test_service_catalog_stack_arn_without_sp_counterpart_is_flagged(lint, project):
    [finding] = lint(project(_role(_stacks(SC_STACKS))), RULE)
    assert finding.path == ("Resources", "Role", "Properties", "Policies", 0, "PolicyDocument", "Statement", 0,
                            "Resource", 0)
    assert finding.message == (
        "Role (AWS::IAM::Role): 'arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/SC-*/*' "
        "assumes Service Catalog's stack names (SC-*); a project created from an S3 template runs as a stack named "
        "SP-*, which this does not match. Add the same value with SP- "
        "('arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/SP-*/*') or use the stack's "
        "own ARN (Ref AWS::StackId)."
    )


@pytest.mark.parametrize("value", [
    "SC-*",
    {"Fn::Join": ["", ["arn:aws:cloudformation:us-east-1:", {"Ref": "AWS::AccountId"}, ":stack/SC-", "*"]]},
    {"Fn::Sub": ["SC-${A}-pp-*", {"A": {"Ref": "AWS::AccountId"}}]},
])
def test_sc_prefixes_in_any_form_are_flagged(lint, project, value):
    outputs = {"StackPattern": {"Value": value}}
    template = project({"Topic": {"Type": "AWS::SNS::Topic"}})
    template["Outputs"] = outputs
    [finding] = lint(template, RULE)
    assert finding.path == ("Outputs", "StackPattern", "Value")
    assert finding.message.startswith("Output StackPattern: ")
    assert "assumes Service Catalog's stack names (SC-*)" in finding.message


@pytest.mark.parametrize("value", ["DESC-1", "arn:aws:s3:::bucket/ASC-x", "sc-lowercase", "prefix SC-x"])
def test_other_sc_lookalikes_pass(lint, project, value):
    template = project({"Topic": {"Type": "AWS::SNS::Topic"}})
    template["Outputs"] = {"Value": {"Value": value}}
    assert lint(template, RULE) == []


def test_metadata_is_prose_and_not_checked(lint, project):
    template = project({"Topic": {"Type": "AWS::SNS::Topic", "Metadata": {"Note": "was stack/SC-* before"}}})
    template["Metadata"] = {"Note": "SC-* stacks under Service Catalog"}
    assert lint(template, RULE) == []


@pytest.mark.parametrize("where", ["output", "sub-variable", "condition"])
def test_splitting_the_stack_name_is_flagged(lint, project, where):
    template = project({"Topic": {"Type": "AWS::SNS::Topic"}})
    if where == "output":
        template["Outputs"] = {"Id": {"Value": STACK_NAME_PART}}
        path, label = ("Outputs", "Id", "Value", "Fn::Select", 1, "Fn::Split"), "Output Id"
    elif where == "sub-variable":
        template["Outputs"] = {"Id": {"Value": {"Fn::Sub": ["x-${P}", {"P": STACK_NAME_PART}]}}}
        path, label = ("Outputs", "Id", "Value", "Fn::Sub", 1, "P", "Fn::Select", 1, "Fn::Split"), "Output Id"
    else:
        template["Conditions"] = {"IsPp": {"Fn::Equals": ["pp", STACK_NAME_PART]}}  # cfn-lint's order
        path, label = ("Conditions", "IsPp", "Fn::Equals", 1, "Fn::Select", 1, "Fn::Split"), "Condition IsPp"
    [finding] = lint(template, RULE)
    assert finding.path == path
    assert finding.message.startswith(f"{label}: Fn::Split of AWS::StackName assumes Service Catalog's stack names")
    assert "Use SageMakerProjectId" in finding.message


def test_autotag_condition_is_flagged(lint, project):
    statement = {
        "Effect": "Allow", "Action": "sagemaker:DescribeModelPackage", "Resource": "*",
        "Condition": {"StringEquals": {
            "aws:ResourceTag/aws:servicecatalog:provisionedProductArn": {"Ref": "AWS::StackId"}}},
    }
    [finding] = lint(project(_role(statement)), RULE)
    assert finding.path[-1] == "aws:ResourceTag/aws:servicecatalog:provisionedProductArn"
    assert finding.message.startswith(
        "Role (AWS::IAM::Role): 'aws:ResourceTag/aws:servicecatalog:provisionedProductArn' uses Service Catalog's "
        "AutoTags (aws:servicecatalog:*), which only a Service Catalog launch adds"
    )


def test_a_template_declaring_only_the_project_id_is_checked(lint):
    template = {"Parameters": {"SageMakerProjectId": {"Type": "String"}}, "Resources": _role(_stacks(SC_STACKS))}
    assert [f.rule for f in lint(template, RULE)] == [RULE]


def test_rule_suppressed_by_metadata(lint, project):
    resources = _role(_stacks(SC_STACKS))
    resources["Role"]["Metadata"] = {"cfn-lint": {"config": {"ignore_checks": [RULE]}}}
    assert lint(project(resources), RULE) == []


def test_bundled_project_templates_pass(lint):
    """Every product the catalog builds works from S3 templates (rendered here, not read from a dist)."""
    from generator.builder import render
    from generator.catalog import Catalog

    build = render(Catalog(REPO))
    assert any("SageMakerProjectName" in b.template.get("Parameters", {}) for b in build.products.values())
    for name, built in build.products.items():
        template = json.loads(built.template_bytes)
        assert lint(template, RULE) == [], name
