"""The rules directory loads the way cfn-lint loads it, standalone, and from the CLI."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

RULES_DIR = Path(__file__).resolve().parents[2] / "generator" / "rules"
TEMPLATES = Path(__file__).resolve().parent / "templates"

EXPECTED = {"E9101", "E9102", "E9103", "E9110", "W9111", "E9120", "E9121", "E9130", "E9140", "E9141", "E9150"}


def test_directory_loads_every_rule_once(custom_rules):
    assert set(custom_rules) == EXPECTED


def test_every_rule_is_documented(custom_rules):
    for rule_id, rule in custom_rules.items():
        assert re.fullmatch(r"[EW]9\d{3}", rule_id)
        doc = type(rule).__doc__ or ""
        assert len(doc.split()) > 30, f"{rule_id} needs a docstring saying what it checks and why"
        assert rule.shortdesc and rule.description and rule.tags
        assert rule.source_url.startswith("https://")


def test_one_rule_per_file():
    from cfnlint.helpers import load_plugins

    files = sorted(p.name for p in RULES_DIR.glob("[A-Za-z1-9]*.py"))
    assert len(files) == len(EXPECTED)
    assert len(load_plugins(str(RULES_DIR))) == len(files)


def test_copied_directory_works_standalone(tmp_path):
    """The directory needs nothing from this repository: copy it and load it from there."""
    from cfnlint.rules import Rules

    copy = tmp_path / "rules"
    shutil.copytree(RULES_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    rules = Rules.create_from_directory(str(copy))
    assert set(rules) == EXPECTED
    match = type(rules["E9110"]).match
    assert Path(match.__code__.co_filename).parent == copy.resolve()
    helpers = match.__globals__["common"]
    assert Path(helpers.__file__).parent == copy.resolve()  # its own helpers, not the repository's


def test_generator_names_is_the_rules_helper():
    """generator.names re-exports the module the rules use: one implementation, one cache."""
    import generator.names as names

    helper = next(m for k, m in sys.modules.items() if k.endswith("__names") and "smcat_rules" in k
                  and Path(m.__file__).resolve() == (RULES_DIR / "_names.py").resolve())
    assert names.physical_names is helper.physical_names


@pytest.mark.parametrize("template", ["mlops_build_train_buggy.yaml"])
def test_cli_append_rules(template):
    """`cfn-lint TEMPLATE --append-rules DIR` (the template before the option: argparse would
    otherwise take it as a second rules directory)."""
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run(
        [str(cfn_lint), str(TEMPLATES / template), "--append-rules", str(RULES_DIR), "--format", "parseable"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode != 0
    ids = set(re.findall(r":([EW]9\d{3}):", result.stdout))
    assert {"E9110", "E9130", "E9140", "E9141"} <= ids, result.stdout + result.stderr
