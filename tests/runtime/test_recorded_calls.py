"""Real calls: the seeds' scripts and the sync function run against moto with a recorder; every
recorded call is checked against the policies of the fit world (action, resource, SSE parameters,
PassRole target), as the principal the templates make it run as.

* model-build: `record_modelbuild.py` (seed venv) records what CodeBuild's `run-pipeline` calls and
  the pipeline definition; the calls are checked as model-build's CodeBuild role, the jobs as the
  pipeline's role, and the registered model.tar.gz must be readable and decryptable (with the key
  it was really written with) by the staging/prod endpoint execution roles and the hub's sync role.
* modeldeploy: build.py, deploy_stackset.py and test/test.py exactly as their buildspecs invoke
  them, as the deploy projects' CodeBuild role (project-roles' sagemaker-projects-pipeline-role);
  test.py's endpoint calls as the tester role it assumes in the staging account.
* model_sync: the hub's sync function as the hub's sync role.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from botocore.stub import Stubber

from tests.hub.conftest import DATA_SCIENCE, HUB, REGION, STAGING
from tests.hub.test_fit import GROUP, HUB_GROUP_ARN, OU_STAGING, SYNC
from tests.runtime.calls import check_calls
from tests.runtime.modelbuild import ROOT
from tests.runtime.recording import Recorder, codebuild

MODELDEPLOY = ROOT / "seedcode" / "modeldeploy"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


# --- model-build ----------------------------------------------------------------------------------


def test_modelbuild_records_the_run_of_the_template_it_was_given(modelbuild, rw):
    recording, _ = modelbuild
    _, env = codebuild(rw.world.build, "ModelBuildProject")
    buckets = {c["params"]["Bucket"] for c in recording["calls"] if c["service"] == "s3" and "Bucket" in c["params"]}
    assert buckets <= {env["ARTIFACT_BUCKET"]}, "the recorder must run with the template's CodeBuild environment"


def test_modelbuild_codebuild_calls_are_allowed(modelbuild):
    """Uploads (their SSE parameters decide the key), CreatePipeline's PassRole, StartPipelineExecution."""
    _, result = modelbuild
    assert result.call_problems == []


def test_modelbuild_pipeline_jobs_are_allowed(modelbuild):
    """Each job reads its inputs and writes its outputs (with the job's KmsKeyId, or aws/s3)."""
    _, result = modelbuild
    assert result.job_problems == []


def test_the_register_step_is_checked_with_the_stage_it_registers_at(modelbuild):
    """CreateModelPackage is evaluated with the lifecycle condition keys its request sets, so a
    policy that limits stages (project-roles' lifecycle policy) is applied to the real request."""
    _, result = modelbuild
    [registration] = result.registrations
    context = dict(registration.context)
    assert context["sagemaker:ModelLifeCycle:stage"] == "Development"
    assert context["sagemaker:ModelLifeCycle:stageStatus"]
    assert result.job_problems == []


def test_the_registered_model_is_readable_where_it_is_deployed(modelbuild):
    """The model.tar.gz of the register step: s3:GetObject and kms:Decrypt on its real key by the
    staging/prod endpoint execution roles and the hub's sync role."""
    _, result = modelbuild
    assert result.packages, "the pipeline registers no model package"
    assert result.reader_problems == []


# --- modeldeploy ----------------------------------------------------------------------------------


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_modeldeploy_scripts_use_boto3_only():
    for path in ("build.py", "deploy_stackset.py", "test/test.py"):
        source = (MODELDEPLOY / path).read_text()
        assert "import sagemaker" not in source and "from sagemaker" not in source, path


@pytest.fixture
def moto_accounts(monkeypatch):
    moto = pytest.importorskip("moto")
    monkeypatch.setenv("MOTO_ACCOUNT_ID", DATA_SCIENCE)
    with moto.mock_aws():
        yield


