"""E9101: the SageMaker project parameters."""

from __future__ import annotations

import pytest

RULE = "E9101"


def template(parameters):
    return {"Parameters": parameters, "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}


GOOD_NAME = {"Type": "String", "MinLength": 1, "MaxLength": 32, "AllowedPattern": "^[a-zA-Z](-*[a-zA-Z0-9])*"}
GOOD_ID = {"Type": "String"}


@pytest.mark.parametrize("name_spec", [
    GOOD_NAME,
    {**GOOD_NAME, "AllowedPattern": "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$"},  # exactly the API's
    {**GOOD_NAME, "AllowedPattern": "[a-z0-9](-*[a-z0-9])*", "MaxLength": 20},  # stricter
])
def test_valid_parameters_pass(lint, name_spec):
    assert lint(template({"SageMakerProjectName": name_spec, "SageMakerProjectId": GOOD_ID}), RULE) == []


def test_id_with_limits_passes(lint):
    spec = {"Type": "String", "MinLength": 1, "MaxLength": 20, "AllowedPattern": "^[a-z0-9](-*[a-z0-9])*$"}
    assert lint(template({"SageMakerProjectName": GOOD_NAME, "SageMakerProjectId": spec}), RULE) == []


def test_non_project_template_is_not_checked(lint):
    assert lint(template({"Environment": {"Type": "String"}}), RULE) == []


@pytest.mark.parametrize("present,missing", [
    ("SageMakerProjectName", "SageMakerProjectId"),
    ("SageMakerProjectId", "SageMakerProjectName"),
])
def test_only_one_parameter_is_flagged(lint, present, missing):
    spec = GOOD_NAME if present == "SageMakerProjectName" else GOOD_ID
    [finding] = lint(template({present: spec}), RULE)
    assert finding.path == ("Parameters",)
    assert f"declares {present} but not {missing}" in finding.message
    assert f"Add {missing}: {{Type: String" in finding.message


@pytest.mark.parametrize("change,fragment", [
    ({"MaxLength": 64}, "MaxLength 64 is more than the 32 characters SageMaker allows"),
    ({"MaxLength": None}, "no MaxLength"),
    ({"MinLength": None}, "MinLength is missing"),
    ({"MinLength": 0}, "MinLength is 0"),
    ({"Type": "Number"}, "declare Type: String"),
    ({"AllowedPattern": None}, "no AllowedPattern"),
    ({"AllowedPattern": ".*"}, "is looser than SageMaker's"),
    ({"AllowedPattern": "[a-zA-Z0-9_]+"}, "it accepts"),
    ({"AllowedPattern": "[a-z0-9.]+"}, "it accepts"),
    ({"AllowedPattern": "[a-z("}, "is not a valid regular expression"),
])
def test_project_name_contract(lint, change, fragment):
    spec = {k: v for k, v in {**GOOD_NAME, **change}.items() if v is not None}
    findings = lint(template({"SageMakerProjectName": spec, "SageMakerProjectId": GOOD_ID}), RULE)
    assert len(findings) == 1, findings
    assert findings[0].message.startswith("Parameter SageMakerProjectName: ")
    assert fragment in findings[0].message


def test_looser_pattern_names_an_example_sagemaker_rejects(lint):
    spec = {**GOOD_NAME, "AllowedPattern": "[a-zA-Z0-9_-]+"}
    [finding] = lint(template({"SageMakerProjectName": spec, "SageMakerProjectId": GOOD_ID}), RULE)
    assert "it accepts '-a', which SageMaker rejects" in finding.message


def test_project_id_longer_than_api_is_flagged(lint):
    findings = lint(template({"SageMakerProjectName": GOOD_NAME,
                              "SageMakerProjectId": {"Type": "String", "MaxLength": 36}}), RULE)
    assert [f.message for f in findings] == [
        "Parameter SageMakerProjectId: MaxLength 36 is more than the 20 characters SageMaker allows; "
        "set MaxLength: 20 (or less)."
    ]
