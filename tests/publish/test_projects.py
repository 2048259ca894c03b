"""`smcat projects` (report), `projects plan-upgrade` and `projects upgrade`, against the Service Catalog double
(provisioned products and their records) and the SageMaker projects double driving it."""

from __future__ import annotations

import argparse
import json

import pytest

from generator.publish import cli
from tests.fakes.provisioning import launch, product_ids, s3_template_reader, versions_of
from tests.fakes.sagemakerprojects import SageMakerProjectsDouble
from tests.publish.conftest import BUCKET, Run, build_dist, client, default_spec

PROJECT_PARAMETERS = {"SageMakerProjectName": "batchjob", "SageMakerProjectId": "p-batch"}


@pytest.fixture
def world(double):
    """The Service Catalog double reading templates from moto's S3, with SageMaker projects on top of it."""
    double.template_reader = s3_template_reader
    with SageMakerProjectsDouble(double) as projects:
        yield projects


@pytest.fixture
def run_projects(runtime_factory, capsys):
    """run_projects("plan-upgrade", "--all-deprecated", ...) -> Run; `smcat projects ...` in-process."""

    def run(*argv: str, runtime=None) -> Run:
        parser = argparse.ArgumentParser(prog="smcat")
        cli.register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["projects", *argv])
        capsys.readouterr()
        code = args.func(args, runtime=runtime or runtime_factory())
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def publish_version(tmp_path, run_cli, n: int, *, keep: int = 1, spec: dict | None = None):
    """Publish model-build 1.<n>.0 (new seed content) and return its dist; older versions get deprecated."""
    spec = spec or default_spec()
    spec["products"]["model-build"]["version"] = f"1.{n}.0"
    spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": f"print('build v{n}')\n"}
    dist = build_dist(tmp_path / f"v{n}", spec)
    run = run_cli("publish", dist, "--keep-versions", str(keep))
    assert run.code == 0, run.err + run.out
    return dist


def create_project(double, name: str, product: str = "model-build", version: str = "1.1.0") -> None:
    version_id = versions_of(double, product)[version]["Id"]
    client("sagemaker").create_project(ProjectName=name, ServiceCatalogProvisioningDetails={
        "ProductId": product_ids(double)[product], "ProvisioningArtifactId": version_id})


def versions_in_use(double) -> dict[str, str]:
    """provisioned product (project name when it is one) -> version name."""
    out = {}
    for pp in double.provisioned_products():
        tags = pp["Tags"]
        product = double.region("us-east-1").products[pp["ProductId"]]
        version = next(a["Name"] for a in product["Artifacts"] if a["Id"] == pp["ProvisioningArtifactId"])
        out[tags.get("sagemaker:project-name", pp["Name"])] = version
    return out


@pytest.fixture
def estate(world, double, tmp_path, run_cli):
    """model-build 1.1.0 with SageMaker projects alpha and beta, batch-inference 1.0.0 launched as batch-1;
    then model-build 1.2.0 published, so 1.1.0 is DEPRECATED.  Returns the current dist."""
    publish_version(tmp_path, run_cli, 1)
    for name in ("alpha", "beta"):
        create_project(double, name)
    launch(double, "batch-inference", "1.0.0", "batch-1", PROJECT_PARAMETERS)
    world.wait()
    return publish_version(tmp_path, run_cli, 2)


# ------------------------------------------------------------------------------------------ report


