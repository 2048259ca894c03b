"""Stricter request validation for botocore Stubber tests.

botocore's Stubber (like its own parameter validation) checks structure,
types and required members, but not enums, patterns, string lengths or
numeric ranges. A request that breaks those would pass a stubbed test and
fail against AWS with a ValidationException, so :func:`strict_stubber`
also walks the operation's input shape and checks them.
"""

from __future__ import annotations

from typing import Any

import regex  # installed with cfn-lint; supports the \\p{..} classes used in AWS patterns
from botocore.model import Shape
from botocore.stub import Stubber


class ModelViolation(AssertionError):
    """A request parameter breaks a constraint of the service model."""


def validate_against_shape(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Return the constraint violations of ``value`` for ``shape`` (recursively)."""
    problems: list[str] = []
    meta = shape.metadata
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            if isinstance(value, dict) and name in value:
                problems += validate_against_shape(value[name], member, f"{path}.{name}" if path else name)
    elif shape.type_name == "list":
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: {len(value)} items, minimum {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: {len(value)} items, maximum {meta['max']}")
        for index, item in enumerate(value):
            problems += validate_against_shape(item, shape.member, f"{path}[{index}]")
    elif shape.type_name == "map":
        for key, item in value.items():
            problems += validate_against_shape(key, shape.key, f"{path}<key>")
            problems += validate_against_shape(item, shape.value, f"{path}[{key}]")
    elif shape.type_name == "string":
        if shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} not in {shape.enum}")
        if "min" in meta and len(value) < meta["min"]:
            problems.append(f"{path}: length {len(value)} below {meta['min']}")
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{path}: length {len(value)} above {meta['max']}")
        # AWS patterns must match the whole value.
        if "pattern" in meta and not regex.fullmatch(meta["pattern"], value, flags=regex.DOTALL):
            problems.append(f"{path}: {value!r} does not match {meta['pattern']}")
    elif shape.type_name in ("integer", "long", "float", "double"):
        if "min" in meta and value < meta["min"]:
            problems.append(f"{path}: {value} below {meta['min']}")
        if "max" in meta and value > meta["max"]:
            problems.append(f"{path}: {value} above {meta['max']}")
    return problems


def strict_stubber(client: Any) -> Stubber:
    """A Stubber for ``client`` that also enforces enums, patterns, lengths and ranges.

    A violation raises :class:`ModelViolation` from the client call, which
    fails the test where the bad request is made.
    """

    def check(params: dict[str, Any], model: Any, **_: Any) -> None:
        problems = validate_against_shape(params, model.input_shape) if model.input_shape else []
        if problems:
            raise ModelViolation(f"{model.name} request breaks the service model: " + "; ".join(problems))

    client.meta.events.register_first("before-parameter-build.*.*", check)
    return Stubber(client)
