"""``smcat plan`` and ``smcat publish``: argparse wiring for the publisher.

The main CLI calls :func:`register` with its subparsers; each subcommand sets ``func``, which takes
the parsed arguments and returns the exit code: 0 ok, 1 failure (AWS said no or did not answer, a
share completed with errors now or in an earlier run, org sharing not enabled...), 2 bad input
(dist/manifest, including a build that did not lint clean, or options).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

from .artifacts import normalize_prefix
from .aws import Runtime, describe_exception
from .commands import register
from .manifest import ManifestError, load_catalog
from .model import Options, Plan
from .oupaths import OuPathError
from .planner import PlanError
from .publisher import apply_plan, make_plan
from .report import (
    TerminalProgress,
    failure_json,
    plan_json,
    render_plan,
    render_result,
    result_error,
    result_json,
)
from .s3config import load_s3_config
from .state import StateError

__all__ = ["register", "run_plan", "run_publish", "EXIT_OK", "EXIT_FAILED", "EXIT_BAD_INPUT"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX = re.compile(r"[A-Za-z0-9!_.*'()/-]*")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")


def dist_dir(args: argparse.Namespace) -> Path:
    """--dist, else dist/ under the main CLI's --root (the build's default output), else ./dist."""
    if args.dist is not None:
        return Path(args.dist)
    root = getattr(args, "root", None)
    return Path(root) / "dist" if root is not None else Path("dist")


class OptionsError(Exception):
    """Bad command-line options (or environment): one line per problem, exit 2."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        self.lines = list(problems)
        super().__init__("\n".join(problems))


NO_REGION = ("no region: pass --region, or set AWS_DEFAULT_REGION (the variable boto3 reads) or the region of "
             "the AWS profile")


def _retire_problems(args: argparse.Namespace) -> list[str]:
    retire_after = getattr(args, "retire_after", None)
    if retire_after is not None and retire_after < 0:
        return ["--retire-after must be 0 or more (the newest deprecated versions kept)"]
    if retire_after is None and getattr(args, "retire_shared", False):
        return ["--retire-shared needs --retire-after N"]
    return []


def _options(args: argparse.Namespace, regions: list[str]) -> Options:
    problems = [f"--region {region!r} is not an AWS region name (such as us-east-1)"
                for region in regions if not REGION.fullmatch(region)]
    for region in regions or ["us-east-1"] if args.bucket is not None else []:
        bucket = args.bucket.replace("{region}", region)
        if not BUCKET.fullmatch(bucket) or ".." in bucket:
            problems.append(f"--bucket {bucket!r} is not a valid S3 bucket name")
            break
    prefix = normalize_prefix(args.prefix)
    if not PREFIX.fullmatch(prefix) or ".." in prefix.split("/"):
        problems.append(f"--prefix {args.prefix!r} has characters unsafe in S3 keys")
    if args.keep_versions < 1:
        problems.append("--keep-versions must be at least 1")
    if args.share_timeout <= 0:
        problems.append("--share-timeout must be positive")
    if getattr(args, "max_attempts", None) is not None and args.max_attempts < 1:
        problems.append("--max-attempts must be at least 1")
    if getattr(args, "max_parallel", None) is not None and args.max_parallel < 1:
        problems.append("--max-parallel must be at least 1")
    problems.extend(_retire_problems(args))
    for flag in ("timeout", "max_wait"):
        value = getattr(args, flag, None)
        if value is not None and not value > 0:
            problems.append(f"--{flag.replace('_', '-')} must be positive")
    if problems:
        raise OptionsError(problems)
    return Options(bucket=args.bucket or "", prefix=prefix, kms_key_id=args.kms_key_id or None,
                   keep_versions=args.keep_versions, prune=args.prune, share_timeout=args.share_timeout,
                   retry_shares=bool(getattr(args, "retry_shares", False)),
                   # retiring versions needs every product's versions and every share: a full read
                   refresh=bool(getattr(args, "refresh", False)) or getattr(args, "retire_after", None) is not None,
                   retire_after=getattr(args, "retire_after", None),
                   retire_shared=bool(getattr(args, "retire_shared", False)))


def _configure(runtime: Runtime, args: argparse.Namespace, notify) -> None:
    """The options that tune AWS calls, set on the runtime (a runtime given by a test keeps its own
    values for the options not passed)."""
    for name in ("max_attempts", "timeout", "max_wait", "max_parallel"):
        value = getattr(args, name, None)
        if value is not None:
            setattr(runtime, name, value)
    runtime.notify = notify