def test_report_lists_each_version_s_projects_and_reads_only(estate, world, double, run_projects):
    double.reset_calls()
    calls = len(world.calls)
    run = run_projects("--format", "json")
    assert run.code == 0, run.err
    report = run.json
    products = {p["product"]: p for p in report["products"]}
    (build_version,) = products["model-build"]["versions"]
    assert (build_version["version"], build_version["guidance"]) == ("1.1.0", "DEPRECATED")
    assert [(p["name"], p["kind"], p["status"]) for p in build_version["projects"]] == [
        ("alpha", "sagemaker-project", "CreateCompleted"), ("beta", "sagemaker-project", "CreateCompleted")]
    assert all(p["last_update"].startswith("2025-01-01T") for p in build_version["projects"])
    (batch,) = products["batch-inference"]["versions"]
    assert batch["guidance"] == "DEFAULT"
    assert [(p["name"], p["kind"], p["status"]) for p in batch["projects"]] == [
        ("batch-1", "provisioned-product", "AVAILABLE")]
    assert products["model-build"]["managed"] is True
    # the SageMaker projects' provisioned products are not listed a second time
    assert sum(len(v["projects"]) for p in report["products"] for v in p["versions"]) == 3
    assert double.writes() == []
    assert [c.operation for c in world.calls[calls:]] == ["ListProjects", "DescribeProject", "DescribeProject"]
    search = double.ops("SearchProvisionedProducts")[0].params
    assert search["AccessLevelFilter"] == {"Key": "Account", "Value": "self"}

    text = run_projects()
    assert text.code == 0
    assert "PRODUCT" in text.out and "LAST UPDATE" in text.out
    assert "2 on a deprecated version" in text.out.splitlines()[-1]
    alpha = next(line for line in text.out.splitlines() if " alpha " in line)
    assert alpha.split()[:5] == ["model-build", "1.1.0", "DEPRECATED", "sagemaker-project", "alpha"]


