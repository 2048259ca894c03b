"""E9130: a policy that grants to any principal ("*") limits it to the organization or accounts."""

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

# Condition keys that pin an anonymous principal to known accounts or the organization.
ACCOUNT_KEYS = {
    "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount",
    "aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths",
}
# In a KMS key policy, kms:CallerAccount is AWS's usual way to do the same.
KEY_POLICY_KEYS = ACCOUNT_KEYS | {"kms:calleraccount"}


def constrained(statement) -> bool:
    """Whether a condition limits the statement to accounts or an organization. Negated operators
    (StringNotEquals) and ...IfExists (true when the key is absent) don't count, nor do values that
    are only wildcards."""
    keys = KEY_POLICY_KEYS if statement.policy.kind == "key" else ACCOUNT_KEYS
    for operator, key, values in statement.conditions():
        op = operator.lower()
        if key not in keys or "not" in op or op.endswith("ifexists") or "null" in op:
            continue
        if values and not all(v.strip("*/") == "" for v in values):
            return True
    return False


def wildcard_principals(statement) -> list[str]:
    return [
        value for kind, value in statement.principals()
        if kind == "*" or (kind == "AWS" and "*" in value)
    ]


class CrossAccountPrincipals(CloudFormationLintRule):
    """Checks that grants to any AWS principal are limited to known accounts.

    ``Principal: "*"`` (or ``{"AWS": "*"}``) in a bucket policy, KMS key policy, role trust policy,
    model package group policy or event bus policy lets any AWS account in, unless a condition
    pins it: ``aws:PrincipalOrgID``, ``aws:PrincipalOrgPaths``, ``aws:PrincipalAccount``,
    ``aws:SourceAccount`` (also ``aws:SourceOrgID``/``aws:SourceOrgPaths``, and
    ``kms:CallerAccount`` in key policies). Cross-account MLOps set-ups use ``*`` to share model
    packages and artifacts with an organization's workload accounts; without the condition they
    share them with everyone. Explicit account principals are fine. ``NotPrincipal`` in an Allow
    statement and AWS::Lambda::Permission with Principal ``*`` and neither SourceAccount nor
    PrincipalOrgID are reported too. Deny statements are not checked.
    """

    id = "E9130"
    shortdesc = "Grants to any principal are limited to the organization or accounts"
    description = (
        "Allow statements in resource, key and trust policies whose principal is '*' have a condition "
        "on aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:PrincipalAccount or aws:SourceAccount"
    )
    source_url = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid"
    tags = ["iam", "security", "cross-account"]

    def match(self, cfn):
        matches = []
        for statement in common.all_statements(cfn, ("trust", "resource", "key")):
            if not statement.allows:
                continue
            everyone = wildcard_principals(statement)
            if everyone and not constrained(statement):
                actions = ", ".join(statement.actions()) or "its actions"
                matches.append(RuleMatch(statement.path, (
                    f"{statement.where} allows {actions} to any AWS principal "
                    f"({', '.join(repr(p) for p in everyone)}) with no condition limiting it to your "
                    "organization or accounts, so every AWS account can use it. Add a Condition such as "
                    "StringEquals: {aws:PrincipalOrgID: o-xxxxxxxxxx} (or aws:PrincipalOrgPaths, "
                    "aws:PrincipalAccount, aws:SourceAccount), or name the accounts as principals "
                    "(arn:${AWS::Partition}:iam::<account id>:root)."
                )))
            if statement.body.get("NotPrincipal") is not None:
                matches.append(RuleMatch(statement.path, (
                    f"{statement.where} uses NotPrincipal with Effect Allow, which allows every principal "
                    "except the ones listed, in any account. Name the principals allowed under Principal."
                )))
        for logical_id, rtype, props in common.resources(cfn):
            if rtype != "AWS::Lambda::Permission" or common.text(props.get("Principal")) != "*":
                continue
            if not any(k in props for k in ("SourceAccount", "PrincipalOrgID")):
                matches.append(RuleMatch(["Resources", logical_id, "Properties", "Principal"], (
                    f"{logical_id} (AWS::Lambda::Permission) lets any AWS principal ('*') invoke the function "
                    "with neither SourceAccount nor PrincipalOrgID. Set PrincipalOrgID (or SourceAccount), "
                    "or name the principal."
                )))
        return matches
