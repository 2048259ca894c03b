"""Promotion by model lifecycle stage: build.py's version choice per stage, record_stage.py's
UpdateModelPackage, and the buildspecs that wire them into the pipeline.

moto ignores ModelLifeCycle (neither stored nor returned), so the registry is a strict Stubber:
every request is checked against the SageMaker API model (enums, patterns, lengths).
"""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pytest
import yaml
from aws_validation import ModelViolation, strict_stubber
from conftest import REPO

GROUP = "churn-p-abc123"
ACCOUNT = "123456789012"
LIST_ARGS = {"ModelPackageGroupName": GROUP, "ModelApprovalStatus": "Approved",
             "SortBy": "CreationTime", "SortOrder": "Descending"}
COMMON = ["--model-package-group-name", GROUP, "--sagemaker-project-name", "churn", "--sagemaker-project-id",
          "p-abc123", "--execution-role-name", "sagemaker-role-mlops", "--config-dir", str(REPO)]


def arn(version: int, account: str = ACCOUNT) -> str:
    return f"arn:aws:sagemaker:us-east-1:{account}:model-package/{GROUP}/{version}"


def summary(version: int, stage: str | None = None, status: str = "Approved", package_status: str = "Completed"):
    """A ListModelPackages summary; `stage` None: no ModelLifeCycle (registered without one)."""
    found = {
        "ModelPackageArn": arn(version), "ModelPackageGroupName": GROUP, "ModelPackageVersion": version,
        "CreationTime": dt.datetime(2026, 1, version, tzinfo=dt.timezone.utc),
        "ModelPackageStatus": package_status, "ModelApprovalStatus": "Approved",
    }
    if stage:
        found["ModelLifeCycle"] = {"Stage": stage, "StageStatus": status}
    return found


def stubbed_listing(*pages):
    client = boto3.client("sagemaker", region_name="us-east-1")
    stub = strict_stubber(client)
    for index, page in enumerate(pages):
        response = {"ModelPackageSummaryList": list(page)}
        params = dict(LIST_ARGS)
        if index + 1 < len(pages):
            response["NextToken"] = f"page-{index + 2}"
        if index:
            params["NextToken"] = f"page-{index + 1}"
        stub.add_response("list_model_packages", response, params)
    return client, stub


# --------------------------------------------------------------------------
# Choosing the version of each stage (pure)
# --------------------------------------------------------------------------


def test_staging_takes_the_newest_at_staging_or_production_prod_the_newest_at_production(build):
    newest_first = [summary(5, "Development", "InProgress"), summary(4, "Staging"), summary(3, "Production", "Deployed"),
                    summary(2, "Production")]
    chosen = build.choose_by_lifecycle_stage(newest_first, ["staging", "prod"])
    assert chosen["staging"]["ModelPackageVersion"] == 4
    assert chosen["prod"]["ModelPackageVersion"] == 3


def test_a_version_promoted_to_production_is_what_staging_runs_too(build):
    chosen = build.choose_by_lifecycle_stage([summary(6, "Production"), summary(5, "Staging", "Deployed")],
                                             ["staging", "prod"])
    assert chosen["staging"]["ModelPackageVersion"] == chosen["prod"]["ModelPackageVersion"] == 6


@pytest.mark.parametrize("status", ["Rejected", "PendingApproval", "InProgress"])
def test_only_promoted_or_deployed_statuses_count(build, status):
    chosen = build.choose_by_lifecycle_stage([summary(3, "Production", status), summary(2, "Staging", "Deployed")],
                                             ["staging", "prod"])
    assert chosen == {"staging": summary(2, "Staging", "Deployed")}


def test_versions_without_a_lifecycle_stage_are_never_chosen_by_stage(build):
    assert build.choose_by_lifecycle_stage([summary(9), summary(8, "Development", "Approved")],
                                           ["staging", "prod"]) == {}


# --------------------------------------------------------------------------
# Reading the registry
# --------------------------------------------------------------------------


def test_lifecycle_mode_reads_pages_until_every_stage_has_its_version(build):
    client, stub = stubbed_listing(
        [summary(7, "Staging", package_status="InProgress"), summary(6, "Development", "InProgress")],
        [summary(5, "Staging")],
        [summary(4, "Production", "Deployed")],
        [summary(3, "Production")],  # never read: both stages are chosen by then
    )
    with stub:
        chosen = build.find_promoted_model_packages(client, GROUP, ["staging", "prod"])
    assert (chosen["staging"]["ModelPackageVersion"], chosen["prod"]["ModelPackageVersion"]) == (5, 4)
    with pytest.raises(AssertionError):
        stub.assert_no_pending_responses()  # the fourth page was left unread


