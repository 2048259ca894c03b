"""The other commands: lint (with its output formats), list, schema, and --help everywhere."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import BROKEN_PRODUCT, ROOT, main

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
    products, portfolios = capsys.readouterr().out.rstrip("\n").split("\n\n")
    # Two aligned tables: every cell starts where its column's heading does.
    for table, headings in ((products, ["PRODUCT", "VERSION", "SEEDCODE"]),
                            (portfolios, ["PORTFOLIO", "FILE", "PRODUCTS", "SHARES"])):
        header, *rows = table.splitlines()
        assert header.split() == headings
        starts = [header.index(h) for h in headings]
        for row in rows:
            for start in starts[1:]:
                assert row[start - 2 : start] == "  " and row[start] != " ", (row, start)
    rows = {line.split()[0]: line.split() for line in products.splitlines()[1:]}
    assert set(rows) == set(listing["products"])
    assert rows["model-build"] == ["model-build", "1.0.0", "modelbuild"]
    assert rows["project-roles"] == ["project-roles", "1.0.0", "-"]
    rows = {line.split()[0]: line for line in portfolios.splitlines()[1:]}
    assert set(rows) == set(listing["portfolios"])
    assert rows["sagemaker-projects"].split()[1] == "portfolios/sagemaker-projects.yaml"


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


# --- commands: a mistyped one, a build without one, option checks -------------------------------


@pytest.mark.parametrize(
    "argv, message",
    [
        (["biuld"], "error: unknown command 'biuld'; did you mean 'build'?"),
        (["lsit", "--format", "json"], "error: unknown command 'lsit'; did you mean 'list'?"),
        (["--root", "ROOT", "shcema"], "error: unknown command 'shcema'; did you mean 'schema'?"),
    ],
)
def test_a_mistyped_command_suggests_the_right_one(catalog, capsys, argv, message):
    argv = [str(catalog) if a == "ROOT" else a for a in argv]
    assert main(["--root", str(catalog), *argv] if "--root" not in argv else argv) == 2
    captured = capsys.readouterr()
    assert (captured.err.splitlines(), captured.out) == ([message], "")
    assert not (catalog / "dist").exists()


def test_an_unknown_command_lists_the_commands(catalog, capsys):
    assert main(["--root", str(catalog), "frobnicate"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("error: unknown command 'frobnicate' (commands: build, docs, domains, lint, list, new, plan, "
                   "projects, publish, schema)")
    assert "did you mean" not in err


def test_options_without_a_command_build(catalog, tmp_path, capsys):
    # `python build.py --out x`: the options are build's, even when a value looks like a command.
    out = tmp_path / "lint"
    assert main(["--root", str(catalog), "--no-lint", "-q", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    counts = f"{len(manifest['products'])} products, {len(manifest['portfolios'])} portfolios"
    assert capsys.readouterr().out.splitlines()[-1] == f"{out}: {counts}, written"


@pytest.mark.parametrize("value, reason", [("0", "must be at least 1, got 0"), ("-2", "must be at least 1, got -2"),
                                           ("two", "must be a whole number of at least 1, got 'two'")])
def test_jobs_below_one_is_rejected(catalog, tmp_path, capsys, value, reason):
    out = tmp_path / "dist"
    with pytest.raises(SystemExit) as exit_:
        main(["--root", str(catalog), "build", "--out", str(out), f"--jobs={value}"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == f"smcat build: error: argument --jobs: {reason}"
    assert not out.exists()


# --- lint prints findings as build does, counts on a terminal, plurals -------------------------


def test_build_and_lint_print_a_finding_the_same_way(catalog, monkeypatch, capsys):
    (catalog / "products" / "broken_bucket.py").write_text(BROKEN_PRODUCT)
    monkeypatch.chdir(catalog)
    assert main(["build", "-q"]) == 1
    built = [line for line in capsys.readouterr().out.splitlines() if line.startswith("dist/templates/")]
    assert built and all(" E" in line or " W" in line for line in built)
    assert main(["lint"]) == 1
    assert capsys.readouterr().out.splitlines() == built


def test_lint_counts_templates_on_a_terminal_only(tmp_path, bad_template, monkeypatch, capsys):
    second = tmp_path / "second.json"
    second.write_text(json.dumps(BAD_TEMPLATE))

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["lint", str(bad_template), str(second)]) == 1
    shown = terminal.getvalue()
    assert "\rlinting templates 1/2" in shown and "\rlinting templates 2/2" in shown
    assert shown.splitlines()[-1].endswith("2 templates, 8 findings")
    monkeypatch.undo()
    capsys.readouterr()
    assert main(["lint", str(bad_template), str(second)]) == 1  # a log, not a terminal: no counting
    err = capsys.readouterr().err
    assert "linting" not in err and err.splitlines() == ["2 templates, 8 findings"]


def test_lint_counts_use_the_singular_for_one(tmp_path, capsys):
    path = tmp_path / "one.json"
    template = {"Parameters": {"Unused": {"Type": "String"}}, "Resources": {"T": {"Type": "AWS::SNS::Topic"}}}
    path.write_text(json.dumps(template))
    assert main(["lint", str(path)]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == ["1 template, 1 finding"]
    assert captured.out.splitlines() == [f"{path}:1:17: W2001 [warning] Parameter Unused not used."]


def test_root_without_a_value_is_an_option_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--root"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == "smcat: error: argument --root: expected one argument"
