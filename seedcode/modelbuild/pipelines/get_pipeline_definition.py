"""``get-pipeline-definition``: print the pipeline definition JSON without creating it.

Building the definition uploads the step scripts (and the sample data) to the default bucket,
because the definition refers to them by S3 URI. With ``--offline`` nothing leaves the
machine: moto (from ``requirements-dev.txt``) stands in for AWS and fake credentials are used;
the S3 URIs in the output are the ones a real run would use for the same bucket::

    get-pipeline-definition --offline \\
        --kwargs '{"region": "us-east-1", "role": "arn:aws:iam::111111111111:role/x", "default_bucket": "my-bucket"}'

Without ``"region"`` in ``--kwargs`` the region comes from the environment (``AWS_DEFAULT_REGION``,
the profile, ``AWS_REGION``). Missing or expired AWS credentials, or no region, are reported in
one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
from unittest import mock

from pipelines._utils import (
    aws_setup_problem,
    configure_logging,
    get_pipeline_driver,
    parse_json_arg,
    region_as_default,
)

DEFAULT_MODULE = "pipelines.regression.pipeline"

_OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    # The SDK's client-side check of the roles (iam:SimulatePrincipalPolicy, iam:GetRole), which
    # moto does not implement; sagemaker/core/helper/iam_role_resolver.py resolve_and_validate_role.
    "SAGEMAKER_VALIDATE_ROLE": "false",
}

def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Print a SageMaker Pipeline definition as JSON.")
    parser.add_argument("--module-name", default=DEFAULT_MODULE,
                        help=f"module with a get_pipeline() function (default: {DEFAULT_MODULE})")
    parser.add_argument("--kwargs", help="JSON object of keyword arguments for get_pipeline()")
    parser.add_argument("--file-name", help="write the JSON to this file instead of stdout")
    parser.add_argument("--offline", action="store_true",
                        help="do not call AWS: use moto and fake credentials (needs moto)")
    return parser.parse_args(argv)


@contextlib.contextmanager
def offline_aws():
    """Fake credentials and an in-memory AWS (moto) for the duration of the block."""
    try:
        from moto import mock_aws
    except ImportError:  # pragma: no cover - depends on the environment
        raise SystemExit("--offline needs moto: pip install -r requirements-dev.txt") from None
    with tempfile.TemporaryDirectory() as tmp:
        # An empty SageMaker SDK defaults config: the user's and the admin's config files
        # (which may live in S3) are not read.
        config = os.path.join(tmp, "config.yaml")
        open(config, "w").close()
        env = dict(_OFFLINE_ENV, SAGEMAKER_ADMIN_CONFIG_OVERRIDE=config,
                   SAGEMAKER_USER_CONFIG_OVERRIDE=config)
        with mock.patch.dict(os.environ, env), mock_aws(), no_telemetry():
            yield


@contextlib.contextmanager
def no_telemetry():
    """Stop the SDK's usage telemetry (an HTTPS request, from a thread, when steps are built).

    Opting out through the SDK config would also work, but any non-empty config makes every
    config look-up validate the config schema, which slows building the definition ~3x.
    """
    try:
        from sagemaker.core.telemetry import telemetry_logging
    except ImportError:  # pragma: no cover - SDK versions without telemetry
        yield
        return
    if not hasattr(telemetry_logging, "_send_telemetry_request"):  # pragma: no cover
        yield
        return
    with mock.patch.object(telemetry_logging, "_send_telemetry_request", lambda *a, **k: None):
        yield


def get_definition(module_name: str, kwargs: dict, offline: bool = False) -> dict:
    """Build the pipeline and return its definition as a dict."""
    with offline_aws() if offline else contextlib.nullcontext(), region_as_default(kwargs.get("region")):
        pipeline = get_pipeline_driver(module_name, kwargs)
        return json.loads(pipeline.definition())


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        kwargs = parse_json_arg(args.kwargs, "--kwargs", dict)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        definition = get_definition(args.module_name, kwargs, args.offline)
    except Exception as error:
        problem = aws_setup_problem(error)
        if problem is None:
            raise
        print(f"error: {problem}", file=sys.stderr)
        return 2
    text = json.dumps(definition, indent=2, sort_keys=True)
    if args.file_name:
        with open(args.file_name, "w") as f:
            f.write(text + "\n")
    else:
        print(text)
    return 0


def cli() -> None:
    configure_logging(logging.WARNING)  # stdout is for the JSON only
    sys.exit(main())


if __name__ == "__main__":
    cli()
