"""Issue 10, points 2 and 7: every problem in one run, and a launch role that is never silently wrong.

Each test runs `build` on a private copy of the catalog and checks the exact lines printed, the exit
code, and that the previous dist/ is left exactly as it was.
"""

from __future__ import annotations

import json
import textwrap

from conftest import main, tree

PORTFOLIO = "portfolios/sagemaker-projects.yaml"
VALID = """\
display_name: Test portfolio
provider: Tests
products: [model-build, multi-account-deploy, cross-account-endpoint]
launch_constraint:
  local_role_name: SageMakerProjectsLaunchRole
shares:
  - target: ou-ab12-abcdefgh
"""


def write(catalog, text: str, name: str = "sagemaker-projects.yaml"):
    (catalog / "portfolios" / name).write_text(textwrap.dedent(text))


def product_module(catalog, stem: str, text: str):
    (catalog / "products" / f"{stem}.py").write_text(textwrap.dedent(text))


def failed_build(catalog, capsys, tmp_path) -> list[str]:
    """Runs a build that must fail with exit 2 and leave the earlier dist/ alone; returns its stderr lines."""
    out = tmp_path / "dist"
    out.mkdir(exist_ok=True)
    (out / "manifest.json").write_text("{}")
    (out / "keep.txt").write_text("previous build")
    before = tree(out)
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q", "--no-lint"]) == 2
    assert tree(out) == before, "dist/ must stay as it was"
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err and captured.out == ""
    return captured.err.strip().splitlines()


# --- point 2: every problem in one run -------------------------------------------------------------


def test_a_type_error_hides_nothing_in_its_file_or_in_other_files(catalog, capsys, tmp_path):
    write(
        catalog,
        """\
        display_name: Test portfolio
        provider: Tests
        studio_visibility: sometimes
        products: [model-biuld, multi-account-deploy, cross-account-endpoint, model-build]
        launch_constraint: {local_role_name: SageMakerProjectsLaunchRole}
        principals: arn:aws:iam:::role/x*
        shares:
          - target: ou-AB12-x
          - share_principals: maybe
        tags:
          aws:team: ml
          cost: [1, 2]
        """,
    )
    write(
        catalog,
        """\
        display_name: [not, text]
        provider: Tests
        products: [project-rolez, registry-spoke, model-registry-hub, target-account-bootstrap]
        launch_constraint: MLPlatformAdminLaunchRole
        studio_visibility: false
        shares:
          - target: r-ab12
        """,
        "ml-admin.yaml",
    )
    assert failed_build(catalog, capsys, tmp_path) == [
        "error: portfolios/ml-admin.yaml:1: display_name: must be a string, not ['not', 'text']",
        "error: portfolios/ml-admin.yaml:3: products[0]: unknown product 'project-rolez'; "
        "did you mean 'project-roles'?",
        "error: portfolios/ml-admin.yaml:4: launch_constraint: must be a mapping, not 'MLPlatformAdminLaunchRole'",
        "error: portfolios/ml-admin.yaml:7: shares[0].target: 'r-ab12' is a root; Service Catalog shares with OUs, "
        "accounts or the whole organization: use the organization id (o-...) instead",
        "error: portfolios/sagemaker-projects.yaml:3: studio_visibility: must be true or false, not 'sometimes'",
        "error: portfolios/sagemaker-projects.yaml:4: products[0]: unknown product 'model-biuld'; "
        "did you mean 'model-build'?",
        "error: portfolios/sagemaker-projects.yaml:6: principals: must be a list, not 'arn:aws:iam:::role/x*'",
        "error: portfolios/sagemaker-projects.yaml:8: shares[0].target: 'ou-AB12-x' is not a valid OU id "
        "(ou-, 4-32 lowercase letters or digits, -, 8-32 more)",
        "error: portfolios/sagemaker-projects.yaml:9: shares[1].share_principals: must be true or false, not 'maybe'",
        "error: portfolios/sagemaker-projects.yaml:9: shares[1].target: is required",
        "error: portfolios/sagemaker-projects.yaml:11: tags.aws:team: tag key 'aws:team' uses the reserved "
        "prefix 'aws:'",
        "error: portfolios/sagemaker-projects.yaml:12: tags.cost: must be a string, not [1, 2]",
    ]


