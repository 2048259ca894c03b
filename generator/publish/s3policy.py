"""The S3 template location of a portfolio: its naming rules and the bucket policy its shares map to.

Pure functions, no AWS call and no boto3: the portfolio loader (generator/portfolio.py) and the
manifest check (manifest.py) hold a portfolio's ``s3_templates`` to the same rules, and the S3 publish
backend asks :func:`bucket_policy_statements` for the statements it reconciles.

Sources: S3 User Guide "General purpose bucket naming rules" (bucket names), "Creating object key names"
(safe key characters), "The meaning of public" (tests/hub/public_policy.py); the SageMaker domain tag
``sagemaker:projectS3TemplatesLocation`` takes the location as its value, and SageMaker tag values are
at most 256 characters of ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` (botocore model).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

SERVICE_CATALOG = "service-catalog"
S3 = "s3"
PUBLISH_TARGETS = (SERVICE_CATALOG, S3)
DEFAULT_PREFIX = "sagemaker-templates/"
DEFAULT_LAUNCH_ROLE = "SageMakerProjectsS3LaunchRole"  # project-roles' S3-mode launch role
LOCATION_TAG = "sagemaker:projectS3TemplatesLocation"
MAX_TAG_VALUE = 256
REGION_PLACEHOLDER = "{region}"
REGION = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")
# The longest region names (ap-southeast-1, eusc-de-east-1, ...): a bucket name with {region} and no
# regions given must fit whatever region --region names.
LONGEST_REGION = "ap-southeast-1"
SID_PREFIX = "Smcat"
READ_SID = "SmcatRead"

_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"]


def bucket_name_problem(name: str) -> str | None:
    """Why `name` is not a general purpose bucket name, or None."""
    if not 3 <= len(name) <= 63:
        return f"has {len(name)} characters; S3 bucket names have 3-63"
    bad = sorted(set(re.sub(r"[a-z0-9.-]", "", name)))
    if bad:
        shown = " ".join(map(repr, bad))
        return f"has characters S3 bucket names cannot have: {shown} (only lowercase letters, digits, . and -)"
    if not (name[0].isalnum() and name[-1].isalnum()):
        return "must begin and end with a lowercase letter or digit"
    if ".." in name:
        return "must not have two adjacent periods"
    try:
        ipaddress.IPv4Address(name)
        return "must not be formatted as an IP address"
    except ValueError:
        pass
    for prefix in _RESERVED_PREFIXES:
        if name.startswith(prefix):
            return f"must not start with {prefix!r} (reserved by S3)"
    for suffix in _RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return f"must not end with {suffix!r} (reserved by S3)"
    return None


def bucket_template_problems(template: str, regions: Iterable[str] = ()) -> list[str]:
    """Why the bucket name `template` (which may hold {region}) is not a bucket name in each region, as
    reasons that start with the name; with no regions, {region} is checked as the longest region name."""
    rest = template.replace(REGION_PLACEHOLDER, "")
    if "{" in rest or "}" in rest:
        return [f"{template!r}: only {REGION_PLACEHOLDER} is replaced (by each region); no other braces"]
    if REGION_PLACEHOLDER not in template:
        reason = bucket_name_problem(template)
        return [f"{template!r} is not a valid S3 bucket name: {reason}"] if reason else []
    found: list[str] = []
    for region in list(regions) or [None]:
        name = template.replace(REGION_PLACEHOLDER, region or LONGEST_REGION)
        reason = bucket_name_problem(name)
        if reason is None:
            continue
        if region is None:
            if not 3 <= len(name) <= 63:
                reason = (
                    f"has {len(name)} characters with {REGION_PLACEHOLDER} as the longest region name "
                    f"({len(LONGEST_REGION)} characters); S3 bucket names have 3-63 (or list the regions)"
                )
            found.append(f"{template!r} is not a valid S3 bucket name: {reason}")
        else:
            found.append(f"{template!r} is not a valid S3 bucket name in {region} ({name!r}): {reason}")
    return found


def normalise_prefix(prefix: str) -> str:
    """The prefix ending with exactly one '/' ('' stays '': the whole bucket)."""
    stripped = prefix.rstrip("/")
    return f"{stripped}/" if stripped else ""


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` cannot be a template location's key prefix, or None."""
    if prefix.startswith("/"):
        return f"{prefix!r} must not start with '/' (S3 keys are relative to the bucket)"
    # Both an S3 key ("safe characters") and the domain tag's value pattern take these; * and ? would be
    # wildcards in the bucket policy's Resource and s3:prefix condition.
    bad = sorted(set(re.sub(r"[A-Za-z0-9_./-]", "", prefix)))
    if bad:
        return (
            f"{prefix!r} has characters that cannot be used: {' '.join(map(repr, bad))} (letters, digits and "
            f"_ . / - only: the prefix is part of S3 keys, of the domain tag {LOCATION_TAG} and of bucket policy "
            "patterns)"
        )
    segments = normalise_prefix(prefix).split("/")[:-1]
    if any(segment in ("", ".", "..") for segment in segments):
        return f"{prefix!r} has an empty, '.' or '..' folder; write folders as name/name/"
    return None


