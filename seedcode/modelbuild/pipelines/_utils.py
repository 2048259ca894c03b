"""Helpers shared by the command line tools (``run-pipeline``, ``get-pipeline-definition``)."""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import logging
import os
import sys
from typing import Any, Dict, List, Optional

from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    UnauthorizedSSOTokenError,
)

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


def default_region() -> Optional[str]:
    """The region boto3 would use (``AWS_DEFAULT_REGION``, the profile's ``region``), else ``AWS_REGION``."""
    import boto3

    return boto3.Session().region_name or os.environ.get("AWS_REGION") or None


@contextlib.contextmanager
def region_as_default(region: Optional[str]):
    """``AWS_DEFAULT_REGION=region`` while the block runs, if boto3 would find no region.

    The SageMaker Python SDK v3 needs a default region even when ``--kwargs`` names one: some
    modules create a boto3 client when they are imported (sagemaker/ai_registry/air_hub.py
    ``AIRHub``, reached from sagemaker.mlops.workflow.pipeline), and ProcessingStep creates a
    ``LocalSession`` (sagemaker/mlops/workflow/steps.py), which refuses to start without one.
    """
    if not region or default_region():
        yield
        return
    os.environ["AWS_DEFAULT_REGION"] = region
    try:
        yield
    finally:
        os.environ.pop("AWS_DEFAULT_REGION", None)


def get_pipeline_driver(module_name: str, kwargs: Optional[Dict[str, Any]] = None):
    """Import ``module_name`` and return ``module.get_pipeline(**kwargs)``.

    A ``region`` argument of ``get_pipeline()`` that ``kwargs`` leave out (or set to null) is
    filled in with :func:`default_region`; :class:`NoRegionError` when there is none.
    """
    module = importlib.import_module(module_name)
    if not hasattr(module, "get_pipeline"):
        raise AttributeError(f"Module {module_name} has no get_pipeline() function")
    kwargs = dict(kwargs or {})
    if kwargs.get("region") is None and "region" in inspect.signature(module.get_pipeline).parameters:
        kwargs["region"] = default_region()
        if kwargs["region"] is None:
            raise NoRegionError()
    return module.get_pipeline(**kwargs)


# ClientError codes of a temporary session token that has expired.
EXPIRED_TOKEN_CODES = frozenset({"ExpiredToken", "ExpiredTokenException"})


def aws_setup_problem(error: BaseException) -> Optional[str]:
    """One line saying what is missing when ``error`` (or its cause) comes from missing or
    expired AWS credentials or a missing region; ``None`` for any other error."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, NoRegionError):
            return 'no AWS region configured: set AWS_DEFAULT_REGION or AWS_REGION, or pass "region" in --kwargs'
        if isinstance(error, PartialCredentialsError):
            return f"incomplete AWS credentials: {error}"
        if isinstance(error, NoCredentialsError):
            return ("no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_PROFILE, "
                    "or run where a role provides them (CodeBuild, SageMaker Studio)")
        expired = isinstance(error, UnauthorizedSSOTokenError) or (
            isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in EXPIRED_TOKEN_CODES)
        if expired:
            return "the AWS credentials have expired: refresh them (aws sso login, or new temporary credentials)"
        error = error.__cause__
    return None