@pytest.fixture
def hub_version(moto_accounts):
    """An approved version of the hub group (in the hub account), as multi-account-deploy deploys."""
    from tests.hub.conftest import client_in

    package = {
        "ModelPackageGroupName": GROUP,
        "ModelApprovalStatus": "Approved",
        "InferenceSpecification": {
            "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://sagemaker-model-hub-222222222222-us-east-1/pull/m.tar.gz"}],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    }
    for account in (HUB, DATA_SCIENCE):  # moto looks a group ARN up in the caller's account
        sm = client_in(account, "sagemaker")
        sm.create_model_package_group(ModelPackageGroupName=GROUP)
        sm.create_model_package(**package)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """The CodeBuild source directory: a copy of the seed."""
    work = tmp_path / "src"
    shutil.copytree(MODELDEPLOY, work, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    monkeypatch.chdir(work)
    return work


def run_build(rw, workdir, monkeypatch, template="multi"):
    """buildspec.yml: `python build.py --stage staging --stage prod` (then `aws cloudformation
    package`, which uploads nothing: the endpoint template has no local artifacts)."""
    role, env = codebuild(getattr(rw.world, template), "ModelDeployBuildProject")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    build = load(workdir / "build.py", "modeldeploy_build")
    with Recorder(role) as recorder:
        assert build.main(["--stage", "staging", "--stage", "prod"]) == 0
    shutil.copy(workdir / "endpoint-config-template.yml", workdir / "template-export.yml")
    return recorder.calls


def test_modeldeploy_build_calls_are_allowed(rw, hub_version, workdir, monkeypatch):
    calls = run_build(rw, workdir, monkeypatch)
    assert [c.operation for c in calls] == ["ListModelPackages"]
    assert calls[0].params["ModelPackageGroupName"] == HUB_GROUP_ARN
    assert check_calls(calls, rw.grants, rw.store).problems == []


def test_modeldeploy_deploy_stackset_calls_are_allowed(rw, hub_version, workdir, monkeypatch):
    """buildspec-deploy-stackset.yml with the DeployStaging action's STAGE / STACK_SET_NAME /
    ORGANIZATIONAL_UNIT_IDS and the project's CALL_AS."""
    run_build(rw, workdir, monkeypatch)
    role, env = codebuild(rw.world.multi, "ModelDeployStackSetProject")
    monkeypatch.setenv("ORGANIZATIONAL_UNIT_IDS", OU_STAGING)
    deploy = load(workdir / "deploy_stackset.py", "modeldeploy_deploy_stackset")
    name = rw.world.multi["Outputs"]["StagingStackSetName"]
    # moto's CloudFormation needs openapi_spec_validator (not installed) and ignores CallAs:
    # CloudFormation's answers for a first deployment come from a Stubber instead.
    cfn = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(cfn)
    stubber.add_client_error("describe_stack_set", "StackSetNotFoundException")
    stubber.add_response("create_stack_set", {"StackSetId": f"{name}:1"})
    stubber.add_response("create_stack_instances", {"OperationId": "op-1"})
    stubber.add_response("describe_stack_set_operation",
                         {"StackSetOperation": {"OperationId": "op-1", "Status": "SUCCEEDED", "Action": "CREATE"}})
    with stubber, Recorder(role) as recorder:
        code = deploy.main([
            "--stack-set-name", name,
            "--template-file", env["EXPORT_TEMPLATE_NAME"],
            "--template-configuration", "staging-config-export.json",
            "--call-as", env["CALL_AS"],
        ], cfn=cfn)
    assert code == 0
    stubber.assert_no_pending_responses()
    operations = {c.operation for c in recorder.calls}
    assert {"CreateStackSet", "CreateStackInstances"} <= operations
    assert check_calls(recorder.calls, rw.grants, rw.store).problems == []


def test_modeldeploy_endpoint_test_calls_are_allowed(rw, hub_version, workdir, monkeypatch):
    """test/buildspec.yml of cross-account-endpoint (TARGET_ACCOUNT_IDS): assumes the staging
    tester role, describes and invokes the endpoint as that role."""
    from tests.hub.conftest import client_in

    run_build(rw, workdir, monkeypatch, template="endpoint")
    role, env = codebuild(rw.world.endpoint, "ModelDeployTestProject")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    parameters = json.loads((workdir / "staging-config-export.json").read_text())["Parameters"]
    endpoint = f"{parameters['SageMakerProjectName']}-{parameters['SageMakerProjectId']}-staging"
    sm = client_in(STAGING, "sagemaker")
    sm.create_model(ModelName="m", PrimaryContainer={"Image": IMAGE},
                    ExecutionRoleArn=f"arn:aws:iam::{STAGING}:role/sagemaker-role-mlops")
    sm.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "m", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName=endpoint, EndpointConfigName="c")
    test = load(workdir / "test" / "test.py", "modeldeploy_endpoint_test")
    with Recorder(role) as recorder:
        test.main(["--import-config", "staging-config-export.json",
                   "--export-test-results", "staging-test-results.json", "--wait-seconds", "0"])
    assumed = [c for c in recorder.calls if c.operation == "AssumeRole"]
    assert [c.params["RoleArn"] for c in assumed] == [f"arn:aws:iam::{STAGING}:role/{env['TEST_ROLE_NAME']}"]
    invoked = [c for c in recorder.calls if c.operation in ("DescribeEndpoint", "InvokeEndpoint")]
    assert invoked and {c.principal.arn for c in invoked} == {assumed[0].params["RoleArn"]}
    assert check_calls(recorder.calls, rw.grants, rw.store).problems == []


