"""Security gates: checkov over every built template, skips only with reasons, CI annotations."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import ROOT, main

from generator.security import CheckovMissing, checkov_command


def checkov_available() -> bool:
    try:
        checkov_command(ROOT)
        return True
    except CheckovMissing:
        return False


# CI installs checkov in its own environment (tests/run.sh): there the scan must run, never skip.
needs_checkov = pytest.mark.skipif(
    not checkov_available() and not os.environ.get("CI"), reason="checkov is not installed here"
)

UNENCRYPTED = {
    "Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"VersioningConfiguration": {"Status": "Enabled"}}}
    }
}


@needs_checkov
def test_built_templates_pass_checkov(built, capsys):
    assert main(["--root", str(ROOT), "lint", "--security", "--out", str(built)]) == 0
    err = capsys.readouterr().err
    assert "checkov: 0 failed checks" in err


@needs_checkov
def test_checkov_failure_fails_lint(tmp_path, capsys):
    path = tmp_path / "bucket.json"
    path.write_text(json.dumps(UNENCRYPTED))
    assert main(["--root", str(ROOT), "lint", "--security", str(path)]) == 1
    err = capsys.readouterr().err
    assert f"{path}:" in err and "[security]" in err and "AWS::S3::Bucket.Bucket" in err


def test_every_checkov_skip_carries_a_one_line_reason(built):
    skips = 0
    for template in (built / "templates").glob("*.json"):
        for logical_id, resource in json.loads(template.read_text())["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                skips += 1
                assert skip["id"].startswith("CKV_"), (template.name, logical_id)
                reason = skip.get("comment", "")
                assert 20 <= len(reason) <= 200 and "\n" not in reason, (template.name, logical_id, reason)
    assert skips, "the bucket block records at least one skip"


def test_missing_checkov_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SMCAT_CHECKOV", str(tmp_path / "nothing"))
    monkeypatch.setenv("PATH", str(tmp_path))
    path = tmp_path / "t.json"
    path.write_text(json.dumps(UNENCRYPTED))
    assert main(["--root", str(tmp_path), "lint", "--security", str(path)]) == 2
    assert "checkov not found" in capsys.readouterr().err


def test_github_annotations(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "X"}}}}})
    )
    assert main(["lint", str(path)]) == 1
    annotations = [line for line in capsys.readouterr().out.splitlines() if line.startswith("::")]
    assert any(a.startswith(f"::error file={path},line=") and "title=E1020::" in a for a in annotations), annotations


def test_annotations_never_enter_machine_formats(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    path = tmp_path / "bad.json"
    path.write_text(
        json.dumps({"Resources": {"B": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "X"}}}}})
    )
    for fmt in ("sarif", "json"):
        assert main(["lint", "--format", fmt, str(path)]) == 1
        json.loads(capsys.readouterr().out)  # one JSON document, no workflow commands mixed in


@pytest.mark.parametrize(
    "script, reason",
    [("#!/bin/sh\nexit 0\n", "exit 0"), ("#!/bin/sh\necho boom >&2\nexit 3\n", "exit 3): boom")],
    ids=["silent", "crashed"],
)
def test_a_checkov_that_did_not_scan_fails_the_gate(tmp_path, monkeypatch, capsys, script, reason):
    fake = tmp_path / "checkov"
    fake.write_text(script)
    fake.chmod(0o755)
    monkeypatch.setenv("SMCAT_CHECKOV", str(fake))
    path = tmp_path / "t.json"
    path.write_text(json.dumps(UNENCRYPTED))
    assert main(["--root", str(tmp_path), "lint", "--security", str(path)]) == 1
    assert f"checkov did not scan ({reason}" in capsys.readouterr().err


# checkov's secret-key pattern: 40 characters of these, not next to another one of them.
SECRET_RUN = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")


def _dist_whose_path_looks_like_a_secret(base: Path) -> Path:
    """A dist whose `<dist>/templates/model` is a 40-character run checkov takes for a secret key."""
    probe = str(base / "x" / "dist" / "templates" / "model")
    run = len(re.search(r"[A-Za-z0-9/+=]*$", probe).group())
    pad = 40 - run + 1
    assert pad >= 1, probe
    dist = base / ("x" * pad) / "dist"
    assert SECRET_RUN.search(str(dist / "templates" / "model-registry-hub.json"))
    return dist


@needs_checkov
def test_scan_does_not_depend_on_the_clone_path(tmp_path, capsys):
    """CKV_AWS_45 read the template's own path (checkov keeps it in every mapping) as a Lambda
    environment value: under this path it failed model-registry-hub's SyncFunction."""
    dist = _dist_whose_path_looks_like_a_secret(tmp_path)
    assert main(["--root", str(ROOT), "build", "--out", str(dist), "--no-lint", "-q"]) == 0
    hub = dist / "templates" / "model-registry-hub.json"
    assert json.loads(hub.read_text())["Resources"]["SyncFunction"]["Properties"]["Environment"]["Variables"]
    capsys.readouterr()
    assert main(["--root", str(ROOT), "lint", "--security", str(hub)]) == 0
    err = capsys.readouterr().err
    assert "CKV_AWS_45" not in err
    assert "checkov: 0 failed checks" in err


@needs_checkov
def test_security_findings_name_the_paths_given(tmp_path, capsys):
    dist = _dist_whose_path_looks_like_a_secret(tmp_path)
    dist.mkdir(parents=True)
    first, second = dist / "a.json", dist / "b.yaml"
    first.write_text(json.dumps(UNENCRYPTED))
    second.write_text(json.dumps({"Resources": {"Other": UNENCRYPTED["Resources"]["Bucket"]}}))
    assert main(["--root", str(ROOT), "lint", "--security", str(first), str(second)]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if "[security]" in line]
    assert {line.split(":", 1)[0] for line in lines} == {str(first), str(second)}
    assert any("AWS::S3::Bucket.Other" in line and line.startswith(f"{second}:") for line in lines)