def test_checks_across_files_still_run_when_a_file_has_problems_of_its_own(catalog, capsys, tmp_path):
    write(catalog, VALID + "tags: {team: 'a;b'}\n")
    write(catalog, VALID.replace("Test portfolio", "Admin") + "studio_visibility: false\nprovider: Again\n", "zz.yaml")
    write(catalog, VALID + "colour: blue\n", "zzz.yaml")
    agree = "which sets studio_visibility true; the tag is on the product, so every portfolio holding it must agree"
    assert failed_build(catalog, capsys, tmp_path) == [
        "error: portfolios/sagemaker-projects.yaml:8: tags.team: tag value 'a;b' has characters Service Catalog "
        "rejects: ';'",
        f"error: portfolios/zz.yaml:3: products[0]: 'model-build' is also in {PORTFOLIO}, {agree}",
        f"error: portfolios/zz.yaml:3: products[1]: 'multi-account-deploy' is also in {PORTFOLIO}, {agree}",
        f"error: portfolios/zz.yaml:3: products[2]: 'cross-account-endpoint' is also in {PORTFOLIO}, {agree}",
        "error: portfolios/zz.yaml:9: provider: is given twice",
        f"error: portfolios/zzz.yaml:1: display_name: 'Test portfolio' is also the display name in {PORTFOLIO}",
        "error: portfolios/zzz.yaml:8: colour: unknown key 'colour'; allowed: description, display_name, "
        "launch_constraint, notification_constraints, organization_id, principals, products, provider, "
        "publish_to, s3_templates, shares, studio_visibility, tag_options, tag_update_constraint, tags",
    ]


def test_broken_product_modules_and_portfolio_errors_are_reported_together(catalog, capsys, tmp_path):
    product_module(catalog, "syntax_error", "PRODUCT = (\n")
    product_module(catalog, "no_product", "X = 1\n")
    product_module(
        catalog,
        "fails_to_render",
        """\
        from generator.product import Product


        def template():
            raise ValueError("no bucket configured")


        PRODUCT = Product(name="fails-to-render", description="d", owner="o", version="1.0.0", template=template)
        """,
    )
    # The broken products exist: naming them is not an "unknown product"; model-biuld is one.
    write(catalog, VALID.replace("cross-account-endpoint]", "cross-account-endpoint, syntax-error, no-product,\n"
                                 "  fails-to-render, model-biuld]").replace("ou-ab12-abcdefgh", "ou-bad"))
    assert failed_build(catalog, capsys, tmp_path) == [
        "error: portfolios/sagemaker-projects.yaml:4: products[6]: unknown product 'model-biuld'; "
        "did you mean 'model-build'?",
        "error: portfolios/sagemaker-projects.yaml:8: shares[0].target: 'ou-bad' is not a valid OU id "
        "(ou-, 4-32 lowercase letters or digits, -, 8-32 more)",
        "error: products/fails_to_render.py:5: template(): failed: ValueError: no bucket configured",
        "error: products/no_product.py: PRODUCT: must be a generator.product.Product",
        "error: products/syntax_error.py:1: cannot be imported: SyntaxError: '(' was never closed",
    ]


def test_a_failing_template_and_a_broken_module_are_reported_together(catalog, capsys, tmp_path):
    source = (catalog / "products" / "model_build.py").read_text()
    (catalog / "products" / "model_build.py").write_text(source.replace("def template() -> Template:\n",
                                                                        "def template() -> Template:\n    1 / 0\n", 1))
    product_module(catalog, "zz_broken", "import nothing_here\n")
    assert failed_build(catalog, capsys, tmp_path) == [
        f"error: products/model_build.py:{_line_of(source, 'def template() -> Template:') + 1}: template(): failed: "
        "ZeroDivisionError: division by zero",
        "error: products/zz_broken.py:1: cannot be imported: ModuleNotFoundError: No module named 'nothing_here'",
    ]


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_unquoted_ids_are_shown_as_written_with_a_hint_to_quote_them(catalog, capsys, tmp_path):
    write(
        catalog,
        VALID
        + "  - target: 012345670123\n"  # YAML 1.1 reads this as octal: 1402433619
        + "  - target: 123456789012\n"
        + "  - target: 12345678901\n"
        + "tags: {team: 0x1F, owner: yes}\n",
    )
    lines = failed_build(catalog, capsys, tmp_path)
    assert lines == [
        "error: portfolios/sagemaker-projects.yaml:8: shares[1].target: 012345670123 is read by YAML as a number, "
        "not text; quote it: '012345670123' (account ids are 12 digits)",
        "error: portfolios/sagemaker-projects.yaml:9: shares[2].target: 123456789012 is read by YAML as a number, "
        "not text; quote it: '123456789012' (account ids are 12 digits)",
        "error: portfolios/sagemaker-projects.yaml:10: shares[3].target: 12345678901 is read by YAML as a number, "
        "not text; quote it: '12345678901' (account ids are 12 digits; this has 11)",
        "error: portfolios/sagemaker-projects.yaml:11: tags.owner: yes is read by YAML as true or false, not text; "
        "quote it: 'yes'",
        "error: portfolios/sagemaker-projects.yaml:11: tags.team: 0x1F is read by YAML as a number, not text; "
        "quote it: '0x1F'",
    ]
    assert not any(number in "\n".join(lines) for number in ("1402433619", "31", "True"))


