"""Fixtures for the custom cfn-lint rules: the rules are loaded once per session, the way
``cfn-lint --append-rules generator/rules`` loads them, and templates are linted in-process."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "generator" / "rules"
TEMPLATES = Path(__file__).resolve().parent / "templates"

PROJECT_PARAMETERS = {
    "SageMakerProjectName": {
        "Type": "String", "MinLength": 1, "MaxLength": 32, "AllowedPattern": "^[a-z0-9](-*[a-z0-9])*$",
    },
    "SageMakerProjectId": {
        "Type": "String", "MinLength": 1, "MaxLength": 20, "AllowedPattern": "^[a-z0-9](-*[a-z0-9])*$",
    },
}
PROJECT_TAGS = [
    {"Key": "sagemaker:project-name", "Value": {"Ref": "SageMakerProjectName"}},
    {"Key": "sagemaker:project-id", "Value": {"Ref": "SageMakerProjectId"}},
]


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    path: tuple
    line: int


@pytest.fixture(scope="session")
def custom_rules():
    from cfnlint.rules import Rules

    return Rules.create_from_directory(str(RULES_DIR))


@pytest.fixture(scope="session")
def all_rules(custom_rules):
    from cfnlint.config import _DEFAULT_RULESDIR
    from cfnlint.rules import Rules

    rules = Rules.create_from_directory(_DEFAULT_RULESDIR)
    rules.update(custom_rules)
    return rules


def _run(template, rules) -> list[Finding]:
    from cfnlint.config import ConfigMixIn
    from cfnlint.decode.decode import decode_str
    from cfnlint.runner.template.runner import run_template_by_data

    text = template if isinstance(template, str) else json.dumps(template)
    decoded, errors = decode_str(text)
    assert not errors, errors
    matches = run_template_by_data(decoded, ConfigMixIn(regions=["us-east-1"]), rules)
    return [
        Finding(m.rule.id, m.message, tuple(getattr(m, "path", None) or ()), m.linenumber)
        for m in matches
    ]


@pytest.fixture(scope="session")
def lint(custom_rules):
    """lint(template dict or text, rule=None) -> findings of our rules (only ``rule``'s if given)."""

    def run(template, rule: str | None = None) -> list[Finding]:
        found = _run(template, custom_rules)
        return [f for f in found if rule is None or f.rule == rule]

    return run


@pytest.fixture(scope="session")
def lint_all(all_rules):
    """lint_all(template) -> findings of cfn-lint's own rules and ours together."""
    return lambda template: _run(template, all_rules)


@pytest.fixture(scope="session")
def project():
    """project(resources, parameters=None, tags=True) -> a SageMaker project template whose
    resources get the project tags (when ``tags``) so tests of other rules stay focused."""

    def build(resources: dict, parameters: dict | None = None, tags: bool = True) -> dict:
        params = dict(PROJECT_PARAMETERS)
        params.update(parameters or {})
        if tags:
            resources = {
                name: {**res, "Properties": {**res.get("Properties", {}), "Tags": PROJECT_TAGS}}
                if "Tags" not in res.get("Properties", {}) and _taggable(res["Type"]) else res
                for name, res in resources.items()
            }
        return {"AWSTemplateFormatVersion": "2010-09-09", "Parameters": params, "Resources": resources}

    return build


def _taggable(resource_type: str) -> bool:
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    except Exception:
        return False
    tagging = schema.get("tagging") or {}
    return bool(tagging.get("taggable")) and "Tags" in schema.get("properties", {})
