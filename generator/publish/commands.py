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
        "--bucket", required=True, help="S3 bucket for templates and seed code; '{region}' is replaced by the region"
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
        "--prune", action="store_true", help="remove shares and product associations that are no longer configured"
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


def register(subparsers) -> None:
    plan = subparsers.add_parser(
        "plan",
        help="show what publish would change in Service Catalog (read-only)",
        description="Read the live Service Catalog/S3 state and print the actions publish would take.",
    )
    _add_options(plan)
    plan.add_argument("--out", type=Path, default=None, metavar="FILE",
                      help="also write the plan as JSON to FILE, for `publish --plan FILE`")
    plan.set_defaults(func=_deferred("run_plan"))
    publish = subparsers.add_parser(
        "publish",
        help="publish dist/ to Service Catalog (portfolios, products, versions, shares)",
        description="Upload artifacts and bring portfolios, products, constraints, principals and shares "
        "to the state described by dist/manifest.json.",
    )
    _add_options(publish)
    publish.add_argument("--plan", type=Path, default=None, metavar="FILE",
                         help="apply only if the live state still gives exactly the plan saved by `plan --out FILE`")
    publish.set_defaults(func=_deferred("run_publish"))
