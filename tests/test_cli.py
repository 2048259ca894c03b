"""The other commands: lint (with its output formats), list, schema, and --help everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import ROOT, main

BAD_TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Ref": "Missing"}}}},
}


@pytest.fixture
def bad_template(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(BAD_TEMPLATE))
    return path


def test_lint_built_templates_is_clean(built, capsys):
    assert main(["lint", "--out", str(built)]) == 0
    assert "0 findings" in capsys.readouterr().err


def test_lint_text_names_rule_and_place(bad_template, capsys):
    assert main(["lint", str(bad_template)]) == 1
    out = capsys.readouterr().out
    assert "E1020" in out and str(bad_template) in out


def test_lint_json(bad_template, capsys):
    assert main(["lint", "--format", "json", str(bad_template)]) == 1
    findings = json.loads(capsys.readouterr().out)
    assert any(f["Rule"]["Id"] == "E1020" and f["Filename"] == str(bad_template) for f in findings)


def test_lint_sarif(bad_template, capsys):
    assert main(["lint", "--format", "sarif", str(bad_template)]) == 1
    sarif = json.loads(capsys.readouterr().out)
    results = sarif["runs"][0]["results"]
    assert sarif["version"] == "2.1.0" and any(r["ruleId"] == "E1020" for r in results)


def test_lint_junit(bad_template, capsys):
    assert main(["lint", "--format", "junit", str(bad_template)]) == 1
    suites = ET.fromstring(capsys.readouterr().out)
    failed = [case.get("name") or "" for case in suites.iter("testcase") if case.find("failure") is not None]
    assert any("E1020" in name for name in failed), failed


def test_lint_missing_file_is_bad_input(tmp_path, capsys):
    assert main(["lint", str(tmp_path / "nope.yaml")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope.yaml'}: no such file"


def test_list(capsys):
    assert main(["--root", str(ROOT), "list", "--format", "json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["products"]["model-build"]["seedcode"] == ["modelbuild"]
    assert "model-build" in listing["portfolios"]["sagemaker-projects"]["products"]
    assert main(["--root", str(ROOT), "list"]) == 0
    assert "product    model-build 1.0.0  seedcode: modelbuild" in capsys.readouterr().out


def test_committed_schema_matches_the_generated_one(capsys):
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == (ROOT / "portfolios" / "portfolio.schema.json").read_text()


@pytest.mark.parametrize("command", [[], ["build"], ["lint"], ["list"], ["schema"]])
def test_every_command_has_help(command):
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), *command, "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and result.stdout.startswith("usage: smcat")


def test_build_outside_a_catalog_is_bad_input_and_writes_nothing(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "build"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {tmp_path}: is not a catalog root: no products/ or portfolios/ "
        "(run from the catalog's directory or pass --root)"
    )
    assert list(tmp_path.iterdir()) == []


def test_output_into_a_closed_pipe_is_not_a_traceback():
    # The reader goes away before the program writes (its start-up alone takes longer).
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "build.py"), "--root", str(ROOT), "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()
    err = process.stderr.read()
    assert process.wait() == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_build_does_not_load_the_publisher():
    """Start-up stays cheap: boto3 is imported only by the commands that talk to AWS."""
    code = (
        "import sys; from generator.cli import main; main(['--root', sys.argv[1], 'list']); "
        "print('boto3' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code, str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip().splitlines()[-1] == "False", result.stderr


def test_schema_to_an_unwritable_place_is_bad_input(tmp_path, capsys):
    target = tmp_path / "missing" / "schema.json"
    assert main(["schema", "--write", str(target)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {target}: --write: cannot be written:")


def test_root_may_follow_the_command(capsys):
    assert main(["list", "--root", str(ROOT), "--format", "json"]) == 0
    assert "model-build" in json.loads(capsys.readouterr().out)["products"]


def test_lint_a_directory_lints_the_templates_in_it(tmp_path, bad_template, capsys):
    folder = bad_template.parent
    (folder / "notes.txt").write_text("not a template")
    assert main(["lint", "--format", "json", str(folder)]) == 1
    assert {f["Filename"] for f in json.loads(capsys.readouterr().out)} == {str(bad_template)}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["lint", str(empty)]) == 2
    assert "holds no templates" in capsys.readouterr().err
