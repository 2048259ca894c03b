"""Helpers shared by the command line tools (``run-pipeline``, ``get-pipeline-definition``)."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import Any, Dict, List, Optional

logger = logging.getLogger(__name__)

Tags = List[Dict[str, str]]


def configure_logging(level: int = logging.INFO) -> None:
    """Log to stderr, including the SageMaker SDK's config messages (it would print them to stdout)."""
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    # The SDK adds a stdout handler to "sagemaker.config" only if that logger has none.
    config_logger = logging.getLogger("sagemaker.config")
    if not config_logger.handlers:
        config_logger.addHandler(logging.NullHandler())
        config_logger.setLevel(level)


def parse_json_arg(value: Optional[str], name: str, expected_type: type) -> Any:
    """Parse a JSON command line argument; ``None`` or ``""`` gives an empty value."""
    if value is None or not value.strip():
        return expected_type()
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name} is not valid JSON: {error}: {value!r}") from None
    if not isinstance(parsed, expected_type):
        raise ValueError(f"{name} must be a JSON {expected_type.__name__}, got {value!r}")
    return parsed


def parse_tags(value: Optional[str]) -> Tags:
    """Parse ``[{"Key": "k", "Value": "v"}, ...]``."""
    tags = parse_json_arg(value, "--tags", list)
    for tag in tags:
        if not (isinstance(tag, dict) and set(tag) == {"Key", "Value"}
                and all(isinstance(v, str) for v in tag.values())):
            raise ValueError(f'--tags entries must be {{"Key": str, "Value": str}}, got {tag!r}')
    return tags


def merge_tags(*tag_lists: Optional[Tags]) -> Tags:
    """Merge tag lists; for a key given more than once the last value wins."""
    merged: Dict[str, str] = {}
    for tags in tag_lists:
        for tag in tags or []:
            merged[tag["Key"]] = tag["Value"]
    return [{"Key": key, "Value": value} for key, value in merged.items()]


def get_project_tags(project_arn: str, sagemaker_client) -> Tags:
    """Tags of the SageMaker project, to copy onto the pipeline.

    Keys starting with ``aws:`` are reserved by AWS and cannot be set, so they are left out.
    """
    tags: Tags = []
    kwargs = {"ResourceArn": project_arn}
    while True:
        response = sagemaker_client.list_tags(**kwargs)
        tags.extend(t for t in response.get("Tags", []) if not t["Key"].startswith("aws:"))
        if not response.get("NextToken"):
            return tags
        kwargs["NextToken"] = response["NextToken"]


def get_pipeline_driver(module_name: str, kwargs: Optional[Dict[str, Any]] = None):
    """Import ``module_name`` and return ``module.get_pipeline(**kwargs)``."""
    module = importlib.import_module(module_name)
    if not hasattr(module, "get_pipeline"):
        raise AttributeError(f"Module {module_name} has no get_pipeline() function")
    return module.get_pipeline(**(kwargs or {}))
