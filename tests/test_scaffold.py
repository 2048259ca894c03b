"""`smcat new product|portfolio`: the scaffolds build, lint clean and publish with no edits; every
refusal is one line, exit 2 and nothing written; the README's "Adding a product" and "Adding a
portfolio" sections run exactly as written and show what the scaffolds write."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, load_template, main, tree

from generator.errors import InputError
from generator.scaffold import SEED_MAX, add_to_portfolio
from tests.fakes.aws import client, parse_s3_url
from tests.publish import conftest as publish
from tests.publish.conftest import BUCKET, REGION

# The publisher tests' fixtures: moto (S3, STS, Organizations), the Service Catalog double, and
# `plan`/`publish` run in-process.
aws_env, moto_aws, double = publish.aws_env, publish.moto_aws, publish.double
no_sleep, runtime_factory, run_cli = publish.no_sleep, publish.runtime_factory, publish.run_cli

README = ROOT / "README.md"
LAUNCH = {"LocalRoleName": "SageMakerProjectsLaunchRole"}
# Written by a build, not by a scaffold.
BUILD_OUTPUTS = ("dist/", ".cache/", ".dist.stamp.json", ".dist.lock")


@pytest.fixture
def catalog(catalog: Path) -> Path:
    """The catalog copy without the README's example (a catalog where someone already ran the README's
    commands must keep these tests green too: they run them again)."""
    without_readme_example(catalog)
    return catalog


def run(root: Path, capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--root", str(root), *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def sources(root: Path) -> dict[str, bytes]:
    return {k: v for k, v in tree(root).items() if not k.startswith(BUILD_OUTPUTS) and "__pycache__" not in k}


# ------------------------------------------------------------------------------------------ build and publish


def test_a_new_portfolio_and_product_build_lint_and_publish_through_the_double(catalog, tmp_path, capsys, double,
                                                                               run_cli):
    assert run(catalog, capsys, "new", "portfolio", "team-a")[:2] == (0, "wrote portfolios/team-a.yaml\n")
    code, out, err = run(catalog, capsys, "new", "product", "churn-model", "--seed", "churn", "--portfolio", "team-a")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == "wrote products/churn_model.py"
    assert out.splitlines()[-1] == "added churn-model to portfolios/team-a.yaml"

    dist = tmp_path / "dist"
    code, out, err = run(catalog, capsys, "build", "--out", str(dist))  # with lint: any finding exits 1
    assert code == 0, out + err
    row = next(line.split() for line in out.splitlines() if line.startswith("churn-model "))
    assert row[1] == "1.0.0" and row[-1] == "ok"
    manifest = json.loads((dist / "manifest.json").read_text())
    team = manifest["portfolios"]["team-a"]
    assert team["products"] == ["churn-model"] and team["launch_constraint"] == LAUNCH
    assert team["studio_visibility"] is True
    template = load_template(dist, "churn-model")
    assert set(template["Parameters"]) == {"SageMakerProjectName", "SageMakerProjectId", "SeedCodeBucket",
                                           "SeedCodeChurnKey"}
    names = {r["Type"]: r["Properties"] for r in template["Resources"].values()}
    assert names["AWS::S3::Bucket"]["BucketName"] == {
        "Fn::Sub": "sagemaker-${SageMakerProjectId}-${AWS::AccountId}-${AWS::Region}"}
    assert names["AWS::KMS::Alias"]["AliasName"] == {
        "Fn::Sub": "alias/sagemaker-${SageMakerProjectName}-${SageMakerProjectId}"}
    assert names["AWS::CodeCommit::Repository"]["RepositoryName"] == {
        "Fn::Sub": "sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-churn"}
    assert names["AWS::CodeCommit::Repository"]["Code"]["S3"] == {"Bucket": {"Ref": "SeedCodeBucket"},
                                                                  "Key": {"Ref": "SeedCodeChurnKey"}}

    plan = run_cli("plan", dist)
    assert plan.code == 0, plan.err + plan.out
    assert "churn-model" in plan.out
    published = run_cli("publish", dist)
    assert published.code == 0, published.err + published.out

    state = double.region(REGION)
    [product] = [p for p in state.products.values() if p["Name"] == "churn-model"]
    [portfolio] = [p for p in state.portfolios.values() if p["DisplayName"] == "team-a"]
    assert product["ProductId"] in state.portfolio_products[portfolio["Id"]]
    [constraint] = [c for c in state.constraints.values()
                    if (c["PortfolioId"], c["ProductId"]) == (portfolio["Id"], product["ProductId"])]
    assert constraint["Type"] == "LAUNCH" and json.loads(constraint["Parameters"]) == LAUNCH
    # The uploaded template's seed parameters name the uploaded zip: what `plan` refused before.
    [create] = [c.params for c in double.ops("CreateProduct", ok_only=True) if c.params["Name"] == "churn-model"]
    bucket, key, _ = parse_s3_url(create["ProvisioningArtifactParameters"]["Info"]["LoadTemplateFromURL"])
    uploaded = json.loads(client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())["Parameters"]
    assert uploaded["SeedCodeBucket"]["Default"] == BUCKET
    zipped = client("s3").get_object(Bucket=BUCKET, Key=uploaded["SeedCodeChurnKey"]["Default"])["Body"].read()
    assert zipped == (dist / "seedcode" / "churn.zip").read_bytes()

    writes = len(double.writes())
    again = run_cli("publish", dist)
    assert again.code == 0 and len(double.writes()) == writes


def test_the_longest_names_build_lint_clean_and_the_scaffold_is_ruff_clean(catalog, tmp_path, capsys):
    name, seed = "p" * 100, "s" * SEED_MAX
    code, out, err = run(catalog, capsys, "new", "product", name, "--seed", seed, "--portfolio", "sagemaker-projects")
    assert (code, err) == (0, ""), err
    code, out, err = run(catalog, capsys, "build", "--out", str(tmp_path / "dist"))
    assert code == 0, out + err  # name budgets (E9110/W9111) included
    module = catalog / "products" / f"{name}.py"
    config = str(ROOT / "pyproject.toml")
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config", config, str(module)],
                          cwd=ROOT, capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_the_seed_folder_is_a_repository_of_its_own_whose_tests_pass(catalog, capsys):
    assert run(catalog, capsys, "new", "product", "churn-model", "--seed", "churn")[0] == 0
    folder = catalog / "seedcode" / "churn"
    # Plain `pytest` in the folder, as the seed's README and tests/run.sh run it.
    tests = subprocess.run([str(Path(sys.executable).parent / "pytest"), "-q", "-p", "no:cacheprovider"],
                           cwd=folder, capture_output=True, text=True)
    assert tests.returncode == 0 and "2 passed" in tests.stdout, tests.stdout + tests.stderr
    # tests/run.sh makes .venv-seed-churn from its requirements and runs the folder's tests/.
    assert (folder / "requirements-dev.txt").read_text().startswith("pytest")
    # The seed's README lists every file of the folder.
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    listed = re.findall(r"^\| `([^`]+)` \|", (folder / "README.md").read_text(), flags=re.M)
    assert sorted([*listed, "README.md"]) == files


def test_a_product_without_seed_code(catalog, tmp_path, capsys):
    code, out, _ = run(catalog, capsys, "new", "product", "scoring", "--portfolio", "sagemaker-projects")
    assert (code, out) == (0, "wrote products/scoring.py\nadded scoring to portfolios/sagemaker-projects.yaml\n")
    assert run(catalog, capsys, "build", "--out", str(tmp_path / "dist"), "--no-lint", "-q")[0] == 0
    template = load_template(tmp_path / "dist", "scoring")
    assert set(template["Parameters"]) == {"SageMakerProjectName", "SageMakerProjectId"}
    assert sorted(r["Type"] for r in template["Resources"].values()) == [
        "AWS::KMS::Alias", "AWS::KMS::Key", "AWS::S3::Bucket", "AWS::S3::BucketPolicy"]


# ------------------------------------------------------------------------------------------ refusals


def _rename_model_build(root: Path) -> None:
    (root / "products" / "model_build.py").rename(root / "products" / "mb.py")


def _seed_a1b(root: Path) -> None:
    (root / "seedcode" / "a1b").mkdir()
    (root / "seedcode" / "a1b" / "README.md").write_text("a1b\n")


def _list_ghost(root: Path) -> None:
    path = root / "portfolios" / "sagemaker-projects.yaml"
    path.write_text(path.read_text().replace("  - cross-account-endpoint\n", "  - cross-account-endpoint\n  - ghost\n"))


def _display_name_team_a(root: Path) -> None:
    path = root / "portfolios" / "ml-admin.yaml"
    path.write_text(path.read_text().replace("display_name: ML platform administration", "display_name: team-a"))


PRODUCT_NAME_RULE = ("is not a product name: lowercase letters and digits, words joined by '-', starting with a "
                     "letter, at most 100 characters (like model-build)")
SEED_RULE = ("is not a seed name: lowercase letters and digits, words joined by '-', starting with a letter, at most "
             "36 characters (the repository sagemaker-<project name>-<project id>-<seed> has at most 100)")
ID_RULE = ("is not a portfolio id: a letter or digit, then letters, digits, '.', '_' or '-', at most 100 characters "
           "(the file name and the publisher's smcat:portfolio tag)")

REFUSALS = {
    "product name with capitals": (None, ["new", "product", "Churn"], [f"NAME: 'Churn' {PRODUCT_NAME_RULE}"]),
    "product name with _": (None, ["new", "product", "churn_model"], [f"NAME: 'churn_model' {PRODUCT_NAME_RULE}"]),
    "product name too long": (None, ["new", "product", "p" * 101], [f"NAME: '{'p' * 101}' {PRODUCT_NAME_RULE}"]),
    "bad names together": (None, ["new", "product", "9lives", "--seed", "S", "--portfolio", "a b"], [
        f"--portfolio: 'a b' {ID_RULE}", f"--seed: 'S' {SEED_RULE}", f"NAME: '9lives' {PRODUCT_NAME_RULE}"]),
    "seed too long": (None, ["new", "product", "x", "--seed", "s" * 37], [f"--seed: '{'s' * 37}' {SEED_RULE}"]),
    "existing module": (None, ["new", "product", "model-build"],
                        ["products/model_build.py: already exists; nothing was written"]),
    "product declared in another module": (_rename_model_build, ["new", "product", "model-build"], [
        "products/mb.py: PRODUCT.name: 'model-build' is already declared there; nothing was written"]),
    "existing seed folder": (None, ["new", "product", "x", "--seed", "modelbuild"],
                             ["seedcode/modelbuild/: already exists; nothing was written"]),
    "seed parameter taken": (_seed_a1b, ["new", "product", "x", "--seed", "a-1b"], [
        "--seed: 'a-1b' gives the template parameter SeedCodeA1bKey, which seedcode/a1b/ already gives; "
        "choose another seed name"]),
    "unknown portfolio": (None, ["new", "product", "x", "--portfolio", "sagemaker-project"], [
        "--portfolio: no portfolio file portfolios/sagemaker-project.yaml; did you mean 'sagemaker-projects'? "
        "(create one with `smcat new portfolio sagemaker-project`)"]),
    "portfolio lists it already": (_list_ghost, ["new", "product", "ghost", "--portfolio", "sagemaker-projects"], [
        "portfolios/sagemaker-projects.yaml:9: products: already lists 'ghost'"]),
    "everything at once": (None, ["new", "product", "model-build", "--seed", "modeldeploy", "--portfolio", "nope"], [
        "--portfolio: no portfolio file portfolios/nope.yaml; known: {known} "
        "(create one with `smcat new portfolio nope`)",
        "products/model_build.py: already exists; nothing was written",
        "seedcode/modeldeploy/: already exists; nothing was written"]),
    "portfolio id with /": (None, ["new", "portfolio", "a/b"], [f"ID: 'a/b' {ID_RULE}"]),
    "portfolio id starting with _": (None, ["new", "portfolio", "_team"], [f"ID: '_team' {ID_RULE}"]),
    "portfolio id too long": (None, ["new", "portfolio", "t" * 101], [f"ID: '{'t' * 101}' {ID_RULE}"]),
    "existing portfolio": (None, ["new", "portfolio", "ml-admin"],
                           ["portfolios/ml-admin.yaml: already exists; nothing was written"]),
    "display name taken": (_display_name_team_a, ["new", "portfolio", "team-a"], [
        "portfolios/ml-admin.yaml: display_name: 'team-a' is the display name the new portfolio would take; "
        "choose another id or rename that one"]),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refusals_are_one_line_each_exit_2_and_write_nothing(catalog, capsys, case):
    setup, argv, expected = REFUSALS[case]
    if setup:
        setup(catalog)
    before = sources(catalog)
    code, out, err = run(catalog, capsys, *argv)
    assert (code, out) == (2, "")
    known = ", ".join(p.stem for p in sorted((catalog / "portfolios").glob("*.y*ml")))
    assert err.splitlines() == [f"error: {line}".replace("{known}", known) for line in expected]
    assert sources(catalog) == before


def test_not_a_catalog_root(tmp_path, capsys):
    code, out, err = run(tmp_path, capsys, "new", "portfolio", "team-a")
    assert (code, out) == (2, "")
    assert err == (f"error: {tmp_path}: is not a catalog root: no products/ or portfolios/ "
                   "(run from the catalog's directory or pass --root)\n")
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_fails_half_way_removes_what_it_wrote(catalog, capsys):
    shutil.rmtree(catalog / "seedcode")
    (catalog / "seedcode").write_text("not a folder\n")  # the module is written first, then the seed fails
    before = sources(catalog)
    code, out, err = run(catalog, capsys, "new", "product", "churn-model", "--seed", "churn",
                         "--portfolio", "sagemaker-projects")
    assert (code, out) == (2, "")
    assert err == "error: seedcode/churn: cannot be written: Not a directory; nothing was written\n"
    assert sources(catalog) == before


def test_root_is_accepted_after_the_command_too(catalog, capsys):
    capsys.readouterr()
    assert main(["new", "portfolio", "team-b", "--root", str(catalog)]) == 0
    assert (catalog / "portfolios" / "team-b.yaml").is_file()


# ------------------------------------------------------------------------------------------ the portfolio edit


@pytest.mark.parametrize(("text", "expected"), [
    ("products: []\nx: 1\n", "products: [new]\nx: 1\n"),
    ("products: [a, b]  # two\n", "products: [a, b, new]  # two\n"),
    ("products:\n  - a\n  - b  # last\n# after\nx: 1\n", "products:\n  - a\n  - b  # last\n  - new\n# after\nx: 1\n"),
    ("products:\n- a\nx: 1", "products:\n- a\n- new\nx: 1"),
    ("x: 1\nproducts:\n    - a", "x: 1\nproducts:\n    - a\n    - new\n"),
])
def test_the_product_is_appended_keeping_comments_and_layout(text, expected):
    assert add_to_portfolio(text, "portfolios/p.yaml", "new") == expected


@pytest.mark.parametrize(("text", "message"), [
    ("x: 1\n", "portfolios/p.yaml: products: must be a list of product names; fix it first"),
    ("products: a\n", "portfolios/p.yaml:1: products: must be a list of product names; fix it first"),
    ("products: [new]\n", "portfolios/p.yaml:1: products: already lists 'new'"),
    ("base: &p [a]\nproducts: *p\n", "portfolios/p.yaml:2: products: is not a plain list; add the product by hand"),
    ("products: &p [a]\n", "portfolios/p.yaml:1: products: is not a plain list; add the product by hand"),
    ("products: !!seq [a]\n", "portfolios/p.yaml:1: products: is not a plain list; add the product by hand"),
    ("products: [a\n",
     "portfolios/p.yaml: is not valid YAML; fix it first (expected ',' or ']', but got '<stream end>')"),
])
def test_a_portfolio_that_cannot_be_edited_safely_is_refused(text, message):
    with pytest.raises(InputError) as caught:
        add_to_portfolio(text, "portfolios/p.yaml", "new")
    assert [str(p) for p in caught.value.problems] == [message]


# ------------------------------------------------------------------------------------------ the README, as written

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
SECTIONS = ("Adding a product", "Adding a portfolio")


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n### {title}\n")
    ends = [i for i in (text.find("\n### ", start + 1), text.find("\n## ", start + 1)) if i != -1]
    return text[start:min(ends)]


def readme_steps(title: str) -> list[tuple[str, str, str]]:
    """(language, body, the prose before it) of each fenced block of the section, in order."""
    section, steps, position = readme_section(title), [], 0
    for match in FENCE.finditer(section):
        steps.append((match.group(1), match.group(2), section[position:match.start()]))
        position = match.end()
    return steps


def command_argv(line: str) -> list[str]:
    words = shlex.split(line, comments=True)
    for prefix in (["smcat"], [".venv/bin/python", "build.py"]):
        if words[: len(prefix)] == prefix:
            return words[len(prefix):]
    raise AssertionError(f"README command is neither `smcat` nor `.venv/bin/python build.py`: {line!r}")


def readme_example() -> tuple[list[str], list[tuple[str, str]]]:
    """What the README's output blocks say the scaffolds write: (files, [(product, portfolio file)])."""
    written, added = [], []
    for title in SECTIONS:
        for language, body, _ in readme_steps(title):
            for words in (line.split() for line in body.splitlines() if language == ""):
                if words[:1] == ["wrote"]:
                    written.append(words[1])
                elif words[:1] == ["added"]:
                    added.append((words[1], words[3]))
    return written, added


