"""Portfolio files: `portfolios/<id>.yaml`, validated in full before anything is built or published.

Structure and types are checked against a JSON Schema (also written out for editors); what a
schema cannot say well (AWS id formats with clear reasons, tag character classes, cross-file
duplicates, product names, quotas) is checked here. Every problem is collected, none raised alone.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from generator.awsids import ACCOUNT_ID, IAM_ARN, IAM_PATTERN_ARN, ORG_ID, OU_ID, ROLE_ARN, ROLE_NAME, ROOT_ID
from generator.errors import InputError, Problem

LAUNCH_ROLE = "AmazonSageMakerServiceCatalogProductsLaunchRole"
MAX_TAGS = 20  # Service Catalog quota per portfolio
OWN_TAGS = 1  # the publisher's identity tag counts towards that quota
MAX_TAG_OPTIONS = 25
MAX_PATTERN_PRINCIPALS = 10

_TEXT = {"type": "string"}
_FLAG = {"type": "boolean"}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://smcat.dev/portfolio.schema.json",
    "title": "smcat portfolio",
    "description": "One Service Catalog portfolio: its products, who may launch them, and where it is shared.",
    "type": "object",
    "additionalProperties": False,
    "required": ["display_name", "provider", "products"],
    "properties": {
        "display_name": {**_TEXT, "minLength": 1, "maxLength": 100, "description": "Portfolio name shown to users."},
        "description": {**_TEXT, "maxLength": 2000},
        "provider": {**_TEXT, "minLength": 1, "maxLength": 50, "description": "Who provides the portfolio."},
        "products": {
            "type": "array",
            "items": {**_TEXT, "minLength": 1},
            "maxItems": 150,
            "description": "Product names (the `name` of modules in products/).",
        },
        "studio_visibility": {
            **_FLAG,
            "default": True,
            "description": "Tag the products sagemaker:studio-visibility=true so Studio lists them.",
        },
        "launch_constraint": {
            "type": "object",
            "additionalProperties": False,
            "description": "The role products launch with: a role name resolved in each account, or one role ARN.",
            "properties": {
                "local_role_name": {**_TEXT, "default": LAUNCH_ROLE},
                "role_arn": _TEXT,
            },
            "maxProperties": 1,
        },
        "principals": {
            "type": "array",
            "items": _TEXT,
            "description": "IAM ARNs allowed to launch; account-less ARNs (arn:aws:iam:::role/...) are patterns.",
        },
        "shares": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["target"],
                "properties": {
                    "target": {
                        **_TEXT,
                        "description": "An OU id (ou-...), account id (12 digits) or organization id (o-...).",
                    },
                    "share_principals": {
                        **_FLAG,
                        "description": "Share principal associations (OUs and the organization; default true there).",
                    },
                    "share_tag_options": {**_FLAG, "default": True},
                },
            },
        },
        "tags": {
            "type": "object",
            "additionalProperties": {**_TEXT, "minLength": 1, "maxLength": 256},
            "propertyNames": {"type": "string", "minLength": 1, "maxLength": 128},
        },
        "tag_options": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {**_TEXT, "minLength": 1, "maxLength": 256},
                "minItems": 1,
            },
            "propertyNames": {"type": "string", "minLength": 1, "maxLength": 128},
        },
    },
}

_TYPE_NAMES = {"string": "a string", "boolean": "true or false", "array": "a list", "object": "a mapping"}


@dataclass(frozen=True)
class Portfolio:
    """A validated portfolio, in the resolved form the manifest and the publisher use."""

    id: str
    file: str
    config: dict[str, Any]


def load_portfolios(files: list[Path], products: set[str] | None, rel=lambda p: str(p)) -> list[Portfolio]:
    """Loads and validates every file; raises InputError with every problem in every file.

    `products` are the known product names; None skips that check (when products failed to load).
    """
    problems: list[Problem] = []
    portfolios: list[Portfolio] = []
    seen_names: dict[str, str] = {}
    for path in files:
        where = rel(path)
        found, portfolio = _load_one(path, where, products)
        problems += found
        if portfolio is None:
            continue
        name = portfolio.config["display_name"]
        if name in seen_names:
            problems.append(Problem(where, "display_name", f"{name!r} is also the display name in {seen_names[name]}"))
        seen_names.setdefault(name, where)
        portfolios.append(portfolio)
    problems += _visibility_conflicts(portfolios)
    if problems:
        raise InputError(problems)
    return portfolios


def _visibility_conflicts(portfolios: list[Portfolio]) -> list[Problem]:
    """The sagemaker:studio-visibility tag sits on the product, so its portfolios must agree on it."""
    first: dict[str, Portfolio] = {}
    problems = []
    for portfolio in portfolios:
        for index, product in enumerate(portfolio.config["products"]):
            other = first.setdefault(product, portfolio)
            visible = portfolio.config["studio_visibility"]
            if other.config["studio_visibility"] != visible:
                problems.append(
                    Problem(
                        portfolio.file,
                        f"products[{index}]",
                        f"{product!r} is also in {other.file}, which sets studio_visibility "
                        f"{str(other.config['studio_visibility']).lower()}; the tag is on the product, "
                        "so every portfolio holding it must agree",
                    )
                )
    return problems


def _load_one(path: Path, where: str, products: set[str] | None) -> tuple[list[Problem], Portfolio | None]:
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text)
        data = yaml.safe_load(text) if node is not None else None
    except (OSError, UnicodeDecodeError) as exc:
        return [Problem(where, "", f"cannot be read: {exc}")], None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        return [Problem(where, "", f"is not valid YAML: {reason}", mark.line + 1 if mark else None)], None
    lines: dict[tuple, int] = {}
    problems = _index(node, (), lines, where)
    if not isinstance(data, dict):
        return [Problem(where, "", "must be a mapping of portfolio settings")], None

    def problem(path: tuple, message: str) -> None:
        problems.append(Problem(where, _key(path), message, _line(lines, path)))

    structural = False
    for error in Draft202012Validator(SCHEMA).iter_errors(data):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(allowed), key=str):
                problem((*path, key), _unknown_key(key, allowed))
        else:
            problem(path, _schema_message(error))
        # An unknown key leaves the rest well-typed, so the remaining checks can still run.
        structural |= error.validator != "additionalProperties"
    if structural:
        return problems, None
    config = _resolve(data, products, problem)
    return problems, (None if problems else Portfolio(path.stem, where, config))


def _resolve(data: dict[str, Any], products: set[str] | None, problem) -> dict[str, Any]:
    """Checks what the schema cannot and returns the portfolio in the form the publisher uses."""
    for index, name in enumerate(data["products"]):
        if products is not None and name not in products:
            close = difflib.get_close_matches(name, sorted(products), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(products)) or 'none'}"
            problem(("products", index), f"unknown product {name!r}{hint}")
    _duplicates(data["products"], ("products",), problem)

    constraint = data.get("launch_constraint") or {}
    if "role_arn" in constraint:
        if not ROLE_ARN.match(constraint["role_arn"]):
            problem(("launch_constraint", "role_arn"), f"{constraint['role_arn']!r} is not an IAM role ARN")
        launch = {"RoleArn": constraint["role_arn"]}
    else:
        role = constraint.get("local_role_name", LAUNCH_ROLE)
        if not ROLE_NAME.match(role):
            problem(
                ("launch_constraint", "local_role_name"),
                f"{role!r} is not an IAM role name (1-64 of letters, digits and +=,.@_-; no path)",
            )
        launch = {"LocalRoleName": role}

    principals = []
    for index, arn in enumerate(data.get("principals", [])):
        kind = _principal_type(arn)
        if kind is None:
            problem(
                ("principals", index),
                f"{arn!r} is not an IAM user, role or group ARN "
                "(arn:aws:iam::<12 digits>:role/Name, or arn:aws:iam:::role/Name* for a pattern)",
            )
        principals.append({"arn": arn, "type": kind})
    _duplicates(data.get("principals", []), ("principals",), problem)
    patterns = sum(p["type"] == "IAM_PATTERN" for p in principals)
    if patterns > MAX_PATTERN_PRINCIPALS:
        problem(("principals",), f"{patterns} IAM_PATTERN principals; Service Catalog allows {MAX_PATTERN_PRINCIPALS}")

    shares = []
    for index, share in enumerate(data.get("shares", [])):
        kind, reason = _share_type(share["target"])
        if reason:
            problem(("shares", index, "target"), reason)
        # Principal sharing is for OUs and the organization only (CreatePortfolioShare).
        by_node = kind != "ACCOUNT"
        if share.get("share_principals") and not by_node:
            problem(
                ("shares", index, "share_principals"),
                "principals can be shared with OUs and the organization, not with an account; "
                "associate the account's principals in the portfolio instead",
            )
        shares.append(
            {
                "type": kind,
                "value": share["target"],
                "share_principals": share.get("share_principals", by_node),
                "share_tag_options": share.get("share_tag_options", True),
            }
        )
    _duplicates([s["target"] for s in data.get("shares", [])], ("shares",), problem, field="target")

    tags = data.get("tags", {})
    for key, value in tags.items():
        _tag_text(key, ("tags", key), "tag key", problem, reserved=True)
        _tag_text(value, ("tags", key), "tag value", problem)
    if len(tags) > MAX_TAGS - OWN_TAGS:
        problem(("tags",), f"{len(tags)} tags; a portfolio holds {MAX_TAGS} and smcat uses {OWN_TAGS} to find it again")

    options = data.get("tag_options", {})
    for key, values in options.items():
        _tag_text(key, ("tag_options", key), "TagOption key", problem)
        for index, value in enumerate(values):
            _tag_text(value, ("tag_options", key, index), "TagOption value", problem)
        _duplicates(values, ("tag_options", key), problem)
    count = sum(len(v) for v in options.values())
    if count > MAX_TAG_OPTIONS:
        problem(("tag_options",), f"{count} TagOptions; a portfolio can have {MAX_TAG_OPTIONS} associated")

    return {
        "display_name": data["display_name"],
        "description": data.get("description", ""),
        "provider": data["provider"],
        "products": list(data["products"]),
        "studio_visibility": data.get("studio_visibility", True),
        "launch_constraint": launch,
        "principals": principals,
        "shares": shares,
        "tags": dict(sorted(tags.items())),
        "tag_options": {k: list(v) for k, v in sorted(options.items())},
    }


def _principal_type(arn: str) -> str | None:
    if IAM_PATTERN_ARN.match(arn):
        return "IAM_PATTERN"
    if IAM_ARN.match(arn):
        return "IAM"
    return None


def _share_type(target: str) -> tuple[str | None, str | None]:
    """The OrganizationNode type of a share target, or why it cannot be one."""
    if OU_ID.match(target):
        return "ORGANIZATIONAL_UNIT", None
    if ACCOUNT_ID.match(target):
        return "ACCOUNT", None
    if ORG_ID.match(target):
        return "ORGANIZATION", None
    if ROOT_ID.match(target):
        return None, (
            f"{target!r} is a root; Service Catalog shares with OUs, accounts or the whole "
            "organization: use the organization id (o-...) instead"
        )
    if target.startswith("ou-"):
        return None, f"{target!r} is not a valid OU id (ou-, 4-32 lowercase letters or digits, -, 8-32 more)"
    if target.startswith("r-"):
        return None, f"{target!r} is not a valid root id (r-, 4-32 lowercase letters or digits)"
    if target.startswith("o-"):
        return None, f"{target!r} is not a valid organization id (o-, 10-32 lowercase letters or digits)"
    if target.isdigit():
        return None, f"{target!r} is not a valid account id (12 digits; quote it in YAML to keep leading zeros)"
    return None, f"{target!r} is not an OU id (ou-...), account id (12 digits) or organization id (o-...)"


def _tag_text(text: str, path: tuple, what: str, problem, reserved: bool = False) -> None:
    """Service Catalog's tag pattern: letters, separators, numbers and _.:/=+-@ only."""
    bad = sorted({c for c in text if not (unicodedata.category(c)[0] in "LZN" or c in "_.:/=+-@")})
    if bad:
        problem(path, f"{what} {text!r} has characters Service Catalog rejects: {' '.join(map(repr, bad))}")
    if reserved and text.lower().startswith("aws:"):
        problem(path, f"{what} {text!r} uses the reserved prefix 'aws:'")


