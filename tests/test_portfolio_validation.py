"""Bad portfolio files: every problem reported on its own line, exit 2, dist/ left as it was."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from conftest import ROOT, main, tree

VALID = """\
display_name: Test portfolio
description: For tests.
provider: Tests
products: [model-build]
launch_constraint: {local_role_name: SageMakerProjectsLaunchRole}
principals:
  - arn:aws:iam:::role/service-role/AmazonSageMaker-ExecutionRole-*
shares:
  - target: ou-ab12-abcdefgh
"""


def write(catalog, text: str, name: str = "sagemaker-projects.yaml"):
    (catalog / "portfolios" / name).write_text(textwrap.dedent(text))


def errors(catalog, capsys, tmp_path) -> list[str]:
    out = tmp_path / "dist"
    out.mkdir(exist_ok=True)
    (out / "manifest.json").write_text("{}")  # an earlier build, which a failed one must leave alone
    (out / "keep.txt").write_text("previous build")
    before = tree(out)
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q"]) == 2
    assert tree(out) == before, "dist/ must stay as it was"
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return captured.err.strip().splitlines()


CASES = [
    (
        "unknown key",
        VALID + "colour: blue\n",
        "error: portfolios/sagemaker-projects.yaml:10: colour: unknown key 'colour'; "
        "allowed: description, display_name",
    ),
    (
        "near-miss key",
        VALID.replace("provider:", "providr:"),
        "providr: unknown key 'providr'; did you mean 'provider'?",
    ),
    (
        "wrong type",
        VALID + "studio_visibility: sometimes\n",
        "error: portfolios/sagemaker-projects.yaml:10: studio_visibility: must be true or false, not 'sometimes'",
    ),
    (
        "products not a list",
        VALID.replace("products: [model-build]", "products: model-build"),
        "products: must be a list, not 'model-build'",
    ),
    (
        "missing key",
        VALID.replace("provider: Tests\n", ""),
        "error: portfolios/sagemaker-projects.yaml: provider: is required",
    ),
    (
        "malformed OU",
        VALID.replace("ou-ab12-abcdefgh", "ou-AB12-abcdefgh"),
        "error: portfolios/sagemaker-projects.yaml:9: shares[0].target: 'ou-AB12-abcdefgh' is not a valid OU id",
    ),
    ("short OU", VALID.replace("ou-ab12-abcdefgh", "ou-ab1-abcdefgh"), "'ou-ab1-abcdefgh' is not a valid OU id"),
    ("root", VALID.replace("ou-ab12-abcdefgh", "r-ab12"), "'r-ab12' is a root; Service Catalog shares with OUs"),
    ("malformed root", VALID.replace("ou-ab12-abcdefgh", "r-A"), "'r-A' is not a valid root id"),
    ("account id", VALID.replace("ou-ab12-abcdefgh", "'12345678901'"), "'12345678901' is not a valid account id"),
    (
        "account principals",
        VALID + "  - target: '123456789012'\n    share_principals: true\n",
        "shares[1].share_principals: principals can be shared with OUs and the organization, not with an account",
    ),
    ("organization id", VALID.replace("ou-ab12-abcdefgh", "o-short"), "'o-short' is not a valid organization id"),
    (
        "principal ARN",
        VALID.replace("arn:aws:iam:::role/service-role/AmazonSageMaker-ExecutionRole-*", "arn:aws:iam::12345:role/x"),
        "principals[0]: 'arn:aws:iam::12345:role/x' is not an IAM user, role or group ARN",
    ),
    (
        "launch role ARN",
        VALID.replace("local_role_name: SageMakerProjectsLaunchRole", "role_arn: 'arn:aws:iam::123456789012:user/bob'"),
        "launch_constraint.role_arn: 'arn:aws:iam::123456789012:user/bob' is not an IAM role ARN",
    ),
    (
        "launch both",
        VALID.replace("local_role_name:", "role_arn: 'arn:aws:iam::123456789012:role/x', local_role_name:"),
        "give either local_role_name or role_arn, not both",
    ),
    (
        "unknown product",
        VALID.replace("[model-build]", "[model-biuld]"),
        "error: portfolios/sagemaker-projects.yaml:4: products[0]: unknown product 'model-biuld'; "
        "did you mean 'model-build'?",
    ),
    (
        "product twice",
        VALID.replace("[model-build]", "[model-build, model-build]"),
        "products[1]: 'model-build' is listed twice",
    ),
    ("share twice", VALID + "  - target: ou-ab12-abcdefgh\n", "shares[1].target: 'ou-ab12-abcdefgh' is listed twice"),
    (
        "too many patterns",
        VALID.replace(
            "  - arn:aws:iam:::role/service-role/AmazonSageMaker-ExecutionRole-*\n",
            "".join(f"  - arn:aws:iam:::role/team{i}-*\n" for i in range(11)),
        ),
        "principals: 11 IAM_PATTERN principals; Service Catalog allows 10",
    ),
    (
        "tag key chars",
        VALID + "tags:\n  'cost#center': ml\n",
        "tags.'cost#center': tag key 'cost#center' has characters",
    ),
    ("tag value chars", VALID + "tags:\n  team: 'a;b'\n", "tags.team: tag value 'a;b' has characters"),
    ("tag key reserved", VALID + "tags:\n  'aws:owner': me\n", "uses the reserved prefix 'aws:'"),
    ("tag key too long", VALID + f"tags:\n  {'k' * 129}: v\n", "must be at most 128 characters (it has 129)"),
    ("tag value too long", VALID + f"tags:\n  team: {'v' * 257}\n", "must be at most 256 characters (it has 257)"),
    (
        "too many tags",
        VALID + "tags:\n" + "".join(f"  t{i}: v\n" for i in range(20)),
        "tags: 20 tags; a portfolio holds 20 and smcat uses 3 of them",
    ),
    ("tag option chars", VALID + "tag_options:\n  env: ['pr*d']\n", "TagOption value 'pr*d' has characters"),
    ("duplicate yaml key", VALID + "provider: Again\n", "provider: is given twice"),
    ("invalid yaml", VALID + "tags: [unclosed\n", "is not valid YAML"),
    ("not a mapping", "- just\n- a list\n", "must be a mapping of portfolio settings"),
]


@pytest.mark.parametrize("text, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_problem_class_is_reported(catalog, capsys, tmp_path, text, expected):
    write(catalog, text)
    lines = errors(catalog, capsys, tmp_path)
    assert any(expected in line for line in lines), lines
    assert all(line.startswith("error: portfolios/sagemaker-projects.yaml") for line in lines), lines


def test_every_problem_is_reported_not_only_the_first(catalog, capsys, tmp_path):
    write(catalog, VALID.replace("[model-build]", "[nope]").replace("ou-ab12-abcdefgh", "ou-x") + "extra: 1\n")
    write(catalog, VALID.replace("Test portfolio", "Other").replace("ou-ab12-abcdefgh", "'1'"), "second.yaml")
    lines = errors(catalog, capsys, tmp_path)
    first = [line.split(": ")[1:3] for line in lines if "sagemaker-projects.yaml" in line]
    assert first == [
        ["portfolios/sagemaker-projects.yaml:4", "products[0]"],
        ["portfolios/sagemaker-projects.yaml:9", "shares[0].target"],
        ["portfolios/sagemaker-projects.yaml:10", "extra"],
    ], lines
    assert any("second.yaml:9: shares[0].target: '1' is not a valid account id" in line for line in lines)


def test_duplicate_display_names_across_files(catalog, capsys, tmp_path):
    write(catalog, VALID)
    write(catalog, VALID, "copy.yaml")
    lines = errors(catalog, capsys, tmp_path)
    assert len(lines) == 1 and "'Test portfolio' is also the display name in portfolios/copy.yaml" in lines[0]


def test_broken_product_module_is_one_line(catalog, capsys, tmp_path):
    (catalog / "products" / "oops.py").write_text("import nothing_here\n")
    (catalog / "products" / "empty.py").write_text("X = 1\n")
    lines = errors(catalog, capsys, tmp_path)
    assert lines == [
        "error: products/empty.py: PRODUCT: must be a generator.product.Product",
        "error: products/oops.py:1: cannot be imported: ModuleNotFoundError: No module named 'nothing_here'",
    ]


def test_product_declaration_problems(catalog, capsys, tmp_path):
    (catalog / "products" / "decl.py").write_text(
        "from troposphere import Template\nfrom generator.product import Product\n"
        "PRODUCT = Product(name='Bad_Name', description='d', owner='o', version='1.0',"
        " template=Template, seedcode=('missing',))\n"
    )
    lines = errors(catalog, capsys, tmp_path)
    assert "error: products/decl.py: PRODUCT.seedcode: no folder seedcode/missing/" in lines
    assert any("version '1.0' is not a semantic version" in line for line in lines)
    assert any("name 'Bad_Name' must be lowercase words" in line for line in lines)


def test_cli_exit_code_and_no_traceback(catalog, tmp_path):
    write(catalog, VALID.replace("ou-ab12-abcdefgh", "ou-bad"))
    result = subprocess.run(
        [sys.executable, str(ROOT / "build.py"), "--root", str(catalog), "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: portfolios/sagemaker-projects.yaml:9: shares[0].target: 'ou-bad' is not a valid OU id "
        "(ou-, 4-32 lowercase letters or digits, -, 8-32 more)"
    ]
    assert not (tmp_path / "d").exists()


def test_portfolios_disagreeing_on_a_products_studio_visibility(catalog, capsys, tmp_path):
    write(catalog, VALID)
    write(catalog, VALID.replace("Test portfolio", "Admin") + "studio_visibility: false\n", "zz-admin.yaml")
    lines = errors(catalog, capsys, tmp_path)
    assert lines == [
        "error: portfolios/zz-admin.yaml:4: products[0]: 'model-build' is also in portfolios/sagemaker-projects.yaml, "
        "which sets studio_visibility true; the tag is on the product, so every portfolio holding it must agree"
    ]


def test_wrongly_typed_declarations_and_exits_are_one_line_each(catalog, capsys, tmp_path):
    (catalog / "products" / "typed.py").write_text(
        "from generator.product import Product\n"
        "PRODUCT = Product(name=5, description='d', owner='o', version='1.0.0', template=None, seedcode='modelbuild')\n"
    )
    (catalog / "products" / "exits.py").write_text("import sys\nsys.exit(3)\n")
    lines = errors(catalog, capsys, tmp_path)
    assert lines == [
        "error: products/exits.py:2: cannot be imported: SystemExit: 3",
        "error: products/typed.py: PRODUCT: name must be a string, not 5",
        "error: products/typed.py: PRODUCT: seedcode must be a tuple of folder names, not 'modelbuild'",
        "error: products/typed.py: PRODUCT: template must be a function returning a troposphere Template",
    ]


def test_non_string_tag_keys(catalog, capsys, tmp_path):
    write(catalog, VALID + "tags:\n  1: x\n  null: y\ntag_options:\n  yes: [a]\n")
    lines = errors(catalog, capsys, tmp_path)
    assert len(lines) == 3 and all("must be a string" in line for line in lines), lines


def test_same_portfolio_id_twice_and_product_declared_twice(catalog, capsys, tmp_path):
    write(catalog, VALID.replace("Test portfolio", "Other"), "sagemaker-projects.yml")
    (catalog / "products" / "zz_copy.py").write_text((catalog / "products" / "model_build.py").read_text())
    lines = errors(catalog, capsys, tmp_path)
    assert (
        "error: products/zz_copy.py: PRODUCT.name: 'model-build' is also declared in products/model_build.py" in lines
    )
    assert (
        "error: portfolios/sagemaker-projects.yml: has the same portfolio id as portfolios/sagemaker-projects.yaml"
        in lines
    )


def test_seed_folders_that_would_collide_are_rejected(catalog, capsys, tmp_path):
    (catalog / "seedcode" / "My_Seed").mkdir()
    (catalog / "seedcode" / "My_Seed" / "x.txt").write_text("x")
    lines = errors(catalog, capsys, tmp_path)
    assert lines == ["error: seedcode/My_Seed/: folder names must be lowercase letters and digits, words joined by '-'"]