def _run(args: argparse.Namespace, *, apply: bool, runtime: Runtime | None = None,
         stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    as_json = getattr(args, "format", "text") == "json"
    runtime = runtime or getattr(args, "runtime", None) or Runtime(profile=args.profile)
    progress = TerminalProgress(stderr)

    def fail(code: int, message: str | list[str], *, plan: Plan | None = None, nothing_changed: bool = True) -> int:
        """Report a failure before anything was applied: each line on stderr and, with --format
        json, a JSON object on stdout."""
        lines = [message] if isinstance(message, str) else list(message)
        for line in lines:
            print(f"error: {line}", file=stderr)
        if nothing_changed:
            print("Nothing was changed.", file=stderr)
        if as_json:
            status = "bad-input" if code == EXIT_BAD_INPUT else "failed"
            print(failure_json(status, "; ".join(lines), plan=plan), file=stdout)
        return code

    bad: list[str] = []
    catalog = None
    try:
        catalog = load_catalog(dist_dir(args), allow_lint_findings=bool(getattr(args, "allow_lint_findings", False)))
    except ManifestError as exc:
        bad.extend(exc.lines)
    regions = list(dict.fromkeys(args.region or []))
    no_region = False
    try:
        profile = runtime.profile
        if profile and profile not in runtime.session.available_profiles:
            raise ProfileNotFound(profile=profile)
        if not regions:
            default = runtime.default_region()
            if not default:
                no_region = True
            else:
                regions = [default]
    except ProfileNotFound as exc:
        bad.append(f"--profile: {exc}")
    s3 = None
    if catalog is not None:
        try:
            s3 = load_s3_config(catalog, regions)
        except ManifestError as exc:
            bad.extend(exc.lines)
    if no_region and (s3 is None or s3.regions_needed()):
        bad.append(NO_REGION)
    if args.bucket is None and (s3 is None or s3.uses_service_catalog):
        names = ", ".join(s3.service_catalog) if s3 is not None and s3.service_catalog else ""
        bad.append("--bucket is required to publish to Service Catalog"
                   + (f" (portfolios {names})" if names else "") + ": the S3 bucket for its templates and seed code")
    try:
        options = _options(args, regions)
    except OptionsError as exc:
        bad.extend(exc.lines)
    if bad or catalog is None:
        return fail(EXIT_BAD_INPUT, bad, nothing_changed=False)
    _configure(runtime, args, progress.info)

    try:
        planned = make_plan(catalog, options, runtime, regions, progress, s3=s3 if s3.uses_s3 else None)
    except OuPathError as exc:  # a share's OU path is wrong for this organization: bad input
        return fail(EXIT_BAD_INPUT, exc.lines)
    except (StateError, PlanError) as exc:
        return fail(EXIT_FAILED, str(exc))
    except NoCredentialsError:
        return fail(EXIT_FAILED, "no AWS credentials found (set AWS_PROFILE, --profile or the AWS_* variables)",
                    nothing_changed=False)
    except (ClientError, BotoCoreError) as exc:
        return fail(EXIT_FAILED, f"while reading the live state: {describe_exception(exc)}")

    if not as_json:
        print(render_plan(planned.plan), file=stdout)
    saved = getattr(args, "plan", None)
    if apply and saved is not None:
        try:
            reviewed = json.loads(Path(saved).read_text())["plan"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return fail(EXIT_BAD_INPUT, f"{saved}: not a plan written by `plan --out` ({exc})")
        differences = plan_differences(reviewed, planned.plan.to_dict())
        if differences:
            return fail(EXIT_FAILED, f"{saved}: the live state or the build changed since this plan was made "
                        f"({differences}); run `plan` again and review it", plan=planned.plan)
    out = getattr(args, "out", None)
    if not apply and out is not None:
        try:
            Path(out).write_text(plan_json(planned.plan) + "\n")
        except OSError as exc:
            return fail(EXIT_BAD_INPUT, f"{out}: cannot be written: {exc.strerror}", nothing_changed=False)
    if planned.preflight:
        # the whole plan was shown; what stops it comes after it, and publish writes nothing
        return fail(EXIT_FAILED, "\n".join(planned.preflight), plan=planned.plan)
    if not apply:
        if as_json:
            print(plan_json(planned.plan), file=stdout)
        if planned.plan.problems:  # shown in the plan; what they are also goes to stderr
            for problem in planned.plan.problems:
                print(f"error: {problem}", file=stderr)
            return EXIT_FAILED
        return EXIT_OK

    result = apply_plan(catalog, options, runtime, planned, progress)
    if as_json:
        print(result_json(planned.plan, result), file=stdout)
        if not result.ok or result.warnings:
            print(f"error: {result_error(result)}", file=stderr)
    else:
        print(render_result(result), file=stdout)
    if not result.ok or result.warnings:
        return EXIT_FAILED
    return EXIT_OK


def plan_differences(reviewed: dict, current: dict) -> str:
    """What differs between a saved plan and the one the live state gives now ('' when nothing):
    the options and each region's actions; notes, counts and the dist path do not count."""

    def essence(plan: dict) -> tuple:
        regions = [(r["region"], r["bucket"], json.dumps(r["actions"], sort_keys=True, default=str))
                   for r in plan.get("regions", [])]
        return json.dumps(plan.get("options"), sort_keys=True, default=str), regions

    old_options, old_regions = essence(reviewed)
    new_options, new_regions = essence(json.loads(json.dumps(current, default=str)))
    if old_options != new_options:
        return "the publish options differ"
    if [r[:2] for r in old_regions] != [r[:2] for r in new_regions]:
        return "the regions or buckets differ"
    changed = [new[0] for old, new in zip(old_regions, new_regions, strict=True) if old[2] != new[2]]
    return f"the actions differ in {', '.join(changed)}" if changed else ""


def run_plan(args: argparse.Namespace, **kwargs) -> int:
    return _run(args, apply=False, **kwargs)


def run_publish(args: argparse.Namespace, **kwargs) -> int:
    return _run(args, apply=True, **kwargs)


def main(argv: list[str] | None = None) -> int:  # standalone use: python -m generator.publish.cli
    parser = argparse.ArgumentParser(prog="smcat")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
