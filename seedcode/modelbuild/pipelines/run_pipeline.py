"""``run-pipeline``: create or update the SageMaker Pipeline, then start an execution.

CodeBuild runs this on every push to the repository (see ``codebuild-buildspec.yml``)::

    run-pipeline --module-name pipelines.regression.pipeline \\
        --role-arn arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole \\
        --pipeline-name my-project-p-abc123 \\
        --tags '[{"Key": "sagemaker:project-name", "Value": "my-project"}]' \\
        --kwargs '{"region": "eu-west-1", "default_bucket": "my-bucket", "model_package_group_name": "my-group"}' \\
        --wait

``--kwargs`` are passed to the module's ``get_pipeline()``; ``--role-arn`` and
``--pipeline-name`` fill in its ``role`` and ``pipeline_name`` arguments unless given there.
Exit status: 0 when the execution started (or, with ``--wait``, succeeded); 2 for bad arguments
and for missing or expired AWS credentials or no region (one line on stderr says which); 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from botocore.exceptions import ClientError

from pipelines._utils import (
    aws_setup_problem,
    configure_logging,
    get_pipeline_driver,
    get_project_tags,
    merge_tags,
    parse_json_arg,
    parse_tags,
    region_as_default,
)

logger = logging.getLogger(__name__)

DEFAULT_MODULE = "pipelines.regression.pipeline"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Create/update a SageMaker Pipeline and start it.")
    parser.add_argument("--module-name", default=DEFAULT_MODULE,
                        help=f"module with a get_pipeline() function (default: {DEFAULT_MODULE})")
    parser.add_argument("--role-arn", required=True,
                        help="IAM role the pipeline (and, by default, its jobs) run as")
    parser.add_argument("--pipeline-name", help="pipeline name (else get_pipeline's pipeline_name)")
    parser.add_argument("--tags", help='JSON list of tags: [{"Key": "k", "Value": "v"}]')
    parser.add_argument("--kwargs", help="JSON object of keyword arguments for get_pipeline()")
    parser.add_argument("--project-arn", help="SageMaker project ARN: its tags are copied to the pipeline")
    parser.add_argument("--description", help="pipeline description")
    parser.add_argument("--wait", action="store_true",
                        help="wait for the execution to finish; fail if it does not succeed")
    parser.add_argument("--max-wait-minutes", type=int, default=120)
    parser.add_argument("--poll-seconds", type=int, default=60)
    return parser.parse_args(argv)


def _project_tags(project_arn: str, pipeline) -> list:
    """The project's tags, or none (with a warning) when they cannot be read."""
    try:
        return get_project_tags(project_arn, pipeline.sagemaker_session.sagemaker_client)
    except ClientError as error:
        logger.warning("Could not read the tags of %s, not copying them: %s", project_arn, error)
        return []


def _print_steps(execution) -> None:
    for step in execution.list_steps():
        line = f"  {step['StepName']}: {step['StepStatus']}"
        if step.get("FailureReason"):
            line += f" ({step['FailureReason']})"
        print(line)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        tags = parse_tags(args.tags)
        kwargs = parse_json_arg(args.kwargs, "--kwargs", dict)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    kwargs.setdefault("role", args.role_arn)
    if args.pipeline_name:
        kwargs["pipeline_name"] = args.pipeline_name

    with region_as_default(kwargs.get("region")):
        return _run(args, kwargs, tags)


def _run(args, kwargs: dict, tags: list) -> int:
    try:
        pipeline = get_pipeline_driver(args.module_name, kwargs)
        definition = json.loads(pipeline.definition())
        print("### Pipeline definition:")
        print(json.dumps(definition, indent=2, sort_keys=True))

        if args.project_arn:
            tags = merge_tags(_project_tags(args.project_arn, pipeline), tags)
        response = pipeline.upsert(role_arn=args.role_arn, description=args.description,
                                   tags=tags or None)
        print(f"### Created/updated pipeline {response['PipelineArn']}")

        execution = pipeline.start()
        print(f"### Started execution {execution.arn}")
        if not args.wait:
            return 0

        print(f"### Waiting for the execution (at most {args.max_wait_minutes} minutes)")
        max_attempts = max(1, args.max_wait_minutes * 60 // max(1, args.poll_seconds))
        try:
            execution.wait(delay=args.poll_seconds, max_attempts=max_attempts)
        finally:
            status = execution.describe().get("PipelineExecutionStatus")
            print(f"### Execution status: {status}")
            _print_steps(execution)
        return 0
    except Exception as error:  # noqa: BLE001 - report any failure as a failed build
        problem = aws_setup_problem(error)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 2
        logger.exception("run-pipeline failed")
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1


def cli() -> None:
    configure_logging(logging.INFO)
    sys.exit(main())


if __name__ == "__main__":
    cli()
