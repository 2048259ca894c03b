#!/usr/bin/env python3
"""Prepare the stage parameter files of the model deploy pipeline.

Runs in the pipeline's build step (see ``buildspec.yml``). It

1. finds the newest *Approved* model package of the project's model package
   group (a group name in this account, or the ARN of a group in another
   account such as a central model registry), and
2. for each stage (``staging``, ``prod``) merges the stage config file
   (``<stage>-config.json``) with the values only the pipeline knows (model
   package ARN, project name and id, execution role name, KMS key), checks the
   result against the parameters and the ``Rules`` of ``endpoint-config-template.yml``, and
   writes it in the two formats the deploy actions need:

   * ``<stage>-config-export.json`` -- CloudFormation *TemplateConfiguration*
     ``{"Parameters": {...}, "Tags": {...}}`` for the CodePipeline
     CloudFormation deploy action (cross-account stack);
   * ``<stage>-params-export.json`` -- ``[{"ParameterKey": ..., "ParameterValue": ...}]``
     for CodePipeline's CloudFormationStackSet / CloudFormationStackInstances
     actions and for the StackSet API (``deploy_stackset.py``).

One invocation prepares every stage from one model package lookup, so staging
and prod are guaranteed to get the same model version.

With ``--promotion-mode LifecycleStage`` (projects created with PromotionMode
LifecycleStage) the version is chosen per stage by its model lifecycle stage
(``ModelLifeCycle``, see README "Promotion by lifecycle stage"): staging gets
the newest approved version at ``Staging`` or ``Production``, prod the newest
approved version at ``Production``; a stage without one is skipped (no export
files), which the pipeline reads to skip its prod deployment.

Deciding and doing are kept apart: :func:`plan_build` computes everything
(and calls the SageMaker API only to read), :func:`write_outputs` writes files.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    UnauthorizedSSOTokenError,
)

LOG = logging.getLogger("build")

HERE = Path(__file__).resolve().parent
DEFAULT_TEMPLATE = HERE / "endpoint-config-template.yml"

# Values of the template's StageName parameter; also the recognised STAGE=
# prefixes of --execution-role-name / --kms-key-arn.
KNOWN_STAGES = ("staging", "prod")

# Template parameters that only the pipeline can know. A stage config must
# not set them: build.py would silently override them otherwise.
PIPELINE_KEYS = ("ModelPackageArn", "SageMakerProjectName", "SageMakerProjectId")

# Patterns from the SageMaker API model (EntityName, and ArnOrName restricted
# to model package groups).
GROUP_NAME_RE = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
GROUP_ARN_RE = re.compile(
    r"arn:aws[a-z\-]*:sagemaker:[a-z0-9\-]+:[0-9]{12}:model-package-group/[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
)

MAX_TAGS = 50  # CloudFormation stack / StackSet tag limit

# How a version is chosen: the newest approved one for every stage (Approval), or
# per stage by its model lifecycle stage (LifecycleStage). ModelLifeCycle {Stage,
# StageStatus} is in ListModelPackages' summaries (botocore ModelPackageSummary);
# ListModelPackages cannot filter by stage, so the summaries are filtered here.
APPROVAL, LIFECYCLE_STAGE = "Approval", "LifecycleStage"
PROMOTION_MODES = (APPROVAL, LIFECYCLE_STAGE)
# Lifecycle stages whose versions each deployment stage takes (newest first).
STAGE_LIFECYCLE = {"staging": ("Staging", "Production"), "prod": ("Production",)}
# StageStatus of a promoted version: Approved (promoted by a person), Deployed
# (recorded by record_stage.py after the deployment).
PROMOTED_STATUSES = ("Approved", "Deployed")


class BuildError(Exception):
    """A problem the user has to fix (bad input, nothing to deploy); exit code 1."""


class NoApprovedModelPackageError(BuildError):
    """The model package group has no approved, completed model package."""


# ClientError codes of a temporary session token that has expired.
EXPIRED_TOKEN_CODES = frozenset({"ExpiredToken", "ExpiredTokenException"})


def aws_setup_problem(error: BaseException) -> str | None:
    """One line saying what is missing when ``error`` comes from missing or expired AWS
    credentials or a missing region; ``None`` for any other error."""
    if isinstance(error, NoRegionError):
        return "no AWS region configured: pass --region or set AWS_DEFAULT_REGION or AWS_REGION"
    if isinstance(error, PartialCredentialsError):
        return f"incomplete AWS credentials: {error}"
    if isinstance(error, NoCredentialsError):
        return ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, "
                "or run where a role provides them (CodeBuild)")
    if isinstance(error, UnauthorizedSSOTokenError) or (
        isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in EXPIRED_TOKEN_CODES
    ):
        return "the AWS credentials have expired: refresh them (aws sso login, or new temporary credentials)"
    return None


# --------------------------------------------------------------------------
# Model registry lookup
# --------------------------------------------------------------------------


def validate_group_name_or_arn(group: str) -> None:
    """Reject a model package group reference that SageMaker would reject anyway.

    Checking here gives a clear message instead of a ValidationException deep
    in a paginator, and catches the common mistake of passing a *model
    package* ARN (which has a version) instead of the group.
    """
    if GROUP_NAME_RE.fullmatch(group) or GROUP_ARN_RE.fullmatch(group):
        return
    raise BuildError(
        f"Invalid model package group {group!r}: expected a group name "
        "(letters, digits, hyphens; at most 63) or an ARN "
        "arn:aws:sagemaker:<region>:<account>:model-package-group/<name>."
    )


def find_latest_approved_model_package(sm_client: Any, group: str) -> dict[str, Any]:
    """Return the summary of the newest Approved, Completed model package of ``group``.

    ``group`` is a model package group name (this account) or a model package
    group ARN (any account; the group's resource policy must allow
    ``sagemaker:ListModelPackages`` for this account).

    The listing is sorted newest first by SageMaker, so the first acceptable
    entry wins; pages are followed because a filtered page may be empty while
    more results remain. Approved packages that are not ``Completed`` (still
    in progress, failed) cannot be deployed and are skipped with a warning.
    """
    for summary in deployable_model_packages(sm_client, group):
        return summary
    raise NoApprovedModelPackageError(
        f"No approved model package found in model package group {group!r}. "
        "Approve a model version in the model registry (ModelApprovalStatus=Approved); "
        "the deployment pipeline starts again when a version is approved."
    )


def lifecycle_stage_of(summary: Mapping[str, Any]) -> tuple[str, str]:
    """(Stage, StageStatus) of a model package summary; ('', '') without ModelLifeCycle."""
    lifecycle = summary.get("ModelLifeCycle") or {}
    return lifecycle.get("Stage", ""), lifecycle.get("StageStatus", "")


def choose_by_lifecycle_stage(summaries: Iterable[Mapping[str, Any]], stages: Sequence[str]) -> dict[str, Any]:
    """For each deployment stage, the first (newest) summary whose lifecycle stage it takes
    (``STAGE_LIFECYCLE``) with a promoted StageStatus; stages without one are left out.

    Pure: ``summaries`` are approved, completed packages, newest first. Reading stops as soon
    as every stage has its version.
    """
    wanted = {stage: STAGE_LIFECYCLE.get(stage, ()) for stage in stages}
    chosen: dict[str, Any] = {}
    for summary in summaries:
        stage_name, status = lifecycle_stage_of(summary)
        if status not in PROMOTED_STATUSES:
            continue
        for stage, lifecycle_stages in wanted.items():
            if stage not in chosen and stage_name in lifecycle_stages:
                chosen[stage] = summary
        if len(chosen) == len(wanted):
            break
    return chosen


def find_promoted_model_packages(sm_client: Any, group: str, stages: Sequence[str]) -> dict[str, Any]:
    """The newest approved, completed version of ``group`` for each deployment stage by its
    lifecycle stage (see :func:`choose_by_lifecycle_stage`); stages without one are left out,
    and none at all is an error."""
    unknown = [stage for stage in stages if stage not in STAGE_LIFECYCLE]
    if unknown:
        raise BuildError(f"No lifecycle stage is defined for {unknown}: LifecycleStage mode knows "
                         f"{list(STAGE_LIFECYCLE)}")
    chosen = choose_by_lifecycle_stage(deployable_model_packages(sm_client, group), stages)
    if not chosen:
        wanted = sorted({name for stage in stages for name in STAGE_LIFECYCLE[stage]})
        raise NoApprovedModelPackageError(
            f"No approved model package of {group!r} is at the lifecycle stage {' or '.join(wanted)} "
            f"(StageStatus {' or '.join(PROMOTED_STATUSES)}). Promote an approved version: "
            "update-model-package --model-life-cycle Stage=Staging,StageStatus=Approved."
        )
    return chosen


def deployable_model_packages(sm_client: Any, group: str) -> Iterator[dict[str, Any]]:
    """The Approved, Completed model packages of ``group``, newest first (pages are read as
    they are consumed)."""
    validate_group_name_or_arn(group)
    paginator = sm_client.get_paginator("list_model_packages")
    pages = paginator.paginate(
        ModelPackageGroupName=group,
        ModelApprovalStatus="Approved",
        SortBy="CreationTime",
        SortOrder="Descending",
    )
    try:
        for page in pages:
            for summary in page.get("ModelPackageSummaryList", []):
                status = summary.get("ModelPackageStatus", "Completed")
                if status != "Completed":
                    LOG.warning(
                        "Skipping approved model package %s: status is %s, not Completed",
                        summary["ModelPackageArn"],
                        status,
                    )
                    continue
                yield summary
    except ClientError as err:
        if aws_setup_problem(err):
            raise
        code = err.response.get("Error", {}).get("Code", "")
        hint = ""
        if code in ("AccessDeniedException", "AccessDenied"):
            hint = (
                " If the group is in another account, its model package group policy "
                "must allow sagemaker:ListModelPackages and sagemaker:DescribeModelPackage "
                "for this account."
            )
        raise BuildError(f"Could not list model packages of {group!r}: {err}.{hint}") from err


# --------------------------------------------------------------------------
# Template parameters and validation
# --------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that understands CloudFormation short-form tags (!Ref, !Sub, ...)."""


