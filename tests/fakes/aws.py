"""boto3 helpers for tests and benchmarks run against moto and the Service Catalog double."""

from __future__ import annotations

import functools
import os
import re
from urllib.parse import unquote, urlparse

import boto3
import botocore.loaders
import botocore.session

REGION = "us-east-1"

_LOADER = botocore.loaders.create_loader()


def make_session(**kwargs) -> boto3.Session:
    """A fresh boto3 session whose service-model loader is shared across tests.

    Loading the S3/Service Catalog models and endpoint rules from disk costs ~0.2 s per new
    session; every test (and every publish run) makes new sessions, so the parsed models are
    reused.  Everything else (credentials, config, event handlers) is new each time."""
    core = botocore.session.Session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(botocore_session=core, **kwargs)


def client(service: str, region_name: str = REGION, **kwargs):
    return make_session().client(service, region_name=region_name, **kwargs)


S3_HOST = re.compile(
    r"(?:(?P<bucket>.+)\.)?s3(?:[.-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?\.amazonaws\.com(?:\.cn)?"
)


def parse_s3_url(url: str) -> tuple[str, str, str] | None:
    """(bucket, key, region) of an S3 HTTPS URL, virtual-hosted or path style; the legacy global
    endpoint ``s3.amazonaws.com`` counts as us-east-1.  None when it is no S3 URL."""
    parsed = urlparse(url)
    match = S3_HOST.fullmatch(parsed.hostname or "")
    if parsed.scheme != "https" or match is None:
        return None
    path = unquote(parsed.path.lstrip("/"))
    if match["bucket"]:
        bucket, key = match["bucket"], path
    else:
        bucket, _, key = path.partition("/")
    return bucket, key, match["region"] or "us-east-1"


@functools.lru_cache(maxsize=4)
def _checker_s3(_endpoints: tuple[str | None, ...]):
    """One S3 client per endpoint setting for every check: a new session per check cost ~20 ms (the publish
    benchmark makes hundreds, inside the Service Catalog double's lock).  moto serves it in whichever mock is
    active."""
    return client("s3")


def s3_template_checker(url: str) -> bool:
    """What Service Catalog does with LoadTemplateFromURL: fetch it (here from moto's S3).

    The URL must also name the bucket's own region, as a real fetch needs: a regional endpoint of
    another region answers with a redirect that CloudFormation/Service Catalog do not follow."""
    parsed = parse_s3_url(url)
    if parsed is None:
        return False
    bucket, key, region = parsed
    try:
        s3 = _checker_s3((os.environ.get("AWS_ENDPOINT_URL"), os.environ.get("AWS_ENDPOINT_URL_S3")))
        location = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint") or "us-east-1"
        if region != location:
            return False
        s3.head_object(Bucket=bucket, Key=key)
    except Exception:
        return False
    return True
