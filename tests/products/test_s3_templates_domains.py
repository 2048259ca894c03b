"""The s3-templates-domains admin product: its template (parameter, least-privilege role, inline
function, custom resource) and its Lambda handler (generator/lambdas/tag_domains.py) run against
moto SageMaker, answering CloudFormation through a stub HTTP server on 127.0.0.1.

The handler runs both as the repository's module and as the code the template embeds. moto's
AddTags appends a repeated key; here it gets AWS's documented semantics (overwrite), see
tests/test_domains.py. Every request is checked against the botocore model.
"""

from __future__ import annotations

import fnmatch
import importlib
import json
import re
import types

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from conftest import ROOT, load_template
from moto import mock_aws
from moto.sagemaker.models import SageMakerModelBackend

from generator.blocks.lambda_function import INLINE_LIMIT, inline_source
from generator.publish.domains import parse_location
from tests.fakes.cloudformation import response_endpoint
from tests.hub.service_model import validate_requests

PRODUCT = "s3-templates-domains"
KEY = "sagemaker:projectS3TemplatesLocation"
LOCATION = "s3://my-sagemaker-templates/sagemaker-templates/"
ACCOUNT, REGION = "123456789012", "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMaker-ExecutionRole-1"


@pytest.fixture(scope="module")
def template(built):
    return load_template(built, PRODUCT)


def resources(template, kind):
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


# --- the template ------------------------------------------------------------------------------------

def test_the_product_is_an_admin_product_of_ml_admin(built):
    manifest = json.loads((built / "manifest.json").read_text())
    assert PRODUCT in manifest["portfolios"]["ml-admin"]["products"]
    assert PRODUCT not in manifest["portfolios"]["sagemaker-projects"]["products"]
    portfolio = yaml.safe_load((ROOT / "portfolios" / "ml-admin.yaml").read_text())
    assert portfolio["studio_visibility"] is False


def test_the_only_parameter_is_the_location_checked_like_the_command(template):
    (name,) = template["Parameters"]
    parameter = template["Parameters"][name]
    assert name == "TemplatesLocation" and "Default" not in parameter
    # CloudFormation's AllowedPattern (Java regex) is a plain one here: Python reads it the same way.
    pattern = re.compile(parameter["AllowedPattern"])
    for good in ("s3://bucket", "s3://bucket/", "s3://my-sagemaker-templates/sagemaker-templates",
                 LOCATION, "s3://b.example-1/a/b_c/d=e/"):
        assert pattern.fullmatch(good) and parse_location(good)[1] == []
    for bad in ("bucket/p/", "s3://Bucket/", "s3://b/", "s3://bucket//p/", "s3://bucket/a,b/", "s3://bucket/a b/",
                "https://bucket.s3.amazonaws.com/p/"):
        assert not pattern.fullmatch(bad) and parse_location(bad)[1]


def test_stackset_friendly_nothing_account_specific_and_no_global_names(template):
    text = json.dumps(template)
    assert not re.search(r"\d{12}", text)
    (role,) = resources(template, "AWS::IAM::Role").values()
    assert "RoleName" not in role["Properties"]  # IAM is global: a fixed name breaks a second region


def test_the_role_is_least_privilege(template):
    (role,) = resources(template, "AWS::IAM::Role").values()
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}]
    (policy,) = role["Properties"]["Policies"]
    domains = {"Fn::Sub": "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:domain/*"}
    assert policy["PolicyDocument"]["Statement"] == [
        {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": {"Fn::GetAtt": ["TaggerLogGroup", "Arn"]}},
        {"Sid": "ListDomains", "Effect": "Allow", "Action": ["sagemaker:ListDomains"], "Resource": "*"},
        {"Sid": "ReadDomainTags", "Effect": "Allow", "Action": ["sagemaker:ListTags"], "Resource": domains},
        {"Sid": "TagDomains", "Effect": "Allow", "Action": ["sagemaker:AddTags"], "Resource": domains,
         "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": [KEY]}}},
    ]


