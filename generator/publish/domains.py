"""``smcat domains plan`` and ``smcat domains tag``: the SageMaker domains of an account, tagged with
the location of the S3 project templates.

Studio shows a domain's users the templates under ``s3://bucket/prefix/`` only when the domain has
the tag ``sagemaker:projectS3TemplatesLocation`` with that value (one value per domain: tag keys are
unique per resource). ``plan`` lists the domains of each region (ListDomains), reads their tags
(ListTags) and says per domain: create (no tag), update (another value) or no-op; ``tag`` makes the
same plan and applies it with AddTags, one call per domain that needs it, so a second run writes
nothing. The decision is the admin product's (generator/lambdas/tag_domains.py), so the command and
the s3-templates-domains stacks agree.

Clients, retries, timeouts, profiles and regions follow ``plan``/``publish`` (generator/publish/aws.py).
Exit codes: 0 ok, 1 AWS said no or did not answer (a ``tag`` that stopped lists what it did), 2 bad
input (the location, a region, a domain id, the options), before any AWS write.

Registering the command imports neither boto3 nor the publisher; running it does.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TextIO

from .commands import add_client_options

__all__ = ["register", "run_plan", "run_tag", "parse_location", "DomainAction"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# S3 bucket naming rules (S3 user guide, "General purpose bucket naming rules").
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
IP_ADDRESS = re.compile(r"\d+\.\d+\.\d+\.\d+")
RESERVED = (("xn--", "sthree-", "amzn-s3-demo-"), ("-s3alias", "--ol-s3", "--x-s3", "--table-s3"))
# Characters both S3 keys and SageMaker tag values ([\p{L}\p{Z}\p{N}_.:/=+\-@]*) take, per prefix segment.
SEGMENT = re.compile(r"[A-Za-z0-9_.:=+@-]+")
DOMAIN_ID = re.compile(r"d-(-*[a-z0-9]){1,61}")  # botocore DomainId
TAG_VALUE_MAX = 256
SYMBOLS = {"create": "+", "update": "~", "no-op": "="}


def parse_location(text: str) -> tuple[str | None, list[str]]:
    """(the tag value: s3://bucket/prefix/ ending in one "/", problems): one line per problem."""
    label = f"--location {text!r}"
    if not text.startswith("s3://"):
        return None, [f"{label}: not an S3 location; write s3://bucket/prefix/"]
    bucket, _, prefix = text[len("s3://"):].partition("/")
    problems = []
    starts, ends = RESERVED
    if (not BUCKET.fullmatch(bucket) or ".." in bucket or IP_ADDRESS.fullmatch(bucket)
            or bucket.startswith(starts) or bucket.endswith(ends)):
        problems.append(f"{label}: {bucket!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, "
                        "'.' and '-', starting and ending with a letter or digit)")
    segments = prefix.rstrip("/").split("/") if prefix.rstrip("/") else []
    if any(segment == "" for segment in segments):
        problems.append(f"{label}: the prefix has an empty segment ('//')")
    elif any(segment in (".", "..") for segment in segments):
        problems.append(f"{label}: the prefix has a '.' or '..' segment")
    bad = sorted({c for segment in segments for c in segment if not SEGMENT.fullmatch(c)})
    if bad:
        problems.append(f"{label}: the prefix has characters a SageMaker tag value or a safe S3 key cannot hold "
                        f"({' '.join(repr(c) for c in bad)}); use letters, digits and _ . : = + @ -")
    value = f"s3://{bucket}/" + "".join(f"{segment}/" for segment in segments)
    if len(value) > TAG_VALUE_MAX:
        problems.append(f"{label}: {len(value)} characters; a SageMaker tag value holds at most {TAG_VALUE_MAX}")
    return (None, problems) if problems else (value, [])


@dataclass(frozen=True)
class DomainAction:
    region: str
    domain_id: str
    name: str
    arn: str
    kind: str  # create | update | no-op
    current: tuple[str, ...]  # the tag's values now (none, or one on AWS)

    def line(self, location: str) -> str:
        if self.kind == "create":
            what = f"tag {location}"
        elif self.kind == "update":
            what = f"{', '.join(self.current)} -> {location}"
        else:
            what = "already tagged"
        return f"  {SYMBOLS[self.kind]} {self.kind:<6} {self.domain_id} ({self.name})  {what}"


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--location", required=True, metavar="s3://BUCKET/PREFIX/",
                        help="where the S3 templates are; the tag value (a trailing '/' is added)")
    parser.add_argument("--region", action="append", default=None,
                        help="region whose domains to tag; repeat for several (default: from AWS config/env)")
    parser.add_argument("--domain-id", action="append", default=None, metavar="d-...",
                        help="only this domain; repeat for several (default: every domain of the regions)")
    parser.add_argument("--profile", default=None, help="AWS named profile")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    add_client_options(parser)
    parser.add_argument("--root", type=Path, default=argparse.SUPPRESS, help="catalog root (unused here)")