def location(bucket: str, prefix: str) -> str:
    """The value of the domain tag sagemaker:projectS3TemplatesLocation: s3://bucket/prefix/."""
    return f"s3://{bucket}/{normalise_prefix(prefix)}"


def location_problem(bucket: str, prefix: str) -> str | None:
    value = location(bucket, prefix)
    if len(value) > MAX_TAG_VALUE:
        return (
            f"the location {value!r} has {len(value)} characters; the domain tag {LOCATION_TAG} takes at most "
            f"{MAX_TAG_VALUE}"
        )
    return None


# ------------------------------------------------------------------------------------------ bucket policy


def _shares(portfolio: Any) -> list[tuple[str, str]]:
    """(type, value) of each share target, from a manifest Portfolio or a portfolio config dict."""
    shares = portfolio["shares"] if isinstance(portfolio, Mapping) else portfolio.shares
    return [(s["type"], s["value"]) if isinstance(s, Mapping) else (s.type, s.value) for s in shares]


def _organization_id(portfolio: Any) -> str | None:
    if isinstance(portfolio, Mapping):
        return portfolio.get("organization_id")
    return getattr(portfolio, "organization_id", None)


def share_sid(kind: str, value: str) -> str:
    """The Sid of a share target's statements, stable and distinct per target (Sids are letters and
    digits only; ids are lowercase, so an upper-case X stands for each '-')."""
    if kind == "ACCOUNT":
        return f"{READ_SID}Account{value}"
    if kind == "ORGANIZATION":
        return f"{READ_SID}Org{value.removeprefix('o-')}"
    if kind == "ORGANIZATIONAL_UNIT":
        return f"{READ_SID}Ou{value.removeprefix('ou-').replace('-', 'X')}"
    raise ValueError(f"unknown share type {kind!r}")


def bucket_policy_statements(portfolio: Any, bucket: str, prefix: str, *, partition: str = "aws") -> list[dict]:
    """The bucket policy statements letting the portfolio's share targets read its templates.

    Per share target, two statements: ``<Sid>Objects`` (s3:GetObject, GetObjectVersion, GetObjectTagging,
    GetObjectVersionTagging on ``<prefix>*``) and ``<Sid>List`` (s3:ListBucket on the bucket, with
    ``s3:prefix`` like ``<prefix>*``; no condition when the prefix is the whole bucket). An account is
    named as the principal (its root ARN, as S3 stores it); the organization and OUs are ``Principal: *``
    confined by a fixed ``aws:PrincipalOrgID`` (OUs add ``aws:PrincipalOrgPaths`` ``<org>/*/<ou>/*``: the
    OU and the OUs below it, as a Service Catalog OU share). Every statement is therefore non-public under
    S3's rules ("The meaning of public"). A portfolio without shares gets none: its own account's
    execution roles read through their IAM policy.
    """
    prefix = normalise_prefix(prefix)
    organization = _organization_id(portfolio)
    statements = []
    for kind, value in _shares(portfolio):
        conditions: dict[str, dict[str, str]] = {}
        if kind == "ACCOUNT":
            principal: Any = {"AWS": f"arn:{partition}:iam::{value}:root"}
        elif kind == "ORGANIZATION":
            principal = "*"
            conditions = {"StringEquals": {"aws:PrincipalOrgID": value}}
        elif kind == "ORGANIZATIONAL_UNIT":
            if not organization:
                raise ValueError(f"the OU share {value} needs the portfolio's organization_id")
            principal = "*"
            conditions = {
                "StringEquals": {"aws:PrincipalOrgID": organization},
                "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{organization}/*/{value}/*"},
            }
        else:
            raise ValueError(f"unknown share type {kind!r}")
        sid = share_sid(kind, value)
        objects = {
            "Sid": f"{sid}Objects",
            "Effect": "Allow",
            "Principal": principal,
            "Action": list(OBJECT_ACTIONS),
            "Resource": f"arn:{partition}:s3:::{bucket}/{prefix}*",
        }
        listing = {
            "Sid": f"{sid}List",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:ListBucket",
            "Resource": f"arn:{partition}:s3:::{bucket}",
        }
        if conditions:
            objects["Condition"] = {op: dict(keys) for op, keys in conditions.items()}
        list_conditions = {op: dict(keys) for op, keys in conditions.items()}
        if prefix:
            list_conditions["StringLike"] = {"s3:prefix": f"{prefix}*"}
        if list_conditions:
            listing["Condition"] = list_conditions
        statements += [objects, listing]
    return statements