def test_the_function_runs_the_inline_tagger_and_answers_the_custom_resource(template):
    (function_id, function), = resources(template, "AWS::Lambda::Function").items()
    props = function["Properties"]
    assert props["Code"]["ZipFile"] == inline_source("tag_domains")
    assert len(props["Code"]["ZipFile"].encode()) <= INLINE_LIMIT
    assert props["Handler"] == "index.handler" and props["Timeout"] == 300 and "Environment" not in props
    (log_id, group), = resources(template, "AWS::Logs::LogGroup").items()
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": ["/aws/lambda/${Name}",
                                                               {"Name": props["FunctionName"]}]}
    assert function["DependsOn"] == [log_id]
    (custom,) = [r for r in template["Resources"].values() if r["Type"].startswith("Custom::")]
    assert custom["Properties"] == {"ServiceToken": {"Fn::GetAtt": [function_id, "Arn"]}, "ServiceTimeout": 600,
                                    "TemplatesLocation": {"Ref": "TemplatesLocation"}}
    # ServiceTimeout leaves the function its whole timeout to answer.
    assert custom["Properties"]["ServiceTimeout"] > props["Timeout"]
    outputs = {o["Value"]["Fn::GetAtt"][1] for o in template["Outputs"].values()}
    assert outputs == {"Location", "Tagged"}  # the Data keys the handler answers with (tested below)


def test_every_checkov_skip_has_a_one_line_reason(template):
    skips = [s for r in template["Resources"].values() for s in r.get("Metadata", {}).get("checkov", {}).get(
        "skip", [])]
    assert sorted(s["id"] for s in skips) == ["CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117", "CKV_AWS_158"]
    assert all(s["comment"] and "\n" not in s["comment"] for s in skips)


# --- the handler -------------------------------------------------------------------------------------

def real_module():
    return importlib.import_module("generator.lambdas.tag_domains")


def inline_module():
    module = types.ModuleType("index")
    exec(compile(inline_source("tag_domains"), "index.py", "exec"), module.__dict__)  # noqa: S102
    return module


@pytest.fixture(params=["module", "inline"])
def tagger(request):
    return real_module() if request.param == "module" else inline_module()


@pytest.fixture
def cloudformation():
    with response_endpoint() as endpoint:
        yield endpoint


@pytest.fixture
def sm(monkeypatch):
    def upsert(self, arn, tags):
        resource = self._get_resource_from_arn(arn)
        keys = {tag["Key"] for tag in tags}
        resource.tags = [tag for tag in resource.tags if tag["Key"] not in keys] + list(tags)
        return resource.tags

    with mock_aws():
        monkeypatch.setattr(SageMakerModelBackend, "add_tags", upsert)
        client = validate_requests(boto3.client("sagemaker", region_name=REGION))
        calls: list[tuple[str, dict]] = []
        client.meta.events.register("provide-client-params.sagemaker.*",
                                    lambda params, model, **_: calls.append((model.name, dict(params))))
        client.calls = calls
        yield client


def domain(sm, name, tags=None):
    return sm.create_domain(DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
                            SubnetIds=["subnet-1"], VpcId="vpc-1",
                            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()])["DomainArn"]


def tags(sm, arn):
    return [(t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=arn)["Tags"]]


def event(url, kind, location=LOCATION, **extra):
    return {"RequestType": kind, "ResponseURL": url, "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/s/1",
            "RequestId": "req-1", "LogicalResourceId": "DomainTemplatesLocation", "ResourceType":
            "Custom::SageMakerDomainTemplatesLocation", "ResourceProperties": {"ServiceToken": "arn",
                                                                             "TemplatesLocation": location}, **extra}


def writes(sm):
    return [c for c in sm.calls if c[0] == "AddTags"]


