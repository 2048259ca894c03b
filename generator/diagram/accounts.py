"""Which account a value names, read from the template's parameters.

A parameter names accounts when its AllowedPattern says what it holds: 12 digits (an account id, or a
list of them), an OU id (`ou-...`), an organization id (`o-...`), or an ARN with an account field (the
account is then the one in the ARN the user gives). This is how a diagram labels an account with the
parameter the user fills in (`HubAccountId`, `DeploymentOrganizationalUnitIds`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from generator.diagram.values import PSEUDO, placeholders

# Kinds of account: where the stack runs, accounts named by a parameter (ids, an OU, an organization,
# the account of an ARN), any account (`*`), and an account id written into the template.
THIS_KIND, ACCOUNT, OU, ORG, OF_ARN, ANY_KIND, LITERAL = "this", "account", "ou", "org", "arn", "any", "literal"
ORDER = (THIS_KIND, ACCOUNT, OF_ARN, LITERAL, OU, ORG, ANY_KIND)


@dataclass(frozen=True)
class Account:
    kind: str
    name: str = ""  # the parameter (or the literal id) that names it
    plural: bool = False  # a list parameter: several accounts or OUs

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def sort_key(self) -> tuple[int, str]:
        return ORDER.index(self.kind), self.name

    @property
    def label(self) -> str:
        s = "s" if self.plural else ""
        return {
            THIS_KIND: "This account",
            ACCOUNT: f"Account{s} {self.name}",
            OU: f"OU{s} {self.name}",
            ORG: f"Organization {self.name}",
            OF_ARN: f"Account{s} of {self.name}",
            ANY_KIND: "Any account",
            LITERAL: f"Account {self.name}",
        }[self.kind]


THIS = Account(THIS_KIND)
ANY = Account(ANY_KIND)


def _kind(parameter: dict[str, Any]) -> str | None:
    pattern = str(parameter.get("AllowedPattern", ""))
    if "arn:" in pattern and re.search(r"\\d\{12\}|\[0-9\]\{12\}", pattern):
        return OF_ARN
    if re.fullmatch(r"\^\(?\\d\{12\}\)?\??\$", pattern):
        return ACCOUNT
    if re.match(r"\^\(?ou-", pattern):
        return OU
    if re.match(r"\^\(?o-", pattern):
        return ORG
    return None


class Parameters:
    """A template's parameters as far as they name accounts, and their defaults."""

    def __init__(self, template: dict[str, Any]):
        self.declared: dict[str, dict] = template.get("Parameters", {})
        self.kinds = {name: k for name, p in self.declared.items() if (k := _kind(p))}

    def account(self, name: str) -> Account | None:
        """The account(s) parameter `name` names, if it names any."""
        kind = self.kinds.get(name)
        if kind is None:
            return None
        return Account(kind, name, self.declared[name].get("Type", "").startswith("CommaDelimitedList"))

    def account_in(self, pattern: str, kinds: tuple[str, ...] = (ACCOUNT, OU, ORG, OF_ARN)) -> Account | None:
        """The account an ARN's account field (or any pattern) names: this account for
        ${AWS::AccountId}, any account for `*`, else the first parameter of `kinds` in it."""
        if pattern in ("*", "?" * 12):
            return ANY
        if re.fullmatch(r"\d{12}", pattern):
            return Account(LITERAL, pattern)
        names = placeholders(pattern)
        for name in names:
            found = self.account(name)
            if found is not None and found.kind in kinds:
                return found
        if "AWS::AccountId" in names and all(n in PSEUDO for n in names):
            return THIS
        return None

    def accounts_in(self, patterns: list[str], kind: str) -> list[Account]:
        """Every account of `kind` named in `patterns` (e.g. the OUs in aws:PrincipalOrgPaths)."""
        found = [self.account(n) for p in patterns for n in placeholders(p)]
        return list(dict.fromkeys(a for a in found if a is not None and a.kind == kind))

    def default(self, name: str) -> str | None:
        """A parameter's default, when it has a non-blank one."""
        value = self.declared.get(name, {}).get("Default")
        return str(value) if value not in (None, "") else None