def register(subparsers) -> None:
    domains = subparsers.add_parser(
        "domains",
        help="tag the account's SageMaker domains with the S3 templates' location (plan, tag)",
        description="Studio lists S3 project templates only in domains tagged "
        "sagemaker:projectS3TemplatesLocation=s3://bucket/prefix/. `plan` shows what `tag` would change.",
    )
    actions = domains.add_subparsers(dest="domains_command", metavar="ACTION", required=True)
    plan = actions.add_parser("plan", help="show which domains `tag` would tag (read-only)",
                              description="List the domains and say per domain: create, update or no-op.")
    _add_options(plan)
    plan.set_defaults(func=run_plan)
    tag = actions.add_parser("tag", help="tag the domains (exactly what `plan` shows)",
                             description="Make the plan and apply it: AddTags on each domain to create or update.")
    _add_options(tag)
    tag.set_defaults(func=run_tag)


def run_plan(args: argparse.Namespace, **kwargs) -> int:
    return _run(args, apply=False, **kwargs)


def run_tag(args: argparse.Namespace, **kwargs) -> int:
    return _run(args, apply=True, **kwargs)


def _run(args: argparse.Namespace, *, apply: bool, runtime=None, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, ProfileNotFound

    from .aws import Runtime, describe_exception
    from .cli import NO_REGION, REGION, _configure
    from .report import TerminalProgress

    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    as_json = args.format == "json"
    runtime = runtime or Runtime(profile=args.profile)

    def fail(code: int, lines: list[str], **extra) -> int:
        for line in lines:
            print(f"error: {line}", file=stderr)
        if as_json:
            print(json.dumps({"status": "bad-input" if code == EXIT_BAD_INPUT else "failed", "errors": lines,
                              **extra}, indent=2), file=stdout)
        return code

    location, bad = parse_location(args.location)
    regions = list(dict.fromkeys(args.region or []))
    bad += [f"--region {r!r} is not an AWS region name (such as us-east-1)" for r in regions if not REGION.fullmatch(r)]
    wanted = list(dict.fromkeys(args.domain_id or []))
    bad += [f"--domain-id {d!r} is not a SageMaker domain id (d- and 1-61 lowercase letters or digits)"
            for d in wanted if not DOMAIN_ID.fullmatch(d)]
    if args.max_attempts is not None and args.max_attempts < 1:
        bad.append("--max-attempts must be at least 1")
    bad += [f"--{flag.replace('_', '-')} must be positive" for flag in ("timeout", "max_wait")
            if getattr(args, flag) is not None and not getattr(args, flag) > 0]
    try:
        if runtime.profile and runtime.profile not in runtime.session.available_profiles:
            raise ProfileNotFound(profile=runtime.profile)
        if not regions:
            default = runtime.default_region()
            if default:
                regions = [default]
            else:
                bad.append(NO_REGION)
    except ProfileNotFound as exc:
        bad.append(f"--profile: {exc}")
    if bad:
        return fail(EXIT_BAD_INPUT, bad)
    _configure(runtime, args, TerminalProgress(stderr).info)
    clients: dict[str, object] = {}

    def sagemaker(region: str):
        if region not in clients:
            clients[region] = runtime.client("sagemaker", region)
        return clients[region]

    try:
        actions = _plan(sagemaker, regions, location, wanted)
    except NoCredentialsError:
        return fail(EXIT_FAILED, ["no AWS credentials found (set AWS_PROFILE, --profile or the AWS_* variables)"])
    except (ClientError, BotoCoreError) as exc:
        return fail(EXIT_FAILED, [f"while reading the domains: {describe_exception(exc)}"])
    found = {a.domain_id for a in actions}
    missing = [d for d in wanted if d not in found]
    if missing:
        return fail(EXIT_BAD_INPUT, [f"--domain-id {d}: no such domain in {', '.join(regions)}" for d in missing])

    if not as_json:
        print(_render(actions, regions, location), file=stdout)
    if not apply:
        if as_json:
            print(json.dumps({"status": "planned", **_summary(actions, regions, location)}, indent=2), file=stdout)
        return EXIT_OK

    done: list[DomainAction] = []
    todo = [a for a in actions if a.kind != "no-op"]
    for action in todo:
        try:
            sagemaker(action.region).add_tags(
                ResourceArn=action.arn, Tags=[{"Key": _tag_key(), "Value": location}])
        except (ClientError, BotoCoreError) as exc:
            remaining = todo[len(done) + 1:]
            lines = [f"AddTags on {action.domain_id} ({action.region}) failed: {describe_exception(exc)}"]
            if not as_json:
                print(f"tagged: {_ids(done)}; failed: {action.domain_id}; not attempted: {_ids(remaining)}",
                      file=stdout)
            return fail(EXIT_FAILED, lines, applied=[asdict(a) for a in done], failed=asdict(action),
                        remaining=[asdict(a) for a in remaining])
        done.append(action)
        if not as_json:
            print(f"tagged {action.domain_id} ({action.region})", file=stdout)
    if as_json:
        print(json.dumps({"status": "tagged", "tagged": [a.domain_id for a in done],
                          **_summary(actions, regions, location)}, indent=2), file=stdout)
    else:
        print(f"Done: {len(done)} tagged, {len(actions) - len(done)} unchanged.", file=stdout)
    return EXIT_OK


def _tag_key() -> str:
    from generator.lambdas.tag_domains import TAG_KEY

    return TAG_KEY


def _plan(sagemaker, regions: list[str], location: str, wanted: list[str]) -> list[DomainAction]:
    from generator.lambdas import tag_domains

    actions = []
    for region in regions:
        sm = sagemaker(region)
        for domain in tag_domains.domains(sm):
            if wanted and domain["DomainId"] not in wanted:
                continue
            values = tag_domains.tag_values(sm, domain["DomainArn"])
            actions.append(DomainAction(region, domain["DomainId"], domain.get("DomainName", ""), domain["DomainArn"],
                                        tag_domains.decide(values, location), tuple(dict.fromkeys(values))))
    return actions


def _ids(actions: list[DomainAction]) -> str:
    return ", ".join(a.domain_id for a in actions) or "none"


def _summary(actions: list[DomainAction], regions: list[str], location: str) -> dict:
    counts = {kind: sum(a.kind == kind for a in actions) for kind in SYMBOLS}
    return {"location": location, "tag": _tag_key(), "regions": regions, "counts": counts,
            "domains": [asdict(a) for a in actions]}


def _render(actions: list[DomainAction], regions: list[str], location: str) -> str:
    out = []
    for region in regions:
        mine = [a for a in actions if a.region == region]
        out.append(f"Domains in {region} (tag {_tag_key()}):")
        out += [a.line(location) for a in mine] or ["  no SageMaker domains"]
    counts = {kind: sum(a.kind == kind for a in actions) for kind in SYMBOLS}
    writes = counts["create"] + counts["update"]
    out.append(f"Summary: {counts['create']} create, {counts['update']} update, {counts['no-op']} unchanged; "
               f"{writes} write action{'' if writes == 1 else 's'}." if actions else
               "Summary: no SageMaker domains; nothing to tag.")
    return "\n".join(out)