def test_create_tags_every_domain_and_answers_success(tagger, sm, cloudformation, capsys):
    url, received = cloudformation
    fresh = domain(sm, "fresh", {"team": "a"})
    moved = domain(sm, "moved", {KEY: "s3://old-templates/"})
    done = domain(sm, "done", {KEY: LOCATION})
    result = tagger.handler(event(url, "Create", "s3://my-sagemaker-templates/sagemaker-templates"), sm=sm)
    assert result["Status"] == "SUCCESS"
    assert tags(sm, fresh) == [("team", "a"), (KEY, LOCATION)]
    assert tags(sm, moved) == [(KEY, LOCATION)] and tags(sm, done) == [(KEY, LOCATION)]
    assert [c[1]["ResourceArn"] for c in writes(sm)] == [fresh, moved]
    (answer,) = received
    assert answer["path"].startswith("/response?X-Amz-Signature=") and answer["content_type"] == ""
    assert answer["body"] == {
        "Status": "SUCCESS", "Reason": "See the function's log group",
        "PhysicalResourceId": "sagemaker-domain-templates-location",
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/s/1", "RequestId": "req-1",
        "LogicalResourceId": "DomainTemplatesLocation",
        "Data": {"Location": LOCATION, "Tagged": "d-fresh,d-moved"},
    }
    (log,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert log["level"] == "INFO" and log["tagged"] == ["d-fresh", "d-moved"]


def test_a_repeated_event_writes_nothing_and_an_update_retags(tagger, sm, cloudformation):
    url, received = cloudformation
    arn = domain(sm, "studio")
    tagger.handler(event(url, "Create"), sm=sm)
    sm.calls.clear()
    again = tagger.handler(event(url, "Update", PhysicalResourceId="kept-id", OldResourceProperties={}), sm=sm)
    assert writes(sm) == [] and again["Data"]["Tagged"] == "none"
    moved = tagger.handler(event(url, "Update", "s3://new-templates/p/", PhysicalResourceId="kept-id"), sm=sm)
    assert moved["Status"] == "SUCCESS" and tags(sm, arn) == [(KEY, "s3://new-templates/p/")]
    # The same physical id: CloudFormation does not send a Delete for a "replaced" resource.
    assert [a["body"]["PhysicalResourceId"] for a in received] == [
        "sagemaker-domain-templates-location", "kept-id", "kept-id"]


def test_delete_leaves_the_tags_and_calls_nothing(tagger, sm, cloudformation):
    url, received = cloudformation
    arn = domain(sm, "studio", {KEY: LOCATION})
    sm.calls.clear()
    result = tagger.handler(event(url, "Delete", PhysicalResourceId="sagemaker-domain-templates-location"), sm=sm)
    assert result["Status"] == "SUCCESS" and sm.calls == []
    assert tags(sm, arn) == [(KEY, LOCATION)] and received[0]["body"]["Status"] == "SUCCESS"


@pytest.mark.parametrize("location", ["s3://Bad/", "s3://bucket/a,b/", "s3://a..b/", None])
def test_a_bad_location_answers_failed_with_the_reason_and_writes_nothing(tagger, sm, cloudformation, location):
    url, received = cloudformation
    domain(sm, "studio")
    sm.calls.clear()
    result = tagger.handler(event(url, "Create", location), sm=sm)
    assert result["Status"] == "FAILED" and sm.calls == []
    (answer,) = received
    assert answer["body"]["Status"] == "FAILED"
    assert answer["body"]["Reason"] == f"ValueError: TemplatesLocation {location!r} is not s3://bucket/prefix/"


def test_an_aws_error_answers_failed(tagger, cloudformation):
    """AccessDenied on AddTags (a role without the grant): FAILED, so the stack does not hang."""
    url, received = cloudformation
    client = validate_requests(boto3.client("sagemaker", region_name=REGION))
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/d-studio"
    with Stubber(client) as stub:
        stub.add_response("list_domains", {"Domains": [{"DomainArn": arn, "DomainId": "d-studio",
                                                        "DomainName": "studio", "Status": "InService"}]})
        stub.add_response("list_tags", {"Tags": []}, {"ResourceArn": arn})
        stub.add_client_error("add_tags", "AccessDeniedException", "not authorized", 400)
        result = tagger.handler(event(url, "Create"), sm=client)
    assert result["Status"] == "FAILED"
    assert received[0]["body"]["Reason"].startswith("ClientError: An error occurred (AccessDeniedException)")


def test_tags_are_read_on_every_page_and_deleting_domains_are_left_alone(tagger, cloudformation):
    url, _ = cloudformation
    client = validate_requests(boto3.client("sagemaker", region_name=REGION))
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/d-studio"
    gone = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/d-gone"
    with Stubber(client) as stub:
        stub.add_response("list_domains", {"Domains": [
            {"DomainArn": gone, "DomainId": "d-gone", "DomainName": "gone", "Status": "Deleting"}],
            "NextToken": "t1"})
        stub.add_response("list_domains", {"Domains": [
            {"DomainArn": arn, "DomainId": "d-studio", "DomainName": "studio", "Status": "InService"}]},
            {"NextToken": "t1"})
        stub.add_response("list_tags", {"Tags": [{"Key": "team", "Value": "a"}], "NextToken": "p2"},
                          {"ResourceArn": arn})
        stub.add_response("list_tags", {"Tags": [{"Key": KEY, "Value": LOCATION}]},
                          {"ResourceArn": arn, "NextToken": "p2"})
        result = tagger.handler(event(url, "Create"), sm=client)
        stub.assert_no_pending_responses()  # no AddTags: the tag was on the second page
    assert result["Data"] == {"Location": LOCATION, "Tagged": "none"}


def test_every_call_the_handler_makes_is_allowed_by_its_role(tagger, sm, cloudformation, template):
    """The role's statements, resolved for one account and region, allow each recorded request."""
    url, _ = cloudformation
    domain(sm, "fresh")
    domain(sm, "moved", {KEY: "s3://old-templates/"})
    sm.calls.clear()
    tagger.handler(event(url, "Create"), sm=sm)
    (role,) = resources(template, "AWS::IAM::Role").values()
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]

    def resolved(resource):
        if isinstance(resource, dict) and "Fn::Sub" in resource:
            return resource["Fn::Sub"].replace("${AWS::Partition}", "aws").replace(
                "${AWS::Region}", REGION).replace("${AWS::AccountId}", ACCOUNT)
        return resource

    def allowed(action, resource, tag_keys=()):
        for s in statements:
            if action in s["Action"] and fnmatch.fnmatchcase(resource, resolved(s["Resource"])):
                keys = s.get("Condition", {}).get("ForAllValues:StringEquals", {}).get("aws:TagKeys")
                if keys is None or set(tag_keys) <= set(keys):
                    return True
        return False

    assert {c[0] for c in sm.calls} == {"ListDomains", "ListTags", "AddTags"}
    for operation, params in sm.calls:
        resource = params.get("ResourceArn", "*")
        keys = [t["Key"] for t in params.get("Tags", [])]
        assert allowed(f"sagemaker:{operation}", resource, keys), (operation, params)
    assert not allowed("sagemaker:AddTags", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:domain/d-x", ["owner"])
    assert not allowed("sagemaker:AddTags", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:user-profile/d-x/u", [KEY])
    assert not allowed("sagemaker:AddTags", f"arn:aws:sagemaker:eu-west-1:{ACCOUNT}:domain/d-x", [KEY])


def test_the_command_and_the_stack_decide_alike():
    module = real_module()
    assert module.TAG_KEY == KEY
    assert [module.decide(v, LOCATION) for v in ([], ["s3://x/"], [LOCATION], [LOCATION, "s3://x/"])] == [
        "create", "update", "no-op", "update"]