# --- model_sync -----------------------------------------------------------------------------------


def test_model_sync_calls_are_allowed(rw, moto_accounts, monkeypatch):
    """The sync function copies an approved spoke version into the hub: reads in the spoke account
    (registry, bucket, key), writes the hub bucket (its default key: the hub key) and registry."""
    from tests.hub.conftest import CrossAccountSageMaker, client_in

    spoke = rw.world.spoke["Outputs"]
    hub = rw.world.hub["Outputs"]
    spoke_bucket, hub_bucket = spoke["SpokeBucketName"], hub["HubBucketName"]
    function = rw.world.resource(rw.world.hub, "AWS::Lambda::Function")
    for name, value in function["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value)
    spoke_s3, spoke_sm = client_in(DATA_SCIENCE, "s3"), client_in(DATA_SCIENCE, "sagemaker")
    hub_s3, hub_sm = client_in(HUB, "s3"), client_in(HUB, "sagemaker")
    spoke_s3.create_bucket(Bucket=spoke_bucket)
    hub_s3.create_bucket(Bucket=hub_bucket)
    key = "churn/pipelines-x-TrainModel/output/model.tar.gz"
    spoke_s3.put_object(Bucket=spoke_bucket, Key=key, Body=b"model")
    # Written by a SageMaker job of the data science account into the spoke bucket (its default key).
    rw.store.put(spoke_bucket, key, rw.store.key_for_write(spoke_bucket, None, None, DATA_SCIENCE),
                 f"arn:aws:iam::{DATA_SCIENCE}:role/job", "training job")
    for client in (spoke_sm, hub_sm):
        client.create_model_package_group(ModelPackageGroupName=GROUP)
    source = spoke_sm.create_model_package(
        ModelPackageGroupName=GROUP, ModelApprovalStatus="Approved",
        InferenceSpecification={"Containers": [{"Image": IMAGE, "ModelDataUrl": f"s3://{spoke_bucket}/{key}"}],
                                "SupportedContentTypes": ["text/csv"], "SupportedResponseMIMETypes": ["text/csv"]},
    )["ModelPackageArn"]
    event = {"id": "1", "account": DATA_SCIENCE, "detail": {"ModelPackageArn": source}, "resources": [source]}
    module = importlib.import_module("generator.lambdas.model_sync")
    with Recorder(SYNC) as recorder:
        module.handler(event, sm=CrossAccountSageMaker(hub_sm, {DATA_SCIENCE: spoke_sm}), s3=hub_s3)
    operations = [c.operation for c in recorder.calls]
    assert "CreateModelPackage" in operations and "CopyObject" in operations, operations
    checked = check_calls(recorder.calls, rw.grants, rw.store)
    copied = [o for o in rw.store.objects.values() if o.bucket == hub_bucket]
    assert copied and {o.kms_key for o in copied} == {hub["HubKeyArn"]}
    assert checked.problems == []
