"""Tests of build.py: model package selection, parameter merging, both export formats."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import boto3
import pytest
from aws_validation import ModelViolation, strict_stubber
from conftest import REPO
from moto import mock_aws

GROUP = "churn-p-abc123"
PROJECT_NAME = "churn"
PROJECT_ID = "p-abc123"
ROLE = "sagemaker-role-stg"
KMS = "arn:aws:kms:us-east-1:999988887777:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_ACCOUNT_GROUP_ARN = "arn:aws:sagemaker:us-east-1:111122223333:model-package-group/central-churn"
OTHER_ACCOUNT_PACKAGE_ARN = "arn:aws:sagemaker:us-east-1:111122223333:model-package/central-churn/7"
INFERENCE_SPEC = {
    "Containers": [{"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


@pytest.fixture
def sagemaker():
    with mock_aws():
        client = boto3.client("sagemaker", region_name="us-east-1")
        client.create_model_package_group(ModelPackageGroupName=GROUP)
        yield client


def register(client, status, group=GROUP):
    return client.create_model_package(
        ModelPackageGroupName=group, ModelApprovalStatus=status, InferenceSpecification=INFERENCE_SPEC
    )["ModelPackageArn"]


def summary(arn, status="Completed", approval="Approved", version=1):
    return {
        "ModelPackageArn": arn,
        "ModelPackageGroupName": "central-churn",
        "ModelPackageVersion": version,
        "CreationTime": dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc),
        "ModelPackageStatus": status,
        "ModelApprovalStatus": approval,
    }


LIST_ARGS = {"ModelApprovalStatus": "Approved", "SortBy": "CreationTime", "SortOrder": "Descending"}


# --------------------------------------------------------------------------
# Choosing the model package
# --------------------------------------------------------------------------


def test_newest_approved_wins_over_newer_pending_and_rejected(build, sagemaker):
    register(sagemaker, "Approved")  # v1: approved but older
    register(sagemaker, "PendingManualApproval")
    register(sagemaker, "Rejected")
    newest_approved = register(sagemaker, "Approved")  # v4
    register(sagemaker, "PendingManualApproval")  # v5: newest overall, not approved
    register(sagemaker, "Rejected")  # v6

    chosen = build.find_latest_approved_model_package(sagemaker, GROUP)

    assert chosen["ModelPackageArn"] == newest_approved
    assert chosen["ModelPackageArn"].endswith(f"{GROUP}/4")


def test_no_approved_package_is_a_clear_error(build, sagemaker):
    register(sagemaker, "PendingManualApproval")
    register(sagemaker, "Rejected")

    with pytest.raises(build.NoApprovedModelPackageError, match=f"No approved model package .*{GROUP}"):
        build.find_latest_approved_model_package(sagemaker, GROUP)


def test_empty_group_is_a_clear_error(build, sagemaker):
    with pytest.raises(build.NoApprovedModelPackageError):
        build.find_latest_approved_model_package(sagemaker, GROUP)


def test_follows_pages_until_a_package_is_found(build):
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client) as stub:
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [], "NextToken": "page-2"},
            {"ModelPackageGroupName": GROUP, **LIST_ARGS},
        )
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [summary("arn:aws:sagemaker:us-east-1:123456789012:model-package/x/3")]},
            {"ModelPackageGroupName": GROUP, "NextToken": "page-2", **LIST_ARGS},
        )
        chosen = build.find_latest_approved_model_package(client, GROUP)
        stub.assert_no_pending_responses()
    assert chosen["ModelPackageArn"].endswith("/x/3")


def test_skips_approved_packages_that_are_not_completed(build):
    client = boto3.client("sagemaker", region_name="us-east-1")
    failed = "arn:aws:sagemaker:us-east-1:123456789012:model-package/x/5"
    good = "arn:aws:sagemaker:us-east-1:123456789012:model-package/x/4"
    with strict_stubber(client) as stub:
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [summary(failed, status="Failed", version=5), summary(good, version=4)]},
            {"ModelPackageGroupName": GROUP, **LIST_ARGS},
        )
        assert build.find_latest_approved_model_package(client, GROUP)["ModelPackageArn"] == good


def test_cross_account_group_arn_is_passed_to_sagemaker(build):
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client) as stub:
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [summary(OTHER_ACCOUNT_PACKAGE_ARN, version=7)]},
            {"ModelPackageGroupName": OTHER_ACCOUNT_GROUP_ARN, **LIST_ARGS},
        )
        chosen = build.find_latest_approved_model_package(client, OTHER_ACCOUNT_GROUP_ARN)
    assert chosen["ModelPackageArn"] == OTHER_ACCOUNT_PACKAGE_ARN


def test_access_denied_on_cross_account_group_explains_the_group_policy(build):
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client) as stub:
        stub.add_client_error(
            "list_model_packages", "AccessDeniedException", "not authorized",
            expected_params={"ModelPackageGroupName": OTHER_ACCOUNT_GROUP_ARN, **LIST_ARGS},
        )
        with pytest.raises(build.BuildError, match="model package group policy"):
            build.find_latest_approved_model_package(client, OTHER_ACCOUNT_GROUP_ARN)


@pytest.mark.parametrize(
    "bad",
    [
        "arn:aws:sagemaker:us-east-1:111122223333:model-package/central-churn/7",  # a version, not the group
        "my_group",
        "-leading-hyphen",
        "x" * 64,
    ],
)
def test_rejects_bad_group_reference_before_calling_aws(build, bad):
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client):  # no responses queued: any call would fail the test
        with pytest.raises(build.BuildError, match="Invalid model package group"):
            build.find_latest_approved_model_package(client, bad)


def test_strict_stubber_catches_enum_violations():
    """Guard for the helper itself: a wrong enum must not pass unnoticed."""
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client):
        with pytest.raises(ModelViolation, match="ModelApprovalStatus"):
            client.list_model_packages(ModelPackageGroupName=GROUP, ModelApprovalStatus="approved")


# --------------------------------------------------------------------------
# Computing the parameters
# --------------------------------------------------------------------------


def compute(build, config, **overrides):
    kwargs = dict(
        model_package_arn=OTHER_ACCOUNT_PACKAGE_ARN,
        project_name=PROJECT_NAME,
        project_id=PROJECT_ID,
        execution_role_name=ROLE,
        kms_key_arn=None,
        template_parameters=build.load_template_parameters(REPO / "endpoint-config-template.yml"),
    )
    kwargs.update(overrides)
    return build.compute_stage_parameters("staging", config, **kwargs)


def staging_config():
    return json.loads((REPO / "staging-config.json").read_text())


def test_pipeline_values_are_merged_and_stage_tags_added(build):
    result = compute(build, staging_config(), kms_key_arn=KMS)
    assert result.parameters["ModelPackageArn"] == OTHER_ACCOUNT_PACKAGE_ARN
    assert result.parameters["SageMakerProjectName"] == PROJECT_NAME
    assert result.parameters["SageMakerProjectId"] == PROJECT_ID
    assert result.parameters["ModelExecutionRoleName"] == ROLE
    assert result.parameters["KmsKeyArn"] == KMS
    assert result.parameters["StageName"] == "staging"
    assert result.tags == {
        "environment": "staging",
        "sagemaker:deployment-stage": "staging",
        "sagemaker:project-id": PROJECT_ID,
        "sagemaker:project-name": PROJECT_NAME,
    }


def test_json_scalars_become_cloudformation_strings(build):
    config = staging_config()
    config["Parameters"].update(DataCaptureEnabled=True, EndpointInstanceCount=1, RollbackMaxErrorRate=0.05)
    result = compute(build, config)
    assert result.parameters["DataCaptureEnabled"] == "true"  # not "True": AllowedValues are lower case
    assert result.parameters["EndpointInstanceCount"] == "1"
    assert result.parameters["RollbackMaxErrorRate"] == "0.05"


def test_kms_key_defaults_to_empty_and_cli_overrides_config(build):
    assert compute(build, staging_config()).parameters["KmsKeyArn"] == ""
    config = staging_config()
    config["Parameters"]["KmsKeyArn"] = KMS
    assert compute(build, config).parameters["KmsKeyArn"] == KMS
    other = KMS.replace("999988887777", "444455556666")
    assert compute(build, config, kms_key_arn=other).parameters["KmsKeyArn"] == other


@pytest.mark.parametrize("key", ["ModelPackageArn", "SageMakerProjectName", "SageMakerProjectId"])
def test_stage_config_must_not_set_pipeline_values(build, key):
    config = staging_config()
    config["Parameters"][key] = "something"
    with pytest.raises(build.BuildError, match=f"{key}: set by the pipeline"):
        compute(build, config)


def test_stage_name_mismatch_is_rejected(build):
    config = staging_config()
    config["Parameters"]["StageName"] = "prod"
    with pytest.raises(build.BuildError, match="StageName"):
        compute(build, config)


def test_missing_execution_role_is_rejected(build):
    with pytest.raises(build.BuildError, match="ModelExecutionRoleName: not set"):
        compute(build, staging_config(), execution_role_name=None)


def test_every_invalid_value_is_reported_at_once(build):
    config = staging_config()
    config["Parameters"].update(
        DeploymentStrategy="BLUE_GREEN", EndpointInstanceType="m5.large", EndpointInstanceCount="0", Typo="x"
    )
    with pytest.raises(build.BuildError) as info:
        compute(build, config)
    message = str(info.value)
    for expected in ("DeploymentStrategy", "EndpointInstanceType", "EndpointInstanceCount", "Typo: not a parameter"):
        assert expected in message


def test_unknown_top_level_key_is_rejected(build):
    with pytest.raises(build.BuildError, match="unknown top-level keys"):
        compute(build, {"Parameters": {}, "Tag": {}})


def test_validate_parameters_reports_missing_required(build):
    declared = build.load_template_parameters(REPO / "endpoint-config-template.yml")
    problems = build.validate_parameters({"StageName": "staging"}, declared)
    assert "ModelPackageArn: required (the template has no default)" in problems
    assert not any(p.startswith("EndpointInstanceType") for p in problems)  # has a default


@pytest.mark.parametrize(
    ("cli", "env", "expected"),
    [
        (["prod=role-p", "staging=role-s"], {}, "role-s"),
        (["role-all", "prod=role-p"], {}, "role-all"),
        (["prod=role-p"], {"MODEL_EXECUTION_ROLE_NAME_STAGING": "env-s"}, "env-s"),
        ([], {"MODEL_EXECUTION_ROLE_NAME_STAGING": "env-s", "MODEL_EXECUTION_ROLE_NAME": "env-all"}, "env-s"),
        (None, {"MODEL_EXECUTION_ROLE_NAME": "env-all"}, "env-all"),
        (["role=with=equals"], {}, "role=with=equals"),  # '=' inside a name is not a stage prefix
        (None, {"MODEL_EXECUTION_ROLE_NAME": ""}, None),
    ],
)
def test_per_stage_setting_precedence(build, cli, env, expected):
    assert build.resolve_stage_setting("staging", cli, env, "MODEL_EXECUTION_ROLE_NAME") == expected


# --------------------------------------------------------------------------
# End to end through main(): files and their exact formats
# --------------------------------------------------------------------------


def expected_parameters(stage_file, stage, package_arn, role, kms=""):
    params = dict(json.loads((REPO / stage_file).read_text())["Parameters"])
    params.update(
        ModelPackageArn=package_arn,
        SageMakerProjectName=PROJECT_NAME,
        SageMakerProjectId=PROJECT_ID,
        StageName=stage,
        ModelExecutionRoleName=role,
        KmsKeyArn=kms,
    )
    return params


def test_main_writes_both_formats_for_both_stages(build, sagemaker, tmp_path):
    register(sagemaker, "Approved")
    package = register(sagemaker, "Approved")
    register(sagemaker, "PendingManualApproval")

    code = build.main(
        [
            "--model-package-group-name", GROUP,
            "--sagemaker-project-name", PROJECT_NAME,
            "--sagemaker-project-id", PROJECT_ID,
            "--execution-role-name", "staging=sagemaker-role-stg",
            "--execution-role-name", "prod=sagemaker-role-prd",
            "--kms-key-arn", KMS,
            "--stage", "staging", "--stage", "prod",
            "--config-dir", str(REPO),
            "--output-dir", str(tmp_path),
        ],
        sm_client=sagemaker,
        env={},
    )
    assert code == 0

    for stage, role in (("staging", "sagemaker-role-stg"), ("prod", "sagemaker-role-prd")):
        params = expected_parameters(f"{stage}-config.json", stage, package, role, KMS)
        template_configuration = json.loads((tmp_path / f"{stage}-config-export.json").read_text())
        assert template_configuration == {
            "Parameters": params,
            "Tags": {
                "environment": stage,
                "sagemaker:deployment-stage": stage,
                "sagemaker:project-id": PROJECT_ID,
                "sagemaker:project-name": PROJECT_NAME,
            },
        }
        assert list(template_configuration["Parameters"]) == sorted(params)  # stable diffs
        stackset_params = json.loads((tmp_path / f"{stage}-params-export.json").read_text())
        assert stackset_params == [{"ParameterKey": k, "ParameterValue": params[k]} for k in sorted(params)]
        assert all(isinstance(item["ParameterValue"], str) for item in stackset_params)


def test_main_single_stage_mode_with_env_fallbacks(build, tmp_path):
    client = boto3.client("sagemaker", region_name="us-east-1")
    config = tmp_path / "in" / "my-prod.json"
    config.parent.mkdir()
    shutil.copy(REPO / "prod-config.json", config)
    env = {
        "MODEL_PACKAGE_GROUP_NAME": OTHER_ACCOUNT_GROUP_ARN,
        "SAGEMAKER_PROJECT_NAME": PROJECT_NAME,
        "SAGEMAKER_PROJECT_ID": PROJECT_ID,
        "MODEL_EXECUTION_ROLE_NAME": "sagemaker-role-all",
        "MODEL_EXECUTION_ROLE_NAME_PROD": "sagemaker-role-prd",
    }
    with strict_stubber(client) as stub:
        stub.add_response(
            "list_model_packages",
            {"ModelPackageSummaryList": [summary(OTHER_ACCOUNT_PACKAGE_ARN, version=7)]},
            {"ModelPackageGroupName": OTHER_ACCOUNT_GROUP_ARN, **LIST_ARGS},
        )
        code = build.main(
            [
                "--import-config", str(config),  # stage taken from its StageName
                "--export-config", str(tmp_path / "out" / "cfg.json"),
                "--export-params", str(tmp_path / "out" / "params.json"),
            ],
            sm_client=client,
            env=env,
        )
    assert code == 0
    written = json.loads((tmp_path / "out" / "cfg.json").read_text())
    assert written["Parameters"]["ModelPackageArn"] == OTHER_ACCOUNT_PACKAGE_ARN
    assert written["Parameters"]["ModelExecutionRoleName"] == "sagemaker-role-prd"
    assert written["Parameters"]["StageName"] == "prod"
    params = json.loads((tmp_path / "out" / "params.json").read_text())
    assert {"ParameterKey": "StageName", "ParameterValue": "prod"} in params


def test_main_fails_clearly_and_writes_nothing_without_approved_package(build, sagemaker, tmp_path, caplog):
    register(sagemaker, "PendingManualApproval")
    code = build.main(
        [
            "--model-package-group-name", GROUP,
            "--sagemaker-project-name", PROJECT_NAME,
            "--sagemaker-project-id", PROJECT_ID,
            "--execution-role-name", ROLE,
            "--config-dir", str(REPO),
            "--output-dir", str(tmp_path),
        ],
        sm_client=sagemaker,
        env={},
    )
    assert code == 1
    assert "No approved model package found" in caplog.text
    assert list(tmp_path.iterdir()) == []


def test_main_rejects_bad_prod_config_before_looking_up_packages(build, tmp_path, caplog):
    shutil.copy(REPO / "staging-config.json", tmp_path / "staging-config.json")
    (tmp_path / "prod-config.json").write_text("{ not json")
    client = boto3.client("sagemaker", region_name="us-east-1")
    with strict_stubber(client):  # no responses: a lookup would raise
        code = build.main(
            ["--model-package-group-name", GROUP, "--sagemaker-project-name", PROJECT_NAME,
             "--sagemaker-project-id", PROJECT_ID, "--execution-role-name", ROLE,
             "--config-dir", str(tmp_path), "--output-dir", str(tmp_path / "out")],
            sm_client=client,
            env={},
        )
    assert code == 1
    assert "prod-config.json: invalid JSON" in caplog.text
    assert not (tmp_path / "out").exists()


def test_main_requires_project_identity(build, tmp_path, caplog):
    code = build.main(["--model-package-group-name", GROUP, "--config-dir", str(REPO)], sm_client=object(), env={})
    assert code == 1
    assert "--sagemaker-project-name is required" in caplog.text
