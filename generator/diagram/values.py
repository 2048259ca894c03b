"""CloudFormation values read as name patterns.

A pattern is the text a value will have once deployed, with what is only known at launch left as a
placeholder: `${HubName}` for a parameter, `${AWS::Region}` for a pseudo parameter, `${Bucket.Arn}`
for a resource's attribute. What is computed from several values (Fn::Select, Fn::Split, ...) reads as
the parameters it is computed from: the account picked out of `DeploymentAccountIds` is
`${DeploymentAccountIds}`.
"""

from __future__ import annotations

import re
from typing import Any

PSEUDO = frozenset({
    "AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
    "AWS::StackId", "AWS::StackName", "AWS::URLSuffix",
})
NO_VALUE = {"Ref": "AWS::NoValue"}
PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")

# One way a value may turn out: the conditions it holds under ("not X" for Fn::If's else branch)
# and the value then.
Branch = tuple[tuple[str, ...], Any]


def branches(value: Any, conditions: tuple[str, ...] = ()) -> list[Branch]:
    """Each value an Fn::If may take, with the conditions it takes it under; none for AWS::NoValue."""
    if isinstance(value, dict) and set(value) == {"Fn::If"} and _arguments(value["Fn::If"], 3):
        name, yes, no = value["Fn::If"]
        return branches(yes, (*conditions, str(name))) + branches(no, (*conditions, f"not {name}"))
    if value == NO_VALUE:
        return []
    return [(conditions, value)]


def items(value: Any, conditions: tuple[str, ...] = ()) -> list[Branch]:
    """The items of a list-valued property (a single value counts as one item), through Fn::If
    around the list and around each item."""
    found: list[Branch] = []
    for where, taken in branches(value, conditions):
        for item in taken if isinstance(taken, list) else [taken]:
            found += branches(item, where)
    return found


def _arguments(argument: Any, count: int) -> bool:
    """Whether an intrinsic function's argument is a list of `count` items (a template that is not
    valid is drawn as far as it can be, never refused here: cfn-lint reports it)."""
    return isinstance(argument, list) and len(argument) == count


def refs(value: Any) -> list[str]:
    """The parameters, pseudo parameters and resources a value refers to, in order of appearance."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.append(item)
            elif key == "Fn::GetAtt" and (isinstance(item, str) or (isinstance(item, list) and item)):
                found.append(str(item[0] if isinstance(item, list) else item.split(".")[0]))
            elif key == "Fn::Sub" and (isinstance(item, str) or _arguments(item, 2)):
                text, names = (item, {}) if isinstance(item, str) else item
                names = names if isinstance(names, dict) else {}
                found += [n for n in PLACEHOLDER.findall(str(text)) if not n.startswith("!") and n not in names]
                found += refs(names)
            else:
                found += refs(item)
    elif isinstance(value, list):
        for item in value:
            found += refs(item)
    return list(dict.fromkeys(found))


def text(value: Any) -> str:
    """A value as a name pattern."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref" and isinstance(argument, str):
            return "${" + argument + "}"
        if function == "Fn::GetAtt" and isinstance(argument, str | list):
            return "${" + (".".join(map(str, argument)) if isinstance(argument, list) else argument) + "}"
        if function == "Fn::Sub" and (isinstance(argument, str) or _arguments(argument, 2)):
            return _sub(argument)
        if function == "Fn::Join" and _arguments(argument, 2) and isinstance(argument[1], list):
            return str(argument[0]).join(text(part) for part in argument[1])
    return _computed(value)


def texts(value: Any) -> list[str]:
    """A list-valued value (Fn::Split, a list, a single value) as the name patterns of its items."""
    if isinstance(value, dict) and set(value) == {"Fn::Split"} and _arguments(value["Fn::Split"], 2):
        separator, inner = value["Fn::Split"]
        return text(inner).split(str(separator) or ",")
    if isinstance(value, list):
        return [t for item in value for t in texts(item)]
    return [text(value)]


def _sub(argument: Any) -> str:
    template, variables = (argument, {}) if isinstance(argument, str) else argument
    template, variables = str(template), variables if isinstance(variables, dict) else {}

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name.startswith("!"):  # ${!Literal} is the text ${Literal}
            return "${" + name[1:] + "}"
        return text(variables[name]) if name in variables else match.group(0)

    return PLACEHOLDER.sub(substitute, template)


def _computed(value: Any) -> str:
    """What a value computed from others (Fn::Select, Fn::If, ...) is named by: the parameters it reads
    (pseudo parameters only when it reads nothing else)."""
    found = refs(value)
    named = [r for r in found if r not in PSEUDO] or found
    return "${" + ",".join(named) + "}" if named else "*"


def placeholders(pattern: str) -> list[str]:
    """The names in a pattern's placeholders; a computed one (`${A,B}`) gives each of its names."""
    return [name for found in PLACEHOLDER.findall(pattern) for name in found.split(",")]


def arn_fields(pattern: str) -> list[str] | None:
    """An ARN pattern's six fields (arn, partition, service, region, account, resource), or None when
    the pattern is no ARN. Colons inside placeholders (`${AWS::Region}`) do not split."""
    held: list[str] = []

    def hold(match: re.Match) -> str:
        held.append(match.group(0))
        return f"\0{len(held) - 1}\0"

    fields = PLACEHOLDER.sub(hold, pattern).split(":", 5)
    if len(fields) < 6 or fields[0] != "arn":
        return None
    return [re.sub(r"\0(\d+)\0", lambda m: held[int(m.group(1))], f) for f in fields]