def _duplicates(values: list[Any], path: tuple, problem, field: str | None = None) -> None:
    seen: set[Any] = set()
    for index, value in enumerate(values):
        if value in seen:
            problem((*path, index, field) if field else (*path, index), f"{value!r} is listed twice")
        seen.add(value)


def _schema_message(error) -> str:
    validator = error.validator
    if validator == "required":
        return error.message.replace("is a required property", "is required")
    if validator == "type":
        return f"must be {_TYPE_NAMES.get(error.validator_value, error.validator_value)}, not {error.instance!r}"
    if validator in ("minLength", "maxLength"):
        return (
            f"{error.instance!r} must be {'at least' if validator == 'minLength' else 'at most'} "
            f"{error.validator_value} characters (it has {len(error.instance)})"
        )
    if validator == "maxProperties":
        return "give either local_role_name or role_arn, not both"
    if validator == "maxItems":
        return f"has {len(error.instance)} entries; at most {error.validator_value} allowed"
    if validator == "minItems":
        return "must list at least one value"
    return error.message


def _unknown_key(key: Any, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1)
    if close:
        return f"unknown key {key!r}; did you mean {close[0]!r}?"
    return f"unknown key {key!r}; allowed: {', '.join(allowed)}"


def _index(node, path: tuple, lines: dict[tuple, int], where: str) -> list[Problem]:
    """Records each key path's line number and reports keys given twice (YAML keeps the last)."""
    problems = []
    if node is None:
        return problems
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                problems.append(Problem(where, _key((*path, key)), "is given twice", key_node.start_mark.line + 1))
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            problems += _index(value_node, (*path, key), lines, where)
            lines[(*path, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _index(item, (*path, index), lines, where)
    return problems


def _line(lines: dict[tuple, int], path: tuple) -> int | None:
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path)


def _key(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            text = str(part) if re.fullmatch(r"[\w:/=+@-]+", str(part)) else repr(part)  # keys as typed
            out += f".{text}" if out else text
    return out
