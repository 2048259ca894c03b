"""The Service Catalog test double itself: validation, error codes, state, asynchrony, faults."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from botocore.awsrequest import AWSPreparedRequest
from botocore.config import Config
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes import shapes
from tests.fakes.servicecatalog import SCError, ServiceCatalogDouble
from tests.fakes.wire import cbor_dumps, cbor_loads, json_dumps
from tests.publish.conftest import BUCKET, client

NO_RETRY = Config(retries={"mode": "standard", "max_attempts": 1})


@pytest.fixture
def sc(double):
    return client("servicecatalog", region_name="us-east-1", config=NO_RETRY)


@pytest.fixture
def raw_sc(double):
    """A client that skips botocore's own parameter validation, so the double sees raw mistakes."""
    return client("servicecatalog", region_name="us-east-1",
                        config=Config(parameter_validation=False, retries={"mode": "standard", "max_attempts": 1}))


def code_of(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def new_portfolio(sc, name="P", token=None, **extra) -> str:
    params = {"DisplayName": name, "ProviderName": "team", **extra}
    if token:
        params["IdempotencyToken"] = token
    return sc.create_portfolio(**params)["PortfolioDetail"]["Id"]


TEMPLATE_URL = f"https://{BUCKET}.s3.us-east-1.amazonaws.com/t.json"


def new_product(sc, name="prod", token=None) -> str:
    client("s3", region_name="us-east-1").put_object(Bucket=BUCKET, Key="t.json", Body=b"{}")
    params = dict(
        Name=name, Owner="me", ProductType="CLOUD_FORMATION_TEMPLATE",
        ProvisioningArtifactParameters={"Name": "1", "Info": {"LoadTemplateFromURL": TEMPLATE_URL},
                                        "Type": "CLOUD_FORMATION_TEMPLATE"},
    )
    if token:
        params["IdempotencyToken"] = token
    return sc.create_product(**params)["ProductViewDetail"]["ProductViewSummary"]["ProductId"]


# ------------------------------------------------------------------------------------------ validation


def test_rejects_a_tag_that_breaks_the_pattern(sc, double):
    with pytest.raises(ClientError) as excinfo:
        new_portfolio(sc, Tags=[{"Key": "team", "Value": "a;b"}])
    assert code_of(excinfo) == "ValidationException"
    message = excinfo.value.response["Error"]["Message"]
    assert "1 validation error detected" in message
    assert "regular expression pattern" in message and "'a;b'" in message
    assert double.region("us-east-1").portfolios == {}


def test_pattern_must_match_the_whole_value(sc):
    # Id's pattern is '^[a-zA-Z0-9_\-]*' without '$': a prefix match would accept this value
    with pytest.raises(ClientError) as excinfo:
        sc.describe_portfolio(Id="port-abc!")
    assert code_of(excinfo) == "ValidationException"


def test_unicode_letters_satisfy_java_property_classes(sc):
    pid = new_portfolio(sc, Tags=[{"Key": "städte", "Value": "Zürich Genève 東京"}])
    tags = sc.describe_portfolio(Id=pid)["Tags"]
    assert tags == [{"Key": "städte", "Value": "Zürich Genève 東京"}]


def test_rejects_a_bad_enum(sc):
    with pytest.raises(ClientError) as excinfo:
        sc.create_product(Name="x", Owner="o", ProductType="CLOUD_FORMATION",
                          ProvisioningArtifactParameters={"Info": {"LoadTemplateFromURL": "https://x/y"}})
    assert code_of(excinfo) == "ValidationException"
    assert "enum value set" in excinfo.value.response["Error"]["Message"]


def test_rejects_a_too_long_value(sc):
    with pytest.raises(ClientError) as excinfo:
        new_portfolio(sc, name="x" * 101)
    assert code_of(excinfo) == "ValidationException"
    assert "less than or equal to 100" in excinfo.value.response["Error"]["Message"]


def test_rejects_a_missing_required_member(raw_sc):
    with pytest.raises(ClientError) as excinfo:
        raw_sc.create_portfolio(DisplayName="x", IdempotencyToken="t1")  # no ProviderName
    assert code_of(excinfo) == "ValidationException"
    assert "ProviderName" in excinfo.value.response["Error"]["Message"]
    assert "must not be null" in excinfo.value.response["Error"]["Message"]


def test_rejects_a_bad_idempotency_token(raw_sc):
    with pytest.raises(ClientError) as excinfo:
        raw_sc.create_portfolio(DisplayName="x", ProviderName="p", IdempotencyToken="-starts-with-dash")
    assert code_of(excinfo) == "ValidationException"


def test_wrong_json_type_is_a_serialization_error(double):
    with pytest.raises(SCError) as excinfo:
        double.call("CreatePortfolio", {"DisplayName": 12, "ProviderName": "p", "IdempotencyToken": "t"})
    assert excinfo.value.code == "SerializationException"


def test_page_size_above_the_model_maximum_is_rejected(sc):
    with pytest.raises(ClientError) as excinfo:
        sc.list_principals_for_portfolio(PortfolioId="port-x", PageSize=21)
    assert code_of(excinfo) == "ValidationException"


def test_responses_are_checked_against_the_output_shape(double):
    double.region("us-east-1").portfolios["port-bad"] = {
        "Id": "port-bad", "ARN": "a" * 151, "DisplayName": "x", "ProviderName": "p",
        "CreatedTime": dt.datetime(2025, 1, 1), "Tags": {},
    }
    with pytest.raises(AssertionError, match="invalid DescribePortfolio response"):
        double.call("DescribePortfolio", {"Id": "port-bad"})


def test_stdlib_fallback_translation_of_java_classes():
    pattern = shapes._translate_properties(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")
    compiled = re.compile(pattern)
    assert compiled.fullmatch("Zürich 42 東京 a=b")
    assert not compiled.fullmatch("a;b")


# ------------------------------------------------------------------------------------------ error codes


def test_resource_not_found(sc):
    with pytest.raises(sc.exceptions.ResourceNotFoundException):
        sc.describe_portfolio(Id="port-missing")


def test_duplicate_tag_option(sc):
    sc.create_tag_option(Key="cost-center", Value="ml-1")
    with pytest.raises(sc.exceptions.DuplicateResourceException):
        sc.create_tag_option(Key="cost-center", Value="ml-1")


def test_portfolio_quota_is_limit_exceeded(moto_aws):
    with ServiceCatalogDouble(limits={"portfolios_per_region": 2}):
        sc = client("servicecatalog", region_name="us-east-1", config=NO_RETRY)
        new_portfolio(sc, "a")
        new_portfolio(sc, "b")
        with pytest.raises(sc.exceptions.LimitExceededException):
            new_portfolio(sc, "c")


def test_iam_pattern_quota(sc):
    pid = new_portfolio(sc)
    for i in range(10):
        sc.associate_principal_with_portfolio(PortfolioId=pid, PrincipalARN=f"arn:aws:iam:::role/r{i}*",
                                              PrincipalType="IAM_PATTERN")
    with pytest.raises(sc.exceptions.LimitExceededException):
        sc.associate_principal_with_portfolio(PortfolioId=pid, PrincipalARN="arn:aws:iam:::role/x*",
                                              PrincipalType="IAM_PATTERN")


def test_principal_arn_must_fit_its_type(sc):
    pid = new_portfolio(sc)
    with pytest.raises(sc.exceptions.InvalidParametersException):
        sc.associate_principal_with_portfolio(PortfolioId=pid, PrincipalARN="arn:aws:iam::123456789012:role/x",
                                              PrincipalType="IAM_PATTERN")


def test_launch_constraint_rules(sc):
    pid, prod = new_portfolio(sc), new_product(sc)
    with pytest.raises(sc.exceptions.ResourceNotFoundException):  # product not in the portfolio yet
        sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH",
                             Parameters=json.dumps({"LocalRoleName": "r"}))
    sc.associate_product_with_portfolio(ProductId=prod, PortfolioId=pid)
    with pytest.raises(sc.exceptions.InvalidParametersException):
        sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH",
                             Parameters=json.dumps({"LocalRoleName": "r", "RoleArn": "arn:aws:iam::1:role/r"}))
    sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH", Parameters=json.dumps({"LocalRoleName": "r"}))
    with pytest.raises(sc.exceptions.DuplicateResourceException):
        sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH",
                             Parameters=json.dumps({"LocalRoleName": "other"}))
    with pytest.raises(ClientError) as excinfo:
        sc.disassociate_product_from_portfolio(ProductId=prod, PortfolioId=pid)
    assert code_of(excinfo) == "ResourceInUseException"


