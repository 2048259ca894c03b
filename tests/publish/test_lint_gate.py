"""A dist that failed lint is not publishable (unless --allow-lint-findings), and the CLI's bad-input lines."""

from __future__ import annotations

import json

import pytest

from generator.publish.manifest import lint_problem
from generator.publish.report import render_plan, render_result
from tests.fakes.catalog import NO_LINT
from tests.publish.conftest import BUCKET, build_dist, client

FINDINGS = {"status": "findings", "errors": 2, "warnings": 1}


def s3_keys() -> list[str]:
    return [o["Key"] for o in client("s3").list_objects_v2(Bucket=BUCKET).get("Contents", [])]


@pytest.mark.parametrize("command", ["plan", "publish"])
@pytest.mark.parametrize("lint,expected", [
    (FINDINGS, "lint: the build has 2 errors, 1 warning; fix them or pass --allow-lint-findings"),
    ({"status": "findings", "errors": 1, "warnings": 0},
     "lint: the build has 1 error, 0 warnings; fix them or pass --allow-lint-findings"),
    ({"status": "not-run", "errors": 0, "warnings": 0},
     "lint: the build was not linted (build --no-lint); build with lint, or pass --allow-lint-findings"),
    (NO_LINT, "lint: no lint result recorded (a build by an older smcat); rebuild with `smcat build`, or pass "
              "--allow-lint-findings"),
])
def test_a_dist_that_is_not_lint_clean_is_refused(double, tmp_path, run_cli, runtime_factory, command, lint,
                                                  expected):
    dist = build_dist(tmp_path, lint=lint)
    before = (dist / "manifest.json").read_bytes()
    runtime = runtime_factory()
    run = run_cli(command, dist, runtime=runtime)
    assert run.code == 2
    assert run.err.splitlines() == [f"error: {dist}/manifest.json: {expected}"]
    assert run.out == ""
    assert double.calls == [] and not runtime.counter.counts  # never reached AWS
    assert (dist / "manifest.json").read_bytes() == before and s3_keys() == []


def test_allow_lint_findings_publishes_with_a_warning(double, tmp_path, run_cli):
    dist = build_dist(tmp_path, lint=FINDINGS)
    plan = run_cli("plan", dist, "--allow-lint-findings")
    assert plan.code == 0, plan.err
    assert "warning: --allow-lint-findings: the build has 2 errors, 1 warning" in plan.out
    run = run_cli("publish", dist, "--allow-lint-findings")
    assert run.code == 0, run.err
    assert len(double.region("us-east-1").products) == 3


def test_a_clean_build_needs_no_flag(double, dist, run_cli):
    run = run_cli("plan", dist)
    assert run.code == 0 and "allow-lint-findings" not in run.out + run.err


@pytest.mark.parametrize("lint", [{"status": "maybe"}, "clean", {"status": "clean", "errors": -1},
                                  {"status": "clean", "errors": True}])
def test_a_malformed_lint_record_is_refused(lint):
    assert "lint:" in lint_problem(lint) and "--allow-lint-findings" in lint_problem(lint)


def test_a_clean_record_with_counts_is_not_clean():
    assert lint_problem({"status": "clean", "errors": 0, "warnings": 0}) is None
    assert "1 warning;" in lint_problem({"status": "clean", "errors": 0, "warnings": 1})


# ------------------------------------------------------------------------------------------ option errors


def test_bad_options_are_not_labelled_invalid_dist(double, dist, run_cli):
    run = run_cli("plan", dist, "--region", "Mars", "--keep-versions", "0", "--timeout", "0", bucket="Not_A_Bucket")
    assert run.code == 2
    assert run.err.splitlines() == [
        "error: --region 'Mars' is not an AWS region name (such as us-east-1)",
        "error: --bucket 'Not_A_Bucket' is not a valid S3 bucket name",
        "error: --keep-versions must be at least 1",
        "error: --timeout must be positive",
    ]
    assert "invalid dist" not in run.err and double.calls == []


def test_option_and_dist_problems_are_reported_together(double, tmp_path, run_cli):
    dist = build_dist(tmp_path, lint=FINDINGS)
    run = run_cli("publish", dist, "--max-attempts", "0")
    assert run.code == 2
    assert run.err.splitlines() == [
        f"error: {dist}/manifest.json: lint: the build has 2 errors, 1 warning; fix them or pass "
        f"--allow-lint-findings",
        "error: --max-attempts must be at least 1",
    ]


def test_manifest_problems_name_the_manifest(double, dist, run_cli):
    manifest = json.loads((dist / "manifest.json").read_text())
    manifest["portfolios"]["sagemaker-projects"]["provider"] = ""
    (dist / "manifest.json").write_text(json.dumps(manifest))
    run = run_cli("plan", dist)
    assert run.code == 2
    assert run.err.splitlines() == [
        f"error: {dist}/manifest.json: portfolio sagemaker-projects: 'provider' must not be empty"]


def test_no_region_hint_names_the_variable_boto3_reads(double, dist, run_cli, monkeypatch):
    """botocore reads AWS_DEFAULT_REGION; AWS_REGION alone gives no region, so the hint must not name it."""
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    run = run_cli("plan", dist)
    assert run.code == 2
    assert run.err.splitlines() == [
        "error: no region: pass --region, or set AWS_DEFAULT_REGION (the variable boto3 reads) or the region of "
        "the AWS profile"]
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    assert run_cli("plan", dist).code == 0


# ------------------------------------------------------------------------------------------ plurals


def test_plan_and_publish_output_uses_plurals(double, tmp_path, run_cli):
    spec = {"products": {"only": {"version": "1.0.0", "seeds": {}}}, "portfolios": {}}
    dist = build_dist(tmp_path, spec)
    plan = run_cli("plan", dist)
    # one template upload and one product, then its applied digest: 3 writes
    assert "Summary: 2 create, 1 update; 0 unchanged; 3 write actions." in plan.out
    run = run_cli("publish", dist)
    assert run.code == 0, run.err
    assert "us-east-1: 3 actions applied." in run.out
    again = run_cli("plan", dist)
    assert "; 0 write actions." in again.out


def test_singular_forms():
    from generator.publish.model import Action, ActionOutcome, Options, Plan, PublishResult, RegionPlan, RegionResult

    action = Action("create", "s3-object", "s3://b/k", "us-east-1", "upload", {})
    plan = Plan(dist="dist", options=Options(bucket="b"), regions=[RegionPlan("us-east-1", "b", [action])])
    assert render_plan(plan).endswith("Summary: 1 create; 0 unchanged; 1 write action.")
    result = PublishResult(regions=[RegionResult("us-east-1", applied=[ActionOutcome(action, "applied")])],
                           api_calls={"s3:PutObject": 1})
    assert render_result(result).splitlines() == [
        "us-east-1: 1 action applied.", "API calls while applying: 1 (0 reads, 1 write)"]
