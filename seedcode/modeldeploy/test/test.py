#!/usr/bin/env python3
"""Smoke-test a deployed stage endpoint: is it InService, and does it answer?

Runs in the pipeline's test step (``test/buildspec.yml``) after a stage has
been deployed. For every target account it

1. assumes the tester role in that account (``--role-name`` / ``TEST_ROLE_NAME``, e.g.
   ``sagemaker-<suffix>-tester`` from target-account-bootstrap; unless the endpoint is in this
   account). Never the endpoint's execution role: the pipeline must not hold the role that
   serves production traffic;
2. checks ``describe_endpoint`` reports ``InService`` (waiting a bounded time
   while it is still Creating/Updating), and
3. sends ``test/sample-payload.csv`` with ``sagemaker-runtime invoke_endpoint``
   and expects a non-empty answer.

The endpoint name is computed from the stage's exported parameters
(``<stage>-config-export.json`` or ``<stage>-params-export.json``) exactly
like ``endpoint-config-template.yml`` names it.

Target accounts: ``--account-id`` (repeatable) for the cross-account
CloudFormation deployment, or ``--stack-set-name`` to test every account that
has a stack instance of the stage's StackSet in this region. Without either,
the endpoint is tested in the current account with the current credentials.

Exit codes: 0 all endpoints passed, 1 a check failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

LOG = logging.getLogger("test")
HERE = Path(__file__).resolve().parent
DEFAULT_PAYLOAD = HERE / "sample-payload.csv"
TRANSITIONAL_STATUSES = ("Creating", "Updating", "SystemUpdating", "RollingBack")


class UsageError(Exception):
    """Bad input (missing file, unknown stage...); exit code 2."""


def endpoint_name(parameters: Mapping[str, str]) -> str:
    """The endpoint name the template gives: ``<project-name>-<project-id>-<stage>``.

    Must match ``EndpointName`` in ``endpoint-config-template.yml`` (a unit
    test checks both agree).
    """
    try:
        return f"{parameters['SageMakerProjectName']}-{parameters['SageMakerProjectId']}-{parameters['StageName']}"
    except KeyError as err:
        raise UsageError(f"stage parameters lack {err.args[0]}") from err


def load_stage_parameters(path: Path) -> dict[str, str]:
    """Read build.py's export, either format, into a ``{key: value}`` dict."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"cannot read {path}: {err}") from err
    if isinstance(data, list):
        return {item["ParameterKey"]: item["ParameterValue"] for item in data}
    if isinstance(data, dict) and isinstance(data.get("Parameters"), dict):
        return {k: str(v) for k, v in data["Parameters"].items()}
    raise UsageError(f"{path}: not a TemplateConfiguration or StackSet parameter file")


@dataclass
class EndpointResult:
    """Outcome of testing one endpoint in one account."""

    account: str
    endpoint_name: str
    ok: bool
    status: str | None
    message: str


def evaluate_status(description: Mapping[str, Any]) -> tuple[bool, str]:
    """Decide from a describe_endpoint response whether the endpoint can be invoked."""
    status = description.get("EndpointStatus")
    if status == "InService":
        return True, "InService"
    reason = description.get("FailureReason")
    return False, f"endpoint status is {status}" + (f": {reason}" if reason else "")


def check_endpoint(
    sagemaker: Any,
    runtime: Any,
    name: str,
    payload: bytes,
    content_type: str,
    *,
    account: str = "current",
    wait_seconds: float = 0,
    poll_seconds: float = 30,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> EndpointResult:
    """Check one endpoint: InService (waiting up to ``wait_seconds``) and answers a request."""
    deadline = clock() + wait_seconds
    while True:
        try:
            description = sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as err:
            return EndpointResult(account, name, False, None, f"describe_endpoint failed: {err}")
        status = description.get("EndpointStatus")
        if status not in TRANSITIONAL_STATUSES or clock() >= deadline:
            break
        LOG.info("%s in %s is %s; waiting", name, account, status)
        sleep(poll_seconds)
    ok, message = evaluate_status(description)
    if not ok:
        return EndpointResult(account, name, False, status, message)
    try:
        response = runtime.invoke_endpoint(EndpointName=name, ContentType=content_type, Body=payload)
        body = response["Body"].read()
    except ClientError as err:
        return EndpointResult(
            account, name, False, status,
            f"invoke_endpoint failed: {err} (does test/sample-payload.csv match the model's input?)",
        )
    if not body:
        return EndpointResult(account, name, False, status, "invoke_endpoint returned an empty body")
    preview = body[:200].decode("utf-8", errors="replace").strip()
    return EndpointResult(account, name, True, status, f"InService; prediction: {preview}")


def stack_set_accounts(cfn: Any, stack_set_name: str, call_as: str, region: str) -> list[str]:
    """Accounts that have a stack instance of ``stack_set_name`` in ``region``."""
    accounts: list[str] = []
    paginator = cfn.get_paginator("list_stack_instances")
    for page in paginator.paginate(StackSetName=stack_set_name, CallAs=call_as, StackInstanceRegion=region):
        accounts += [s["Account"] for s in page.get("Summaries", []) if s.get("Account") not in accounts]
    return accounts


def assumed_session(base_session: Any, role_arn: str, session_name: str = "model-deploy-test") -> Any:
    """A boto3 session with the credentials of ``role_arn`` (in the target account)."""
    import boto3

    credentials = base_session.client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=base_session.region_name,
    )


