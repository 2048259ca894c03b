"""E9120: no Allow statement grants every action ("*") or every action of a service ("s3:*")."""

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


class IamWildcardActions(CloudFormationLintRule):
    """Checks that policies do not allow ``*`` or ``service:*`` actions.

    ``Action: "*"`` or ``"sagemaker:*"`` grants every present and future action of the service,
    including the ones that change permissions or delete data. Applies to Allow statements in IAM
    roles, users, groups, inline and managed policies, trust policies, and resource policies (S3
    bucket, KMS key, model package group, event bus, SNS, SQS, ECR ...). ``NotAction`` in an Allow
    statement is reported too (it allows everything not listed). Deny statements may use
    wildcards: the TLS-only bucket policy denies ``s3:*``.

    Exemption: a KMS key policy statement whose only principal is the root of the account the
    stack is deployed in (``arn:${AWS::Partition}:iam::${AWS::AccountId}:root``) may allow
    ``kms:*`` (or ``*``). That is AWS's default key policy statement: it delegates access to IAM
    policies in the account, and without it the key can become unmanageable.
    """

    id = "E9120"
    shortdesc = "No wildcard actions in Allow statements"
    description = (
        "Allow statements list actions instead of '*' or 'service:*' (and don't use NotAction); "
        "exempt: kms:* for the own account's root in a KMS key policy"
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html#grant-least-privilege"
    tags = ["iam", "security", "least-privilege"]

    def match(self, cfn):
        matches = []
        for statement in common.all_statements(cfn):
            if not statement.allows:
                continue
            wildcards = [a for a in statement.actions() if common.is_wildcard_action(a)]
            if wildcards and statement.policy.kind == "key" and _own_root_only(statement):
                wildcards = [a for a in wildcards if a.lower() not in ("kms:*", "*")]
            if wildcards:
                matches.append(RuleMatch(statement.path, _message(statement, wildcards)))
            if "NotAction" in statement.body:
                matches.append(RuleMatch(statement.path, (
                    f"{statement.where} allows every action except "
                    f"{', '.join(common.texts(statement.body['NotAction']))} (NotAction with Effect Allow), "
                    "including actions added to AWS later. List the actions needed under Action instead."
                )))
        return matches


def _own_root_only(statement) -> bool:
    principals = statement.principals()
    return bool(principals) and all(
        kind == "AWS" and common.is_own_account_root(value) for kind, value in principals
    )


_EXAMPLES = {
    "s3": "s3:GetObject, s3:PutObject",
    "kms": "kms:Decrypt, kms:GenerateDataKey",
    "sagemaker": "sagemaker:CreateModel, sagemaker:DescribeModelPackage",
    "iam": "iam:PassRole on the role's ARN",
}


def _message(statement, wildcards) -> str:
    what = ", ".join(repr(a) for a in wildcards)
    services = [a.split(":")[0] for a in wildcards if a != "*"]
    scope = "every action of every service" if "*" in wildcards else "every action of " + " and ".join(services)
    message = (
        f"{statement.where} allows {what}: {scope}, including permission changes, deletions and "
        "actions AWS adds later. List the specific actions needed"
    )
    examples = [_EXAMPLES[s.lower()] for s in services if s.lower() in _EXAMPLES]
    if examples and statement.policy.kind != "key":
        message += f" (e.g. {'; '.join(examples)})"
    if statement.policy.kind == "key":
        message += (
            "; in a KMS key policy only the account root (arn:${AWS::Partition}:iam::${AWS::AccountId}:root) "
            "may get kms:*, other principals get e.g. kms:Decrypt, kms:GenerateDataKey*"
        )
    return message + "."
