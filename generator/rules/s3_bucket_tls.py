"""E9141: every S3 bucket has a bucket policy that denies requests not made over TLS."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch


def _load_common():
    """``_common.py`` from this directory, by path: cfn-lint imports rule files outside any package."""
    here = Path(__file__).resolve().parent
    key = "_smcat_rules_" + hashlib.sha1(str(here).encode()).hexdigest()[:12] + "__common"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, here / "_common.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


common = _load_common()

_STATEMENT = (
    "{Sid: DenyInsecureTransport, Effect: Deny, Principal: '*', Action: 's3:*', "
    "Resource: [!GetAtt Bucket.Arn, !Sub '${Bucket.Arn}/*'], Condition: {Bool: {aws:SecureTransport: false}}}"
)


def denies_plain_http(statement) -> bool:
    """Deny, to everyone, all S3 actions, when aws:SecureTransport is false."""
    if not statement.denies:
        return False
    if not any(kind == "*" or value == "*" for kind, value in statement.principals()):
        return False
    if not any(a.lower() in ("*", "s3:*") for a in statement.actions()):
        return False
    return any(
        operator.lower().startswith("bool") and key == "aws:securetransport"
        and any(v.lower() == "false" for v in values)
        for operator, key, values in statement.conditions()
    )


def bucket_policies(cfn, logical_id: str, props) -> list:
    """The AWS::S3::BucketPolicy documents attached to the bucket (by Ref, or by its literal name)."""
    refs = {"${" + logical_id + "}"}
    if "BucketName" in props:
        refs.add(common.text(props["BucketName"]))
    found = []
    for policy in common.policies(cfn):
        if policy.resource_type != "AWS::S3::BucketPolicy":
            continue
        bucket = cfn.template["Resources"][policy.logical_id]["Properties"].get("Bucket")
        if any(common.text(option) in refs for option in common.branches(bucket)):
            found.append(policy)
    return found


class S3BucketTls(CloudFormationLintRule):
    """Checks that every S3 bucket refuses requests made without TLS.

    S3 accepts plain HTTP unless the bucket policy denies it. Each AWS::S3::Bucket must have an
    AWS::S3::BucketPolicy (``Bucket: !Ref TheBucket``, or the bucket's own name) with a statement
    that denies ``s3:*`` to ``*`` when ``aws:SecureTransport`` is ``false``.
    """

    id = "E9141"
    shortdesc = "S3 buckets deny requests without TLS"
    description = (
        "Every AWS::S3::Bucket has an AWS::S3::BucketPolicy denying s3:* to '*' when "
        "aws:SecureTransport is false"
    )
    source_url = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/security-best-practices.html#transit"
    tags = ["s3", "tls", "security"]

    def match(self, cfn):
        matches = []
        for logical_id, rtype, props in common.resources(cfn):
            if rtype != "AWS::S3::Bucket":
                continue
            where = f"{logical_id} (AWS::S3::Bucket)"
            found = bucket_policies(cfn, logical_id, props)
            if not found:
                matches.append(RuleMatch(["Resources", logical_id], (
                    f"{where} has no AWS::S3::BucketPolicy, so it accepts requests over plain HTTP. Add an "
                    f"AWS::S3::BucketPolicy with Bucket: !Ref {logical_id} and the statement "
                    f"{_STATEMENT.replace('Bucket.Arn', logical_id + '.Arn')}."
                )))
                continue
            if not any(denies_plain_http(s) for policy in found for s in common.statements(policy)):
                policy = found[0]
                matches.append(RuleMatch(policy.path, (
                    f"{where}'s bucket policy {policy.logical_id} does not deny requests where "
                    "aws:SecureTransport is false, so the bucket accepts plain HTTP. Add the statement "
                    f"{_STATEMENT.replace('Bucket.Arn', logical_id + '.Arn')}."
                )))
        return matches