def test_no_promoted_version_is_a_clear_error(build):
    client, stub = stubbed_listing([summary(2, "Development", "InProgress"), summary(1)])
    with stub, pytest.raises(build.NoApprovedModelPackageError, match="lifecycle stage Production or Staging"):
        build.find_promoted_model_packages(client, GROUP, ["staging", "prod"])


def test_approval_mode_ignores_lifecycle_stages(build):
    """The default: the newest approved version goes to both stages, whatever its stage."""
    client, stub = stubbed_listing([summary(9, "Development", "InProgress"), summary(8, "Production", "Deployed")])
    with stub:
        chosen = build.choose_model_packages(client, GROUP, ["staging", "prod"], "Approval")
    assert chosen["staging"] is chosen["prod"] and chosen["prod"]["ModelPackageVersion"] == 9


def test_unknown_promotion_mode_is_refused(build, tmp_path):
    with pytest.raises(SystemExit) as refused:
        build.main([*COMMON, "--output-dir", str(tmp_path), "--promotion-mode", "Stages"], sm_client=object(), env={})
    assert refused.value.code == 2
    code = build.main([*COMMON, "--output-dir", str(tmp_path)], sm_client=object(), env={"PROMOTION_MODE": "Stages"})
    assert code == 1 and not list(tmp_path.iterdir())


# --------------------------------------------------------------------------
# End to end: the files the pipeline reads
# --------------------------------------------------------------------------


def run_build(build, tmp_path, pages, env=None):
    client, stub = stubbed_listing(*pages)
    with stub:
        code = build.main([*COMMON, "--output-dir", str(tmp_path), "--stage", "staging", "--stage", "prod"],
                          sm_client=client, env=env if env is not None else {"PROMOTION_MODE": "LifecycleStage"})
    return code, {p.name: json.loads(p.read_text()) for p in tmp_path.iterdir()}


def test_without_a_production_version_prod_gets_no_files(build, tmp_path):
    code, files = run_build(build, tmp_path, [[summary(3, "Staging"), summary(2, "Development", "InProgress")]])
    assert code == 0
    assert sorted(files) == ["staging-config-export.json", "staging-params-export.json"]
    assert files["staging-config-export.json"]["Parameters"]["ModelPackageArn"] == arn(3)


def test_each_stage_gets_the_version_at_its_lifecycle_stage(build, tmp_path):
    code, files = run_build(build, tmp_path, [[summary(4, "Staging"), summary(3, "Production", "Deployed")]])
    assert code == 0
    assert files["staging-config-export.json"]["Parameters"]["ModelPackageArn"] == arn(4)
    assert files["prod-config-export.json"]["Parameters"]["ModelPackageArn"] == arn(3)
    assert {"ParameterKey": "ModelPackageArn", "ParameterValue": arn(3)} in files["prod-params-export.json"]


def test_the_promotion_mode_flag_wins_over_the_environment(build, tmp_path):
    client, stub = stubbed_listing([summary(4, "Development", "InProgress")])
    with stub:
        code = build.main([*COMMON, "--output-dir", str(tmp_path), "--promotion-mode", "Approval"],
                          sm_client=client, env={"PROMOTION_MODE": "LifecycleStage"})
    assert code == 0
    assert json.loads((tmp_path / "prod-config-export.json").read_text())["Parameters"]["ModelPackageArn"] == arn(4)


# --------------------------------------------------------------------------
# record_stage.py
# --------------------------------------------------------------------------


def described(version: int, stage: str | None, status: str = "Approved", account: str = ACCOUNT):
    package = {
        "ModelPackageName": GROUP, "ModelPackageArn": arn(version, account),
        "CreationTime": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), "ModelPackageStatus": "Completed",
        "ModelPackageStatusDetails": {"ValidationStatuses": []}, "ModelApprovalStatus": "Approved",
    }
    if stage:
        package["ModelLifeCycle"] = {"Stage": stage, "StageStatus": status}
    return package


@pytest.mark.parametrize(("package", "recorded"), [
    (described(3, "Staging"), True),
    (described(3, "Staging", "Deployed"), False),  # already recorded
    (described(3, "Production"), False),  # promoted further meanwhile: never moved back
    (described(3, None), False),
    (described(3, "Staging", account="222222222222"), False),  # a hub's version: the hub records
])
def test_what_is_recorded(record_stage, package, recorded):
    plan = record_stage.plan_record(package, "Staging", "Deployed to the staging OU", own_account=ACCOUNT)
    assert (plan.request is not None) is recorded, plan.reason
    if recorded:
        assert plan.request == {"ModelPackageArn": arn(3), "ModelLifeCycle": {
            "Stage": "Staging", "StageStatus": "Deployed", "StageDescription": "Deployed to the staging OU"}}


