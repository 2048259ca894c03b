"""Recording why a security scanner's check does not apply, on the resource itself."""

from __future__ import annotations

from troposphere import BaseAWSObject


def skip_check(resource: BaseAWSObject, check_id: str, reason: str) -> BaseAWSObject:
    """Adds a checkov skip with its one-line reason to the resource's metadata; returns the resource."""
    metadata = resource.resource.setdefault("Metadata", {})
    metadata.setdefault("checkov", {}).setdefault("skip", []).append({"id": check_id, "comment": reason})
    return resource
