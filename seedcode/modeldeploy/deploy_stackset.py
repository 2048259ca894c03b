#!/usr/bin/env python3
"""Create or update the stage's service-managed StackSet and its OU stack instances.

Used by ``buildspec-deploy-stackset.yml`` when the deployment runs from a
CodeBuild step of an account that is a *delegated administrator* for
CloudFormation StackSets (``--call-as DELEGATED_ADMIN``), or of the
organization's management account (``--call-as SELF``). CodePipeline's own
StackSet actions cannot act as a delegated administrator, which is why this
script exists.

What it does, idempotently:

1. waits for operations already running on the StackSet (a retried build
   must not collide with the previous attempt);
2. reads the current state (StackSet, stack instances in the target regions)
   and computes a :class:`Plan` -- create the StackSet, update it, add stack
   instances for OUs/regions not yet targeted, or nothing;
3. applies the plan and waits for every operation, reporting the status
   reason of each failed stack instance when something goes wrong.

Planning (:func:`plan_deployment`) is a pure function of the desired and the
current state; only :func:`read_current_state` and :func:`apply_plan` call AWS.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

LOG = logging.getLogger("deploy_stackset")

STACK_SET_NAME_RE = re.compile(r"[a-zA-Z][-a-zA-Z0-9]{0,127}")
OU_ID_RE = re.compile(r"ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32}")
MAX_TEMPLATE_BODY_BYTES = 51_200  # CloudFormation TemplateBody limit
ACTIVE_OPERATION_STATUSES = ("RUNNING", "QUEUED", "STOPPING")
FAILED_OPERATION_STATUSES = ("FAILED", "STOPPED")


class DeployError(Exception):
    """Deployment failed or cannot start; the message says why. Exit code 1."""


# --------------------------------------------------------------------------
# Desired and current state
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredStackSet:
    """What the StackSet should look like after this run."""

    name: str
    template_body: str
    parameters: dict[str, str]
    tags: dict[str, str]
    description: str = ""
    capabilities: tuple[str, ...] = ()
    retain_stacks_on_account_removal: bool = False

    @property
    def auto_deployment(self) -> dict[str, bool]:
        # Accounts that join the OU later get the endpoint automatically, and
        # accounts that leave lose it unless retention is asked for.
        return {"Enabled": True, "RetainStacksOnAccountRemoval": self.retain_stacks_on_account_removal}


@dataclass(frozen=True)
class Targets:
    """Where stack instances must exist."""

    organizational_unit_ids: tuple[str, ...]
    regions: tuple[str, ...]


@dataclass(frozen=True)
class InstanceState:
    """The part of a stack instance summary that planning looks at."""

    account: str
    region: str
    organizational_unit_id: str | None
    status: str  # CURRENT | OUTDATED | INOPERABLE
    detailed_status: str | None = None
    status_reason: str | None = None


@dataclass(frozen=True)
class CurrentState:
    """The StackSet as it exists now (``stack_set`` is None when it does not exist)."""

    stack_set: dict[str, Any] | None
    instances: tuple[InstanceState, ...] = ()


@dataclass
class Plan:
    """The actions needed to reach the desired state, in the order they run."""

    create_stack_set: bool = False
    update_stack_set: bool = False
    update_reasons: list[str] = field(default_factory=list)
    # region -> OU ids that have no stack instances there yet
    create_instances: dict[str, list[str]] = field(default_factory=dict)
    blockers: list[str] = field(default_factory=list)

    @property
    def is_noop(self) -> bool:
        return not (self.create_stack_set or self.update_stack_set or self.create_instances)

    def describe(self) -> str:
        """One human-readable line per action, for the build log and --dry-run."""
        lines = []
        if self.create_stack_set:
            lines.append("create StackSet")
        if self.update_stack_set:
            lines.append("update StackSet (" + "; ".join(self.update_reasons) + ")")
        for region, ous in sorted(self.create_instances.items()):
            lines.append(f"create stack instances for {', '.join(ous)} in {region}")
        lines += [f"BLOCKED: {blocker}" for blocker in self.blockers]
        return "\n".join(lines) if lines else "nothing to do: StackSet and stack instances are up to date"


def _as_dict(items: Sequence[Mapping[str, Any]] | None, key: str, value: str) -> dict[str, str]:
    return {item[key]: item.get(value, "") for item in items or []}


def plan_deployment(desired: DesiredStackSet, targets: Targets, current: CurrentState) -> Plan:
    """Compute what to do; pure (no AWS calls), so every branch is unit-testable."""
    plan = Plan()
    stack_set = current.stack_set
    if stack_set is None:
        plan.create_stack_set = True
        plan.create_instances = {region: list(targets.organizational_unit_ids) for region in targets.regions}
        return plan

    if stack_set.get("PermissionModel", "SELF_MANAGED") != "SERVICE_MANAGED":
        plan.blockers.append(
            f"StackSet {desired.name} exists with PermissionModel {stack_set.get('PermissionModel')}; "
            "this pipeline needs SERVICE_MANAGED. Delete it or choose another StackSet name."
        )
    if stack_set.get("Status") == "DELETED":
        plan.blockers.append(f"StackSet {desired.name} is being deleted; retry when it is gone")

    reasons = plan.update_reasons
    if stack_set.get("TemplateBody") != desired.template_body:
        reasons.append("template changed")
    current_params = _as_dict(stack_set.get("Parameters"), "ParameterKey", "ParameterValue")
    if current_params != desired.parameters:
        changed = sorted(
            key
            for key in set(current_params) | set(desired.parameters)
            if current_params.get(key) != desired.parameters.get(key)
        )
        reasons.append("parameters changed: " + ", ".join(changed))
    if _as_dict(stack_set.get("Tags"), "Key", "Value") != desired.tags:
        reasons.append("tags changed")
    if (stack_set.get("Description") or "") != desired.description:
        reasons.append("description changed")
    if sorted(stack_set.get("Capabilities") or []) != sorted(desired.capabilities):
        reasons.append("capabilities changed")
    current_auto = stack_set.get("AutoDeployment") or {}
    if (
        bool(current_auto.get("Enabled")) != desired.auto_deployment["Enabled"]
        or bool(current_auto.get("RetainStacksOnAccountRemoval"))
        != desired.auto_deployment["RetainStacksOnAccountRemoval"]
    ):
        reasons.append("auto-deployment settings changed")
    if not (stack_set.get("ManagedExecution") or {}).get("Active"):
        reasons.append("managed execution off")

    for instance in current.instances:
        if instance.region not in targets.regions:
            continue
        if instance.status == "INOPERABLE":
            plan.blockers.append(
                f"stack instance {instance.account}/{instance.region} is INOPERABLE "
                f"({instance.status_reason or 'no reason given'}); remove it with "
                "delete-stack-instances --retain-stacks or fix it before deploying"
            )
        elif instance.status == "OUTDATED" and "retry outdated stack instances" not in reasons:
            # A previous operation failed or was stopped part-way: an update
            # with the same content re-deploys those instances.
            reasons.append("retry outdated stack instances")
    plan.update_stack_set = bool(reasons)

    # An OU counts as deployed in a region when one of its instances is there,
    # or when the StackSet already records the OU and the region as targets
    # (an OU that has no accounts yet has no instances to show).
    recorded_ous = set(stack_set.get("OrganizationalUnitIds") or [])
    recorded_regions = set(stack_set.get("Regions") or [])
    for region in targets.regions:
        present = {i.organizational_unit_id for i in current.instances if i.region == region}
        missing = [
            ou
            for ou in targets.organizational_unit_ids
            if ou not in present and not (ou in recorded_ous and region in recorded_regions)
        ]
        if missing:
            plan.create_instances[region] = missing
    return plan


# --------------------------------------------------------------------------
# Reading state and applying (AWS calls)
# --------------------------------------------------------------------------


def _error_code(err: ClientError) -> str:
    return err.response.get("Error", {}).get("Code", "")


def read_current_state(cfn: Any, name: str, call_as: str, regions: Sequence[str]) -> CurrentState:
    """Describe the StackSet and list its stack instances in ``regions``."""
    try:
        stack_set = cfn.describe_stack_set(StackSetName=name, CallAs=call_as)["StackSet"]
    except ClientError as err:
        if _error_code(err) == "StackSetNotFoundException":
            return CurrentState(stack_set=None)
        raise
    instances: list[InstanceState] = []
    paginator = cfn.get_paginator("list_stack_instances")
    for region in regions:
        for page in paginator.paginate(StackSetName=name, CallAs=call_as, StackInstanceRegion=region):
            for summary in page.get("Summaries", []):
                instances.append(
                    InstanceState(
                        account=summary.get("Account", ""),
                        region=summary.get("Region", region),
                        organizational_unit_id=summary.get("OrganizationalUnitId"),
                        status=summary.get("Status", ""),
                        detailed_status=(summary.get("StackInstanceStatus") or {}).get("DetailedStatus"),
                        status_reason=summary.get("StatusReason"),
                    )
                )
    return CurrentState(stack_set=stack_set, instances=tuple(instances))


def active_operation_ids(cfn: Any, name: str, call_as: str) -> list[str]:
    """Ids of operations on the StackSet that are still running, queued or stopping."""
    ids = []
    paginator = cfn.get_paginator("list_stack_set_operations")
    for page in paginator.paginate(StackSetName=name, CallAs=call_as):
        ids += [op["OperationId"] for op in page.get("Summaries", []) if op.get("Status") in ACTIVE_OPERATION_STATUSES]
    return ids


def failure_details(cfn: Any, name: str, operation_id: str, call_as: str) -> list[str]:
    """Why an operation failed: one line per stack instance that did not succeed."""
    lines = []
    paginator = cfn.get_paginator("list_stack_set_operation_results")
    for page in paginator.paginate(StackSetName=name, OperationId=operation_id, CallAs=call_as):
        for result in page.get("Summaries", []):
            if result.get("Status") == "SUCCEEDED":
                continue
            gate = result.get("AccountGateResult") or {}
            gate_text = f" [account gate {gate['Status']}: {gate.get('StatusReason', '')}]" if gate.get(
                "Status"
            ) == "FAILED" else ""
            lines.append(
                f"{result.get('Account', '?')}/{result.get('Region', '?')} "
                f"(OU {result.get('OrganizationalUnitId', '-')}): {result.get('Status')}: "
                f"{result.get('StatusReason', 'no reason given')}{gate_text}"
            )
    return lines


@dataclass(frozen=True)
class Waiter:
    """Polling settings; ``sleep`` and ``clock`` are injectable so tests do not wait."""

    timeout_seconds: float = 5400
    poll_seconds: float = 30
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def wait_for_operation(cfn: Any, name: str, operation_id: str, call_as: str, waiter: Waiter) -> str:
    """Poll ``describe_stack_set_operation`` until the operation ends; return SUCCEEDED or raise.

    Raises :class:`DeployError` with the failed instances' status reasons when
    the operation fails or is stopped, and when ``waiter.timeout_seconds``
    pass (the operation itself keeps running in that case).
    """
    deadline = waiter.clock() + waiter.timeout_seconds
    while True:
        operation = cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation_id, CallAs=call_as)[
            "StackSetOperation"
        ]
        status = operation["Status"]
        if status == "SUCCEEDED":
            LOG.info("Operation %s (%s) succeeded", operation_id, operation.get("Action", "?"))
            return status
        if status in FAILED_OPERATION_STATUSES:
            details = failure_details(cfn, name, operation_id, call_as)
            reason = operation.get("StatusReason") or ""
            raise DeployError(
                f"StackSet operation {operation_id} ({operation.get('Action', '?')}) ended {status}"
                + (f": {reason}" if reason else "")
                + ("\n  " + "\n  ".join(details) if details else "")
            )
        if waiter.clock() >= deadline:
            raise DeployError(
                f"Timed out after {waiter.timeout_seconds:.0f}s waiting for StackSet operation {operation_id} "
                f"(still {status}); it keeps running - check the CloudFormation console"
            )
        LOG.info("Operation %s is %s; waiting %ss", operation_id, status, waiter.poll_seconds)
        waiter.sleep(waiter.poll_seconds)


def wait_for_active_operations(cfn: Any, name: str, call_as: str, waiter: Waiter) -> bool:
    """Wait for operations started by someone else (or by a previous attempt) to end.

    Their failure is reported as a warning, not raised: this run re-plans
    from the resulting state and retries what is outdated. Returns whether
    there was anything to wait for.
    """
    operation_ids = active_operation_ids(cfn, name, call_as)
    for operation_id in operation_ids:
        LOG.info("Waiting for operation %s already in progress on %s", operation_id, name)
        try:
            wait_for_operation(cfn, name, operation_id, call_as, waiter)
        except DeployError as err:
            LOG.warning("Earlier operation did not succeed: %s", err)
    return bool(operation_ids)


def _operation_preferences(max_concurrent_percentage: int, failure_tolerance_percentage: int) -> dict[str, Any]:
    return {
        "RegionConcurrencyType": "PARALLEL",
        "MaxConcurrentPercentage": max_concurrent_percentage,
        "FailureTolerancePercentage": failure_tolerance_percentage,
    }


def _stack_set_arguments(desired: DesiredStackSet, call_as: str) -> dict[str, Any]:
    """Arguments shared by create_stack_set and update_stack_set."""
    args: dict[str, Any] = {
        "StackSetName": desired.name,
        "TemplateBody": desired.template_body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(desired.parameters.items())],
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(desired.tags.items())],
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": desired.auto_deployment,
        # Lets CloudFormation queue non-conflicting operations instead of
        # failing with OperationInProgressException.
        "ManagedExecution": {"Active": True},
        "CallAs": call_as,
    }
    if desired.description:
        args["Description"] = desired.description
    if desired.capabilities:
        args["Capabilities"] = list(desired.capabilities)
    return args


def apply_plan(
    cfn: Any,
    plan: Plan,
    desired: DesiredStackSet,
    call_as: str,
    waiter: Waiter,
    preferences: Mapping[str, Any],
) -> list[str]:
    """Run the plan's actions in order, waiting for each operation; return the operation ids."""
    if plan.blockers:
        raise DeployError("Cannot deploy:\n  " + "\n  ".join(plan.blockers))
    operation_ids: list[str] = []
    if plan.create_stack_set:
        cfn.create_stack_set(**_stack_set_arguments(desired, call_as))
        LOG.info("Created StackSet %s", desired.name)
    if plan.update_stack_set:
        # No DeploymentTargets/Regions: the update applies to every instance
        # of this StackSet, which belongs to one project stage only.
        response = cfn.update_stack_set(
            **_stack_set_arguments(desired, call_as), OperationPreferences=dict(preferences)
        )
        operation_ids.append(response["OperationId"])
        wait_for_operation(cfn, desired.name, response["OperationId"], call_as, waiter)
    for region, ou_ids in sorted(plan.create_instances.items()):
        response = cfn.create_stack_instances(
            StackSetName=desired.name,
            DeploymentTargets={"OrganizationalUnitIds": list(ou_ids)},
            Regions=[region],
            OperationPreferences=dict(preferences),
            CallAs=call_as,
        )
        operation_ids.append(response["OperationId"])
        wait_for_operation(cfn, desired.name, response["OperationId"], call_as, waiter)
    return operation_ids