def without_readme_example(root: Path) -> None:
    written, added = readme_example()
    for rel in written:
        parts = Path(rel).parts
        if parts[0] == "seedcode":
            shutil.rmtree(root / "seedcode" / parts[1], ignore_errors=True)
        else:
            (root / rel).unlink(missing_ok=True)
    for name, rel in added:
        path = root / rel
        if path.is_file():
            word = re.escape(name)
            text = re.sub(rf"^[ \t]*- {word}[ \t]*(#.*)?\n", "", path.read_text(), flags=re.M)
            text = re.sub(rf"\[\s*{word}\s*\]", "[]", re.sub(rf",\s*{word}(?=\s*\])", "", text))
            path.write_text(text)


def test_the_readme_sections_run_as_written_and_show_what_the_scaffolds_write(catalog, capsys):
    before = sources(catalog)
    said_written: set[str] = set()
    checked = {"sh": 0, "": 0, "yaml": 0}
    for title in SECTIONS:
        output = None
        for language, body, prose in readme_steps(title):
            checked[language] += 1
            if language == "sh":
                output = ""
                for line in filter(None, (line.strip() for line in body.splitlines())):
                    code, out, err = run(catalog, capsys, *command_argv(line))
                    assert code == 0, f"{line}\n{out}{err}"
                    if command_argv(line)[:1] == ["new"]:
                        output += out
                        said_written |= {m.split()[-1] for m in out.splitlines()}
            elif language == "":
                assert body == output, f"{title}: the README shows other output than the command prints"
            elif language == "yaml":
                path = re.findall(r"`(portfolios/[^`]+\.yaml)`", prose)[-1]
                assert body == (catalog / path).read_text(), f"{title}: the README shows another {path}"
            else:
                raise AssertionError(f"{title}: unexpected ```{language} block")
    assert checked == {"sh": 5, "": 3, "yaml": 1}
    after = sources(catalog)
    changed = {path for path in after if before.get(path) != after[path]}
    assert changed == said_written and not set(before) - set(after)
    assert (catalog / "dist" / "templates" / "churn-model.json").is_file()
    assert (catalog / "dist" / "templates" / "team-a-scoring.json").is_file()


