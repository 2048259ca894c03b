"""`build`: what dist/ holds, that it is deterministic, and that a no-op rebuild writes nothing."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import BROKEN_PRODUCT, ROOT, load_template, main, tree

from generator.builder import sha256


def test_build_writes_templates_zips_docs_and_manifest(built):
    files = tree(built)
    assert "manifest.json" in files
    manifest = json.loads(files["manifest.json"])
    assert manifest["manifest_version"] == 1
    for name, product in manifest["products"].items():
        template = files[product["template"]]
        assert sha256(template) == product["template_sha256"]
        for seed, entry in product["seedcode"].items():
            assert sha256(files[entry["path"]]) == entry["sha256"]
            assert entry["path"] == f"seedcode/{seed}.zip"
        assert f"docs/{name}.md" in files
        assert product["resources"] == len(json.loads(template)["Resources"])
    for seed in (p.name for p in (ROOT / "seedcode").iterdir() if p.is_dir()):
        assert f"seedcode/{seed}.zip" in files


def test_manifest_resolves_portfolios(built):
    manifest = json.loads((built / "manifest.json").read_text())
    portfolio = manifest["portfolios"]["sagemaker-projects"]
    assert portfolio["file"] == "portfolios/sagemaker-projects.yaml"
    assert "model-build" in portfolio["products"]
    # project-roles' launch role: the AWS-managed one cannot create the templates' keys and groups.
    assert portfolio["launch_constraint"] == {"LocalRoleName": "SageMakerProjectsLaunchRole"}
    assert {p["type"] for p in portfolio["principals"]} == {"IAM_PATTERN"}
    assert portfolio["shares"][0]["type"] == "ORGANIZATIONAL_UNIT"


def test_two_builds_are_byte_identical(catalog, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    assert main(["--root", str(catalog), "build", "--out", str(first), "--no-lint", "-q"]) == 0
    # Touch every source: timestamps must not reach the output.
    for path in catalog.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    assert main(["--root", str(catalog), "build", "--out", str(second), "--no-lint", "-q"]) == 0
    assert tree(first) == tree(second)
    assert str(catalog) not in "".join(v.decode("latin-1") for v in tree(first).values())


def test_seed_zip_is_sorted_with_fixed_times_and_modes(built):
    with zipfile.ZipFile(io.BytesIO((built / "seedcode" / "modelbuild.zip").read_bytes())) as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert {(i.external_attr >> 16) & 0o777 for i in infos} <= {0o644, 0o755}
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_content_hash_follows_seed_code_not_location(catalog, tmp_path):
    out = tmp_path / "dist"
    main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"])
    before = json.loads((out / "manifest.json").read_text())["products"]["model-build"]
    template = load_template(out, "model-build")
    # Where the seed zip lives is filled in at publish time, so nothing location-bound is built in.
    assert "Default" not in template["Parameters"]["SeedCodeBucket"]
    assert "Default" not in template["Parameters"]["SeedCodeModelbuildKey"]
    (catalog / "seedcode" / "modelbuild" / "README.md").write_text("changed\n")
    main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"])
    after = json.loads((out / "manifest.json").read_text())["products"]["model-build"]
    assert after["template_sha256"] == before["template_sha256"]
    assert after["seedcode"]["modelbuild"]["sha256"] != before["seedcode"]["modelbuild"]["sha256"]
    assert after["content_hash"] != before["content_hash"]


def test_noop_rebuild_writes_nothing(catalog, tmp_path, capsys):
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q"]) == 0
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q"]) == 0
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps
    assert "unchanged" in capsys.readouterr().out


def test_build_prints_a_table_and_lint_result(catalog, tmp_path, capsys):
    assert main(["--root", str(catalog), "build", "--out", str(tmp_path / "d"), "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["PRODUCT", "VERSION", "HASH", "RESOURCES", "LINT"]
    row = next(line.split() for line in lines if line.startswith("model-build "))
    assert row[1] == "1.0.0" and row[-1] == "ok"


def test_lint_finding_fails_the_build(catalog, tmp_path, capsys):
    (catalog / "products" / "broken_bucket.py").write_text(BROKEN_PRODUCT)
    assert main(["--root", str(catalog), "build", "--out", str(tmp_path / "d"), "-q"]) == 1
    out = capsys.readouterr().out
    row = next(line.split() for line in out.splitlines() if line.startswith("broken-bucket "))
    printed = [
        line for line in out.splitlines() if line.startswith(str(tmp_path / "d" / "templates" / "broken-bucket"))
    ]
    assert int(row[-4]) + int(row[-2]) == len(printed) == len(set(printed))  # each finding once
    assert len([line for line in printed if " E1020 " in line]) == 1


def test_docs_page_lists_parameters_resources_outputs(built):
    page = (built / "docs" / "model-build.md").read_text()
    assert page.startswith("# model-build 1.0.0")
    assert "| `SageMakerProjectName` | String |" in page
    assert "max length 32" in page
    assert "`AWS::CodePipeline::Pipeline`" in page
    assert "| `ModelBuildRepositoryCloneUrl` |" in page


def test_product_that_fails_to_render_names_its_file_and_line(catalog, tmp_path, capsys):
    (catalog / "products" / "bad_bucket.py").write_text(
        "from troposphere import Template, s3\n"
        "from generator.product import Product\n"
        "def template():\n"
        "    t = Template()\n"
        "    t.add_resource(s3.Bucket('B', BucketName='Not_A_Valid_Bucket'))\n"
        "    return t\n"
        "PRODUCT = Product(name='bad-bucket', description='d', owner='o', version='0.1.0', template=template)\n"
    )
    out = tmp_path / "d"
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "error: products/bad_bucket.py:5: template(): failed: ValueError: "
        "Not_A_Valid_Bucket is not a valid s3 bucket name"
    ]
    assert not out.exists()


def test_rebuild_repairs_a_tampered_dist(catalog, tmp_path, capsys):
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    good = tree(out)
    (out / "templates" / "model-build.json").write_text("{}")
    (out / "stray.txt").write_text("not ours")
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert tree(out) == good
    assert capsys.readouterr().out.strip().endswith("written")


def test_every_product_is_in_a_portfolio_that_matches_its_audience(built):
    manifest = json.loads((built / "manifest.json").read_text())
    portfolios = manifest["portfolios"]
    for name, product in manifest["products"].items():
        holders = [p for p in portfolios.values() if name in p["products"]]
        assert holders, f"{name} is in no portfolio: nobody could launch it"
        # Studio project templates go to Studio-visible portfolios; admin stacks never do.
        assert all(p["studio_visibility"] == product["studio_project"] for p in holders), name
    # ml-admin holds exactly the catalog's admin stacks (read from products/, not listed here).
    admin = sorted(name for name, product in manifest["products"].items() if not product["studio_project"])
    assert admin and sorted(portfolios["ml-admin"]["products"]) == admin


def test_lint_follows_the_root_not_the_working_directory(catalog, tmp_path, monkeypatch, capsys):
    # A directory with its own dist/templates holding a broken file of the same name.
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "dist" / "templates").mkdir(parents=True)
    (elsewhere / "dist" / "templates" / "model-build.json").write_text('{"Resources": {"B": {"Type": "Nope"}}}')
    monkeypatch.chdir(elsewhere)
    assert main(["--root", str(catalog), "build", "-q"]) == 0
    assert (catalog / "dist" / "manifest.json").is_file()
    row = next(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("model-build "))
    assert row[-1] == "ok"


@pytest.mark.parametrize("where", [".", "seedcode", "products/x", ".."])
def test_out_never_replaces_sources(catalog, capsys, where):
    before = tree(catalog)
    out = catalog / where
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 2
    assert "--out: is the catalog root, one of its parents, or holds its sources" in capsys.readouterr().err
    assert tree(catalog) == before


def test_out_never_replaces_a_directory_that_is_not_a_build(catalog, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 2
    assert "no manifest.json" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "keep me"


def test_concurrent_builds_into_one_dist_leave_one_whole_build(catalog, tmp_path):
    out = tmp_path / "dist"
    reference = tmp_path / "reference"
    assert main(["--root", str(catalog), "build", "--out", str(reference), "--no-lint", "-q"]) == 0
    command = [sys.executable, str(ROOT / "build.py"), "--root", str(catalog), "build", "--out", str(out), "--no-lint"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    assert [r.wait() for r in runs] == [0, 0, 0], [r.stderr.read() for r in runs]
    assert tree(out) == tree(reference)
    assert not [p for p in tmp_path.iterdir() if ".new-" in p.name or ".old-" in p.name]


def _build(catalog, out, capsys) -> str:
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_stamp_notices_a_changed_executable_bit(catalog, tmp_path, capsys):
    out = tmp_path / "dist"
    _build(catalog, out, capsys)
    script = catalog / "seedcode" / "modelbuild" / "README.md"
    script.chmod(0o755)
    assert _build(catalog, out, capsys).endswith("written")
    with zipfile.ZipFile(out / "seedcode" / "modelbuild.zip") as archive:
        assert (archive.getinfo("README.md").external_attr >> 16) & 0o777 == 0o755


def test_stamp_follows_symlinked_sources(catalog, tmp_path, capsys):
    real = tmp_path / "shared-portfolio.yaml"
    source = catalog / "portfolios" / "sagemaker-projects.yaml"
    real.write_text(source.read_text())
    source.unlink()
    source.symlink_to(real)
    out = tmp_path / "dist"
    _build(catalog, out, capsys)
    real.write_text(real.read_text().replace("provider: ML platform team", "provider: Someone else"))
    assert _build(catalog, out, capsys).endswith("written")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["portfolios"]["sagemaker-projects"]["provider"] == "Someone else"


def test_stamp_tracks_helpers_imported_from_outside_the_catalog(catalog, tmp_path, monkeypatch, capsys):
    helpers = tmp_path / "helpers"
    helpers.mkdir()
    (helpers / "smcat_test_helper.py").write_text("DESCRIPTION = 'first'\n")
    monkeypatch.syspath_prepend(str(helpers))
    (catalog / "products" / "helped.py").write_text(
        "from troposphere import Template, Output\n"
        "from generator.product import Product\n"
        "import smcat_test_helper\n"
        "def template():\n"
        "    t = Template(Description=smcat_test_helper.DESCRIPTION)\n"
        "    t.add_output(Output('Nothing', Value='none'))\n"
        "    return t\n"
        "PRODUCT = Product(name='helped', description='d', owner='o', version='0.1.0', template=template)\n"
    )
    out = tmp_path / "dist"
    _build(catalog, out, capsys)
    (helpers / "smcat_test_helper.py").write_text("DESCRIPTION = 'second'\n")
    monkeypatch.delitem(sys.modules, "smcat_test_helper")
    assert _build(catalog, out, capsys).endswith("written")
    assert load_template(out, "helped")["Description"] == "second"


# --- --out that cannot be written: one line, exit 2, before anything is rendered -------------


def _out_cases(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    locked = tmp_path / "locked"
    (locked / ".dist.lock").mkdir(parents=True)  # the lock file's name is taken by a directory
    proc = Path(f"/proc/{os.getpid()}")  # /proc/self, as the build resolves it; nothing can be created in it
    return {
        "parent-is-a-file": (
            blocker / "dist",
            f"cannot create its parent directory {blocker}: {blocker} is a file, not a directory",
        ),
        "under-a-file": (
            blocker / "sub" / "dist",
            f"cannot create its parent directory {blocker / 'sub'}: {blocker} is a file, not a directory",
        ),
        "lock-cannot-be-created": (
            locked / "dist",
            f"cannot create the lock file {locked / '.dist.lock'}: is a directory",
        ),
        "under-proc": (
            proc / "smcat-x" / "dist",
            f"cannot create its parent directory {proc / 'smcat-x'}: no such file or directory",
        ),
        "in-proc": (proc / "dist", f"cannot create the lock file {proc / '.dist.lock'}: no such file or directory"),
    }


@pytest.mark.parametrize(
    "case", ["parent-is-a-file", "under-a-file", "lock-cannot-be-created", "under-proc", "in-proc"]
)
def test_unwritable_out_is_one_line_before_any_rendering(catalog, tmp_path, capsys, case):
    # These fail for root too (the tests run as root, whom permissions do not stop).
    out, reason = _out_cases(tmp_path)[case]
    before = tree(tmp_path)
    assert main(["--root", str(catalog), "build", "--out", str(out)]) == 2  # not quiet: progress would show
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"error: {out}: --out: {reason}"]
    assert captured.out == ""
    assert tree(tmp_path) == before


def test_out_on_a_read_only_file_system_is_one_line(catalog, tmp_path):
    """A read-only tmpfs mounted in a private mount namespace (needs unshare and mount rights)."""
    mountpoint = tmp_path / "ro"
    mountpoint.mkdir()
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", 'mount -t tmpfs -o ro tmpfs "$1"', "sh", str(mountpoint)],
        capture_output=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot mount a read-only file system here: {probe.stderr.decode().strip()}")
    script = 'mount -t tmpfs -o ro tmpfs "$1" && shift && exec "$@"'
    for out, reason in [
        (mountpoint / "dist", f"cannot create the lock file {mountpoint / '.dist.lock'}: read-only file system"),
        (mountpoint / "a" / "dist", f"cannot create its parent directory {mountpoint / 'a'}: read-only file system"),
    ]:
        command = [sys.executable, str(ROOT / "build.py"), "--root", str(catalog), "build", "--out", str(out)]
        result = subprocess.run(
            ["unshare", "-m", "sh", "-c", script, "sh", str(mountpoint), *command], capture_output=True, text=True
        )
        assert (result.returncode, result.stderr.splitlines(), result.stdout) == (
            2,
            [f"error: {out}: --out: {reason}"],
            "",
        )


def test_missing_parents_of_out_are_created(catalog, tmp_path):
    out = tmp_path / "not" / "yet" / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert (out / "manifest.json").is_file()


# --- dist/ permissions follow the umask ---------------------------------------------------------


@pytest.mark.parametrize("umask, folders, files", [(0o022, 0o755, 0o644), (0o027, 0o750, 0o640)])
def test_dist_gets_the_permissions_the_umask_gives(catalog, tmp_path, umask, folders, files):
    out = tmp_path / "dist"
    previous = os.umask(umask)
    try:
        assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    finally:
        os.umask(previous)
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in [out, *out.rglob("*")]}
    assert {m for p, m in modes.items() if p.is_dir()} == {folders}
    assert {m for p, m in modes.items() if p.is_file()} == {files}


# --- the manifest records the lint result ----------------------------------------------------


def _lint_in(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())["lint"]


def test_manifest_records_a_clean_lint(built):
    assert _lint_in(built) == {"status": "clean", "errors": 0, "warnings": 0}


def test_manifest_records_findings_and_a_skipped_lint(catalog, tmp_path, capsys):
    (catalog / "products" / "broken_bucket.py").write_text(BROKEN_PRODUCT)
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q"]) == 1
    row = next(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("broken-bucket "))
    errors, warnings = int(row[-4]), int(row[-2])
    assert errors >= 1
    assert _lint_in(out) == {"status": "findings", "errors": errors, "warnings": warnings}
    # --no-lint: the same build, not linted: not publishable either, and the dist says so.
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("written")
    assert _lint_in(out) == {"status": "not-run", "errors": 0, "warnings": 0}
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].endswith("written")
    assert _lint_in(out)["status"] == "findings"
    # Linted again, nothing changed: nothing written.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*")}
    assert main(["--root", str(catalog), "build", "--out", str(out), "-q"]) == 1
    assert capsys.readouterr().out.splitlines()[-1].endswith("unchanged")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*")} == stamps


def test_linted_builds_are_byte_identical(catalog, tmp_path):
    first, second = tmp_path / "one", tmp_path / "two"
    assert main(["--root", str(catalog), "build", "--out", str(first), "-q"]) == 0
    assert main(["--root", str(catalog), "build", "--out", str(second), "-q", "--no-cache"]) == 0
    assert tree(first) == tree(second)
    assert _lint_in(first)["status"] == "clean"


# --- the table marks content that changed under the same version ------------------------------


def test_table_marks_content_changed_without_a_version_bump(catalog, tmp_path, capsys):
    out = tmp_path / "dist"
    _build(catalog, out, capsys)
    (catalog / "seedcode" / "modelbuild" / "README.md").write_text("changed\n")
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split() for line in lines[1:] if line and not line.startswith(("*", str(out)))}
    assert rows["model-build"][1] == "1.0.0*"
    assert {name for name, row in rows.items() if row[1].endswith("*")} == {"model-build"}
    digest = json.loads((out / "manifest.json").read_text())["products"]["model-build"]["content_hash"][:12]
    assert (
        "* model-build: content changed since the last build but version 1.0.0 did not; publish would add it "
        f"as version 1.0.0+{digest}: bump the version in products/model_build.py to name it"
    ) in lines
    # Nothing changed since: no mark. A bumped version: no mark.
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert "*" not in capsys.readouterr().out
    module = catalog / "products" / "model_build.py"
    assert module.read_text().count('version="1.0.0"') == 1
    module.write_text(module.read_text().replace('version="1.0.0"', 'version="1.0.1"'))
    (catalog / "seedcode" / "modelbuild" / "README.md").write_text("changed again\n")
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    output = capsys.readouterr().out
    assert "*" not in output
    assert next(line.split() for line in output.splitlines() if line.startswith("model-build "))[1] == "1.0.1"


# --- plurals ----------------------------------------------------------------------------------


def test_counts_use_the_singular_for_one(catalog, tmp_path, capsys):
    for module in (catalog / "products").glob("*.py"):
        if module.name != "project_roles.py":
            module.unlink()
    admin = catalog / "portfolios" / "ml-admin.yaml"
    for portfolio in (catalog / "portfolios").glob("*.y*ml"):
        if portfolio != admin:
            portfolio.unlink()
    config = yaml.safe_load(admin.read_text())
    config["products"] = ["project-roles"]
    admin.write_text(yaml.safe_dump(config))
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"{out}: 1 product, 1 portfolio, written"