def test_report_shows_s3_template_projects_with_the_version_their_object_names(world, double, run_projects):
    s3 = client("s3")
    s3.create_bucket(Bucket="my-templates")
    s3.put_bucket_versioning(Bucket="my-templates", VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(Bucket="my-templates", Key="sagemaker-templates/model-build.yaml", Body=b"Resources: {}\n",
                        Metadata={"smcat-product": "model-build", "smcat-version": "1.4.0"})
    url = "https://my-templates.s3.us-east-1.amazonaws.com/sagemaker-templates/model-build.yaml"
    for name, suffix in (("pinned", f"?versionId={put['VersionId']}"), ("unpinned", "")):
        client("sagemaker").create_project(ProjectName=name, TemplateProviders=[{"CfnTemplateProvider": {
            "TemplateName": "model-build", "TemplateURL": url + suffix,
            "RoleARN": "arn:aws:iam::123456789012:role/Launch"}}])
    run = run_projects("--format", "json")
    assert run.code == 0, run.err
    (product,) = run.json["products"]
    assert product["product"] == "model-build" and product["managed"] is False
    seen = {(v["version"], p["name"], p["kind"]) for v in product["versions"] for p in v["projects"]}
    assert seen == {("1.4.0", "pinned", "s3-template-project"), ("?", "unpinned", "s3-template-project")}


def test_report_with_nothing_provisioned(world, run_projects):
    run = run_projects()
    assert run.code == 0
    assert "  none" in run.out


# ------------------------------------------------------------------------------------------ plan-upgrade


def test_plan_upgrade_plans_the_deprecated_ones_and_changes_nothing(estate, world, double, run_projects):
    double.reset_calls()
    calls = len(world.calls)
    run = run_projects("plan-upgrade", "--all-deprecated", "--project", "batch-1", "--dist", str(estate),
                       "--format", "json")
    assert run.code == 0, run.err
    plan = run.json["plan"]
    current = versions_of(double, "model-build")["1.2.0"]["Id"]
    assert [(s["name"], s["call"], s["from_version"], s["to_version"], s["to_version_id"]) for s in plan["steps"]] == [
        ("alpha", "UpdateProject", "1.1.0", "1.2.0", current), ("beta", "UpdateProject", "1.1.0", "1.2.0", current)]
    assert plan["skipped"] == [{"name": "batch-1", "reason": "already on the current version 1.0.0"}]
    assert any("in use" in note for note in plan["notes"])
    assert double.writes() == []
    assert {c.operation for c in world.calls[calls:]} <= {"ListProjects", "DescribeProject"}


def test_a_product_whose_tags_cannot_be_read_is_matched_by_name(estate, world, double, run_projects):
    """As for a product shared with this account: DescribeProductAsAdmin refused, its versions still listed."""
    double.inject("DescribeProductAsAdmin", "ResourceNotFoundException", times=10)
    run = run_projects("plan-upgrade", "--all-deprecated", "--dist", str(estate), "--format", "json")
    assert run.code == 0, run.err
    assert [(s["name"], s["product"], s["to_version"]) for s in run.json["plan"]["steps"]] == [
        ("alpha", "model-build", "1.2.0"), ("beta", "model-build", "1.2.0")]
    report = run_projects("--format", "json").json
    assert {p["product"]: p["managed"] for p in report["products"]} == {"model-build": False,
                                                                       "batch-inference": False}


def test_plan_upgrade_skips_a_project_still_being_created(estate, world, double, run_projects):
    double.record_steps = (100, 200)
    create_project(double, "gamma", version="1.2.0")  # not waited for: Pending
    run = run_projects("plan-upgrade", "--project", "gamma", "--dist", str(estate), "--format", "json")
    assert run.code == 0
    (skipped,) = run.json["plan"]["skipped"]
    assert skipped["name"] == "gamma" and skipped["reason"].startswith("is Pending")


def test_the_current_version_is_the_build_content_at_the_bucket_given(world, double, tmp_path, run_cli, run_projects):
    """The same content published to a second bucket is a second version: --bucket says which is current."""
    dist = publish_version(tmp_path, run_cli, 1)
    create_project(double, "alpha")
    world.wait()
    client("s3").create_bucket(Bucket="second-bucket")
    assert run_cli("publish", dist, bucket="second-bucket").code == 0
    ambiguous = run_projects("plan-upgrade", "--project", "alpha", "--dist", str(dist), "--format", "json")
    assert "pass --bucket" in ambiguous.json["plan"]["skipped"][0]["reason"]
    chosen = run_projects("plan-upgrade", "--project", "alpha", "--dist", str(dist), "--bucket", "second-bucket",
                          "--format", "json")
    (step,) = chosen.json["plan"]["steps"]
    assert step["to_version"] != "1.1.0" and step["to_version_id"] == versions_of(double, "model-build")[
        step["to_version"]]["Id"]
    assert run_projects("plan-upgrade", "--project", "alpha", "--dist", str(dist), "--bucket", BUCKET,
                        "--format", "json").json["plan"]["skipped"][0]["reason"].startswith("already on")


# ------------------------------------------------------------------------------------------ upgrade


@pytest.mark.parametrize("max_parallel", [1, 2, 3])
def test_upgrade_runs_at_most_max_parallel_at_once(world, double, tmp_path, run_cli, run_projects, max_parallel):
    publish_version(tmp_path, run_cli, 1)
    names = [f"proj{i}" for i in range(5)]
    for name in names:
        create_project(double, name)
    world.wait()
    dist = publish_version(tmp_path, run_cli, 2)
    double.record_steps = (4, 60)  # each stack takes a while: upgrades overlap unless held back
    run = run_projects("upgrade", "--all-deprecated", "--dist", str(dist), "--max-parallel", str(max_parallel))
    assert run.code == 0, run.err + run.out
    assert double.max_updates_in_progress == max_parallel
    assert len([c for c in world.calls if c.operation == "UpdateProject" and c.error is None]) == 5
    assert all(versions_in_use(double)[n] == "1.2.0" for n in names)
    assert all(world.projects()[n]["sc"]["ProvisioningArtifactId"] == versions_of(double, "model-build")["1.2.0"]["Id"]
               for n in names)
    assert f"Upgraded: {', '.join(names)}" in run.out


def test_upgrade_of_a_provisioned_product_keeps_its_parameter_values(estate, world, double, tmp_path, run_cli,
                                                                      run_projects):
    spec = default_spec()
    spec["products"]["batch-inference"]["version"] = "1.1.0"
    spec["products"]["batch-inference"]["seeds"] = {"batch": {"run.py": "print('v2')\n"}}
    dist = publish_version(tmp_path, run_cli, 3, spec=spec)
    run = run_projects("upgrade", "--project", "batch-1", "--dist", str(dist), "--format", "json")
    assert run.code == 0, run.err
    (update,) = double.ops("UpdateProvisionedProduct", ok_only=True)
    assert update.params["ProvisioningArtifactId"] == versions_of(double, "batch-inference")["1.1.0"]["Id"]
    assert sorted(p["Key"] for p in update.params["ProvisioningParameters"]) == sorted(PROJECT_PARAMETERS)
    assert all(p == {"Key": p["Key"], "UsePreviousValue": True} for p in update.params["ProvisioningParameters"])
    (pp,) = [p for p in double.provisioned_products() if p["Name"] == "batch-1"]
    assert {k: pp["Parameters"][k] for k in PROJECT_PARAMETERS} == PROJECT_PARAMETERS
    assert pp["Status"] == "AVAILABLE" and versions_in_use(double)["batch-1"] == "1.1.0"
    assert [o["name"] for o in run.json["result"]["succeeded"]] == ["batch-1"]


@pytest.mark.parametrize("max_parallel", [1, 2])
def test_upgrade_stops_at_the_first_failed_stack(world, double, tmp_path, run_cli, run_projects, max_parallel):
    publish_version(tmp_path, run_cli, 1)
    names = ["p1", "p2", "p3", "p4"]
    for name in names:
        create_project(double, name)
    world.wait()
    dist = publish_version(tmp_path, run_cli, 2)
    double.record_steps = (2, 40)
    failing = names[max_parallel - 1]  # the last one started in the first round
    double.fail_next_update(world.projects()[failing]["pp"], "Embedded stack arn:aws:cloudformation:... was not "
                                                              "successfully updated")
    run = run_projects("upgrade", "--all-deprecated", "--dist", str(dist), "--max-parallel", str(max_parallel),
                       "--format", "json")
    assert run.code == 1
    result = run.json["result"]
    assert [o["name"] for o in result["succeeded"]] == names[:max_parallel - 1]
    assert [o["name"] for o in result["failed"]] == [failing]
    assert "was not successfully updated" in result["failed"][0]["message"]
    assert "TAINTED" in result["failed"][0]["message"] and result["failed"][0]["project_status"] == "UpdateFailed"
    assert [s["name"] for s in result["not_attempted"]] == names[max_parallel:]
    assert f"error: upgrade of {failing} failed:" in run.err
    in_use = versions_in_use(double)
    assert [in_use[n] for n in names] == ["1.2.0"] * (max_parallel - 1) + ["1.1.0"] * (5 - max_parallel)
    started = [c.params["ProjectName"] for c in world.calls if c.operation == "UpdateProject"]
    assert sorted(started) == names[:max_parallel]


def test_upgrade_text_report_names_the_failure_and_what_was_not_attempted(world, double, tmp_path, run_cli,
                                                                          run_projects):
    publish_version(tmp_path, run_cli, 1)
    for name in ("p1", "p2"):
        create_project(double, name)
    world.wait()
    dist = publish_version(tmp_path, run_cli, 2)
    double.fail_next_update(world.projects()["p1"]["pp"], "boom")
    run = run_projects("upgrade", "--all-deprecated", "--dist", str(dist), "--max-parallel", "1")
    assert run.code == 1
    assert "FAILED: p1: record " in run.out and "boom" in run.out
    assert "Not attempted: p2" in run.out


def test_dry_run_prints_the_plan_and_changes_nothing(estate, world, double, run_projects):
    double.reset_calls()
    run = run_projects("upgrade", "--all-deprecated", "--dist", str(estate), "--dry-run")
    assert run.code == 0, run.err
    assert "~ upgrade alpha (sagemaker-project): model-build 1.1.0 -> 1.2.0 (UpdateProject)" in run.out
    assert "Dry run: nothing was changed." in run.out
    assert double.writes() == [] and not [c for c in world.calls if c.operation == "UpdateProject"]
    assert versions_in_use(double)["alpha"] == "1.1.0"


def test_a_second_upgrade_run_has_nothing_to_do(estate, world, double, run_projects):
    assert run_projects("upgrade", "--all-deprecated", "--dist", str(estate)).code == 0
    again = run_projects("plan-upgrade", "--all-deprecated", "--dist", str(estate), "--format", "json")
    assert again.json["plan"]["steps"] == [] and again.json["plan"]["skipped"] == []


# ------------------------------------------------------------------------------------------ saved plans


def updated_projects(world) -> list[tuple[str, str]]:
    return [(c.params["ProjectName"], c.params["ServiceCatalogProvisioningUpdateDetails"]["ProvisioningArtifactId"])
            for c in world.calls if c.operation == "UpdateProject"]


def test_a_saved_plan_is_applied_as_it_was_reviewed(estate, world, double, tmp_path, run_projects):
    saved, again = tmp_path / "plan.json", tmp_path / "again.json"
    double.reset_calls()
    for path in (saved, again):
        run = run_projects("plan-upgrade", "--all-deprecated", "--dist", str(estate), "--out", str(path))
        assert run.code == 0, run.err
    assert saved.read_bytes() == again.read_bytes()  # deterministic
    reviewed = json.loads(saved.read_text())
    current = versions_of(double, "model-build")["1.2.0"]["Id"]
    assert [(s["name"], s["to_version_id"]) for s in reviewed["plan"]["steps"]] == [
        ("alpha", current), ("beta", current)]
    assert double.writes() == []

    run = run_projects("upgrade", "--plan", str(saved), "--dist", str(estate), "--format", "json")
    assert run.code == 0, run.err
    assert run.json["plan"]["steps"] == reviewed["plan"]["steps"]
    assert updated_projects(world) == [("alpha", current), ("beta", current)]
    assert versions_in_use(double) == {"alpha": "1.2.0", "beta": "1.2.0", "batch-1": "1.0.0"}


def test_a_version_published_after_the_plan_refuses_it_and_updates_nothing(estate, world, double, tmp_path, run_cli,
                                                                           run_projects):
    saved = tmp_path / "plan.json"
    assert run_projects("plan-upgrade", "--all-deprecated", "--dist", str(estate), "--out", str(saved)).code == 0
    newer = publish_version(tmp_path, run_cli, 3)  # 1.3.0: published between review and apply
    double.reset_calls()
    for dist in (newer, estate):  # the new build, or the reviewed one (whose version 1.2.0 is now deprecated)
        run = run_projects("upgrade", "--plan", str(saved), "--dist", str(dist))
        assert run.code == 1, run.out + run.err
        lines = [line for line in run.err.splitlines() if line.startswith("error: ")]
        assert len(lines) == 2 and all(line.startswith(f"error: {saved}: ") for line in lines), lines
        assert all("run `plan-upgrade` again" in line for line in lines)
    assert "the current version of model-build is now 1.3.0, the plan upgrades alpha to 1.2.0" in \
        run_projects("upgrade", "--plan", str(saved), "--dist", str(newer)).err
    assert double.writes() == [] and updated_projects(world) == []
    assert versions_in_use(double) == {"alpha": "1.1.0", "beta": "1.1.0", "batch-1": "1.0.0"}


def test_a_project_upgraded_since_the_plan_refuses_it(estate, world, double, tmp_path, run_projects):
    saved = tmp_path / "plan.json"
    assert run_projects("plan-upgrade", "--project", "alpha", "--dist", str(estate), "--out", str(saved)).code == 0
    assert run_projects("upgrade", "--project", "alpha", "--dist", str(estate)).code == 0
    run = run_projects("upgrade", "--plan", str(saved), "--dist", str(estate))
    assert run.code == 1
    errors = [line for line in run.err.splitlines() if line.startswith("error: ")]
    assert errors == [f"error: {saved}: alpha would now be skipped: already on the current version 1.2.0; the live "
                      f"state changed since this plan was made: run `plan-upgrade` again and review it"]


@pytest.mark.parametrize(("content", "message"), [
    (None, "cannot be read"),
    ("{not json", "not JSON"),
    (json.dumps({"plan": {"region": "us-east-1", "steps": []}}), "no \"kind\""),
    (json.dumps({"kind": "smcat projects upgrade plan", "options": {"bucket": None, "prefix": "smcat"},
                 "plan": {"region": "us-east-1", "steps": [{"name": "alpha"}]}}), "steps[0] is not an upgrade step"),
    (json.dumps({"kind": "smcat projects upgrade plan", "options": {"bucket": None, "prefix": "smcat"},
                 "plan": {"region": "eu-west-1", "steps": []}}), "the plan is for eu-west-1, not us-east-1"),
])
def test_a_bad_saved_plan_is_one_line_and_exit_2(estate, world, double, tmp_path, run_projects, content, message):
    saved = tmp_path / "plan.json"
    if content is not None:
        saved.write_text(content)
    double.reset_calls()
    calls = len(world.calls)
    run = run_projects("upgrade", "--plan", str(saved), "--dist", str(estate))
    assert run.code == 2
    (line,) = run.err.splitlines()  # bad input: refused before any progress line
    assert line.startswith(f"error: {saved}: ") and message in line, line
    assert double.calls == [] and len(world.calls) == calls


def test_plan_with_a_selection_is_bad_input(estate, world, tmp_path, run_projects):
    saved = tmp_path / "plan.json"
    assert run_projects("plan-upgrade", "--all-deprecated", "--dist", str(estate), "--out", str(saved)).code == 0
    run = run_projects("upgrade", "--plan", str(saved), "--all-deprecated", "--dist", str(estate))
    assert run.code == 2 and run.err.startswith("error: --plan applies the saved plan's projects")


# ------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("argv", "message"), [
    (["plan-upgrade"], "say which projects to upgrade: --project NAME (repeatable) and/or --all-deprecated"),
    (["upgrade", "--all-deprecated", "--max-parallel", "0"], "--max-parallel must be at least 1"),
    (["upgrade", "--all-deprecated", "--upgrade-timeout", "0"], "--upgrade-timeout must be positive"),
    (["plan-upgrade", "--project", "bad name!"], "--project 'bad name!' is not a project or provisioned product"),
    (["plan-upgrade", "--all-deprecated", "--region", "Mars"], "--region 'Mars' is not an AWS region name"),
    (["--region", "Mars"], "--region 'Mars' is not an AWS region name"),
])
def test_bad_input_exits_2_with_one_line_and_no_call(estate, world, double, run_projects, argv, message):
    double.reset_calls()
    calls = len(world.calls)
    dist = ["--dist", str(estate)] if argv[0] in ("plan-upgrade", "upgrade") else []
    run = run_projects(*argv, *dist)
    assert run.code == 2
    assert run.err.startswith(f"error: {message}") and "Traceback" not in run.err
    assert double.calls == [] and len(world.calls) == calls


