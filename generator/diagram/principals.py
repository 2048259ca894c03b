"""Who a resource policy (bucket, key, model package group, event bus policy, a role's trust) lets in.

Read from the statement's Principal and the condition keys that narrow it (IAM's global condition
keys, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
`aws:PrincipalArn` (which roles), `aws:PrincipalOrgPaths` (which OUs), `aws:PrincipalAccount` and
`aws:PrincipalOrgID`. A principal is an account (or OU, organization, any account) and, when the
policy names it, a role name pattern; this account's own principals and AWS services are left out:
they cross no account boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.diagram.accounts import ANY, OU, THIS, Account, Parameters
from generator.diagram.values import Branch, arn_fields, items, text, texts


@dataclass(frozen=True)
class Principal:
    account: Account
    role: str | None = None  # a role name pattern; None: any principal the account allows

    @property
    def label(self) -> str:
        return f"role {self.role}" if self.role else "any principal"


def condition_values(statement: dict[str, Any], key: str) -> list[str]:
    """The patterns a statement's Condition gives for `key` (any operator; keys are case-insensitive)."""
    found: list[str] = []
    condition = statement.get("Condition")
    for block in condition.values() if isinstance(condition, dict) else []:
        for name, value in (block.items() if isinstance(block, dict) else []):
            if name.lower() == key.lower():
                found += [t for _, v in items(value) for t in texts(v)]
    return found


def statement_principals(statement: dict[str, Any], parameters: Parameters) -> list[tuple[tuple[str, ...], Principal]]:
    """The principals in other accounts an Allow statement lets in, each with the conditions (of an
    Fn::If in the Principal) it holds under."""
    if statement.get("Effect") != "Allow":
        return []
    principal = statement.get("Principal")
    aws = principal.get("AWS") if isinstance(principal, dict) else principal
    if aws is None:  # only AWS services
        return []
    roles = [_role(p, parameters) for p in condition_values(statement, "aws:PrincipalArn")]
    roles = [r for r in roles if r is not None]
    found: list[tuple[tuple[str, ...], Principal]] = []
    for conditions, entry in _entries(aws, statement, parameters):
        for who in [entry] if entry.role else _narrowed(entry.account, roles):
            if who.account != THIS:
                found.append((conditions, who))
    return list(dict.fromkeys(found))


def _entries(aws: Any, statement: dict, parameters: Parameters) -> list[Branch]:
    """The Principal's AWS entries as principals: a role ARN as that role, an account (id, root ARN
    or `*` read through the condition keys) as any principal of it."""
    found: list[Branch] = []
    for conditions, item in items(aws):
        pattern = text(item)
        if pattern == "*":
            found += [(conditions, Principal(a)) for a in _wildcard_accounts(statement, parameters)]
        elif role := _role(pattern, parameters):
            found.append((conditions, Principal(*role)))
        elif account := _principal_account(pattern, parameters):
            found.append((conditions, Principal(account)))
    return found


def _wildcard_accounts(statement: dict, parameters: Parameters) -> list[Account]:
    """Who `Principal: *` means, by the most precise condition key present."""
    ous = parameters.accounts_in(condition_values(statement, "aws:PrincipalOrgPaths"), OU)
    if ous:
        return ous
    for key in ("aws:PrincipalAccount", "aws:PrincipalOrgID"):
        named = [parameters.account_in(p) for p in condition_values(statement, key)]
        named = [a for a in named if a is not None]
        if named:
            return named
    roles = [parameters.account_in(f[4]) for p in condition_values(statement, "aws:PrincipalArn")
             if (f := arn_fields(p))]
    return [a for a in roles if a is not None] or [ANY]


def _principal_account(pattern: str, parameters: Parameters) -> Account | None:
    """The account of a principal entry: an account id (or a parameter of them), or an IAM ARN."""
    fields = arn_fields(pattern)
    return parameters.account_in(fields[4] if fields else pattern)


def _role(pattern: str, parameters: Parameters) -> tuple[Account, str] | None:
    """(account, role name) of an IAM role ARN pattern."""
    fields = arn_fields(pattern)
    if not fields or not fields[5].startswith("role/"):
        return None
    account = parameters.account_in(fields[4]) or ANY
    return account, fields[5].removeprefix("role/")


def _narrowed(account: Account, roles: list[tuple[Account, str]]) -> list[Principal]:
    """The account's principals, narrowed to the roles aws:PrincipalArn names in it."""
    names = [name for where, name in roles if where in (account, ANY)]
    return [Principal(account, name) for name in names] or [Principal(account)]
