"""Fixtures for the publisher tests: a dist/ builder, moto (S3, STS, Organizations) and the
Service Catalog double, and a helper that runs the ``plan``/``publish`` subcommands in-process."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from moto import mock_aws  # noqa: E402

from generator.publish import cli  # noqa: E402
from generator.publish.aws import Runtime  # noqa: E402
from tests.fakes.aws import REGION, client, make_session, s3_template_checker  # noqa: E402,F401
from tests.fakes.catalog import MEMBER, ORG, OU, build_dist, default_spec, synthetic_spec  # noqa: E402,F401
from tests.fakes.servicecatalog import ServiceCatalogDouble  # noqa: E402

BUCKET = "smcat-artifacts"


# ------------------------------------------------------------------------------------------ AWS


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    """A clean AWS environment: fake credentials, one region, no user config or endpoint overrides."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3",
                 "AWS_ENDPOINT_URL_SERVICE_CATALOG", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def moto_aws(aws_env):
    """moto for S3, STS and Organizations: the artifact bucket and an organization (caller = management)."""
    with mock_aws():
        client("s3").create_bucket(Bucket=BUCKET)
        client("organizations").create_organization(FeatureSet="ALL")
        yield


@pytest.fixture
def double(moto_aws):
    sc = ServiceCatalogDouble(template_checker=s3_template_checker)
    with sc:
        yield sc


@pytest.fixture
def no_sleep(monkeypatch):
    """Make waits instant: the publisher's own backoff and botocore's retry backoff."""
    slept: list[float] = []
    import botocore.endpoint

    class _Time:
        def __getattr__(self, name):
            import time

            return getattr(time, name)

        @staticmethod
        def sleep(seconds):
            slept.append(seconds)

    monkeypatch.setattr(botocore.endpoint, "time", _Time())
    # adaptive retry mode's client-side rate limiter waits on a condition variable, not time.sleep
    import botocore.retries.bucket

    monkeypatch.setattr(botocore.retries.bucket.TokenBucket, "_sleep_amount", lambda self, amount: 0)
    return slept


@dataclass
class Run:
    code: int
    out: str
    err: str

    @property
    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def runtime_factory(no_sleep):
    def make(**kwargs) -> Runtime:
        kwargs.setdefault("sleep", lambda seconds: no_sleep.append(seconds))
        kwargs.setdefault("max_attempts", 4)
        kwargs.setdefault("session_factory", make_session)
        return Runtime(**kwargs)

    return make


@pytest.fixture
def run_cli(runtime_factory, capsys):
    """run_cli("publish", dist, "--prune", ...) -> Run(code, stdout, stderr)."""

    def run(command: str, dist: Path, *extra: str, runtime: Runtime | None = None, bucket: str = BUCKET) -> Run:
        parser = argparse.ArgumentParser(prog="smcat")
        cli.register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args([command, "--dist", str(dist), "--bucket", bucket, *extra])
        capsys.readouterr()
        code = args.func(args, runtime=runtime or runtime_factory())
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


def is_ledger_write(call) -> bool:
    """A double's call that only records or forgets an applied digest (UpdatePortfolio/UpdateProduct changing just
    the tag smcat:applied; tests/publish/test_ledger.py)."""
    changes = {k: v for k, v in call.params.items() if k != "Id"}
    added = changes.get("AddTags") or [{}]
    return call.operation in ("UpdatePortfolio", "UpdateProduct") and changes in (
        {"RemoveTags": ["smcat:applied"]}, {"AddTags": [{"Key": "smcat:applied", "Value": added[0].get("Value")}]})


@pytest.fixture
def dist(tmp_path) -> Path:
    return build_dist(tmp_path / "build1")


# ------------------------------------------------------------------------------------------ S3 templates


@pytest.fixture
def templates_bucket(moto_aws) -> str:
    """moto (as moto_aws) plus the S3 templates bucket, empty: no versioning, CORS or policy yet."""
    from tests.fakes.s3templates import TEMPLATES_BUCKET

    client("s3").create_bucket(Bucket=TEMPLATES_BUCKET)
    return TEMPLATES_BUCKET


@pytest.fixture
def run_s3(runtime_factory, capsys):
    """run_s3("publish", dist, "--prune", ...) -> Run: plan/publish as for a catalog whose portfolios all
    publish to S3 templates (no --bucket: that is Service Catalog's artifact bucket)."""

    def run(command: str, dist: Path, *extra: str, runtime: Runtime | None = None) -> Run:
        parser = argparse.ArgumentParser(prog="smcat")
        cli.register(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args([command, "--dist", str(dist), *extra])
        capsys.readouterr()
        code = args.func(args, runtime=runtime or runtime_factory())
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
