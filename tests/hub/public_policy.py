"""S3's rules for a public bucket policy, and what Block Public Access does with one (issue 9).

Source: Amazon S3 User Guide, "Blocking public access to your Amazon S3 storage", section
"The meaning of "public"" (https://docs.aws.amazon.com/AmazonS3/latest/userguide/
access-control-block-public-access.html#access-control-block-public-access-policy-status):

    When evaluating a bucket policy, Amazon S3 begins by assuming that the policy is public. It
    then evaluates the policy to determine whether it qualifies as non-public. To be considered
    non-public, a bucket policy must grant access only to fixed values (values that don't contain
    a wildcard or an AWS Identity and Access Management Policy Variable) for one or more of the
    following: [the keys of `NON_PUBLIC_KEYS`]

and, same page, the settings:

* `BlockPublicPolicy`: "Setting this option to TRUE for a bucket causes Amazon S3 to reject calls
  to PUT Bucket policy if the specified bucket policy allows public access." In a stack that is
  the `AWS::S3::BucketPolicy` failing to create.
* `RestrictPublicBuckets`: "restricts access to an access point or bucket with a public policy to
  only AWS service principals and authorized users within the bucket owner's account", blocking
  cross-account access "derived from any public access point or bucket policy, including
  non-public delegation to specific accounts".

New buckets have all four Block Public Access settings on unless their configuration says
otherwise ("Amazon S3 now automatically enables S3 Block Public Access ... for all new S3
buckets", S3 announcement of April 2023, repeated in the AWS Storage Blog "Understanding Amazon S3
Block Public Access", https://aws.amazon.com/blogs/storage/understanding-s3-block-public-access/),
and an account or organization may set them for every bucket: so a bucket blocks public policies
unless its template sets `BlockPublicPolicy` to false explicitly.

Only the keys the page lists count: `aws:PrincipalArn` and `aws:PrincipalAccount` are not in the
list, and neither are wildcard conditions such as `ForAnyValue:StringLike` on
`aws:PrincipalOrgPaths`; a statement to `*` confined only by them is public.
"""

from __future__ import annotations

import ipaddress
from typing import Any

DOC = (
    "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html"
    "#access-control-block-public-access-policy-status"
)

# The page's list, key -> the page's wording for it (condition keys are case-insensitive).
NON_PUBLIC_KEYS: dict[str, str] = {
    "aws:PrincipalOrgID": "An AWS principal, user, role, or service principal (e.g. aws:PrincipalOrgID)",
    "aws:SourceIp": "A set of Classless Inter-Domain Routings (CIDRs), using aws:SourceIp",
    "aws:SourceArn": "aws:SourceArn",
    "aws:SourceVpc": "aws:SourceVpc",
    "aws:SourceVpce": "aws:SourceVpce",
    "aws:SourceOwner": "aws:SourceOwner",
    "aws:SourceAccount": "aws:SourceAccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id": "s3:x-amz-server-side-encryption-aws-kms-key-id",
    "aws:userid": 'aws:userid, outside the pattern "AROLEID:*"',
    "s3:DataAccessPointArn": "s3:DataAccessPointArn (a wildcard for the access point name is allowed, "
    "as long as the account id is fixed)",
    "s3:DataAccessPointAccount": "s3:DataAccessPointAccount",
}
_KEYS = {k.lower(): k for k in NON_PUBLIC_KEYS}

# Operators that confine a key to the values given (a negated operator or ...IfExists does not:
# a request without the key, or with any other value, passes).
_CONFINING = {
    "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "IpAddress",
    "ForAnyValue:StringEquals", "ForAnyValue:StringLike",
}


def fixed(value: Any) -> bool:
    """A fixed value: no wildcard (`*`, `?`) and no policy variable (`${...}`)."""
    text = str(value)
    return not any(mark in text for mark in ("*", "?", "${"))


def _broad_cidr(cidr: str) -> bool:
    """The page's note: ranges broader than /8 (IPv4) or /32 (IPv6) are public, RFC 1918 private
    ranges excepted."""
    network = ipaddress.ip_network(cidr, strict=False)
    if network.version == 4:
        private = any(network.subnet_of(ipaddress.ip_network(p)) for p in ("10.0.0.0/8", "172.16.0.0/12",
                                                                          "192.168.0.0/16"))
        return network.prefixlen < 8 and not private
    return network.prefixlen < 32