def test_update_constraint_in_place(sc):
    pid, prod = new_portfolio(sc), new_product(sc)
    sc.associate_product_with_portfolio(ProductId=prod, PortfolioId=pid)
    cid = sc.create_constraint(PortfolioId=pid, ProductId=prod, Type="LAUNCH",
                               Parameters=json.dumps({"LocalRoleName": "r"}))["ConstraintDetail"]["ConstraintId"]
    answer = sc.update_constraint(Id=cid, Parameters=json.dumps({"LocalRoleName": "other"}), Description="d")
    assert answer["ConstraintDetail"]["ConstraintId"] == cid and answer["ConstraintDetail"]["Description"] == "d"
    assert json.loads(sc.describe_constraint(Id=cid)["ConstraintParameters"]) == {"LocalRoleName": "other"}
    with pytest.raises(sc.exceptions.InvalidParametersException):
        sc.update_constraint(Id=cid, Parameters=json.dumps({"LocalRoleName": "r", "RoleArn": "arn:aws:iam::1:role/r"}))
    with pytest.raises(sc.exceptions.ResourceNotFoundException):
        sc.update_constraint(Id="cons-nope", Parameters=json.dumps({"LocalRoleName": "r"}))


def test_deletes_refused_while_in_use(sc):
    pid, prod = new_portfolio(sc), new_product(sc)
    sc.associate_product_with_portfolio(ProductId=prod, PortfolioId=pid)
    for call in (lambda: sc.delete_portfolio(Id=pid), lambda: sc.delete_product(Id=prod)):
        with pytest.raises(ClientError) as excinfo:
            call()
        assert code_of(excinfo) == "ResourceInUseException"
    only = sc.list_provisioning_artifacts(ProductId=prod)["ProvisioningArtifactDetails"][0]["Id"]
    with pytest.raises(ClientError) as excinfo:  # the last version of a product stays
        sc.delete_provisioning_artifact(ProductId=prod, ProvisioningArtifactId=only)
    assert code_of(excinfo) == "ResourceInUseException"
    sc.disassociate_product_from_portfolio(ProductId=prod, PortfolioId=pid)
    sc.delete_product(Id=prod)
    sc.delete_portfolio(Id=pid)
    with pytest.raises(sc.exceptions.ResourceNotFoundException):
        sc.describe_portfolio(Id=pid)
    with pytest.raises(sc.exceptions.ResourceNotFoundException):
        sc.describe_product_as_admin(Id=prod)