def _construct_cfn_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = "Ref" if tag_suffix == "Ref" else ("Condition" if tag_suffix == "Condition" else f"Fn::{tag_suffix}")
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_cfn_tag)


def load_template(path: Path) -> dict[str, Any]:
    """Load a CloudFormation YAML (or JSON) template into plain Python data."""
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass


def load_template_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """Return the ``Parameters`` section of the template at ``path``."""
    return dict(load_template(path).get("Parameters") or {})


def validate_parameters(values: Mapping[str, str], declared: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Check ``values`` the way CloudFormation checks parameters; return the problems.

    Catching these in the build step turns a failed deployment in a target
    account (minutes later, one StackSet instance per account) into an
    immediate, readable build error.
    """
    problems: list[str] = []
    for key in sorted(set(values) - set(declared)):
        problems.append(f"{key}: not a parameter of the template")
    for key, spec in declared.items():
        if key not in values:
            if "Default" not in spec:
                problems.append(f"{key}: required (the template has no default)")
            continue
        value = values[key]
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problems.append(f"{key}: {value!r} is not one of {spec['AllowedValues']}")
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"], value):
            problems.append(f"{key}: {value!r} does not match {spec['AllowedPattern']}")
        if "MinLength" in spec and len(value) < int(spec["MinLength"]):
            problems.append(f"{key}: shorter than {spec['MinLength']}")
        if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
            problems.append(f"{key}: longer than {spec['MaxLength']}")
        if spec.get("Type") == "Number":
            try:
                number = float(value)
            except ValueError:
                problems.append(f"{key}: {value!r} is not a number")
                continue
            if "MinValue" in spec and number < float(spec["MinValue"]):
                problems.append(f"{key}: {value} is below {spec['MinValue']}")
            if "MaxValue" in spec and number > float(spec["MaxValue"]):
                problems.append(f"{key}: {value} is above {spec['MaxValue']}")
    return problems


def check_rules(values: Mapping[str, str], template: Mapping[str, Any]) -> list[str]:
    """Evaluate the template's ``Rules`` the way CloudFormation does before it creates or updates
    a stack (parameters not given take their defaults); return one problem per failing assertion,
    with its ``AssertDescription``.

    The endpoint template's rules reject deployment settings that deploy fine but break the first
    update of the endpoint (a canary or linear step too big for the fleet); checking them here
    fails the build step instead of a stack (or every StackSet instance) minutes later.
    """
    declared = template.get("Parameters") or {}
    full = {key: str(spec["Default"]) for key, spec in declared.items() if "Default" in spec}
    full.update(values)
    problems = []
    for name, rule in (template.get("Rules") or {}).items():
        if "RuleCondition" in rule and not _rule_value(rule["RuleCondition"], full):
            continue
        for assertion in rule.get("Assertions", []):
            if not _rule_value(assertion["Assert"], full):
                problems.append(f"{name}: {assertion.get('AssertDescription', 'assertion failed')}")
    return problems


def _rule_value(node: Any, values: Mapping[str, str]) -> Any:
    """The value of a rule expression (only the functions CloudFormation allows in rules that the
    template uses; anything else is an error, never a silent pass)."""
    if isinstance(node, list):
        return [_rule_value(item, values) for item in node]
    if not isinstance(node, dict):
        return node
    ((function, argument),) = node.items()
    if function == "Ref":
        return values[argument]
    if function == "Fn::Equals":
        left, right = (_rule_value(a, values) for a in argument)
        return str(left) == str(right)
    if function == "Fn::And":
        return all(_rule_value(a, values) for a in argument)
    if function == "Fn::Or":
        return any(_rule_value(a, values) for a in argument)
    if function == "Fn::Not":
        return not _rule_value(argument[0], values)
    if function == "Fn::Contains":
        items, value = (_rule_value(a, values) for a in argument)
        return str(value) in [str(item) for item in items]
    raise ValueError(f"rule function {function} is not supported by build.py")


# --------------------------------------------------------------------------
# Computing the stage parameters (pure)
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class StageParameters:
    """The complete parameter and tag set of one stage deployment."""

    stage: str
    parameters: dict[str, str]
    tags: dict[str, str]


def _to_cfn_string(key: str, value: Any) -> str:
    """CloudFormation parameter and tag values are strings; convert JSON scalars.

    Booleans become ``"true"``/``"false"`` (Python's ``str(True)`` is
    ``"True"``, which the template's AllowedValues reject).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    raise BuildError(f"{key}: value must be a string, number or boolean, got {type(value).__name__}")


def compute_stage_parameters(
    stage: str,
    stage_config: Mapping[str, Any],
    *,
    model_package_arn: str,
    project_name: str,
    project_id: str,
    execution_role_name: str | None,
    kms_key_arn: str | None,
    template_parameters: Mapping[str, Mapping[str, Any]] | None = None,
    template: Mapping[str, Any] | None = None,
) -> StageParameters:
    """Merge one stage config with the pipeline's values into a validated parameter set.

    Precedence: the pipeline-only values (model package, project name/id,
    StageName) always come from the pipeline, and the stage config must not
    set them. ``execution_role_name`` and ``kms_key_arn``, when given, override
    the stage config; otherwise the stage config's value is kept (KmsKeyArn
    then defaults to empty, meaning no customer managed key).

    ``template`` (the whole endpoint template), when given, also checks its ``Rules``.

    Raises :class:`BuildError` listing every problem found.
    """
    if not isinstance(stage_config, Mapping):
        raise BuildError(f"{stage}: stage config must be a JSON object")
    unknown = set(stage_config) - {"Parameters", "Tags"}
    if unknown:
        raise BuildError(f"{stage}: unknown top-level keys in stage config: {sorted(unknown)}")
    raw_params = stage_config.get("Parameters", {})
    raw_tags = stage_config.get("Tags", {})
    if not isinstance(raw_params, Mapping) or not isinstance(raw_tags, Mapping):
        raise BuildError(f"{stage}: 'Parameters' and 'Tags' must be JSON objects")

    problems: list[str] = []
    params = {key: _to_cfn_string(key, value) for key, value in raw_params.items()}
    tags = {key: _to_cfn_string(key, value) for key, value in raw_tags.items()}

    for key in PIPELINE_KEYS:
        if key in params:
            problems.append(f"{key}: set by the pipeline, remove it from the stage config")
    if params.get("StageName", stage) != stage:
        problems.append(f"StageName: stage config says {params['StageName']!r} but this is stage {stage!r}")

    params.update(
        ModelPackageArn=model_package_arn,
        SageMakerProjectName=project_name,
        SageMakerProjectId=project_id,
        StageName=stage,
    )
    if execution_role_name:
        params["ModelExecutionRoleName"] = execution_role_name
    if kms_key_arn is not None:
        params["KmsKeyArn"] = kms_key_arn
    params.setdefault("KmsKeyArn", "")
    if not params.get("ModelExecutionRoleName"):
        problems.append(
            "ModelExecutionRoleName: not set; pass --execution-role-name or set it in the stage config"
        )

    # The stack (or StackSet) gets the same project tags as its resources, so
    # cost and ownership reports work at the stack level too.
    tags.update(
        {
            "sagemaker:project-name": project_name,
            "sagemaker:project-id": project_id,
            "sagemaker:deployment-stage": stage,
        }
    )
    if len(tags) > MAX_TAGS:
        problems.append(f"Tags: {len(tags)} tags, at most {MAX_TAGS} allowed")

    if template_parameters is not None:
        problems.extend(validate_parameters(params, template_parameters))
    if template is not None and not problems:
        problems.extend(check_rules(params, template))
    if problems:
        raise BuildError(f"Stage {stage!r} has invalid parameters:\n  - " + "\n  - ".join(problems))
    return StageParameters(stage=stage, parameters=dict(sorted(params.items())), tags=dict(sorted(tags.items())))


def to_template_configuration(stage_parameters: StageParameters) -> dict[str, Any]:
    """CloudFormation TemplateConfiguration format (CodePipeline CloudFormation action)."""
    return {"Parameters": dict(stage_parameters.parameters), "Tags": dict(stage_parameters.tags)}


def to_stackset_parameters(stage_parameters: StageParameters) -> list[dict[str, str]]:
    """``[{ParameterKey, ParameterValue}]`` format (StackSet actions and API, cfn-lint --parameter-files)."""
    return [{"ParameterKey": key, "ParameterValue": value} for key, value in stage_parameters.parameters.items()]


# --------------------------------------------------------------------------
# Settings that may differ per stage
# --------------------------------------------------------------------------


def resolve_stage_setting(
    stage: str,
    cli_values: Sequence[str] | None,
    env: Mapping[str, str],
    env_name: str,
    stages: Sequence[str] = KNOWN_STAGES,
) -> str | None:
    """Pick the value of a per-stage setting such as the execution role name.

    ``cli_values`` are ``VALUE`` (all stages) or ``STAGE=VALUE`` items; the
    ``STAGE=`` prefix is only recognised for known stage names, so values that
    contain ``=`` still work. Precedence, first match wins: CLI for this stage,
    CLI for all stages, ``<ENV_NAME>_<STAGE>``, ``<ENV_NAME>``. Returns None
    when nothing is set (an empty environment variable counts as not set).
    """
    for_stage: str | None = None
    for_all: str | None = None
    for item in cli_values or []:
        prefix, sep, rest = item.partition("=")
        if sep and prefix in stages:
            if prefix == stage:
                for_stage = rest
        else:
            for_all = item
    for candidate in (for_stage, for_all, env.get(f"{env_name}_{stage.upper()}"), env.get(env_name)):
        if candidate:
            return candidate
    return None


# --------------------------------------------------------------------------
# Planning and writing
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class StageJob:
    """Where one stage's config comes from and where its exports go."""

    stage: str
    import_config: Path
    export_config: Path
    export_params: Path


@dataclass(frozen=True)
class StageOutput:
    """A computed stage, ready to be written."""

    job: StageJob
    parameters: StageParameters


@dataclass(frozen=True)
class BuildPlan:
    """Everything :func:`write_outputs` needs; produced without writing anything."""

    model_packages: dict[str, dict[str, Any]]  # the version each computed stage deploys
    outputs: tuple[StageOutput, ...]
    skipped: tuple[str, ...] = ()  # stages without a version (LifecycleStage mode)


def read_json(path: Path) -> Any:
    """Read a JSON file, turning errors into :class:`BuildError` with the file name."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError as err:
        raise BuildError(f"Stage config not found: {path}") from err
    except json.JSONDecodeError as err:
        raise BuildError(f"{path}: invalid JSON: {err}") from err


def plan_build(
    jobs: Sequence[StageJob],
    *,
    sm_client: Any,
    model_package_group: str,
    project_name: str,
    project_id: str,
    execution_role_names: Sequence[str] | None,
    kms_key_arns: Sequence[str] | None,
    env: Mapping[str, str],
    template_path: Path = DEFAULT_TEMPLATE,
    promotion_mode: str = APPROVAL,
) -> BuildPlan:
    """Look up the model packages once and compute every stage; writes nothing."""
    if promotion_mode not in PROMOTION_MODES:
        raise BuildError(f"Unknown promotion mode {promotion_mode!r}: expected one of {list(PROMOTION_MODES)}")
    if not jobs:
        raise BuildError("No stage to build")
    stage_names = [job.stage for job in jobs]
    if len(set(stage_names)) != len(stage_names):
        raise BuildError(f"Stage listed twice: {stage_names}")
    template = load_template(template_path)
    template_parameters = dict(template.get("Parameters") or {})
    # Read every config first: a typo in prod's file should fail the build
    # before anything is looked up or written.
    configs = {job.stage: read_json(job.import_config) for job in jobs}
    packages = choose_model_packages(sm_client, model_package_group, stage_names, promotion_mode)
    for stage in stage_names:
        package = packages.get(stage)
        if package is None:
            LOG.info("Stage %s: no approved version at lifecycle stage %s; not deployed",
                     stage, " or ".join(STAGE_LIFECYCLE[stage]))
            continue
        LOG.info(
            "Stage %s deploys model package %s (version %s, created %s%s)",
            stage,
            package["ModelPackageArn"],
            package.get("ModelPackageVersion"),
            package.get("CreationTime"),
            ", lifecycle stage %s/%s" % lifecycle_stage_of(package) if promotion_mode == LIFECYCLE_STAGE else "",
        )
    known = tuple(dict.fromkeys([*KNOWN_STAGES, *stage_names]))
    outputs = []
    for job in jobs:
        if job.stage not in packages:
            continue
        parameters = compute_stage_parameters(
            job.stage,
            configs[job.stage],
            model_package_arn=packages[job.stage]["ModelPackageArn"],
            project_name=project_name,
            project_id=project_id,
            execution_role_name=resolve_stage_setting(
                job.stage, execution_role_names, env, "MODEL_EXECUTION_ROLE_NAME", known
            ),
            kms_key_arn=resolve_stage_setting(job.stage, kms_key_arns, env, "KMS_KEY_ARN", known),
            template_parameters=template_parameters,
            template=template,
        )
        outputs.append(StageOutput(job=job, parameters=parameters))
    skipped = tuple(stage for stage in stage_names if stage not in packages)
    return BuildPlan(model_packages=packages, outputs=tuple(outputs), skipped=skipped)


def choose_model_packages(
    sm_client: Any, group: str, stages: Sequence[str], promotion_mode: str
) -> dict[str, dict[str, Any]]:
    """The version each stage deploys: the newest approved one for all (Approval), or per stage
    by lifecycle stage (LifecycleStage; stages without one are left out)."""
    if promotion_mode == LIFECYCLE_STAGE:
        return find_promoted_model_packages(sm_client, group, stages)
    package = find_latest_approved_model_package(sm_client, group)
    return {stage: package for stage in stages}


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON with a trailing newline, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def write_outputs(plan: BuildPlan) -> list[Path]:
    """Write both export files of every stage; return the paths written."""
    written = []
    for output in plan.outputs:
        write_json(output.job.export_config, to_template_configuration(output.parameters))
        write_json(output.job.export_params, to_stackset_parameters(output.parameters))
        written += [output.job.export_config, output.job.export_params]
    return written


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(
            "Find the newest approved model package and write the stage parameter files "
            "(TemplateConfiguration and StackSet parameter list) for each stage."
        ),
        epilog=(
            "Batch mode (default): --stage staging --stage prod reads <config-dir>/<stage>-config.json and "
            "writes <output-dir>/<stage>-config-export.json and <output-dir>/<stage>-params-export.json. "
            "Single-stage mode: --import-config FILE [--export-config FILE] [--export-params FILE]."
        ),
    )
    parser.add_argument("--model-package-group-name", help="group name, or group ARN in another account "
                        "[env MODEL_PACKAGE_GROUP_NAME]")
    parser.add_argument("--sagemaker-project-name", help="[env SAGEMAKER_PROJECT_NAME]")
    parser.add_argument("--sagemaker-project-id", help="[env SAGEMAKER_PROJECT_ID]")
    parser.add_argument("--execution-role-name", action="append", metavar="[STAGE=]NAME",
                        help="execution role name in the target accounts; repeat with STAGE= for per-stage "
                        "names [env MODEL_EXECUTION_ROLE_NAME, MODEL_EXECUTION_ROLE_NAME_<STAGE>]")
    parser.add_argument("--kms-key-arn", action="append", metavar="[STAGE=]ARN",
                        help="KMS key ARN for endpoint volume and data capture [env KMS_KEY_ARN, KMS_KEY_ARN_<STAGE>]")
    parser.add_argument("--stage", action="append", metavar="NAME",
                        help="stage to build (repeatable); default: staging and prod")
    parser.add_argument("--config-dir", type=Path, default=Path("."), help="where <stage>-config.json live")
    parser.add_argument("--output-dir", type=Path, default=Path("."), help="where the exports are written")
    parser.add_argument("--import-config", type=Path, help="single-stage mode: the stage config to read")
    parser.add_argument("--export-config", type=Path, help="single-stage mode: TemplateConfiguration output")
    parser.add_argument("--export-params", type=Path, help="single-stage mode: StackSet parameter list output")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE,
                        help="template whose parameters the result is checked against")
    parser.add_argument("--promotion-mode", choices=PROMOTION_MODES,
                        help="Approval (default): the newest approved version for every stage; LifecycleStage: "
                        "per stage by the version's model lifecycle stage [env PROMOTION_MODE]")
    parser.add_argument("--region", help="AWS region of the SageMaker API (default: from the environment)")
    parser.add_argument("--log-level", default="INFO")
    return parser


def jobs_from_args(args: argparse.Namespace) -> list[StageJob]:
    """Turn the command line into stage jobs (batch or single-stage mode)."""
    if args.import_config is not None:
        if args.stage and len(args.stage) > 1:
            raise BuildError("--import-config handles one stage; give at most one --stage")
        if args.stage:
            stage = args.stage[0]
        else:
            declared = (read_json(args.import_config).get("Parameters") or {}).get("StageName")
            if not declared:
                raise BuildError(f"{args.import_config}: no StageName parameter; pass --stage")
            stage = str(declared)
        return [
            StageJob(
                stage=stage,
                import_config=args.import_config,
                export_config=args.export_config or args.output_dir / f"{stage}-config-export.json",
                export_params=args.export_params or args.output_dir / f"{stage}-params-export.json",
            )
        ]
    if args.export_config or args.export_params:
        raise BuildError("--export-config/--export-params need --import-config")
    return [
        StageJob(
            stage=stage,
            import_config=args.config_dir / f"{stage}-config.json",
            export_config=args.output_dir / f"{stage}-config-export.json",
            export_params=args.output_dir / f"{stage}-params-export.json",
        )
        for stage in (args.stage or list(KNOWN_STAGES))
    ]


def _required(value: str | None, env: Mapping[str, str], env_name: str, flag: str) -> str:
    result = value or env.get(env_name)
    if not result:
        raise BuildError(f"{flag} is required (or set {env_name})")
    return result


def main(argv: Sequence[str] | None = None, *, sm_client: Any = None, env: Mapping[str, str] | None = None) -> int:
    """Command line entry point; returns the process exit code.

    ``sm_client`` and ``env`` exist for tests; by default a boto3 SageMaker
    client and ``os.environ`` are used.
    """
    args = build_arg_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    env = os.environ if env is None else env
    try:
        group = _required(args.model_package_group_name, env, "MODEL_PACKAGE_GROUP_NAME", "--model-package-group-name")
        project_name = _required(args.sagemaker_project_name, env, "SAGEMAKER_PROJECT_NAME", "--sagemaker-project-name")
        project_id = _required(args.sagemaker_project_id, env, "SAGEMAKER_PROJECT_ID", "--sagemaker-project-id")
        jobs = jobs_from_args(args)
        if sm_client is None:
            import boto3

            # boto3 reads AWS_DEFAULT_REGION and the profile's region; AWS_REGION as a last resort.
            region = args.region or boto3.Session().region_name or env.get("AWS_REGION") or None
            sm_client = boto3.client("sagemaker", region_name=region)
        plan = plan_build(
            jobs,
            sm_client=sm_client,
            model_package_group=group,
            project_name=project_name,
            project_id=project_id,
            execution_role_names=args.execution_role_name,
            kms_key_arns=args.kms_key_arn,
            env=env,
            template_path=args.template,
            promotion_mode=args.promotion_mode or env.get("PROMOTION_MODE") or APPROVAL,
        )
        for path in write_outputs(plan):
            LOG.info("Wrote %s", path)
    except BuildError as err:
        LOG.error("%s", err)
        return 1
    except (ClientError, NoCredentialsError, NoRegionError, PartialCredentialsError, UnauthorizedSSOTokenError) as err:
        problem = aws_setup_problem(err)
        if problem is None:
            raise
        LOG.error("%s", problem)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