# ------------------------------------------------------------------------------------------ point 9, in miniature

CATALOG_TESTS = [
    "tests/hub/test_public_policies.py",
    "tests/hub/test_principals_exist.py",
    "tests/products/test_project_roles.py",
    "tests/publish/test_real_catalog.py",
    "tests/test_build.py::test_every_product_is_in_a_portfolio_that_matches_its_audience",
    "tests/test_cli.py",
]


def test_the_catalog_tests_stay_green_after_adding_as_documented(tmp_path):
    """A copy of the repository, the README's scaffold commands run in it exactly as written (build.py
    works on the catalog it sits in), then the tests about the bundled catalog, run there."""
    copy = tmp_path / "repo"
    ignore = shutil.ignore_patterns(".venv*", "dist", ".cache", "__pycache__", ".pytest_cache", ".hypothesis",
                                    ".ruff_cache", ".git", "*.egg-info", ".dist.stamp.json")
    shutil.copytree(ROOT, copy, ignore=ignore)
    without_readme_example(copy)
    for title in SECTIONS:
        for language, body, _ in readme_steps(title):
            for line in filter(None, (line.strip() for line in body.splitlines())) if language == "sh" else []:
                argv = command_argv(line)
                if argv[:1] != ["new"]:
                    continue  # the tests build for themselves
                done = subprocess.run([sys.executable, "build.py", *argv], cwd=copy, capture_output=True, text=True)
                assert done.returncode == 0, done.stdout + done.stderr
    assert (copy / "products" / "churn_model.py").is_file() and (copy / "portfolios" / "team-a.yaml").is_file()
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *CATALOG_TESTS],
                           cwd=copy, capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