def test_a_replayed_token_answers_with_the_deleted_resource(sc, double):
    """Service Catalog remembers the token, not the resource: the replay creates nothing."""
    pid = new_portfolio(sc, "same", token="tok-1")
    sc.delete_portfolio(Id=pid)
    assert new_portfolio(sc, "same", token="tok-1") == pid
    assert double.region("us-east-1").portfolios == {}
    with pytest.raises(sc.exceptions.ResourceNotFoundException):
        sc.describe_portfolio(Id=pid)
    other, prod = new_portfolio(sc), new_product(sc)
    sc.associate_product_with_portfolio(ProductId=prod, PortfolioId=other)
    params = dict(PortfolioId=other, ProductId=prod, Type="LAUNCH", Parameters=json.dumps({"LocalRoleName": "r"}),
                  IdempotencyToken="c-1")
    cid = sc.create_constraint(**params)["ConstraintDetail"]["ConstraintId"]
    sc.delete_constraint(Id=cid)
    assert sc.create_constraint(**params)["ConstraintDetail"]["ConstraintId"] == cid
    assert double.region("us-east-1").constraints == {}


def test_tags_update_rules(sc):
    pid = new_portfolio(sc, Tags=[{"Key": "a", "Value": "1"}])
    with pytest.raises(sc.exceptions.InvalidParametersException):
        sc.update_portfolio(Id=pid, AddTags=[{"Key": "a", "Value": "2"}], RemoveTags=["a"])
    sc.update_portfolio(Id=pid, AddTags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": "x"}])
    sc.update_portfolio(Id=pid, RemoveTags=["b"])
    assert sc.describe_portfolio(Id=pid)["Tags"] == [{"Key": "a", "Value": "2"}]


# ------------------------------------------------------------------------------------------ behaviour


def test_idempotency_tokens(sc, double):
    first = new_portfolio(sc, "same", token="tok-1")
    again = new_portfolio(sc, "same", token="tok-1")
    assert first == again
    assert len(double.region("us-east-1").portfolios) == 1
    with pytest.raises(sc.exceptions.InvalidParametersException):
        new_portfolio(sc, "different", token="tok-1")
    assert new_product(sc, token="p-1") == new_product(sc, token="p-1")
    assert len(double.region("us-east-1").products) == 1


def test_share_status_is_asynchronous(sc, double):
    pid = new_portfolio(sc)
    token = sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ORGANIZATIONAL_UNIT",
                                                                          "Value": "ou-ab12-abcdefgh"},
                                      SharePrincipals=True)["PortfolioShareToken"]
    seen = [sc.describe_portfolio_share_status(PortfolioShareToken=token)["Status"]]
    for _ in range(5):
        shares = sc.describe_portfolio_shares(PortfolioId=pid, Type="ORGANIZATIONAL_UNIT")["PortfolioShareDetails"]
        seen.append(sc.describe_portfolio_share_status(PortfolioShareToken=token)["Status"])
        if seen[-1] != "COMPLETED":
            assert shares == []  # not visible until the share operation completed
    assert seen[0] == "NOT_STARTED" and "IN_PROGRESS" in seen and seen[-1] == "COMPLETED"
    assert shares == [{"PrincipalId": "ou-ab12-abcdefgh", "Type": "ORGANIZATIONAL_UNIT", "Accepted": True,
                       "ShareTagOptions": False, "SharePrincipals": True}]


