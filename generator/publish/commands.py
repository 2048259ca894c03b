"""The `plan` and `publish` subcommands' arguments, without importing boto3.

Registering the commands is all the main CLI needs at start-up; the publisher itself (boto3 and
the rest) is imported only when one of them runs, so `build` stays fast.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DEFAULT_MAX_ATTEMPTS = 10
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_WAIT = 300.0
DEFAULT_MAX_PARALLEL = 8


def add_client_options(parser: argparse.ArgumentParser, default=None) -> None:
    """--max-attempts, --timeout, --max-wait for the commands beside plan/publish (domains, projects);
    ``default=argparse.SUPPRESS`` on a nested parser keeps a value given before its action word."""
    parser.add_argument("--max-attempts", type=int, default=default,
                        help=f"attempts per API call, the first included (default: {DEFAULT_MAX_ATTEMPTS})")
    parser.add_argument("--timeout", type=float, default=default, metavar="SECONDS",
                        help=f"seconds to connect, and to wait for each answer (default: {DEFAULT_TIMEOUT:.0f})")
    parser.add_argument("--max-wait", type=float, default=default, metavar="SECONDS",
                        help=f"no retry of an API call starts later than this (default: {DEFAULT_MAX_WAIT:.0f})")


def _deferred(name: str):
    def run(args: argparse.Namespace, **kwargs) -> int:
        from generator.publish import cli

        return getattr(cli, name)(args, **kwargs)

    return run


def _add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dist",
        type=Path,
        default=None,
        help="build output directory (default: dist, under the catalog --root when given)",
    )
    parser.add_argument(
        "--region",
        action="append",
        default=None,
        help="region to publish to; repeat for several (default: from AWS config/env)",
    )
    parser.add_argument("--profile", default=None, help="AWS named profile")
    parser.add_argument(
        "--bucket", default=None,
        help="S3 bucket for Service Catalog's templates and seed code; '{region}' is replaced by the region "
        "(required when a portfolio publishes to Service Catalog; S3 templates go to each portfolio's "
        "s3_templates.bucket)",
    )
    parser.add_argument("--prefix", default="smcat", help="S3 key prefix (default: smcat)")
    parser.add_argument(
        "--kms-key-id",
        default=None,
        help="KMS key for SSE-KMS uploads (id, ARN or alias); '{region}' is replaced by the region",
    )
    parser.add_argument(
        "--keep-versions",
        type=int,
        default=3,
        help="active versions kept per product before older ones are DEPRECATED (default: 3)",
    )
    parser.add_argument(
        "--prune", action="store_true",
        help="remove shares, product associations, S3 templates and bucket policy statements that are no longer "
        "configured",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    parser.add_argument(
        "--share-timeout",
        type=float,
        default=900.0,
        help="seconds to wait for each share operation to complete (default: 900)",
    )
    parser.add_argument(
        "--max-attempts",
        type=int,
        default=None,
        help=f"attempts per API call, the first included, while AWS throttles or does not answer "
        f"(default: {DEFAULT_MAX_ATTEMPTS})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"seconds to connect, and to wait for each answer, per HTTP request (default: {DEFAULT_TIMEOUT:.0f})",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help=f"no retry of an API call starts later than this after its first attempt (default: "
        f"{DEFAULT_MAX_WAIT:.0f})",
    )
    parser.add_argument(
        "--allow-lint-findings",
        action="store_true",
        help="publish a build whose lint had findings, was skipped (build --no-lint) or was not recorded",
    )
    parser.add_argument(
        "--retry-shares",
        action="store_true",
        help="share again where the last share operation ended COMPLETED_WITH_ERRORS or ERROR",
    )
    _add_scale_options(parser)
    _add_retire_options(parser)


def _add_retire_options(parser: argparse.ArgumentParser) -> None:
    """Version retirement (`--retire-after`): see planner._plan_retirements."""
    parser.add_argument(
        "--retire-after", type=int, default=None, metavar="N",
        help="delete DEPRECATED versions past the newest N deprecated ones (0: all) that no provisioned product or "
        "SageMaker project in this account uses; never the current version; reads everything (as --refresh)",
    )
    parser.add_argument(
        "--retire-shared", action="store_true",
        help="with --retire-after: also retire versions of products in portfolios shared with other accounts, whose "
        "provisioned products this account cannot see (check them first with `smcat projects` in each account)",
    )


def _add_scale_options(parser: argparse.ArgumentParser) -> None:
    """Publishing at scale: how many actions run at once, and reading everything despite the ledger."""
    parser.add_argument(
        "--max-parallel", type=int, default=None, metavar="N",
        help=f"actions applied at once per region, across independent products and portfolios; 1 applies them "
        f"strictly in plan order (default: {DEFAULT_MAX_PARALLEL})",
    )
    parser.add_argument(
        "--refresh", action="store_true",
        help="read every portfolio and product in full, even those whose smcat:applied tag says nothing changed "
        "since they were last applied (finds changes made outside smcat, e.g. in the console)",
    )


def register(subparsers) -> None:
    plan = subparsers.add_parser(
        "plan",
        help="show what publish would change in Service Catalog and S3 templates (read-only)",
        description="Read the live Service Catalog/S3 state and print the actions publish would take.",
    )
    _add_options(plan)
    plan.add_argument("--out", type=Path, default=None, metavar="FILE",
                      help="also write the plan as JSON to FILE, for `publish --plan FILE`")
    plan.set_defaults(func=_deferred("run_plan"))
    publish = subparsers.add_parser(
        "publish",
        help="publish dist/ to Service Catalog (portfolios, products, versions, shares) and S3 templates",
        description="Upload artifacts and bring portfolios, products, constraints, principals and shares "
        "(Service Catalog), and templates, tags, CORS and the bucket policy (publish_to: [s3]) to the state "
        "described by dist/manifest.json.",
    )
    _add_options(publish)
    publish.add_argument("--plan", type=Path, default=None, metavar="FILE",
                         help="apply only if the live state still gives exactly the plan saved by `plan --out FILE`")
    publish.set_defaults(func=_deferred("run_publish"))
    from .domains import register as register_domains  # `smcat domains plan|tag`

    register_domains(subparsers)
    from .projects import register as register_projects  # `smcat projects [plan-upgrade|upgrade]`

    register_projects(subparsers)