def test_unknown_project_name_is_bad_input_and_nothing_is_written(estate, world, double, run_projects):
    double.reset_calls()
    run = run_projects("upgrade", "--project", "alpha", "--project", "nosuch", "--dist", str(estate),
                       "--format", "json")
    assert run.code == 2
    assert run.json["errors"] == ["--project nosuch: no SageMaker project or provisioned product of that name in "
                                  "us-east-1"]
    assert double.writes() == [] and not [c for c in world.calls if c.operation == "UpdateProject"]


def test_bad_manifest_is_bad_input(world, double, tmp_path, run_projects):
    run = run_projects("plan-upgrade", "--all-deprecated", "--dist", str(tmp_path / "missing"))
    assert run.code == 2 and "manifest.json" in run.err
    assert double.calls == []


def test_options_given_before_the_action_count(estate, world, run_projects):
    run = run_projects("--format", "json", "plan-upgrade", "--all-deprecated", "--dist", str(estate))
    assert run.code == 0 and json.loads(run.out)["status"] == "planned"


# ------------------------------------------------------------------------------------------ the README, as written


def test_readme_project_lifecycle_commands_run_as_written(world, double, tmp_path, monkeypatch, capsys, no_sleep):
    """The README's "Project lifecycle": publish, see the projects, upgrade them, retire versions; each command
    as written (build.py = main, on a copy of the bundled catalog), between the builds a new version needs."""
    import shlex
    import shutil

    from generator.publish import aws, projectapply
    from generator.publish import cli as publish_cli
    from tests.conftest import ROOT, main

    def fast(real=aws.Runtime, **kwargs):  # the CLI's own runtime, without waits
        return real(sleep=lambda _seconds: None, **kwargs)

    monkeypatch.setattr(aws, "Runtime", fast)
    monkeypatch.setattr(publish_cli, "Runtime", fast)
    monkeypatch.setattr(projectapply, "FIRST_DELAY", 0.001)
    catalog = tmp_path / "catalog"
    for name in ("products", "portfolios", "seedcode"):
        shutil.copytree(ROOT / name, catalog / name, ignore=shutil.ignore_patterns("__pycache__", ".venv*"))
    client("s3").create_bucket(Bucket="my-catalog-artifacts-us-east-1")
    monkeypatch.chdir(tmp_path)  # where the README's relative upgrade-plan.json goes
    section = (ROOT / "README.md").read_text().split("\n## Project lifecycle\n", 1)[1].split("\n## ", 1)[0]
    blocks = [block.split("```", 1)[0].strip() for block in section.split("```sh\n")[1:]]
    assert len(blocks) == 2
    publish, report, plan, upgrade, retire = (shlex.split(line) for line in blocks[0].splitlines())
    (retire_shared,) = (shlex.split(line) for line in blocks[1].splitlines())

    def run(words: list[str]) -> str:
        assert words[:2] == [".venv/bin/python", "build.py"], words
        capsys.readouterr()
        assert main([*words[2:], "--root", str(catalog)]) == 0, (words, capsys.readouterr())
        return capsys.readouterr().out

    def build() -> None:
        """Built without lint, for speed, and recorded as linted clean: lint is not what this test is about,
        and the README's publish carries no --allow-lint-findings."""
        assert main(["--root", str(catalog), "build", "--no-lint", "-q"]) == 0
        manifest = catalog / "dist" / "manifest.json"
        manifest.write_text(json.dumps({**json.loads(manifest.read_text()),
                                        "lint": {"status": "clean", "errors": 0, "warnings": 0}}))

    def new_version(n: int) -> None:
        (catalog / "seedcode" / "modelbuild" / "README.md").write_text(f"model build, revision {n}\n")
        build()
        run(publish)

    build()
    run(publish)
    first = next(iter(versions_of(double, "model-build")))
    for name in ("churn", "fraud"):
        create_project(double, name, version=first)
    world.wait()
    for n in (2, 3, 4):  # --keep-versions 2: the first two versions end DEPRECATED
        new_version(n)
    versions = list(versions_of(double, "model-build"))
    assert [versions_of(double, "model-build")[v]["Guidance"] for v in versions] == ["DEPRECATED"] * 2 + ["DEFAULT"] * 2

    out = run(report)
    assert out.splitlines()[0] == section.split("   ```\n", 1)[1].splitlines()[0].strip()
    for name in ("churn", "fraud"):
        line = next(line for line in out.splitlines() if f" {name} " in line)
        assert line.split()[:5] == ["model-build", first, "DEPRECATED", "sagemaker-project", name]

    double.reset_calls()
    out = run(plan)
    assert double.writes() == []
    assert f"~ upgrade churn (sagemaker-project): model-build {first} -> {versions[-1]}" in out
    assert (tmp_path / "upgrade-plan.json").exists()  # plan-upgrade --out, read by upgrade --plan
    run(upgrade)
    assert sorted(c.params["ProjectName"] for c in world.calls if c.operation == "UpdateProject") == ["churn", "fraud"]
    assert versions_in_use(double) == {"churn": versions[-1], "fraud": versions[-1]}

    out = run(retire)  # the portfolio is shared with an OU: its accounts' projects cannot be seen, all kept
    assert double.ops("DeleteProvisioningArtifact") == []
    assert f"keeps deprecated versions {versions[1]} (the newest 1 deprecated); {first} (portfolio " \
           "sagemaker-projects is shared with ORGANIZATIONAL_UNIT ou-ab12-mlworkloads" in out
    gone = versions_of(double, "model-build")[first]["Id"]
    run(retire_shared)
    assert [c.params["ProvisioningArtifactId"] for c in double.ops("DeleteProvisioningArtifact", ok_only=True)] == [
        gone]
    assert list(versions_of(double, "model-build")) == versions[1:]


