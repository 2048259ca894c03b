"""Validate plain request/response data against a botocore shape.

botocore's own client-side validation (and its ``Stubber``) checks structure, types and required
members but not enums, patterns, or min/max constraints; the real services do and answer with
``ValidationException`` ("1 validation error detected: Value '...' at '...' failed to satisfy
constraint: Member must satisfy regular expression pattern: ...").  This module walks the shape
and reports every violation so a test double can behave the same way.

Service models carry Java regular expressions (``\\p{L}``, ``\\p{Z}``, ``\\p{N}`` ...) and the
services match them against the *whole* value.  The third-party ``regex`` module understands
``\\p{..}``; when it is not installed the Unicode property classes are expanded into explicit
code point ranges for the standard library ``re``.
"""

from __future__ import annotations

import datetime as _dt
import functools
import sys
import unicodedata
from dataclasses import dataclass
from typing import Any

try:  # pragma: no cover - exercised implicitly, depending on what is installed
    import regex as _regex_mod

    _HAVE_REGEX = True
except ImportError:  # pragma: no cover
    import re as _regex_mod

    _HAVE_REGEX = False

__all__ = ["Violation", "validate", "compile_java_pattern", "java_fullmatch"]


@dataclass(frozen=True)
class Violation:
    """One problem found in a value.

    kind is "serialization" for a wrong type (the service answers SerializationException),
    "validation" for a broken constraint (ValidationException).
    """

    kind: str
    path: str
    message: str
    value: Any = None

    def __str__(self) -> str:  # AWS's wording
        shown = "null" if self.value is None else f"'{_shorten(self.value)}'"
        return f"Value {shown} at '{self.path}' failed to satisfy constraint: {self.message}"


# ------------------------------------------------------------------------------------------- patterns


@functools.cache
def _all_category_ranges() -> dict[str, str]:
    """Character-class bodies for every one-letter Unicode category (L, N, Z, ...), in one pass."""
    ranges: dict[str, list[str]] = {}
    current, start = None, 0
    for cp in range(sys.maxunicode + 2):
        if cp > sys.maxunicode or 0xD800 <= cp <= 0xDFFF:
            major = None
        else:
            major = unicodedata.category(chr(cp))[0]
        if major != current:
            if current is not None:
                ranges.setdefault(current, []).append(_range(start, cp - 1))
            current, start = major, cp
    return {k: "".join(v) for k, v in ranges.items()}


def _category_ranges(prefix: str) -> str:
    if len(prefix) != 1:
        raise ValueError(f"unsupported property class \\p{{{prefix}}}")
    return _all_category_ranges().get(prefix, "")


def _range(a: int, b: int) -> str:
    esc = lambda cp: f"\\U{cp:08x}"  # noqa: E731
    return esc(a) if a == b else f"{esc(a)}-{esc(b)}"


def _translate_properties(pattern: str) -> str:
    """Expand \\p{X} (outside or inside a class) for the standard library re module."""
    out: list[str] = []
    i = 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and pattern.startswith("\\p{", i):
            end = pattern.index("}", i)
            body = _category_ranges(pattern[i + 3 : end])
            out.append(body if in_class else f"[{body}]")
            i = end + 1
            continue
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        out.append(ch)
        i += 1
    return "".join(out)


@functools.cache
def compile_java_pattern(pattern: str):
    if _HAVE_REGEX:
        return _regex_mod.compile(pattern)
    return _regex_mod.compile(_translate_properties(pattern))  # pragma: no cover


def java_fullmatch(pattern: str, value: str) -> bool:
    """Whole-value match, as the services apply model patterns."""
    return compile_java_pattern(pattern).fullmatch(value) is not None


# ------------------------------------------------------------------------------------------- validation

_TYPE_CHECKS = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "blob": lambda v: isinstance(v, (bytes, bytearray)),
    "timestamp": lambda v: isinstance(v, (_dt.datetime, int, float)) and not isinstance(v, bool),
    "list": lambda v: isinstance(v, list),
    "map": lambda v: isinstance(v, dict),
    "structure": lambda v: isinstance(v, dict),
}


def _shorten(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate(value: Any, shape, path: str = "", *, allow_unknown: bool = False) -> list[Violation]:
    """Every violation of value against shape (empty list when valid)."""
    problems: list[Violation] = []
    _walk(value, shape, path or shape.name, problems, allow_unknown)
    return problems


def _walk(value: Any, shape, path: str, problems: list[Violation], allow_unknown: bool) -> None:
    type_name = shape.type_name
    check = _TYPE_CHECKS.get(type_name)
    if check is None or not check(value):
        problems.append(
            Violation("serialization", path, f"expected {type_name}, got {type(value).__name__}")
        )
        return
    meta = shape.metadata
    if type_name == "structure":
        for name in shape.required_members:
            if value.get(name) is None:
                problems.append(Violation("validation", f"{path}.{name}", "Member must not be null"))
        for name, member_value in value.items():
            if name not in shape.members:
                if not allow_unknown:
                    problems.append(Violation("serialization", f"{path}.{name}", "unknown member"))
                continue
            if member_value is None:
                continue
            _walk(member_value, shape.members[name], f"{path}.{name}", problems, allow_unknown)
        return
    if type_name == "list":
        _check_length(len(value), meta, path, problems, "length", value)
        for index, item in enumerate(value, start=1):
            _walk(item, shape.member, f"{path}.{index}.member", problems, allow_unknown)
        return
    if type_name == "map":
        _check_length(len(value), meta, path, problems, "length", value)
        for key, item in value.items():
            _walk(key, shape.key, f"{path}.key", problems, allow_unknown)
            _walk(item, shape.value, f"{path}.{key}", problems, allow_unknown)
        return
    if type_name == "string":
        _check_length(len(value), meta, path, problems, "length", value)
        enum = getattr(shape, "enum", None) or []
        if enum and value not in enum:
            problems.append(
                Violation(
                    "validation",
                    path,
                    f"Member must satisfy enum value set: [{', '.join(enum)}]",
                    value,
                )
            )
        pattern = meta.get("pattern")
        if pattern is not None and not java_fullmatch(pattern, value):
            problems.append(
                Violation(
                    "validation",
                    path,
                    f"Member must satisfy regular expression pattern: {pattern}",
                    value,
                )
            )
        return
    if type_name in ("integer", "long", "double", "float"):
        if "min" in meta and value < meta["min"]:
            problems.append(
                Violation("validation", path, f"Member must have value greater than or equal to {meta['min']}", value)
            )
        if "max" in meta and value > meta["max"]:
            problems.append(
                Violation("validation", path, f"Member must have value less than or equal to {meta['max']}", value)
            )


def _check_length(
    length: int, meta: dict, path: str, problems: list[Violation], what: str, value: Any = None
) -> None:
    if "min" in meta and length < meta["min"]:
        problems.append(
            Violation("validation", path, f"Member must have {what} greater than or equal to {meta['min']}", value)
        )
    if "max" in meta and length > meta["max"]:
        problems.append(
            Violation("validation", path, f"Member must have {what} less than or equal to {meta['max']}", value)
        )