def _partition(session: Any) -> str:
    """ARN partition of the session's region (aws, aws-cn, aws-us-gov...)."""
    try:
        return session.get_partition_for_region(session.region_name)
    except Exception:  # noqa: BLE001 - unknown region or a test double: assume the commercial partition
        return "aws"


def build_arg_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Test a deployed stage endpoint.")
    parser.add_argument("--import-config", type=Path, default=os.environ.get("STAGE_CONFIG"),
                        help="<stage>-config-export.json or <stage>-params-export.json [env STAGE_CONFIG]")
    parser.add_argument("--endpoint-name", help="override the endpoint name computed from the config")
    parser.add_argument("--account-id", action="append", dest="account_ids", default=None,
                        help="target account, repeatable [env TARGET_ACCOUNT_IDS, comma separated]")
    parser.add_argument("--stack-set-name", default=os.environ.get("STACK_SET_NAME"),
                        help="test every account with a stack instance of this StackSet [env STACK_SET_NAME]")
    parser.add_argument("--call-as", choices=("DELEGATED_ADMIN", "SELF"), default=os.environ.get("CALL_AS", "SELF"))
    parser.add_argument("--role-name", default=os.environ.get("TEST_ROLE_NAME"),
                        help="role to assume in each target account: one that may describe and invoke the endpoint,"
                        " such as target-account-bootstrap's sagemaker-<suffix>-tester [env TEST_ROLE_NAME]")
    parser.add_argument("--payload-file", type=Path, default=DEFAULT_PAYLOAD)
    parser.add_argument("--content-type", default="text/csv")
    parser.add_argument("--wait-seconds", type=float, default=600,
                        help="how long to wait for an endpoint that is still Creating/Updating")
    parser.add_argument("--export-test-results", type=Path, default=None, help="write results as JSON here")
    parser.add_argument("--region", default=None)
    parser.add_argument("--log-level", default="INFO")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    session: Any = None,
    session_for_role: Callable[[Any, str], Any] = assumed_session,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Command line entry point; returns the exit code. Keyword arguments exist for tests."""
    args = build_arg_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        if not args.import_config and not args.endpoint_name:
            raise UsageError("--import-config (or --endpoint-name) is required")
        parameters = load_stage_parameters(Path(args.import_config)) if args.import_config else {}
        name = args.endpoint_name or endpoint_name(parameters)
        try:
            payload = args.payload_file.read_bytes()
        except OSError as err:
            raise UsageError(f"cannot read payload {args.payload_file}: {err}") from err
        if session is None:
            import boto3

            session = boto3.Session(region_name=args.region)

        account_ids = args.account_ids or [
            a.strip() for a in os.environ.get("TARGET_ACCOUNT_IDS", "").split(",") if a.strip()
        ]
        if args.stack_set_name and not account_ids:
            account_ids = stack_set_accounts(
                session.client("cloudformation"), args.stack_set_name, args.call_as, session.region_name
            )
            if not account_ids:
                raise UsageError(f"StackSet {args.stack_set_name} has no stack instances in {session.region_name}")
        # Not the stage's ModelExecutionRoleName: the endpoints' execution role is for SageMaker only.
        role_name = args.role_name
        if account_ids and not role_name:
            raise UsageError(
                "--role-name (or TEST_ROLE_NAME) is needed to reach the target accounts: the tester role there "
                "(target-account-bootstrap: sagemaker-<suffix>-tester)"
            )
    except UsageError as err:
        LOG.error("%s", err)
        return 2

    results: list[EndpointResult] = []
    targets: list[tuple[str, Any]] = []
    if not account_ids:
        targets.append(("current", session))
    partition = _partition(session)
    for account in account_ids:
        role_arn = f"arn:{partition}:iam::{account}:role/{role_name}"
        try:
            targets.append((account, session_for_role(session, role_arn)))
        except ClientError as err:
            results.append(EndpointResult(account, name, False, None, f"cannot assume {role_arn}: {err}"))
    for account, target_session in targets:
        results.append(
            check_endpoint(
                target_session.client("sagemaker"),
                target_session.client("sagemaker-runtime"),
                name,
                payload,
                args.content_type,
                account=account,
                wait_seconds=args.wait_seconds,
                sleep=sleep,
            )
        )

    for result in results:
        (LOG.info if result.ok else LOG.error)("%s %s in %s: %s", "PASS" if result.ok else "FAIL",
                                               result.endpoint_name, result.account, result.message)
    if args.export_test_results:
        args.export_test_results.write_text(
            json.dumps({"endpoint_name": name, "results": [asdict(r) for r in results]}, indent=2) + "\n",
            encoding="utf-8",
        )
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
