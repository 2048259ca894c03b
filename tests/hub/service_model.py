"""Checks a request against the botocore service model the way the real service does.

botocore's own validation (and `Stubber`) checks structure, types and required members, but not
enums, patterns or lengths; AWS rejects those with ValidationException. `violations` walks the
operation's input shape and reports them; `validate_requests(client)` makes every call a client
makes (to moto or to a Stubber) fail with the same error class the service would raise.
Patterns use the `regex` module (botocore patterns use \\p{L} and friends) and must match the
whole value.
"""

from __future__ import annotations

from typing import Any

import regex
from botocore.exceptions import ClientError


def violations(shape: Any, value: Any, path: str = "") -> list[str]:
    found: list[str] = []
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for name in shape.required_members:
            if name not in value:
                found.append(f"{path}.{name}: required")
        for name, member_value in value.items():
            if name in shape.members:
                found += violations(shape.members[name], member_value, f"{path}.{name}")
            else:
                found.append(f"{path}.{name}: unknown member")
    elif kind == "list" and isinstance(value, list):
        found += _bounds(shape, len(value), path, "items")
        for index, item in enumerate(value):
            found += violations(shape.member, item, f"{path}[{index}]")
    elif kind == "map" and isinstance(value, dict):
        found += _bounds(shape, len(value), path, "entries")
        for key, item in value.items():
            found += violations(shape.key, key, f"{path} key {key!r}")
            found += violations(shape.value, item, f"{path}[{key!r}]")
    elif kind == "string" and isinstance(value, str):
        found += _bounds(shape, len(value), path, "characters")
        if shape.enum and value not in shape.enum:
            found.append(f"{path}: {value!r} is not one of {shape.enum}")
        pattern = shape.metadata.get("pattern")
        if pattern and not _matches(pattern, value):
            found.append(f"{path}: {value!r} does not match {pattern}")
    elif kind in ("integer", "long") and isinstance(value, int):
        found += _bounds(shape, value, path, "")
    return found


def _bounds(shape: Any, size: int, path: str, unit: str) -> list[str]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        return [f"{path}: {size} {unit} < min {low}".replace("  ", " ")]
    if high is not None and size > high:
        return [f"{path}: {size} {unit} > max {high}".replace("  ", " ")]
    return []


def _matches(pattern: str, value: str) -> bool:
    try:
        return regex.fullmatch(pattern, value) is not None
    except regex.error:  # a few botocore patterns are not valid regular expressions (e.g. `$.{1,128}`)
        try:
            return regex.fullmatch(pattern.replace("$", ""), value) is not None
        except regex.error:
            return True


def request_violations(client: Any, operation: str, params: dict[str, Any]) -> list[str]:
    """`operation` is the API name (CreateModelPackage) or the client method (create_model_package)."""
    model = client.meta.service_model
    name = operation if operation in model.operation_names else client.meta.method_to_api_mapping[operation]
    return violations(model.operation_model(name).input_shape, params, name)


def validate_requests(client: Any) -> Any:
    """Every request `client` makes is checked first; a bad one raises ValidationException."""

    def check(params: dict[str, Any], model: Any, **_: Any) -> None:
        problems = violations(model.input_shape, params, model.name) if model.input_shape else []
        if problems:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "; ".join(problems)}}, model.name)

    client.meta.events.register(f"provide-client-params.{client.meta.service_model.service_id.hyphenize()}.*", check)
    return client