def test_quoted_ids_are_accepted(catalog, capsys, tmp_path):
    write(catalog, VALID + "  - target: '012345670123'\ntags: {team: '0x1F'}\n")
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q", "--no-lint"]) == 0
    shares = json.loads((out / "manifest.json").read_text())["portfolios"]["sagemaker-projects"]["shares"]
    assert [s["value"] for s in shares] == ["ou-ab12-abcdefgh", "012345670123"]


def test_a_product_name_declared_twice_names_both_files(catalog, capsys, tmp_path):
    (catalog / "products" / "zz_copy.py").write_text((catalog / "products" / "model_build.py").read_text())
    assert failed_build(catalog, capsys, tmp_path) == [
        "error: products/zz_copy.py: PRODUCT.name: 'model-build' is also declared in products/model_build.py"
    ]


# --- point 7: the launch role is never silently wrong ----------------------------------------------


def test_a_portfolio_without_launch_constraint_is_refused(catalog, capsys, tmp_path):
    write(catalog, VALID.replace("launch_constraint:\n  local_role_name: SageMakerProjectsLaunchRole\n", ""))
    assert failed_build(catalog, capsys, tmp_path) == [
        "error: portfolios/sagemaker-projects.yaml: launch_constraint: is required: the role Service Catalog creates "
        "the products' stacks with; give local_role_name: SageMakerProjectsLaunchRole (the project-roles product's "
        "launch role) or your own role, not the AWS-managed AmazonSageMakerServiceCatalogProductsLaunchRole, which "
        "cannot create these templates' resources"
    ]


def test_an_empty_launch_constraint_is_refused(catalog, capsys, tmp_path):
    write(catalog, VALID.replace("launch_constraint:\n  local_role_name: SageMakerProjectsLaunchRole\n",
                                 "launch_constraint: {}\n"))
    assert failed_build(catalog, capsys, tmp_path) == [
        "error: portfolios/sagemaker-projects.yaml:4: launch_constraint: give local_role_name "
        "(such as SageMakerProjectsLaunchRole) or role_arn"
    ]


def test_the_bundled_portfolios_name_their_launch_roles():
    from conftest import ROOT

    from generator.catalog import Catalog
    from generator.portfolio import load_portfolios

    catalog = Catalog(ROOT)
    portfolios = load_portfolios(catalog.portfolio_files(), set(catalog.products()), catalog.rel)
    bundled = {"ml-admin", "sagemaker-projects"}  # portfolios added with `smcat new portfolio` are others
    assert {p.id: p.config["launch_constraint"] for p in portfolios if p.id in bundled} == {
        "ml-admin": {"LocalRoleName": "MLPlatformAdminLaunchRole"},
        "sagemaker-projects": {"LocalRoleName": "SageMakerProjectsLaunchRole"},
    }


def test_a_product_in_no_portfolio_is_a_warning_not_an_error(catalog, capsys, tmp_path):
    studio = catalog / "portfolios" / "sagemaker-projects.yaml"  # the real file: products added later stay in it
    studio.write_text(studio.read_text().replace("  - cross-account-endpoint\n", ""))
    text = (catalog / "portfolios" / "ml-admin.yaml").read_text()
    (catalog / "portfolios" / "ml-admin.yaml").write_text(text.replace("  - registry-spoke\n", ""))
    out = tmp_path / "dist"
    expected = [
        "warning: products/cross_account_endpoint.py: product 'cross-account-endpoint' is in no portfolio; "
        "Studio users cannot see it",
        "warning: products/registry_spoke.py: product 'registry-spoke' is in no portfolio; nobody can launch it",
    ]
    for _ in range(2):  # the first build, then a no-op rebuild that repeats what it reported
        assert main(["--root", str(catalog), "build", "--out", str(out), "-q", "--no-lint"]) == 0
        captured = capsys.readouterr()
        assert captured.err.strip().splitlines() == expected
        assert (out / "templates" / "cross-account-endpoint.json").is_file()
        assert "warning" not in captured.out


def test_a_catalog_whose_products_all_have_a_portfolio_builds_without_warnings(catalog, capsys, tmp_path):
    assert main(["--root", str(catalog), "build", "--out", str(tmp_path / "dist"), "-q", "--no-lint"]) == 0
    assert capsys.readouterr().err == ""
