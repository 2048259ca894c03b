"""The CI examples for other repositories: they parse, and they call the lint this project ships."""

from __future__ import annotations

import re

import yaml
from conftest import ROOT

from generator.cli import parser


def test_pre_commit_hooks():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"smcat-lint", "smcat-lint-security"}
    for hook in hooks:
        assert {"id", "name", "entry", "language", "files"} <= set(hook)
        re.compile(hook["files"])
        command = hook["entry"].split()
        assert command[0] == "smcat"
        parser().parse_args([*command[1:], "templates/a.yaml"])  # the CLI accepts what the hook passes
    assert re.search(hooks[0]["files"], "infra/templates/stack.yaml")
    assert not re.search(hooks[0]["files"], ".github/workflows/ci.yml")


def test_github_workflow_lints_and_uploads_sarif():
    workflow = yaml.safe_load((ROOT / "generator/ci/github-actions.yml").read_text())
    steps = workflow["jobs"]["lint"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert any(r.startswith("smcat lint $TEMPLATES") for r in runs)
    assert any("--format sarif" in r for r in runs)
    assert any(s.get("uses", "").startswith("github/codeql-action/upload-sarif") for s in steps)
    assert workflow["permissions"]["security-events"] == "write"


def test_codebuild_buildspec_reports_junit():
    spec = yaml.safe_load((ROOT / "generator/ci/buildspec-lint.yml").read_text())
    assert any("smcat lint --format junit" in c for c in spec["phases"]["build"]["commands"])
    report = spec["reports"]["cfn-lint"]
    assert report["file-format"] == "JUNITXML" and report["files"] == ["cfn-lint-junit.xml"]