# ------------------------------------------------------------------------------------------ the doubles themselves


def code_of(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_provisioning_double_follows_version_guidance_parameters_and_tag_constraints(estate, world, double):
    from botocore.exceptions import ClientError

    sc = client("servicecatalog")
    build = versions_of(double, "model-build")
    launch_params = {"ProductId": product_ids(double)["model-build"], "ProvisionToken": "t1",
                     "ProvisionedProductName": "x1"}
    with pytest.raises(ClientError) as deprecated:  # "users cannot launch ... a deprecated product version"
        sc.provision_product(**launch_params, ProvisioningArtifactId=build["1.1.0"]["Id"],
                             ProvisioningParameters=[{"Key": k, "Value": v} for k, v in PROJECT_PARAMETERS.items()])
    assert code_of(deprecated) == "InvalidParametersException"
    with pytest.raises(ClientError) as missing:  # SageMakerProjectId has no default
        sc.provision_product(**launch_params, ProvisioningArtifactId=build["1.2.0"]["Id"],
                             ProvisioningParameters=[{"Key": "SageMakerProjectName", "Value": "x"}])
    assert "SageMakerProjectId" in missing.value.response["Error"]["Message"]
    pp = world.projects()["alpha"]["pp"]
    with pytest.raises(ClientError) as previous:
        sc.update_provisioned_product(ProvisionedProductId=pp, UpdateToken="u1", ProvisioningParameters=[
            {"Key": "Nonexistent", "UsePreviousValue": True}])
    assert code_of(previous) == "InvalidParametersException"
    with pytest.raises(ClientError) as tags:  # no RESOURCE_UPDATE constraint in the test catalog
        sc.update_provisioned_product(ProvisionedProductId=pp, UpdateToken="u2", Tags=[{"Key": "a", "Value": "b"}])
    assert "RESOURCE_UPDATE" in tags.value.response["Error"]["Message"]
    record = sc.update_provisioned_product(
        ProvisionedProductId=pp, UpdateToken="u3", ProvisioningArtifactId=build["1.2.0"]["Id"],
        ProvisioningParameters=[{"Key": k, "UsePreviousValue": True} for k in PROJECT_PARAMETERS])["RecordDetail"]
    assert record["Status"] == "CREATED"
    with pytest.raises(ClientError) as busy:
        sc.update_provisioned_product(ProvisionedProductId=pp, UpdateToken="u4")
    assert code_of(busy) == "InvalidParametersException"
    statuses = [sc.describe_record(Id=record["RecordId"])["RecordDetail"]["Status"] for _ in range(4)]
    assert statuses[0] == "IN_PROGRESS" and statuses[-1] == "SUCCEEDED"
    assert sc.describe_provisioned_product(Id=pp)["ProvisionedProductDetail"]["ProvisioningArtifactId"] == build[
        "1.2.0"]["Id"]
    # a version in use is deleted all the same: only the last version is refused (API reference)
    sc.delete_provisioning_artifact(ProductId=product_ids(double)["model-build"],
                                    ProvisioningArtifactId=build["1.1.0"]["Id"])


def test_sagemaker_projects_double_is_strict(estate, world, double):
    from botocore.exceptions import ClientError

    sm = client("sagemaker")
    with pytest.raises(ClientError) as pattern:
        sm.describe_project(ProjectName="not_valid!")
    assert code_of(pattern) == "ValidationException" and "regular expression" in str(pattern.value)
    with pytest.raises(ClientError) as unknown:
        sm.update_project(ProjectName="nosuch")
    assert code_of(unknown) == "ValidationException"
    sm.update_project(ProjectName="alpha", ServiceCatalogProvisioningUpdateDetails={
        "ProvisioningArtifactId": versions_of(double, "model-build")["1.2.0"]["Id"]})
    with pytest.raises(ClientError) as conflict:
        sm.update_project(ProjectName="alpha", ServiceCatalogProvisioningUpdateDetails={})
    assert code_of(conflict) == "ConflictException"
    assert sm.describe_project(ProjectName="alpha")["ProjectStatus"] == "UpdateInProgress"
    world.wait()
    assert sm.describe_project(ProjectName="alpha")["ProjectStatus"] == "UpdateCompleted"
    assert sm.list_model_package_groups()["ModelPackageGroupSummaryList"] == []  # moto still serves the rest