def test_the_description_says_where_and_which_run_within_1024_characters(record_stage):
    text = record_stage.stage_description("the prod OU ou-ab12-22222222", "sagemaker-churn-p-1-modeldeploy", "e-1")
    assert text == "Deployed to the prod OU ou-ab12-22222222 by CodePipeline sagemaker-churn-p-1-modeldeploy execution e-1"
    assert len(record_stage.stage_description("x" * 2000, "p", "e")) == 1024


def write_config(tmp_path, stage, package_arn):
    path = tmp_path / f"{stage}-config-export.json"
    path.write_text(json.dumps({"Parameters": {"ModelPackageArn": package_arn}, "Tags": {}}))
    return path


ENV = {"STAGE": "prod", "DEPLOYED_TO": "the prod OU ou-ab12-22222222", "PIPELINE_NAME": "sagemaker-churn-deploy",
       "PIPELINE_EXECUTION_ID": "0123abcd-0000-4000-8000-000000000000",
       "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:us-east-1:{ACCOUNT}:build/sagemaker-churn-record:1"}


def test_main_records_production_deployed_with_one_update(record_stage, tmp_path):
    config = write_config(tmp_path, "prod", arn(3))
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client) as stub:
        stub.add_response("describe_model_package", described(3, "Production"), {"ModelPackageName": arn(3)})
        stub.add_response("update_model_package", {"ModelPackageArn": arn(3)}, {
            "ModelPackageArn": arn(3),
            "ModelLifeCycle": {"Stage": "Production", "StageStatus": "Deployed", "StageDescription": (
                "Deployed to the prod OU ou-ab12-22222222 by CodePipeline sagemaker-churn-deploy execution "
                "0123abcd-0000-4000-8000-000000000000")},
        })
        assert record_stage.main(["--import-config", str(config)], sm_client=client, env=ENV) == 0
        stub.assert_no_pending_responses()


def test_main_leaves_a_version_moved_on_alone(record_stage, tmp_path):
    config = write_config(tmp_path, "staging", arn(3))
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client) as stub:
        stub.add_response("describe_model_package", described(3, "Production"), {"ModelPackageName": arn(3)})
        code = record_stage.main(["--import-config", str(config)], sm_client=client, env={**ENV, "STAGE": "staging"})
        stub.assert_no_pending_responses()  # no update_model_package was made
    assert code == 0


def test_main_refused_update_fails_with_the_permission_it_needs(record_stage, tmp_path, caplog):
    config = write_config(tmp_path, "prod", arn(3))
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client) as stub:
        stub.add_response("describe_model_package", described(3, "Production"), {"ModelPackageName": arn(3)})
        stub.add_client_error("update_model_package", "AccessDeniedException", "not authorized")
        assert record_stage.main(["--import-config", str(config)], sm_client=client, env=ENV) == 1
    assert "sagemaker:ModelLifeCycle:stage Production" in caplog.text


def test_main_without_the_stage_file_is_one_clear_error(record_stage, tmp_path, caplog):
    code = record_stage.main(["--import-config", str(tmp_path / "prod-config-export.json")], sm_client=object(),
                             env=ENV)
    assert code == 1 and "not found" in caplog.text


def test_a_lifecycle_stage_the_api_refuses_is_caught_by_the_model(record_stage):
    """Stage names follow EntityName: a space is refused by SageMaker, and by the strict stubber."""
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client), pytest.raises(ModelViolation, match="Stage"):
        client.update_model_package(ModelPackageArn=arn(3), ModelLifeCycle={"Stage": "Pre Prod", "StageStatus": "x"})


# --------------------------------------------------------------------------
# Buildspecs
# --------------------------------------------------------------------------


def test_build_exports_the_mode_and_whether_prod_deploys():
    spec = yaml.safe_load((REPO / "buildspec.yml").read_text())
    assert spec["env"]["exported-variables"] == ["PROMOTION_MODE", "DEPLOYS_PROD"]
    assert spec["env"]["variables"]["PROMOTION_MODE"] == "Approval"
    commands = spec["phases"]["build"]["commands"]
    assert any('--promotion-mode "$PROMOTION_MODE"' in c for c in commands)
    assert "if [ -f prod-config-export.json ]; then export DEPLOYS_PROD=true; else export DEPLOYS_PROD=false; fi" \
        in commands
    files = spec["artifacts"]["files"]
    assert {"*-config-export.json", "*-params-export.json", "record_stage.py", "buildspec-record-stage.yml"} <= set(files)


def test_record_buildspec_runs_record_stage_on_the_stage_file():
    spec = yaml.safe_load((REPO / "buildspec-record-stage.yml").read_text())
    assert spec["phases"]["build"]["commands"] == [
        'python record_stage.py --import-config "${STAGE}-config-export.json" --stage "$STAGE"']
