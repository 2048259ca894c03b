"""dist/docs/: a page per product with an "after you create the project" section read from its template,
and index.md listing the products by portfolio. The pages are parsed (headings, links, tables)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, main, tree

from generator.catalog import Catalog

STUDIO_SECTIONS = ["Where the repository is", "What runs on push", "How to approve a model",
                   "Where the endpoint appears"]
APPROVE = "aws sagemaker update-model-package --model-package-arn <version ARN> --model-approval-status Approved"
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def headings(page: str) -> list[tuple[int, str]]:
    """(level, text) of every Markdown heading outside code blocks."""
    found, fenced = [], False
    for line in page.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"(#+) (.+)", line)):
            found.append((len(match.group(1)), match.group(2).strip()))
    return found


def section(page: str, title: str) -> str:
    """The text under the heading `title`, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(title)}$", page, re.M)
    assert match, f"no section {title!r}"
    level = len(match.group(1))
    rest = page[match.end():]
    following = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[:following.start()] if following else rest


def prose(page: str) -> str:
    """The page without code blocks and code spans (where brackets are not links)."""
    return re.sub(r"`[^`\n]*`", "", re.sub(r"^```.*?^```", "", page, flags=re.M | re.S))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def table_links(text: str) -> list[str]:
    """Link targets in the first column of the table rows of `text`."""
    return [LINK.search(line).group(2) for line in text.splitlines() if line.startswith("| [")]


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "dist"
    assert main(["--root", str(ROOT), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    return out


@pytest.fixture(scope="module")
def products():
    found, _, problems = Catalog(ROOT).load_products()
    assert not problems
    return found


def portfolio_files() -> list[tuple[str, dict]]:
    return [(p.stem, yaml.safe_load(p.read_text())) for p in Catalog(ROOT).portfolio_files()]


def template(dist: Path, name: str) -> dict:
    return json.loads((dist / "templates" / f"{name}.json").read_text())


# -- every page -----------------------------------------------------------------------------


def test_docs_are_one_page_per_product_and_the_index(dist, products):
    assert sorted(p.name for p in (dist / "docs").iterdir()) == sorted([f"{n}.md" for n in products] + ["index.md"])


def test_every_product_page_has_its_sections_in_order(dist, products):
    for name, product in products.items():
        page = (dist / "docs" / f"{name}.md").read_text()
        found = headings(page)
        assert found[0] == (1, f"{name} {product.version}")
        first = "After you create the project" if product.studio_project else "After you launch"
        assert [t for level, t in found if level == 2] == [
            first, "Accounts and access", "What it creates", "Parameters", "Outputs"], name
        subsections = [t for level, t in found if level == 3]
        assert subsections == (STUDIO_SECTIONS if product.studio_project else []), name


def test_every_link_in_the_docs_resolves(dist):
    pages = {p.name: p.read_text() for p in (dist / "docs").iterdir()}
    checked = 0
    for name, page in pages.items():
        for _, target in LINK.findall(prose(page)):
            assert "://" not in target, f"{name}: {target}"
            file, _, anchor = target.partition("#")
            file = file or name
            assert file in pages, f"{name}: link to {target}: no such page"
            if anchor:
                assert anchor in {slug(t) for _, t in headings(pages[file])}, f"{name}: link to {target}: no heading"
            checked += 1
    assert checked >= 2 * len(pages) - 1  # every product page links the index and its outputs; the index each page


def test_index_lists_the_products_by_portfolio(dist, products):
    index = (dist / "docs" / "index.md").read_text()
    files = portfolio_files()
    assert headings(index)[0] == (1, "Products")
    assert [t for level, t in headings(index) if level == 2] == [
        "How the products connect", *(config["display_name"] for _, config in files)]
    for stem, config in files:
        body = section(index, config["display_name"])
        assert f"Portfolio `{stem}` (`portfolios/{stem}.yaml`)" in body
        assert table_links(body) == [f"{n}.md" for n in config["products"]]
        for name in config["products"]:
            assert f"| [{name}]({name}.md) | {products[name].version} |" in body
    assert f"{len(products)} products, by portfolio" in index


def test_product_page_links_its_portfolios(dist, products):
    for stem, config in portfolio_files():
        for name in config["products"]:
            page = (dist / "docs" / f"{name}.md").read_text()
            assert f"[{config['display_name']}](index.md) (`{stem}`)" in page


# -- "After you create the project", read from each template -------------------------------------


def test_repository_section_names_the_clone_url_output(dist, products):
    for name, product in products.items():
        if not product.studio_project:
            continue
        t = template(dist, name)
        body = section((dist / "docs" / f"{name}.md").read_text(), "Where the repository is")
        repositories = [rid for rid, r in t["Resources"].items() if r["Type"] == "AWS::CodeCommit::Repository"]
        clone = [o for o, v in t["Outputs"].items() if v["Value"] in
                 [{"Fn::GetAtt": [rid, "CloneUrlHttp"]} for rid in repositories]]
        if not repositories:
            assert body.strip() == "This project has no repository."
            continue
        assert len(clone) == len(repositories)
        for output in clone:
            assert f"clone URL in the output `{output}`" in body
        for seed in product.seedcode:
            assert f"seeded from `seedcode/{seed}`, branch `main`" in body
        assert "**Repositories** tab" in body


def test_push_section_lists_every_pipeline_stage_in_order(dist, products):
    for name, product in products.items():
        if not product.studio_project:
            continue
        t = template(dist, name)
        body = section((dist / "docs" / f"{name}.md").read_text(), "What runs on push")
        for rid, resource in t["Resources"].items():
            if resource["Type"] != "AWS::CodePipeline::Pipeline":
                continue
            stages = [s["Name"] for s in resource["Properties"]["Stages"]]
            listed = re.findall(r"^\d+\. \*\*(\w+)\*\*:", body, re.M)
            assert listed == stages, name
            output = next(o for o, v in t["Outputs"].items() if v["Value"] == {"Ref": rid})
            assert f"(output `{output}`)" in body


def test_model_build_page(dist):
    page = (dist / "docs" / "model-build.md").read_text()
    push = section(page, "What runs on push")
    assert ("CodePipeline `sagemaker-<project name>-<project id>-modelbuild` (output `ModelBuildPipelineName`) "
            "starts on a push to `main` of `sagemaker-<project name>-<project id>-modelbuild`.") in push
    assert "SageMaker Pipeline `sagemaker-<project name>-<project id>` (output `SageMakerPipelineName`" in push
    approve = section(page, "How to approve a model")
    assert ("Model versions are in the model package group `<project name>-<project id>` "
            "(output `ModelPackageGroupName`).") in approve
    assert "**Update status → Approved**" in approve and APPROVE in approve
    assert "`PendingManualApproval`" in approve
    endpoint = section(page, "Where the endpoint appears")
    assert endpoint.strip().startswith("This project deploys no endpoint.")


def test_deploy_pages_start_on_approval_and_say_where_endpoints_go(dist):
    multi = (dist / "docs" / "multi-account-deploy.md").read_text()
    assert ("starts on a model version set to `Approved` or `Rejected` in the model package group "
            "`<SageMakerModelPackageGroupName>`; and on a push to `main`") in section(multi, "What runs on push")
    assert APPROVE in section(multi, "How to approve a model")
    assert ("- Stage **DeployStaging** deploys the StackSet `sagemaker-<project name>-<project id>-deploy-staging` "
            "to the accounts of `<OrganizationalUnitStagingId>`.") in section(multi, "Where the endpoint appears")
    cross = (dist / "docs" / "cross-account-endpoint.md").read_text()
    assert ("- Stage **DeployProd** deploys the stack `sagemaker-<project name>-<project id>-deploy-prod` in the "
            "account `<ProdAccount>`.") in section(cross, "Where the endpoint appears")


def test_endpoint_names_on_the_pages_are_the_seed_templates(dist, products):
    seed_template = (ROOT / "seedcode" / "modeldeploy" / "endpoint-config-template.yml").read_text()
    assert "EndpointName: !Sub ${SageMakerProjectName}-${SageMakerProjectId}-${StageName}" in seed_template
    stages = {json.loads((ROOT / "seedcode" / "modeldeploy" / f).read_text())["Parameters"]["StageName"]
              for f in ("staging-config.json", "prod-config.json")}
    assert stages == {"staging", "prod"}
    names = {f"`<project name>-<project id>-{stage}`" for stage in (*stages, "<stage>")}
    users = [n for n, p in products.items() if "modeldeploy" in p.seedcode]
    assert users
    for name in users:
        endpoint = section((dist / "docs" / f"{name}.md").read_text(), "Where the endpoint appears")
        assert any(n in endpoint for n in names), name


def test_admin_pages_say_where_the_outputs_are(dist, products):
    for name, product in products.items():
        if product.studio_project:
            continue
        body = section((dist / "docs" / f"{name}.md").read_text(), "After you launch")
        assert "not a Studio project template" in body
        if template(dist, name).get("Outputs"):
            assert "aws servicecatalog get-provisioned-product-outputs --provisioned-product-name" in body


# -- catalogs that differ from the bundled one ---------------------------------------------------

EXTRA = (
    "from troposphere import Output, Template, s3\n"
    "from generator.product import Product\n"
    "def template():\n"
    "    t = Template()\n"
    "    t.add_resource(s3.Bucket('B'))\n"
    "    return t\n"
    "PRODUCT = Product(name={name!r}, description='An extra | product.', owner='o', version='0.2.0',\n"
    "                  template=template, studio_project=False{extra})\n"
)


def test_a_product_in_no_portfolio_is_listed_apart(catalog, tmp_path):
    (catalog / "products" / "extra_bucket.py").write_text(EXTRA.format(name="extra-bucket", extra=""))
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    index = (out / "docs" / "index.md").read_text()
    assert table_links(section(index, "Not in any portfolio")) == ["extra-bucket.md"]
    assert "| [extra-bucket](extra-bucket.md) | 0.2.0 | no | An extra \\| product. |" in index
    page = (out / "docs" / "extra-bucket.md").read_text()
    assert "- Portfolio: none (see [all products](index.md))" in page
    assert "It has no outputs." in section(page, "After you launch")


def test_after_create_text_lands_in_its_subsection(catalog, tmp_path):
    (catalog / "products" / "extra_bucket.py").write_text(
        EXTRA.format(name="extra-bucket", extra=", after_create={'launch': 'Then tell *the team*.'}"))
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert "Then tell *the team*." in section((out / "docs" / "extra-bucket.md").read_text(), "After you launch")


@pytest.mark.parametrize("name, extra, message", [
    ("index", "", "error: products/extra_bucket.py: PRODUCT: name 'index' is reserved: docs/index.md is the "
                  "catalog's index page"),
    ("extra-bucket", ", after_create={'push': 'x'}",
     "error: products/extra_bucket.py: PRODUCT: after_create: unknown section 'push' (one of launch)"),
    ("extra-bucket", ", after_create={'launch': 3}",
     "error: products/extra_bucket.py: PRODUCT: after_create['launch'] must be a string, not 3"),
])
def test_pages_that_cannot_be_written_are_input_errors(catalog, tmp_path, capsys, name, extra, message):
    (catalog / "products" / "extra_bucket.py").write_text(EXTRA.format(name=name, extra=extra))
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 2
    err = capsys.readouterr().err
    assert message in err.splitlines(), err
    assert "Traceback" not in err
    assert not out.exists()


def test_docs_are_byte_identical_across_builds(catalog, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    for out in (first, second):
        assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    docs = {k: v for k, v in tree(first).items() if k.startswith("docs/")}
    assert "docs/index.md" in docs
    assert docs == {k: v for k, v in tree(second).items() if k.startswith("docs/")}


def test_the_source_stage_names_both_repository_providers(dist, products):
    """A template that takes CodeCommit or CodeConnections has its source action in an Fn::If: the
    page describes both branches, never an empty action."""
    checked = 0
    for name in products:
        resources = template(dist, name)["Resources"].values()
        parameters = template(dist, name).get("Parameters", {})
        if "RepositoryProvider" not in parameters or not any(
                r["Type"] == "AWS::CodePipeline::Pipeline" for r in resources):
            continue
        page = (dist / "docs" / f"{name}.md").read_text()
        source = next(line for line in page.splitlines() if line.startswith("1. **Source**"))
        assert "CodeCommit `" in source and "through the connection (RepositoryProvider CodeConnections)" in source
        assert "<RepositoryFullName>" in source and "``" not in source, source
        checked += 1
    assert checked >= 3  # model-build and the two deploy products