def test_concurrent_share_operations_are_invalid_state(sc):
    pid = new_portfolio(sc)
    sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ORGANIZATION", "Value": "o-abcdefghij"})
    with pytest.raises(sc.exceptions.InvalidStateException):
        sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ACCOUNT", "Value": "210987654321"})


def test_share_principals_only_for_org_and_ou(sc):
    pid = new_portfolio(sc)
    with pytest.raises(sc.exceptions.InvalidParametersException):
        sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ACCOUNT", "Value": "210987654321"},
                                  SharePrincipals=True)


def test_org_shares_need_org_access(sc, double):
    double.set_org_access("DISABLED")
    assert sc.get_aws_organizations_access_status()["AccessStatus"] == "DISABLED"
    pid = new_portfolio(sc)
    with pytest.raises(ClientError) as excinfo:
        sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ORGANIZATION", "Value": "o-abcdefghij"})
    assert code_of(excinfo) == "OperationNotSupportedException"


def test_share_completed_with_errors_is_reported(sc, double):
    errors = [{"Accounts": ["210987654321"], "Message": "account suspended", "Error": "AccessDenied"}]
    double.share_outcomes["ou-ab12-abcdefgh"] = ("COMPLETED_WITH_ERRORS", errors)
    pid = new_portfolio(sc)
    token = sc.create_portfolio_share(PortfolioId=pid, OrganizationNode={"Type": "ORGANIZATIONAL_UNIT",
                                                                          "Value": "ou-ab12-abcdefgh"})[
        "PortfolioShareToken"]
    for _ in range(5):
        status = sc.describe_portfolio_share_status(PortfolioShareToken=token)
    assert status["Status"] == "COMPLETED_WITH_ERRORS"
    assert status["ShareDetails"]["ShareErrors"] == errors


