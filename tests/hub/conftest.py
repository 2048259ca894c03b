"""Fixtures for the hub registry tests: the accounts, and moto clients acting in each of them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from .service_model import validate_requests

DATA_SCIENCE = "111111111111"
HUB = "222222222222"
STAGING = "333333333333"
PROD = "444444444444"
ORGANIZATION = "o-abcdefghij"
REGION = "us-east-1"


@pytest.fixture
def aws():
    """moto, for the duration of a test."""
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        yield


def session_in(account: str) -> boto3.Session:
    """A session whose calls moto attributes to `account` (credentials of an assumed role there)."""
    sts = boto3.client("sts", region_name=REGION)
    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/test", RoleSessionName="hub-tests")[
        "Credentials"
    ]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )


def client_in(account: str, service: str) -> Any:
    """A moto client in `account` whose requests are checked against the service model."""
    return validate_requests(session_in(account).client(service))


class CrossAccountSageMaker:
    """The hub's SageMaker client as AWS routes it: a call naming a model package ARN of another
    account goes to that account (AWS does that; moto looks in the caller's account only)."""

    def __init__(self, home: Any, others: dict[str, Any]):
        self.home = home
        self.others = others

    def describe_model_package(self, ModelPackageName: str) -> dict[str, Any]:  # noqa: N803 (boto3's name)
        parts = ModelPackageName.split(":")
        client = self.others.get(parts[4], self.home) if len(parts) > 5 else self.home
        return client.describe_model_package(ModelPackageName=ModelPackageName)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.home, name)
