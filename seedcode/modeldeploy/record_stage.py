#!/usr/bin/env python3
"""Record on a model version the lifecycle stage its deployment reached.

Runs in pipelines of projects with PromotionMode ``LifecycleStage``
(``buildspec-record-stage.yml``), after a stage was deployed (and, for staging,
tested). It reads the deployed version from ``<stage>-config-export.json``
(``ModelPackageArn``), describes it, and when its model lifecycle stage is
still the one that was deployed (``Staging`` for staging, ``Production`` for
prod) and not yet recorded, calls ``UpdateModelPackage`` with

    ModelLifeCycle = {Stage: <that stage>, StageStatus: "Deployed",
                      StageDescription: "Deployed to <where> by CodePipeline <name> execution <id> ..."}

(ModelLifeCycle: Stage and StageStatus required, StageDescription at most 1024
characters; botocore sagemaker service model, UpdateModelPackageInput.)

It never moves a version to another stage: a version deployed to staging that
was meanwhile promoted to Production stays there. ``Deployed`` is not what the
deploy pipeline's rule reacts to (StageStatus ``Approved``), so the record
does not start the pipeline again. A version of another account's registry (a
hub) is left alone: that registry's owner records its stages (the hub's group
policy grants no UpdateModelPackage).

Deciding and doing are apart: :func:`plan_record` is pure, :func:`apply_record`
makes the one call.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

LOG = logging.getLogger("record_stage")

# Deployment stage -> the lifecycle stage its deployment records (build.py's STAGE_LIFECYCLE
# deploys a version at Staging or Production to staging, one at Production to prod).
LIFECYCLE_OF_STAGE = {"staging": "Staging", "prod": "Production"}
DEPLOYED = "Deployed"
MAX_DESCRIPTION = 1024  # ModelLifeCycle.StageDescription


class RecordError(Exception):
    """A problem the user has to fix; exit code 1."""


@dataclass(frozen=True)
class RecordPlan:
    """What to do: ``request`` is the UpdateModelPackage request, or None with the ``reason``."""

    model_package_arn: str
    request: dict[str, Any] | None
    reason: str


def account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 else ""


def stage_description(deployed_to: str, pipeline: str, execution_id: str) -> str:
    """Where and by which run, within StageDescription's 1024 characters."""
    text = f"Deployed to {deployed_to or 'its target accounts'}"
    if pipeline:
        text += f" by CodePipeline {pipeline}"
    if execution_id:
        text += f" execution {execution_id}"
    return text[:MAX_DESCRIPTION]


def plan_record(
    package: Mapping[str, Any], lifecycle_stage: str, description: str, own_account: str | None = None
) -> RecordPlan:
    """Decide from DescribeModelPackage's answer whether and how to record ``lifecycle_stage``."""
    arn = package["ModelPackageArn"]
    lifecycle = package.get("ModelLifeCycle") or {}
    stage, status = lifecycle.get("Stage", ""), lifecycle.get("StageStatus", "")
    if own_account and account_of(arn) not in ("", own_account):
        return RecordPlan(arn, None, f"the version is in account {account_of(arn)}'s registry, which records "
                          "its own stages")
    if stage != lifecycle_stage:
        return RecordPlan(arn, None, f"its lifecycle stage is {stage or 'not set'}, not {lifecycle_stage}: "
                          "left as it is")
    if status == DEPLOYED:
        return RecordPlan(arn, None, f"already recorded as {lifecycle_stage}/{DEPLOYED}")
    request = {
        "ModelPackageArn": arn,
        "ModelLifeCycle": {"Stage": lifecycle_stage, "StageStatus": DEPLOYED, "StageDescription": description},
    }
    return RecordPlan(arn, request, f"{lifecycle_stage}/{status or '-'} -> {lifecycle_stage}/{DEPLOYED}")


def apply_record(sm_client: Any, plan: RecordPlan) -> None:
    if plan.request is None:
        LOG.info("Not recording on %s: %s", plan.model_package_arn, plan.reason)
        return
    sm_client.update_model_package(**plan.request)
    LOG.info("Recorded on %s: %s (%s)", plan.model_package_arn, plan.reason,
             plan.request["ModelLifeCycle"]["StageDescription"])


def deployed_model_package(config_path: Path) -> str:
    """ModelPackageArn of a TemplateConfiguration written by build.py."""
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise RecordError(f"{config_path}: not found (build.py writes it for every stage it deploys)") from err
    except json.JSONDecodeError as err:
        raise RecordError(f"{config_path}: invalid JSON: {err}") from err
    arn = (data.get("Parameters") or {}).get("ModelPackageArn") if isinstance(data, dict) else None
    if not arn:
        raise RecordError(f"{config_path}: Parameters.ModelPackageArn is missing")
    return arn


def own_account_from(env: Mapping[str, str]) -> str | None:
    """The account the build runs in: the account field of CODEBUILD_BUILD_ARN (CodeBuild sets it)."""
    return account_of(env.get("CODEBUILD_BUILD_ARN", "")) or None


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Record the lifecycle stage a deployment reached on its model "
                                     "version (UpdateModelPackage ModelLifeCycle, StageStatus Deployed).")
    parser.add_argument("--stage", help="staging | prod [env STAGE]")
    parser.add_argument("--lifecycle-stage", help="Staging | Production (default: from --stage) [env LIFECYCLE_STAGE]")
    parser.add_argument("--import-config", type=Path, help="default: <stage>-config-export.json")
    parser.add_argument("--deployed-to", help="where it was deployed, for the description [env DEPLOYED_TO]")
    parser.add_argument("--region", help="AWS region of the SageMaker API (default: from the environment)")
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(argv: Sequence[str] | None = None, *, sm_client: Any = None, env: Mapping[str, str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    env = os.environ if env is None else env
    try:
        stage = args.stage or env.get("STAGE") or ""
        lifecycle_stage = args.lifecycle_stage or env.get("LIFECYCLE_STAGE") or LIFECYCLE_OF_STAGE.get(stage)
        if not lifecycle_stage:
            raise RecordError(f"--stage must be one of {sorted(LIFECYCLE_OF_STAGE)} (or give --lifecycle-stage)")
        arn = deployed_model_package(args.import_config or Path(f"{stage}-config-export.json"))
        if sm_client is None:
            import boto3

            sm_client = boto3.client("sagemaker", region_name=args.region or env.get("AWS_REGION") or None)
        description = stage_description(args.deployed_to or env.get("DEPLOYED_TO", ""), env.get("PIPELINE_NAME", ""),
                                         env.get("PIPELINE_EXECUTION_ID", ""))
        package = sm_client.describe_model_package(ModelPackageName=arn)
        apply_record(sm_client, plan_record(package, lifecycle_stage, description, own_account_from(env)))
    except RecordError as err:
        LOG.error("%s", err)
        return 1
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "")
        hint = (" The build's role needs sagemaker:UpdateModelPackage with sagemaker:ModelLifeCycle:stage "
                f"{lifecycle_stage} (project-roles' pipeline role has it)." if code.startswith("AccessDenied") else "")
        LOG.error("Could not record the stage on %s: %s.%s", arn, err, hint)
        return 1
    except (NoCredentialsError, NoRegionError) as err:
        LOG.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