def test_fault_injection_fails_the_nth_call(sc, double):
    double.inject("ListPortfolios", "InjectedFault", on_call=2)
    sc.list_portfolios()
    with pytest.raises(ClientError) as excinfo:
        sc.list_portfolios()
    assert code_of(excinfo) == "InjectedFault"
    sc.list_portfolios()
    assert [c.error for c in double.ops("ListPortfolios")] == [None, "InjectedFault", None]


def test_fault_after_applying_loses_the_response(sc, double):
    double.inject("CreatePortfolio", "InjectedFault", after=True)
    with pytest.raises(ClientError):
        new_portfolio(sc, token="lost-1")
    assert len(double.region("us-east-1").portfolios) == 1  # it was created all the same


def test_throttling_goes_through_botocore_retries(double, no_sleep):
    double.throttle("ListPortfolios", times=2)
    sc = client("servicecatalog", config=Config(retries={"mode": "adaptive", "max_attempts": 5}))
    sc.list_portfolios()
    assert [c.error for c in double.ops("ListPortfolios")] == ["ThrottlingException", "ThrottlingException", None]
    assert len(no_sleep) >= 2  # botocore backed off between the attempts


def test_pagination(sc, double):
    for i in range(45):
        double.call("CreateTagOption", {"Key": "k", "Value": f"v{i:02d}"})
    pages = list(sc.get_paginator("list_tag_options").paginate(PaginationConfig={"PageSize": 20}))
    assert [len(p["TagOptionDetails"]) for p in pages] == [20, 20, 5]
    with pytest.raises(sc.exceptions.InvalidParametersException):
        sc.list_tag_options(PageToken="bm90LWEtdG9rZW4")


def test_records_every_call(sc, double):
    new_portfolio(sc, "rec")
    call = double.calls[-1]
    assert call.operation == "CreatePortfolio" and call.region == "us-east-1"
    assert call.params["DisplayName"] == "rec" and call.is_write


def test_regions_are_separate(double):
    east = client("servicecatalog", region_name="us-east-1")
    west = client("servicecatalog", region_name="eu-west-1")
    new_portfolio(east, "east")
    assert west.list_portfolios()["PortfolioDetails"] == []
    assert double.calls[-1].region == "eu-west-1"


def test_coexists_with_moto_for_other_services(double):
    s3 = client("s3", region_name="us-east-1")
    s3.put_object(Bucket="smcat-artifacts", Key="k", Body=b"x")
    assert s3.get_object(Bucket="smcat-artifacts", Key="k")["Body"].read() == b"x"
    assert double.calls == []


def test_speaks_the_json_protocol_too(double):
    request = AWSPreparedRequest(
        "POST", "https://servicecatalog.us-east-1.amazonaws.com/",
        {"X-Amz-Target": "AWS242ServiceCatalogService.ListPortfolios",
         "Content-Type": "application/x-amz-json-1.1"},
        json_dumps({}), False,
    )
    response = double.handle_request(request)
    assert response.status_code == 200
    assert json.loads(response.content) == {"PortfolioDetails": [], "NextPageToken": None}


@settings(max_examples=60, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=False) | st.text()
    | st.binary(),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(), children.filter(lambda v: v is not None), max_size=4),
    max_leaves=20,
))
def test_cbor_round_trip(value):
    assert cbor_loads(cbor_dumps(value)) == value
