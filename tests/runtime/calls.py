"""Recorded boto calls -> the IAM requests they imply, checked with `tests.hub.access.Grants`.

A `Call` is one API request as botocore sent it (service, operation, params) and the principal that
made it. `requests_for(call, store)` turns it into the `Need`s AWS authorizes for it:

* the action of the operation (Service Authorization Reference, "Actions, resources, and condition
  keys for <service>": https://docs.aws.amazon.com/service-authorization/latest/reference/ —
  list_amazons3.html, list_amazonsagemaker.html, list_awscloudformation.html,
  list_awssecuritytokenservice.html, list_awsorganizations.html, list_awsidentityandaccessmanagementiam.html),
  on the resource ARN the request names, with the condition keys the request sets;
* for S3 writes with SSE-KMS, what S3 asks KMS for on the caller's behalf: kms:GenerateDataKey on the
  key that encrypts the object (and kms:Decrypt for multipart uploads), with kms:ViaService
  s3.<region>.amazonaws.com and kms:CallerAccount (S3 user guide, "Using server-side encryption with
  AWS KMS keys (SSE-KMS)": "Permissions"); for reads of SSE-KMS objects kms:Decrypt. Which key
  encrypts an object comes from the request that wrote it (`objects.ObjectStore`);
* iam:PassRole on every role ARN the request hands to a service (RoleArn, ExecutionRoleArn,
  AdministrationRoleARN), with iam:PassedToService (IAM user guide, "Grant a user permissions to
  pass a role to an AWS service").

An operation missing from `OPERATIONS` raises `UnknownOperation`: a call nobody mapped is a failure,
never a silent pass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from tests.hub.access import Grants, Need, Principal, need
from tests.hub.resolve import PARTITION, REGION
from tests.runtime.objects import ObjectStore, parse_s3_uri, s3_arn


class UnknownOperation(Exception):
    """A recorded call whose IAM requests are not mapped here."""


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]
    principal: Principal
    why: str = ""

    def describe(self) -> str:
        return f"{self.service}:{self.operation} by {self.principal.arn}"


@dataclass
class Checked:
    """The outcome of checking a run: the requests derived and the problems found."""

    needs: list[Need] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    tolerated: list[str] = field(default_factory=list)  # refused, and handled by the caller


# --- helpers --------------------------------------------------------------------------------------


def sagemaker_arn(account: str, kind: str, name: str) -> str:
    return f"arn:{PARTITION}:sagemaker:{REGION}:{account}:{kind}/{name}"


def arn_or_name(value: str, account: str, kind: str) -> str:
    """A SageMaker ArnOrName parameter as the ARN IAM authorizes."""
    return value if value.startswith("arn:") else sagemaker_arn(account, kind, value)


def group_arn(value: str, account: str) -> str:
    return arn_or_name(value, account, "model-package-group")


def versions_arn(group: str) -> str:
    return group.replace(":model-package-group/", ":model-package/") + "/*"


def stack_set_arn(account: str, name: str) -> str:
    # Service Authorization Reference (CloudFormation): stackset
    # arn:${Partition}:cloudformation:${Region}:${Account}:stackset/${StackSetName}:${Id}
    return f"arn:{PARTITION}:cloudformation:{REGION}:{account}:stackset/{name}:*"


def pass_role(call: Call, role_arn: str, service: str) -> Need:
    return need(call.principal, "iam:PassRole", role_arn, f"{call.describe()} passes {role_arn}",
                **{"iam:PassedToService": service})


def _simple(action: str, resource: Callable[[Call], str]) -> Callable[[Call, ObjectStore], list[Need]]:
    def needs(call: Call, store: ObjectStore) -> list[Need]:
        return [need(call.principal, action, resource(call), call.describe())]

    return needs


def _request_tags(tags: Iterable[dict[str, str]] | None) -> dict[str, Any]:
    tags = list(tags or [])
    context: dict[str, Any] = {f"aws:RequestTag/{t['Key']}": t["Value"] for t in tags}
    if tags:
        context["aws:TagKeys"] = [t["Key"] for t in tags]
    return context


# --- S3 -------------------------------------------------------------------------------------------


def _s3_put(call: Call, store: ObjectStore, multipart: bool = False) -> list[Need]:
    p = call.params
    bucket, key = p["Bucket"], p["Key"]
    sse, key_id = p.get("ServerSideEncryption"), p.get("SSEKMSKeyId")
    context: dict[str, Any] = {"aws:ResourceAccount": store.bucket_account(bucket)}
    if sse:
        context["s3:x-amz-server-side-encryption"] = sse
    if key_id:
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = key_id
    kms_key = store.key_for_write(bucket, sse, key_id, call.principal.account)
    store.put(bucket, key, kms_key, call.principal.arn, call.describe())
    needs = [need(call.principal, "s3:PutObject", s3_arn(bucket, key), call.describe(), **context)]
    if kms_key:
        actions = ["kms:GenerateDataKey"] + (["kms:Decrypt"] if multipart else [])
        needs += [
            need(call.principal, action, kms_key, f"{call.describe()} (SSE-KMS)", **store.via_s3(call.principal))
            for action in actions
        ]
    return needs


def _s3_get(call: Call, store: ObjectStore, decrypt: bool = True) -> list[Need]:
    bucket, key = call.params["Bucket"], call.params["Key"]
    return store.read_needs(call.principal, bucket, key, call.describe(), decrypt=decrypt)


def _s3_copy(call: Call, store: ObjectStore) -> list[Need]:
    source = call.params["CopySource"]
    if isinstance(source, str):
        source_bucket, _, source_key = source.lstrip("/").partition("/")
    else:
        source_bucket, source_key = source["Bucket"], source["Key"]
    needs = store.read_needs(call.principal, source_bucket, source_key, call.describe())
    return needs + _s3_put(call, store, multipart=call.operation == "UploadPartCopy")


def _s3_bucket(action: str) -> Callable[[Call, ObjectStore], list[Need]]:
    def needs(call: Call, store: ObjectStore) -> list[Need]:
        bucket = call.params["Bucket"]
        return [need(call.principal, action, f"arn:{PARTITION}:s3:::{bucket}", call.describe(),
                     **{"aws:ResourceAccount": store.bucket_account(bucket)})]

    return needs


def _s3_multipart_part(call: Call, store: ObjectStore) -> list[Need]:
    # UploadPart / CompleteMultipartUpload are authorized as s3:PutObject; the key was chosen by
    # CreateMultipartUpload (recorded in the store then).
    bucket, key = call.params["Bucket"], call.params["Key"]
    return [need(call.principal, "s3:PutObject", s3_arn(bucket, key), call.describe(),
                 **{"aws:ResourceAccount": store.bucket_account(bucket)})]


# --- SageMaker ------------------------------------------------------------------------------------


def _pipeline(action: str) -> Callable[[Call, ObjectStore], list[Need]]:
    def needs(call: Call, store: ObjectStore) -> list[Need]:
        p, who = call.params, call.principal
        arn = sagemaker_arn(who.account, "pipeline", p["PipelineName"])
        context = _request_tags(p.get("Tags"))
        result = [need(who, action, arn, call.describe(), **context)]
        if p.get("Tags"):
            # Tagging on create is authorized as sagemaker:AddTags too (SageMaker developer guide,
            # "Grant permissions to tag SageMaker resources on creation").
            result.append(need(who, "sagemaker:AddTags", arn, call.describe(), **context))
        if p.get("RoleArn"):
            result.append(pass_role(call, p["RoleArn"], "sagemaker.amazonaws.com"))
        return result

    return needs


def _execution(action: str) -> Callable[[Call, ObjectStore], list[Need]]:
    def needs(call: Call, store: ObjectStore) -> list[Need]:
        arn = call.params["PipelineExecutionArn"]
        return [need(call.principal, action, arn, call.describe())]

    return needs


def _list_model_packages(call: Call, store: ObjectStore) -> list[Need]:
    group = call.params.get("ModelPackageGroupName")
    if not group:
        return [need(call.principal, "sagemaker:ListModelPackages", "*", call.describe())]
    arn = group_arn(group, call.principal.account)
    return [need(call.principal, "sagemaker:ListModelPackages", arn, call.describe())]


def _describe_model_package(call: Call, store: ObjectStore) -> list[Need]:
    name = call.params["ModelPackageName"]
    if not name.startswith("arn:"):
        raise UnknownOperation(f"{call.describe()}: a versioned model package name without ARN is not modelled")
    return [need(call.principal, "sagemaker:DescribeModelPackage", name, call.describe())]


def _model_package_context(p: dict[str, Any]) -> dict[str, str]:
    """The condition keys a CreateModelPackage / UpdateModelPackage request sets: its approval
    status, and its lifecycle stage and stage status (developer guide,
    model-registry-staging-construct-set-up: sagemaker:ModelLifeCycle:stage / :stageStatus on both
    actions)."""
    context = {}
    if "ModelApprovalStatus" in p:
        context["sagemaker:ModelApprovalStatus"] = p["ModelApprovalStatus"]
    if "ModelLifeCycle" in p:
        context["sagemaker:ModelLifeCycle:stage"] = p["ModelLifeCycle"]["Stage"]
        context["sagemaker:ModelLifeCycle:stageStatus"] = p["ModelLifeCycle"]["StageStatus"]
    return context


def _create_model_package(call: Call, store: ObjectStore) -> list[Need]:
    p = call.params
    group = group_arn(p["ModelPackageGroupName"], call.principal.account)
    version = versions_arn(group).replace("/*", "/1")
    return [need(call.principal, "sagemaker:CreateModelPackage", version, call.describe(), **_model_package_context(p))]


def _update_model_package(call: Call, store: ObjectStore) -> list[Need]:
    arn = call.params["ModelPackageArn"]
    return [need(call.principal, "sagemaker:UpdateModelPackage", arn, call.describe(),
                 **_model_package_context(call.params))]


def _endpoint(action: str) -> Callable[[Call, ObjectStore], list[Need]]:
    return _simple(action, lambda c: sagemaker_arn(c.principal.account, "endpoint", c.params["EndpointName"]))


# --- CloudFormation StackSets ---------------------------------------------------------------------


def _stack_set(action: str) -> Callable[[Call, ObjectStore], list[Need]]:
    def needs(call: Call, store: ObjectStore) -> list[Need]:
        p, who = call.params, call.principal
        context = _request_tags(p.get("Tags"))
        result = [need(who, action, stack_set_arn(who.account, p["StackSetName"]), call.describe(), **context)]
        if p.get("CallAs") == "DELEGATED_ADMIN":
            # CloudFormation checks the caller's delegated administrator registration with
            # organizations:ListDelegatedAdministrators (CloudFormation user guide, "Register a
            # delegated administrator"; buildspec-deploy-stackset.yml says so too).
            result.append(need(who, "organizations:ListDelegatedAdministrators", "*", call.describe()))
        if p.get("AdministrationRoleARN"):
            result.append(pass_role(call, p["AdministrationRoleARN"], "cloudformation.amazonaws.com"))
        if p.get("TemplateURL"):
            bucket, key = parse_s3_uri(p["TemplateURL"])
            result += store.read_needs(who, bucket, key, call.describe())
        return result

    return needs


# --- STS ------------------------------------------------------------------------------------------


def _assume_role(call: Call, store: ObjectStore) -> list[Need]:
    p = call.params
    context = _request_tags(p.get("Tags"))
    role_arn = p["RoleArn"]
    context["aws:ResourceOrgID"] = store.org_of(role_arn.split(":")[4])
    context["sts:RoleSessionName"] = p.get("RoleSessionName", "")
    result = [need(call.principal, "sts:AssumeRole", role_arn, call.describe(), **context)]
    if p.get("Tags"):
        result.append(need(call.principal, "sts:TagSession", role_arn, call.describe(), **context))
    return result


def _nothing(call: Call, store: ObjectStore) -> list[Need]:
    # STS API reference, GetCallerIdentity: "No permissions are required to perform this operation."
    return []


Handler = Callable[[Call, ObjectStore], list[Need]]

OPERATIONS: dict[tuple[str, str], Handler] = {
    ("s3", "PutObject"): _s3_put,
    ("s3", "CreateMultipartUpload"): lambda c, s: _s3_put(c, s, multipart=True),
    ("s3", "UploadPart"): _s3_multipart_part,
    ("s3", "CompleteMultipartUpload"): _s3_multipart_part,
    ("s3", "GetObject"): _s3_get,
    # HeadObject is authorized as s3:GetObject; it returns metadata only, nothing is decrypted.
    ("s3", "HeadObject"): lambda c, s: _s3_get(c, s, decrypt=False),
    ("s3", "CopyObject"): _s3_copy,
    ("s3", "UploadPartCopy"): _s3_copy,
    ("s3", "ListObjectsV2"): _s3_bucket("s3:ListBucket"),
    ("s3", "ListObjects"): _s3_bucket("s3:ListBucket"),
    ("s3", "HeadBucket"): _s3_bucket("s3:ListBucket"),
    ("s3", "GetBucketLocation"): _s3_bucket("s3:GetBucketLocation"),
    ("s3", "CreateBucket"): _s3_bucket("s3:CreateBucket"),
    ("s3", "ListBuckets"): _simple("s3:ListAllMyBuckets", lambda c: "*"),
    ("sagemaker", "CreatePipeline"): _pipeline("sagemaker:CreatePipeline"),
    ("sagemaker", "UpdatePipeline"): _pipeline("sagemaker:UpdatePipeline"),
    ("sagemaker", "DescribePipeline"): _pipeline("sagemaker:DescribePipeline"),
    ("sagemaker", "StartPipelineExecution"): _pipeline("sagemaker:StartPipelineExecution"),
    ("sagemaker", "DescribePipelineExecution"): _execution("sagemaker:DescribePipelineExecution"),
    ("sagemaker", "ListPipelineExecutionSteps"): _execution("sagemaker:ListPipelineExecutionSteps"),
    ("sagemaker", "DescribeProject"): _simple(
        "sagemaker:DescribeProject", lambda c: sagemaker_arn(c.principal.account, "project", c.params["ProjectName"])
    ),
    ("sagemaker", "ListTags"): _simple("sagemaker:ListTags", lambda c: c.params["ResourceArn"]),
    ("sagemaker", "ListModelPackages"): _list_model_packages,
    ("sagemaker", "DescribeModelPackage"): _describe_model_package,
    ("sagemaker", "DescribeModelPackageGroup"): _simple(
        "sagemaker:DescribeModelPackageGroup",
        lambda c: group_arn(c.params["ModelPackageGroupName"], c.principal.account),
    ),
    ("sagemaker", "CreateModelPackage"): _create_model_package,
    ("sagemaker", "UpdateModelPackage"): _update_model_package,
    ("sagemaker", "DescribeEndpoint"): _endpoint("sagemaker:DescribeEndpoint"),
    ("sagemaker-runtime", "InvokeEndpoint"): _endpoint("sagemaker:InvokeEndpoint"),
    ("cloudformation", "CreateStackSet"): _stack_set("cloudformation:CreateStackSet"),
    ("cloudformation", "UpdateStackSet"): _stack_set("cloudformation:UpdateStackSet"),
    ("cloudformation", "DescribeStackSet"): _stack_set("cloudformation:DescribeStackSet"),
    ("cloudformation", "CreateStackInstances"): _stack_set("cloudformation:CreateStackInstances"),
    ("cloudformation", "ListStackInstances"): _stack_set("cloudformation:ListStackInstances"),
    ("cloudformation", "ListStackSetOperations"): _stack_set("cloudformation:ListStackSetOperations"),
    ("cloudformation", "ListStackSetOperationResults"): _stack_set("cloudformation:ListStackSetOperationResults"),
    ("cloudformation", "DescribeStackSetOperation"): _stack_set("cloudformation:DescribeStackSetOperation"),
    ("organizations", "ListDelegatedAdministrators"): _simple(
        "organizations:ListDelegatedAdministrators", lambda c: "*"
    ),
    ("sts", "AssumeRole"): _assume_role,
    ("sts", "GetCallerIdentity"): _nothing,
}


# Calls whose AccessDenied the caller handles, so a refusal breaks nothing. Each says where.
TOLERATED_DENIALS: dict[tuple[str, str], str] = {
    # The SageMaker SDK reads `s3.Bucket(name).creation_date` before it uses its default bucket;
    # boto3 loads it with ListBuckets and leaves it None on AccessDenied (boto3/s3/inject.py,
    # bucket_load), and the SDK then checks the bucket with HeadBucket (sagemaker/session.py,
    # _create_s3_bucket_if_it_does_not_exist), which must be allowed.
    ("s3", "ListBuckets"): "boto3 bucket_load ignores AccessDenied",
}


def requests_for(call: Call, store: ObjectStore) -> list[Need]:
    handler = OPERATIONS.get((call.service, call.operation))
    if handler is None:
        raise UnknownOperation(
            f"{call.describe()}: no IAM mapping for {call.service}:{call.operation}; add it to tests/runtime/calls.py"
        )
    return handler(call, store)


def check_calls(calls: Iterable[Call], grants: Grants, store: ObjectStore) -> Checked:
    """Every call's requests, in order (writes before the reads that follow them), checked."""
    checked = Checked()
    for call in calls:
        tolerated = TOLERATED_DENIALS.get((call.service, call.operation))
        for request in requests_for(call, store):
            checked.needs.append(request)
            problems = check(grants, request)
            if tolerated:
                checked.tolerated += [f"{problem} ({tolerated})" for problem in problems]
            else:
                checked.problems += problems
    return checked


def check(grants: Grants, request: Need) -> list[str]:
    """`grants.check`, with an evaluator limit (an unmodelled condition operator) reported as a
    problem of its own instead of an exception that would hide the other results."""
    if request.resource == "*":
        # An action without a resource type (s3:ListAllMyBuckets, organizations:List*): only the
        # caller's identity policy decides. The evaluator reads the owner account from the ARN, so
        # name the caller's own account (identity statements with Resource "*" match it).
        service = request.action.split(":")[0]
        request = replace(request, resource=f"arn:{PARTITION}:{service}::{request.principal.account}:*")
    try:
        return grants.check(request)
    except ValueError as error:
        return [f"cannot evaluate {request.describe()}: {error}"]