def deploy(
    cfn: Any,
    desired: DesiredStackSet,
    targets: Targets,
    call_as: str,
    waiter: Waiter,
    preferences: Mapping[str, Any],
    dry_run: bool = False,
) -> Plan:
    """Wait for running operations, plan, and (unless ``dry_run``) apply.

    Two races are handled by re-reading the state and planning again once:
    the StackSet being created by a concurrent run (NameAlreadyExistsException)
    and an operation starting between planning and applying
    (OperationInProgressException).
    """
    for attempt in (1, 2):
        current = read_current_state(cfn, desired.name, call_as, targets.regions)
        if current.stack_set is not None and not dry_run:
            if wait_for_active_operations(cfn, desired.name, call_as, waiter):
                current = read_current_state(cfn, desired.name, call_as, targets.regions)
        plan = plan_deployment(desired, targets, current)
        LOG.info("Plan for StackSet %s:\n%s", desired.name, plan.describe())
        if plan.blockers:
            raise DeployError("Cannot deploy:\n  " + "\n  ".join(plan.blockers))
        if dry_run or plan.is_noop:
            return plan
        try:
            apply_plan(cfn, plan, desired, call_as, waiter, preferences)
            return plan
        except ClientError as err:
            if attempt == 2 or _error_code(err) not in ("NameAlreadyExistsException", "OperationInProgressException"):
                raise
            LOG.warning("%s; re-reading the StackSet and planning again", _error_code(err))
    raise AssertionError("unreachable: the second attempt returns or raises")


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def load_parameters_and_tags(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """Read a TemplateConfiguration (``{"Parameters", "Tags"}``) or a StackSet parameter list file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise DeployError(f"Cannot read parameters from {path}: {err}") from err
    if isinstance(data, list):
        return _as_dict(data, "ParameterKey", "ParameterValue"), {}
    if isinstance(data, dict):
        params = {k: str(v) for k, v in (data.get("Parameters") or {}).items()}
        tags = {k: str(v) for k, v in (data.get("Tags") or {}).items()}
        return params, tags
    raise DeployError(f"{path}: expected a TemplateConfiguration object or a parameter list")


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Create/update a SERVICE_MANAGED StackSet and its OU stack instances.")
    parser.add_argument("--stack-set-name", default=os.environ.get("STACK_SET_NAME"),
                        help="[env STACK_SET_NAME]")
    parser.add_argument("--template-file", type=Path,
                        default=Path(os.environ.get("EXPORT_TEMPLATE_NAME", "template-export.yml")),
                        help="template to deploy [env EXPORT_TEMPLATE_NAME, default template-export.yml]")
    parser.add_argument("--template-configuration", type=Path, default=os.environ.get("TEMPLATE_CONFIGURATION"),
                        help="<stage>-config-export.json or <stage>-params-export.json written by build.py "
                        "[env TEMPLATE_CONFIGURATION]")
    parser.add_argument("--organizational-unit-id", action="append", dest="ou_ids", metavar="OU_ID",
                        help="target OU (or root) id, repeatable [env ORGANIZATIONAL_UNIT_IDS, comma separated]")
    parser.add_argument("--deployment-region", action="append", dest="regions", metavar="REGION",
                        help="region for stack instances, repeatable (default: the current region)")
    parser.add_argument("--call-as", choices=("DELEGATED_ADMIN", "SELF"),
                        default=os.environ.get("CALL_AS", "DELEGATED_ADMIN"), help="[env CALL_AS]")
    parser.add_argument("--region", default=None, help="region of the CloudFormation API (default: environment)")
    parser.add_argument("--description", default=None)
    parser.add_argument("--capability", action="append", dest="capabilities", default=[],
                        choices=("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"))
    parser.add_argument("--retain-stacks-on-account-removal", action="store_true")
    parser.add_argument("--max-concurrent-percentage", type=int, default=100)
    parser.add_argument("--failure-tolerance-percentage", type=int, default=0)
    parser.add_argument("--timeout-seconds", type=float, default=float(os.environ.get("DEPLOY_TIMEOUT_SECONDS", 5400)))
    parser.add_argument("--poll-seconds", type=float, default=30)
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.add_argument("--log-level", default="INFO")
    return parser


def desired_from_args(args: argparse.Namespace) -> tuple[DesiredStackSet, Targets]:
    """Validate the command line and turn it into the desired state."""
    problems = []
    name = args.stack_set_name or ""
    if not STACK_SET_NAME_RE.fullmatch(name):
        problems.append(f"--stack-set-name {name!r}: must start with a letter; letters, digits, hyphens; max 128")
    ou_ids = args.ou_ids or [o.strip() for o in os.environ.get("ORGANIZATIONAL_UNIT_IDS", "").split(",") if o.strip()]
    if not ou_ids:
        problems.append("--organizational-unit-id is required (or ORGANIZATIONAL_UNIT_IDS)")
    problems += [f"{ou!r} is not an OU id (ou-xxxx-xxxxxxxx) or root id (r-xxxx)" for ou in ou_ids
                 if not OU_ID_RE.fullmatch(ou)]
    if not args.template_configuration:
        problems.append("--template-configuration is required (or TEMPLATE_CONFIGURATION)")
    if not 1 <= args.max_concurrent_percentage <= 100 or not 0 <= args.failure_tolerance_percentage <= 100:
        problems.append("percentages must be within 1-100 (concurrency) and 0-100 (failure tolerance)")
    if problems:
        raise DeployError("Invalid arguments:\n  " + "\n  ".join(problems))
    try:
        body = args.template_file.read_text(encoding="utf-8")
    except OSError as err:
        raise DeployError(f"Cannot read template {args.template_file}: {err}") from err
    if len(body.encode("utf-8")) > MAX_TEMPLATE_BODY_BYTES:
        raise DeployError(
            f"{args.template_file} is {len(body.encode('utf-8'))} bytes; TemplateBody allows {MAX_TEMPLATE_BODY_BYTES}"
        )
    parameters, tags = load_parameters_and_tags(Path(args.template_configuration))
    stage = parameters.get("StageName", "")
    description = args.description or (
        f"SageMaker endpoint ({stage}) of project {parameters.get('SageMakerProjectName', '?')}"
        f" ({parameters.get('SageMakerProjectId', '?')})"
    )
    desired = DesiredStackSet(
        name=name,
        template_body=body,
        parameters=parameters,
        tags=tags,
        description=description,
        capabilities=tuple(sorted(set(args.capabilities))),
        retain_stacks_on_account_removal=args.retain_stacks_on_account_removal,
    )
    return desired, Targets(tuple(dict.fromkeys(ou_ids)), tuple(dict.fromkeys(args.regions or [])))


def main(argv: Sequence[str] | None = None, *, cfn: Any = None, waiter: Waiter | None = None) -> int:
    """Command line entry point; returns 0 on success or no-op, 1 on failure.

    ``cfn`` and ``waiter`` exist for tests.
    """
    args = build_arg_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        desired, targets = desired_from_args(args)
        if cfn is None:
            import boto3

            cfn = boto3.client("cloudformation", region_name=args.region)
        if not targets.regions:
            targets = Targets(targets.organizational_unit_ids, (cfn.meta.region_name,))
        plan = deploy(
            cfn,
            desired,
            targets,
            args.call_as,
            waiter or Waiter(timeout_seconds=args.timeout_seconds, poll_seconds=args.poll_seconds),
            _operation_preferences(args.max_concurrent_percentage, args.failure_tolerance_percentage),
            dry_run=args.dry_run,
        )
    except DeployError as err:
        LOG.error("%s", err)
        return 1
    except ClientError as err:
        hint = ""
        if _error_code(err) in ("AccessDenied", "AccessDeniedException", "ValidationError") and args.call_as == (
            "DELEGATED_ADMIN"
        ):
            hint = (
                " (with --call-as DELEGATED_ADMIN this account must be registered as a delegated "
                "administrator for StackSets: organizations register-delegated-administrator "
                "--service-principal member.org.stacksets.cloudformation.amazonaws.com)"
            )
        LOG.error("AWS call failed: %s%s", err, hint)
        return 1
    print(plan.describe())
    return 0


if __name__ == "__main__":
    sys.exit(main())