def _confining_key(operator: str, key: str, values: Any) -> str | None:
    """The listed key this condition confines to fixed values, or None."""
    listed = _KEYS.get(key.lower())
    if listed is None or operator not in _CONFINING:
        return None
    values = values if isinstance(values, list) else [values]
    if not values:
        return None
    if listed == "aws:SourceIp":
        return listed if all(not _broad_cidr(str(v)) for v in values) else None
    # aws:userid: the page excludes "the pattern AROLEID:*" (role id, any session). Read
    # strictly: only wildcard-free values count, so "AROA...:*" leaves the statement public.
    if listed == "s3:DataAccessPointArn":
        # arn:aws:s3:<region>:<account>:accesspoint/<name>: a wildcard in the name only.
        def ok(v: Any) -> bool:
            parts = str(v).split(":", 5)
            return len(parts) == 6 and all(fixed(p) for p in parts[:5]) and fixed(parts[5].split("/", 1)[0])

        return listed if all(ok(v) for v in values) else None
    return listed if all(fixed(v) for v in values) else None


def _fixed_principal(principal: Any) -> bool:
    """A Principal element naming only fixed AWS principals or service principals."""
    if principal == "*" or not isinstance(principal, dict):
        return False
    for kind, values in principal.items():
        values = values if isinstance(values, list) else [values]
        if kind not in ("AWS", "Service") or not all(fixed(v) for v in values):
            return False  # "Federated" is public (the page's first example), as is "*"
    return True


def statement_is_public(statement: dict[str, Any]) -> bool:
    """Whether one statement makes a bucket policy public (a Deny never does)."""
    if statement.get("Effect") != "Allow":
        return False
    if "NotPrincipal" in statement:
        return True
    if _fixed_principal(statement.get("Principal")):
        return False
    conditions = statement.get("Condition", {})
    return not any(
        _confining_key(operator, key, values)
        for operator, tests in conditions.items()
        for key, values in tests.items()
    )


def public_statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    return [s for s in statements if statement_is_public(s)]


def is_public(policy: dict[str, Any]) -> bool:
    return bool(public_statements(policy))


def _bucket_of(resolved: dict[str, Any], bucket_name: str) -> dict[str, Any] | None:
    for resource in resolved["Resources"].values():
        if resource["Type"] == "AWS::S3::Bucket" and resource["Properties"].get("BucketName") == bucket_name:
            return resource["Properties"]
    return None


def blocks_public_policy(bucket: dict[str, Any] | None) -> bool:
    """True unless the template sets BlockPublicPolicy false (new buckets block by default)."""
    if bucket is None:
        return True
    setting = bucket.get("PublicAccessBlockConfiguration", {}).get("BlockPublicPolicy", True)
    return str(setting).lower() != "false"


def restricts_public_buckets(bucket: dict[str, Any] | None) -> bool:
    if bucket is None:
        return True
    setting = bucket.get("PublicAccessBlockConfiguration", {}).get("RestrictPublicBuckets", True)
    return str(setting).lower() != "false"


def problems(resolved: dict[str, Any]) -> list[str]:
    """Every bucket policy of a resolved template that S3 would reject (BlockPublicPolicy) or
    whose cross-account grants S3 would ignore (RestrictPublicBuckets)."""
    found = []
    for logical_id, resource in resolved["Resources"].items():
        if resource["Type"] != "AWS::S3::BucketPolicy":
            continue
        props = resource["Properties"]
        public = public_statements(props["PolicyDocument"])
        if not public:
            continue
        bucket = _bucket_of(resolved, props["Bucket"])
        sids = ", ".join(s.get("Sid", "<no Sid>") for s in public)
        if blocks_public_policy(bucket):
            found.append(
                f"{logical_id}: public statements ({sids}) on bucket {props['Bucket']}, which blocks public "
                f"policies: PutBucketPolicy is rejected and the stack fails ({DOC})"
            )
        elif restricts_public_buckets(bucket):
            found.append(
                f"{logical_id}: public statements ({sids}) on bucket {props['Bucket']} with RestrictPublicBuckets: "
                "S3 ignores every cross-account grant of the policy"
            )
    return found
