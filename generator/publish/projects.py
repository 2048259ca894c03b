"""``smcat projects`` (report), ``smcat projects plan-upgrade`` and ``smcat projects upgrade``.

* ``projects``: per product and version, the SageMaker projects and provisioned products of one account and
  region that use it (name, kind, status, last update), as a table or ``--format json``.  Read-only.
* ``projects plan-upgrade``: which of the chosen projects (``--project NAME``, repeatable, and/or
  ``--all-deprecated``) move to their product's current version (the build's content, as publish made it),
  and how; which are skipped and why.  Read-only: the plan is plain data (``--format json``); ``--out FILE``
  also saves it (deterministic JSON) for ``upgrade --plan``.
* ``projects upgrade``: the same plan, applied (``--dry-run``: printed only), at most ``--max-parallel``
  upgrades at once, each polled to completion (``--upgrade-timeout``); at the first failure no further
  upgrade starts, the running ones are waited for, and the failure is reported with its status message and
  the upgrades not attempted (exit 1).  With ``--plan FILE`` (a plan saved by ``plan-upgrade --out``) it applies
  exactly that plan: the live state is read again first, and when a chosen project's version, the target
  version or anything else the saved steps decided no longer matches, it refuses (exit 1, one line per
  difference) and changes nothing, as ``publish --plan`` does.

Exit codes: 0 ok, 1 AWS said no, did not answer, or an upgrade failed, 2 bad input.  Clients, retries,
timeouts and profiles follow ``plan``/``publish``.  Registering the command imports neither boto3 nor the
publisher; running it does.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import TextIO

from .commands import add_client_options

__all__ = ["register", "run_report", "run_plan_upgrade", "run_upgrade", "DEFAULT_UPGRADE_PARALLEL", "load_saved_plan",
           "saved_plan_json", "saved_plan_differences"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
DEFAULT_UPGRADE_PARALLEL = 2
DEFAULT_UPGRADE_TIMEOUT = 3600.0
#: a SageMaker project name (botocore ProjectEntityName) or a provisioned product name (ProvisionedProductName)
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,127}")


def _common(parser: argparse.ArgumentParser, *, nested: bool) -> None:
    """Options of every projects command.  On the plan-upgrade/upgrade parsers they default to "not given"
    (SUPPRESS), so that `projects --region x upgrade` keeps the value given before the action."""
    unset = argparse.SUPPRESS if nested else None
    parser.add_argument("--region", default=unset, help="the region (default: from AWS config/env)")
    parser.add_argument("--profile", default=unset, help="AWS named profile")
    parser.add_argument("--format", choices=("text", "json"), default=argparse.SUPPRESS if nested else "text",
                        help="output format")
    add_client_options(parser, unset)
    if nested:
        parser.add_argument("--root", type=Path, default=argparse.SUPPRESS, help="catalog root (see smcat --help)")


def _upgrade_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--project", action="append", default=None, metavar="NAME",
                        help="a SageMaker project or provisioned product to upgrade; repeat for several")
    parser.add_argument("--all-deprecated", action="store_true",
                        help="every project and provisioned product on a DEPRECATED version")
    parser.add_argument("--dist", type=Path, default=None,
                        help="build output whose content is current (default: dist, under the catalog --root)")
    parser.add_argument("--bucket", default=None,
                        help="the artifact bucket given to publish ('{region}' replaced): only the version "
                        "published there counts as current (needed when the content is published at several)")
    parser.add_argument("--prefix", default="smcat", help="the S3 key prefix given to publish (default: smcat)")


def register(subparsers) -> None:
    projects = subparsers.add_parser(
        "projects",
        help="the SageMaker projects and provisioned products using each product version; plan-upgrade, upgrade",
        description="Without an action: per product and version, the SageMaker projects and provisioned "
        "products of one account and region that use it (read-only).",
    )
    _common(projects, nested=False)
    projects.set_defaults(func=run_report)
    actions = projects.add_subparsers(dest="projects_command", metavar="ACTION")
    plan = actions.add_parser("plan-upgrade", help="show which projects `upgrade` would move to the current version",
                              description="Read the projects and print the upgrade plan; changes nothing.")
    _common(plan, nested=True)
    _upgrade_options(plan)
    plan.add_argument("--out", type=Path, default=None, metavar="FILE",
                      help="also save the plan as JSON, for `projects upgrade --plan FILE`")
    plan.set_defaults(func=run_plan_upgrade)
    upgrade = actions.add_parser("upgrade", help="move projects to their product's current version",
                                 description="Make the upgrade plan and apply it, a bounded number at once.")
    _common(upgrade, nested=True)
    _upgrade_options(upgrade)
    upgrade.add_argument("--plan", type=Path, default=None, metavar="FILE",
                         help="apply exactly this plan (saved by `plan-upgrade --out`); refused when the live "
                         "state no longer matches it")
    upgrade.add_argument("--dry-run", action="store_true", help="print the plan; change nothing")
    upgrade.add_argument("--max-parallel", type=int, default=DEFAULT_UPGRADE_PARALLEL, metavar="N",
                         help=f"upgrades running at once (default: {DEFAULT_UPGRADE_PARALLEL})")
    upgrade.add_argument("--upgrade-timeout", type=float, default=DEFAULT_UPGRADE_TIMEOUT, metavar="SECONDS",
                         help=f"seconds to wait for each upgrade to complete (default: {DEFAULT_UPGRADE_TIMEOUT:.0f})")
    upgrade.set_defaults(func=run_upgrade)


def run_report(args: argparse.Namespace, **kwargs) -> int:
    return _Command(args, **kwargs).report()


def run_plan_upgrade(args: argparse.Namespace, **kwargs) -> int:
    return _Command(args, **kwargs).upgrade(apply=False)


def run_upgrade(args: argparse.Namespace, **kwargs) -> int:
    return _Command(args, **kwargs).upgrade(apply=not getattr(args, "dry_run", False))


class _Command:
    def __init__(self, args: argparse.Namespace, *, runtime=None, stdout: TextIO | None = None,
                 stderr: TextIO | None = None):
        from .aws import Runtime
        from .report import TerminalProgress

        self.args = args
        self.stdout, self.stderr = stdout or sys.stdout, stderr or sys.stderr
        self.as_json = getattr(args, "format", "text") == "json"
        self.runtime = runtime or getattr(args, "runtime", None) or Runtime(profile=getattr(args, "profile", None))
        self.progress = TerminalProgress(self.stderr)

    # ------------------------------------------------------------------------------------- shared steps

    def fail(self, code: int, lines: list[str], **extra) -> int:
        for line in lines:
            print(f"error: {line}", file=self.stderr)
        if self.as_json:
            status = "bad-input" if code == EXIT_BAD_INPUT else "failed"
            print(json.dumps({"status": status, "errors": lines, **extra}, indent=2, default=str), file=self.stdout)
        return code

    def _region(self, bad: list[str]) -> str | None:
        from botocore.exceptions import ProfileNotFound

        from .cli import NO_REGION, REGION

        region = getattr(self.args, "region", None)
        if region is not None and not REGION.fullmatch(region):
            bad.append(f"--region {region!r} is not an AWS region name (such as us-east-1)")
        for flag in ("timeout", "max_wait", "upgrade_timeout"):
            value = getattr(self.args, flag, None)
            if value is not None and not value > 0:
                bad.append(f"--{flag.replace('_', '-')} must be positive")
        for flag in ("max_attempts", "max_parallel"):
            value = getattr(self.args, flag, None)
            if value is not None and value < 1:
                bad.append(f"--{flag.replace('_', '-')} must be at least 1")
        try:
            if self.runtime.profile and self.runtime.profile not in self.runtime.session.available_profiles:
                raise ProfileNotFound(profile=self.runtime.profile)
            region = region or self.runtime.default_region()
        except ProfileNotFound as exc:
            bad.append(f"--profile: {exc}")
            return None
        if not region:
            bad.append(NO_REGION)
        return region

    def _read(self, region: str):
        """(state, None) or (None, exit code) after reporting the failure."""
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

        from .aws import describe_exception
        from .cli import _configure
        from .projectstate import read_projects

        _configure(self.runtime, self.args, self.progress.info)
        self.sc = self.runtime.client("servicecatalog", region)
        self.sagemaker = self.runtime.client("sagemaker", region)
        try:
            self.progress.info(f"reading projects and provisioned products in {region} ...")
            return read_projects(self.sc, self.sagemaker, lambda r: self.runtime.client("s3", r), region), None
        except NoCredentialsError:
            return None, self.fail(EXIT_FAILED, ["no AWS credentials found (set AWS_PROFILE, --profile or the AWS_* "
                                                 "variables)"])
        except (ClientError, BotoCoreError) as exc:
            return None, self.fail(EXIT_FAILED, [f"while reading the projects: {describe_exception(exc)}"])

    # ------------------------------------------------------------------------------------- report

    def report(self) -> int:
        bad: list[str] = []
        region = self._region(bad)
        if bad:
            return self.fail(EXIT_BAD_INPUT, bad)
        state, code = self._read(region)
        if state is None:
            return code
        from .projectplan import report_rows

        rows = report_rows(state)
        if self.as_json:
            print(json.dumps(_report_json(region, rows), indent=2), file=self.stdout)
        else:
            print(render_report(region, rows), file=self.stdout)
        return EXIT_OK

    # ------------------------------------------------------------------------------------- upgrades

    def _load_build(self, bad: list[str]):
        from .cli import BUCKET, dist_dir
        from .manifest import ManifestError, load_catalog

        names = list(dict.fromkeys(self.args.project or []))
        bad.extend(f"--project {n!r} is not a project or provisioned product name (letters, digits, '.', '_', "
                   f"'-'; at most 128)" for n in names if not NAME.fullmatch(n))
        if getattr(self.args, "plan", None) is not None:
            if names or self.args.all_deprecated:
                bad.append("--plan applies the saved plan's projects: give no --project or --all-deprecated with it")
        elif not names and not self.args.all_deprecated:
            bad.append("say which projects to upgrade: --project NAME (repeatable) and/or --all-deprecated")
        if self.args.bucket is not None:
            bucket = self.args.bucket.replace("{region}", "us-east-1")
            if not BUCKET.fullmatch(bucket) or ".." in bucket:
                bad.append(f"--bucket {self.args.bucket!r} is not a valid S3 bucket name")
        try:
            # the versions are published already (publish checked the lint); only their content is compared
            return load_catalog(dist_dir(self.args), allow_lint_findings=True), names
        except ManifestError as exc:
            bad.extend(exc.lines)
            return None, names

    def _location(self, region: str) -> str | None:
        """The artifact location publish used with --bucket/--prefix (HeadBucket tells the bucket's region)."""
        if self.args.bucket is None:
            return None
        from .planner import artifact_location
        from .state import bucket_region_of

        bucket = self.args.bucket.replace("{region}", region)
        answer = self.runtime.client("s3", region).head_bucket(Bucket=bucket)
        return artifact_location(bucket, self.args.prefix, bucket_region_of(answer) or region)

    def upgrade(self, *, apply: bool) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        from .aws import describe_exception
        from .projectplan import SelectionError, parameter_reads, plan_upgrades, select
        from .projectstate import read_version_parameters

        bad: list[str] = []
        region = self._region(bad)
        catalog, names = self._load_build(bad)
        saved_path, saved = getattr(self.args, "plan", None), None
        if saved_path is not None:
            try:
                saved = load_saved_plan(saved_path)
            except SavedPlanError as exc:
                bad.append(str(exc))
        if saved is not None and region is not None and saved["plan"].region != region:
            bad.append(f"{saved_path}: the plan is for {saved['plan'].region}, not {region}")
        if bad or catalog is None:
            return self.fail(EXIT_BAD_INPUT, bad)
        state, code = self._read(region)
        if state is None:
            return code
        if saved is not None:
            names = [step.name for step in saved["plan"].steps]
        try:
            chosen = select(state, names, self.args.all_deprecated)
        except SelectionError as exc:
            if saved is None:
                return self.fail(EXIT_BAD_INPUT, exc.lines)
            return self.fail(EXIT_FAILED, [f"{saved_path}: {line.removeprefix('--project ')}; the live state changed "
                                           f"since this plan was made: run `plan-upgrade` again and review it"
                                           for line in exc.lines])
        try:
            old = read_version_parameters(self.sc, parameter_reads(chosen))
            location = self._location(region)
        except (ClientError, BotoCoreError) as exc:
            return self.fail(EXIT_FAILED, [f"while reading the live state: {describe_exception(exc)}"])
        plan = plan_upgrades(state, catalog, chosen, _template_parameters(catalog), old, location)
        if saved is not None:
            differences = saved_plan_differences(saved, plan, self._options())
            if differences:
                return self.fail(EXIT_FAILED, [f"{saved_path}: {d}; the live state changed since this plan was made: "
                                               f"run `plan-upgrade` again and review it" for d in differences])
            plan = saved["plan"]
        out = getattr(self.args, "out", None)
        if out is not None:
            try:
                Path(out).write_text(saved_plan_json(plan, self._options()))
            except OSError as exc:
                return self.fail(EXIT_BAD_INPUT, [f"{out}: cannot be written: {exc.strerror}"])
        if not self.as_json:
            print(render_upgrade_plan(plan), file=self.stdout)
        if not apply:
            if self.as_json:
                print(json.dumps({"status": "planned", "dry_run": bool(getattr(self.args, "dry_run", False)),
                                  "plan": plan.to_dict()}, indent=2), file=self.stdout)
            elif getattr(self.args, "dry_run", False):
                print("Dry run: nothing was changed.", file=self.stdout)
            return EXIT_OK
        return self._apply(plan)

    def _options(self) -> dict:
        """What decides the target versions besides the build and the live state."""
        return {"bucket": self.args.bucket, "prefix": self.args.prefix}

    def _apply(self, plan) -> int:
        from .projectapply import apply_upgrades

        result = apply_upgrades(plan, self.sc, self.sagemaker, max_parallel=self.args.max_parallel,
                                timeout=self.args.upgrade_timeout, sleep=self.runtime.sleep, clock=self.runtime.clock,
                                info=self.progress.info)
        if self.as_json:
            print(json.dumps({"status": "ok" if result.ok else "failed", "plan": plan.to_dict(),
                              "result": result.to_dict()}, indent=2), file=self.stdout)
        else:
            print(render_upgrade_result(result), file=self.stdout)
        if result.ok:
            return EXIT_OK
        for outcome in result.failed:
            print(f"error: upgrade of {outcome.step.name} failed: {outcome.message}", file=self.stderr)
        return EXIT_FAILED


# ----------------------------------------------------------------------------------------- saved plans

SAVED_KIND = "smcat projects upgrade plan"


class SavedPlanError(Exception):
    pass


def saved_plan_json(plan, options: dict) -> str:
    """The file `plan-upgrade --out` writes: the same plan gives the same bytes."""
    return json.dumps({"kind": SAVED_KIND, "options": options, "plan": plan.to_dict()}, indent=2,
                      sort_keys=True) + "\n"


def load_saved_plan(path: Path) -> dict:
    """{"options": ..., "plan": UpgradePlan} from a file `plan-upgrade --out` wrote; SavedPlanError (one line)
    when it is missing, not JSON or not of that shape."""
    from dataclasses import fields

    from .projectplan import UpgradePlan, UpgradeStep

    def bad(why: str) -> SavedPlanError:
        return SavedPlanError(f"{path}: not an upgrade plan written by `projects plan-upgrade --out` ({why})")

    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise SavedPlanError(f"{path}: cannot be read: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("kind") != SAVED_KIND:
        raise bad(f"no \"kind\": \"{SAVED_KIND}\"")
    options, plan = data.get("options"), data.get("plan")
    if not (isinstance(options, dict) and set(options) == {"bucket", "prefix"}
            and all(v is None or isinstance(v, str) for v in options.values())):
        raise bad("\"options\" is not {\"bucket\", \"prefix\"}")
    if not (isinstance(plan, dict) and isinstance(plan.get("region"), str) and isinstance(plan.get("steps"), list)
            and isinstance(plan.get("skipped", []), list) and isinstance(plan.get("notes", []), list)):
        raise bad("\"plan\" has no region and steps")
    names = {f.name for f in fields(UpgradeStep)}
    steps = []
    for n, step in enumerate(plan["steps"]):
        if not (isinstance(step, dict) and set(step) == names and isinstance(step["parameters"], list)
                and all(isinstance(p, dict) for p in step["parameters"])
                and all(isinstance(v, str) for k, v in step.items() if k != "parameters")):
            raise bad(f"steps[{n}] is not an upgrade step")
        steps.append(UpgradeStep(**step))
    return {"options": options, "plan": UpgradePlan(region=plan["region"], steps=steps,
                                                    skipped=list(plan.get("skipped", [])),
                                                    notes=list(plan.get("notes", [])))}


def saved_plan_differences(saved: dict, fresh, options: dict) -> list[str]:
    """One line per way the plan made now (for the saved plan's projects) differs from the saved one; the
    record each step waits after is bookkeeping, taken from the live state."""
    lines = [f"--{k} is {options[k]!r}, the plan was made with {saved['options'][k]!r}"
             for k in ("bucket", "prefix") if options[k] != saved["options"][k]]
    now = {s.name: s for s in fresh.steps}
    skipped = {s["name"]: s["reason"] for s in fresh.skipped}
    for step in saved["plan"].steps:
        new = now.get(step.name)
        if new is None:
            lines.append(f"{step.name} would now be skipped: {skipped.get(step.name, 'not chosen')}")
            continue
        if (new.from_version_id, new.provisioned_product_id) != (step.from_version_id, step.provisioned_product_id):
            lines.append(f"{step.name} is now on {step.product} {new.from_version}, the plan upgrades it from "
                         f"{step.from_version}")
        if new.to_version_id != step.to_version_id:
            lines.append(f"the current version of {step.product} is now {new.to_version}, the plan upgrades "
                         f"{step.name} to {step.to_version}")
        same = {"last_record_id", "from_version", "from_version_id", "to_version", "to_version_id",
                "provisioned_product_id"}
        if {k: v for k, v in new.to_dict().items() if k not in same} != {
                k: v for k, v in step.to_dict().items() if k not in same}:
            lines.append(f"{step.name}: the upgrade call or its parameters differ from the plan's")
        step.last_record_id = new.last_record_id
    return lines


def _template_parameters(catalog) -> dict[str, list[str]]:
    """product key -> the parameters its built template declares (the current version's)."""
    return {key: sorted(json.loads(catalog.read_bytes(p.template)).get("Parameters") or {})
            for key, p in catalog.products.items()}


# ----------------------------------------------------------------------------------------- rendering


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    return ["  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]]


def render_report(region: str, rows) -> str:
    out = [f"Projects and provisioned products in {region}, by product and version:"]
    if not rows:
        return "\n".join([*out, "  none"])
    out += _table(("PRODUCT", "VERSION", "GUIDANCE", "KIND", "NAME", "STATUS", "LAST UPDATE"),
                  [(r.product, r.version, r.guidance or "-", r.kind, r.name, r.status, r.last_update) for r in rows])
    deprecated = sum(r.guidance == "DEPRECATED" for r in rows)
    other = sum(not r.managed for r in rows)
    out.append(f"Summary: {len(rows)} in use, {deprecated} on a deprecated version"
               + (f", {other} of products smcat does not publish" if other else "") + ".")
    return "\n".join(out)


def _report_json(region: str, rows) -> dict:
    products: dict[str, dict] = {}
    for row in rows:
        product = products.setdefault(row.product, {"product": row.product, "product_id": row.product_id,
                                                    "managed": row.managed, "versions": {}})
        version = product["versions"].setdefault(row.version, {"version": row.version, "version_id": row.version_id,
                                                               "guidance": row.guidance, "projects": []})
        version["projects"].append({"name": row.name, "kind": row.kind, "status": row.status,
                                    "last_update": row.last_update})
    return {"status": "ok", "region": region,
            "products": [{**p, "versions": list(p["versions"].values())} for p in products.values()]}


def render_upgrade_plan(plan) -> str:
    out = [f"Upgrade plan for {plan.region}:"]
    for step in plan.steps:
        out.append(f"  ~ upgrade {step.name} ({step.kind}): {step.product} {step.from_version} -> {step.to_version} "
                   f"({step.call})")
    for skipped in plan.skipped:
        out.append(f"  = skip    {skipped['name']}: {skipped['reason']}")
    if not plan.steps and not plan.skipped:
        out.append("  nothing chosen")
    out += [f"  note: {note}" for note in plan.notes]
    out.append(f"Summary: {len(plan.steps)} to upgrade, {len(plan.skipped)} skipped.")
    return "\n".join(out)


def render_upgrade_result(result) -> str:
    out = [f"Upgraded: {', '.join(o.step.name for o in result.succeeded) or 'none'}"]
    for outcome in result.failed:
        out.append(f"FAILED: {outcome.step.name}: {outcome.message}")
    if result.failed or result.not_attempted:
        out.append(f"Not attempted: {', '.join(s.name for s in result.not_attempted) or 'none'}")
        out.append("Fix the cause, then run `projects upgrade` again: it re-reads the projects and skips the "
                   "upgraded ones.")
    return "\n".join(out)
