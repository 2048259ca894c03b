"""boto3 helpers for tests and benchmarks run against moto and the Service Catalog double."""

from __future__ import annotations

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


def s3_template_checker(url: str) -> bool:
    """What Service Catalog does with LoadTemplateFromURL: fetch it (here from moto's S3)."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    if host.startswith("s3."):
        bucket, _, key = parsed.path.lstrip("/").partition("/")
    else:
        bucket, key = host.split(".s3.", 1)[0], parsed.path.lstrip("/")
    try:
        client("s3").head_object(Bucket=bucket, Key=unquote(key))
    except Exception:
        return False
    return True
