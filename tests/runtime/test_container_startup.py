"""Container start-up: every S3 URI the model container reads at start must be readable by the
endpoint's execution role, with network isolation as the endpoint template configures it.

The model package comes from the model-build recording (its register step). At start-up:
* `ModelDataUrl` is downloaded by SageMaker with the execution role before the container starts:
  s3:GetObject and kms:Decrypt (through S3) on the key the object was really written with;
* any other s3:// value the container gets (Environment, e.g. SAGEMAKER_SUBMIT_DIRECTORY) is read by
  the container itself. With network isolation it cannot: "If you enable network isolation, the
  containers can't make any outbound network calls, even to other AWS services such as Amazon S3 ...
  SageMaker still performs download and upload operations against Amazon S3 using your SageMaker
  execution role in isolation from the training or inference container" (SageMaker developer guide,
  "Run training and inference containers in internet-free mode",
  https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html; botocore's
  sagemaker service-2.json, CreateModelInput.EnableNetworkIsolation: "No inbound or outbound network
  calls can be made to or from the model container"). So an s3:// code location is an error then;
  without isolation the container reads it with the execution role's credentials.

Network isolation "as configured": endpoint-config-template.yml's `ModelNetworkIsolation` (the
Model's EnableNetworkIsolation), its default unless a stage config sets it.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from tests.hub.access import Principal
from tests.hub.test_fit import PROD_ENDPOINT, STAGING_ENDPOINT
from tests.runtime.calls import check
from tests.runtime.modelbuild import ROOT
from tests.runtime.objects import ObjectStore, parse_s3_uri
from tests.runtime.pipeline import ModelPackage

MODELDEPLOY = ROOT / "seedcode" / "modeldeploy"
STAGES = ("staging", "prod")
EXECUTION_ROLES = {"staging": STAGING_ENDPOINT, "prod": PROD_ENDPOINT}


class _CfnLoader(yaml.SafeLoader):
    pass


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: {suffix: loader.construct_scalar(node)
                                                                     if isinstance(node, yaml.ScalarNode) else None})


def network_isolation(stage: str) -> bool:
    """ModelNetworkIsolation for `stage`: the stage config's value, else the template's default."""
    template = yaml.load((MODELDEPLOY / "endpoint-config-template.yml").read_text(), Loader=_CfnLoader)  # noqa: S506
    model = next(r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Model")
    assert model["Properties"]["EnableNetworkIsolation"] == {"Ref": "ModelNetworkIsolation"}
    value = str(template["Parameters"]["ModelNetworkIsolation"]["Default"])
    config = json.loads((MODELDEPLOY / f"{stage}-config.json").read_text())
    value = str(config.get("Parameters", {}).get("ModelNetworkIsolation", value))
    return value.lower() == "true"


def startup_problems(package: ModelPackage, isolated: bool, role: Principal, grants, store: ObjectStore) -> list[str]:
    problems = []
    for container in package.containers:
        url = container.get("ModelDataUrl")
        if url:
            problems += _readable(url, role, grants, store, "ModelDataUrl, downloaded by SageMaker")
        for name, value in sorted((container.get("Environment") or {}).items()):
            if not (isinstance(value, str) and value.startswith("s3://")):
                continue
            if isolated:
                problems.append(
                    f"{name}={value}: the container reads it at start-up, but network isolation stops the "
                    "container from reaching S3 (only ModelDataUrl is downloaded, by SageMaker): put it in "
                    "model.tar.gz"
                )
            else:
                problems += _readable(value, role, grants, store, f"{name}, read by the container")
    return problems


def _readable(uri: str, role: Principal, grants, store: ObjectStore, why: str) -> list[str]:
    bucket, key = parse_s3_uri(uri)
    if store.get(bucket, key) is None:
        return [f"{uri} ({why}): no recorded request or job wrote it"]
    return [p for n in store.read_needs(role, bucket, key, why) for p in check(grants, n)]


@pytest.mark.parametrize("stage", STAGES)
def test_the_endpoint_template_isolates_the_model_by_default(stage):
    assert network_isolation(stage) is True


@pytest.mark.parametrize("stage", STAGES)
def test_the_registered_model_starts_in_the_target_accounts(modelbuild, rw, stage):
    _, result = modelbuild
    assert result.packages, "the pipeline registers no model package"
    problems = [
        p for package in result.packages
        for p in startup_problems(package, network_isolation(stage), EXECUTION_ROLES[stage], rw.grants, rw.store)
    ]
    assert problems == []


# --- the check can fail: hand-made variants of a recorded package --------------------------------


def variant(result, **environment) -> ModelPackage:
    package = copy.deepcopy(result.packages[0])
    package.containers[0].setdefault("Environment", {}).update(environment)
    return package


def test_an_s3_code_location_under_isolation_is_reported(modelbuild, rw):
    _, result = modelbuild
    url = result.packages[0].containers[0]["ModelDataUrl"]
    code = url.rsplit("/", 1)[0] + "/sourcedir.tar.gz"
    package = variant(result, SAGEMAKER_SUBMIT_DIRECTORY=code)
    problems = startup_problems(package, True, STAGING_ENDPOINT, rw.grants, rw.store)
    assert any("SAGEMAKER_SUBMIT_DIRECTORY" in p and "network isolation" in p for p in problems), problems


def test_without_isolation_the_code_location_must_be_readable(modelbuild, rw):
    _, result = modelbuild
    bucket, key = parse_s3_uri(result.packages[0].containers[0]["ModelDataUrl"])
    code_key = key.rsplit("/", 1)[0] + "/sourcedir.tar.gz"
    # Uploaded as the SDK does without a key: SSE aws:kms, no key id -> aws/s3 of the uploader.
    rw.store.put(bucket, code_key, rw.store.key_for_write(bucket, "aws:kms", None, "111111111111"),
                 "arn:aws:iam::111111111111:role/x", "sourcedir upload without SSEKMSKeyId")
    package = variant(result, SAGEMAKER_SUBMIT_DIRECTORY=f"s3://{bucket}/{code_key}")
    problems = startup_problems(package, False, STAGING_ENDPOINT, rw.grants, rw.store)
    assert any("kms:Decrypt" in p and "aws-managed-aws-s3" in p for p in problems), problems


def test_a_model_under_aws_s3_is_reported(modelbuild, rw):
    _, result = modelbuild
    bucket, key = parse_s3_uri(result.packages[0].containers[0]["ModelDataUrl"])
    moved = key + ".aws-s3"
    rw.store.put(bucket, moved, rw.store.resolve_key(None, "111111111111"), "arn:aws:iam::111111111111:role/x",
                 "training job without OutputDataConfig.KmsKeyId")
    package = copy.deepcopy(result.packages[0])
    package.containers[0]["ModelDataUrl"] = f"s3://{bucket}/{moved}"
    problems = startup_problems(package, True, PROD_ENDPOINT, rw.grants, rw.store)
    assert any("kms:Decrypt" in p for p in problems), problems
