"""No bucket policy of any product is public where its bucket blocks public policies (issue 9).

S3 rejects PutBucketPolicy of a public policy on a bucket with BlockPublicPolicy (on by default
for new buckets), so such a template fails to create; the rule is public_policy.py's, from the S3
user guide's "The meaning of public". Every product of the catalog is resolved with the fit
world's parameters and with parameter sets that switch on each optional grant.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from generator.catalog import Catalog

from . import public_policy as pp
from .conftest import DATA_SCIENCE, HUB, ORGANIZATION, PROD, STAGING
from .resolve import resolve
from .test_fit import GROUP, HUB_GROUP_ARN, HUB_NAME, OTHER_GROUP, OU_PROD, OU_STAGING, PROJECT

ROOT = Path(__file__).resolve().parents[2]
KEY = f"arn:aws:kms:us-east-1:{DATA_SCIENCE}:key/11111111-2222-3333-4444-555555555555"
HUB_PARAMS = {"HubName": HUB_NAME, "OrganizationId": ORGANIZATION, "ModelPackageGroupName1": GROUP}
BUILD = {**PROJECT, "SeedCodeModelbuildKey": "modelbuild.zip"}
DEPLOY = {**PROJECT, "SeedCodeModeldeployKey": "modeldeploy.zip", "SageMakerModelPackageGroupName": HUB_GROUP_ARN}
MULTI = {**DEPLOY, "OrganizationId": ORGANIZATION, "OrganizationalUnitStagingId": OU_STAGING,
         "OrganizationalUnitProdId": OU_PROD}
BOOTSTRAP = {"DataScienceAccountId": DATA_SCIENCE, "ProjectNamePrefix": "churn"}

# product -> (label, account, parameters): the fit world's, and each optional grant switched on.
PARAMETER_SETS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "model-registry-hub": [
        ("fit world", HUB, {**HUB_PARAMS, "ModelPackageGroupName2": OTHER_GROUP,
                            "DataScienceAccountIds": [DATA_SCIENCE], "DeploymentAccountIds": [DATA_SCIENCE],
                            "WorkloadAccountIds": [STAGING, PROD],
                            "WorkloadOrganizationalUnitIds": [OU_STAGING, OU_PROD]}),
        ("data science only", HUB, {**HUB_PARAMS, "DataScienceAccountIds": [DATA_SCIENCE]}),
        ("deployment accounts", HUB, {**HUB_PARAMS, "DeploymentAccountIds": [DATA_SCIENCE]}),
        ("workload accounts", HUB, {**HUB_PARAMS, "WorkloadAccountIds": [STAGING, PROD]}),
        ("workload OUs", HUB, {**HUB_PARAMS, "WorkloadOrganizationalUnitIds": [OU_STAGING, OU_PROD]}),
    ],
    "registry-spoke": [
        ("fit world", DATA_SCIENCE, {"HubAccountId": HUB, "HubName": HUB_NAME, "ModelPackageGroupName1": GROUP}),
        ("groups by prefix", DATA_SCIENCE,
         {"HubAccountId": HUB, "HubName": HUB_NAME, "ForwardGroupNamePrefix": "churn"}),
    ],
    "model-build": [
        ("fit world: hub and deployment accounts", DATA_SCIENCE,
         {**BUILD, "HubAccountId": HUB, "HubModelPackageGroupName": GROUP, "DeploymentAccountIds": [STAGING, PROD]}),
        ("fit world: deployment OUs", DATA_SCIENCE,
         {**BUILD, "OrganizationId": ORGANIZATION, "DeploymentOrganizationalUnitIds": [OU_STAGING, OU_PROD]}),
        ("no grants", DATA_SCIENCE, BUILD),
        ("deployment accounts only", DATA_SCIENCE, {**BUILD, "DeploymentAccountIds": [STAGING, PROD]}),
        ("hub only", DATA_SCIENCE, {**BUILD, "HubAccountId": HUB, "HubModelPackageGroupName": GROUP}),
    ],
    "cross-account-endpoint": [
        ("fit world", DATA_SCIENCE, {**DEPLOY, "PreProdAccount": STAGING, "ProdAccount": PROD}),
        ("other deployment region", DATA_SCIENCE,
         {**DEPLOY, "PreProdAccount": STAGING, "ProdAccount": PROD, "DeploymentRegion": "eu-west-1",
          "DeploymentRegionArtifactBucket": "sagemaker-churn-eu-west-1", "DeploymentRegionArtifactKeyArn": KEY}),
    ],
    "multi-account-deploy": [
        ("fit world", DATA_SCIENCE, MULTI),
        ("own key", DATA_SCIENCE, {**MULTI, "KmsKeyArn": KEY}),
    ],
    "target-account-bootstrap": [
        ("fit world", STAGING, {**BOOTSTRAP, "ArtifactBucketPattern": "sagemaker-*", "ArtifactKeyArns": [KEY],
                                "ModelRegistryAccountId": HUB}),
        ("defaults", PROD, BOOTSTRAP),
        ("StackSet to OUs", STAGING, {**BOOTSTRAP, "CreateDeployerRole": "false"}),
    ],
    "s3-templates-domains": [
        ("StackSet to the data science OU", DATA_SCIENCE, {"TemplatesLocation": "s3://my-sagemaker-templates/t/"}),
    ],
    "project-roles": [
        ("defaults", DATA_SCIENCE, {"CatalogArtifactBucket": "my-catalog-artifacts-us-east-1"}),
        ("encrypted catalog", DATA_SCIENCE,
         {"CatalogArtifactBucket": "my-catalog-artifacts-us-east-1", "CatalogArtifactKeyArns": [KEY]}),
        ("S3 templates users", DATA_SCIENCE,
         {"CatalogArtifactBucket": "my-catalog-artifacts-us-east-1",
          "TemplatesLocation": "s3://my-sagemaker-templates/sagemaker-templates/",
          "TemplateUserRoleNames": ["AmazonSageMaker-ExecutionRole-1"]}),
    ],
}


@cache
def catalog_products() -> dict[str, Any]:
    """Every product module in products/, through the catalog's own loader."""
    return Catalog(ROOT).products()


@cache
def catalog_template(name: str) -> dict:
    return catalog_products()[name].template().to_dict()


def default_parameters(name: str) -> dict[str, Any]:
    """A product without its own sets (one added with `smcat new product`, say) is launched in the
    data science account as a Studio project: the fit world's project values and seed keys, and
    every other parameter at its default."""
    declared = catalog_template(name).get("Parameters", {})
    values = {k: v for k, v in PROJECT.items() if k in declared}
    values.update({k: f"{k}.zip" for k in declared if k.startswith("SeedCode") and k.endswith("Key")})
    return values


def parameter_sets(name: str) -> list[tuple[str, str, dict[str, Any]]]:
    return PARAMETER_SETS.get(name) or [("defaults", DATA_SCIENCE, default_parameters(name))]


def _cases() -> list[tuple[str, str, str, dict]]:
    return [(p, label, account, params) for p in catalog_products() for label, account, params in parameter_sets(p)]


def test_every_product_has_parameter_sets():
    """The products come from products/; sets here for products the catalog no longer has are stale,
    and a product without sets must be launchable with the defaults' values."""
    assert set(PARAMETER_SETS) <= set(catalog_products())
    for name in set(catalog_products()) - set(PARAMETER_SETS):
        declared = catalog_template(name).get("Parameters", {})
        missing = sorted(k for k, p in declared.items() if "Default" not in p and k not in default_parameters(name))
        assert missing == [], f"{name}: add parameter sets for it to PARAMETER_SETS (no value for {missing})"


@pytest.mark.parametrize(("product", "label", "account", "parameters"), _cases(), ids=[f"{c[0]}: {c[1]}" for c in
                                                                                        _cases()])
def test_no_bucket_policy_is_public_where_public_policies_are_blocked(product, label, account, parameters):
    template = catalog_template(product)
    known = {k: v for k, v in parameters.items() if k in template.get("Parameters", {})}
    assert known == parameters, f"not parameters of {product}: {sorted(set(parameters) - set(known))}"
    assert pp.problems(resolve(template, account, parameters, stack=product)) == []


# --- The rule itself, on small hand-written statements -------------------------------------------

def allow(principal: Any = "*", condition: dict | None = None, **extra: Any) -> dict:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    if condition is not None:
        statement["Condition"] = condition
    return {**statement, **extra}


@pytest.mark.parametrize(
    ("key", "fixed_value"),
    [
        ("aws:PrincipalOrgID", "o-abcdefghij"),
        ("aws:SourceIp", "203.0.113.0/24"),
        ("aws:SourceArn", "arn:aws:cloudtrail:us-east-1:111111111111:trail/t"),
        ("aws:SourceVpc", "vpc-91237329"),
        ("aws:SourceVpce", "vpce-1a2b3c4d"),
        ("aws:SourceOwner", "111111111111"),
        ("aws:SourceAccount", "111111111111"),
        ("s3:x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:111111111111:key/k"),
        ("aws:userid", "AROAEXAMPLEID:session"),
        ("s3:DataAccessPointArn", "arn:aws:s3:us-west-2:123456789012:accesspoint/ap"),
        ("s3:DataAccessPointAccount", "123456789012"),
    ],
)
def test_each_listed_key_with_a_fixed_value_makes_a_statement_to_everyone_non_public(key, fixed_value):
    assert set(pp.NON_PUBLIC_KEYS) >= {key}
    operator = "IpAddress" if key == "aws:SourceIp" else "StringEquals"
    assert not pp.statement_is_public(allow("*", {operator: {key: fixed_value}}))
    assert not pp.statement_is_public(allow({"AWS": "*"}, {operator: {key: [fixed_value]}}))
    if key != "aws:SourceIp":
        wildcard = fixed_value[:-2] + "*"
        if key == "s3:DataAccessPointArn":  # the page: a wildcard in the access point name is fine...
            assert not pp.statement_is_public(allow("*", {"StringLike": {key: wildcard}}))
            wildcard = "arn:aws:s3:us-west-2:*:accesspoint/ap"  # ...not in the account
        assert pp.statement_is_public(allow("*", {"StringLike": {key: wildcard}}))
        assert pp.statement_is_public(allow("*", {"StringEquals": {key: "${aws:PrincipalAccount}"}}))
        assert pp.statement_is_public(allow("*", {"StringEquals": {key: [fixed_value, "x?"]}}))


def test_the_doc_lists_exactly_these_keys():
    assert sorted(pp.NON_PUBLIC_KEYS) == sorted([
        "aws:PrincipalOrgID", "aws:SourceIp", "aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner",
        "aws:SourceAccount", "s3:x-amz-server-side-encryption-aws-kms-key-id", "aws:userid", "s3:DataAccessPointArn",
        "s3:DataAccessPointAccount",
    ])


def test_what_stays_public():
    # The page's own examples.
    assert pp.statement_is_public(allow({"Federated": "graph.facebook.com"}))
    assert pp.statement_is_public(allow("*"))
    assert pp.statement_is_public(allow("*", {"StringLike": {"aws:SourceVpc": "vpc-*"}}))
    assert not pp.statement_is_public(allow("*", {"StringEquals": {"aws:SourceVpc": "vpc-91237329"}}))
    # Keys the page does not list, even with fixed values, and wildcard org paths.
    assert pp.statement_is_public(allow("*", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/sagemaker-*"}}))
    assert pp.statement_is_public(allow("*", {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}))
    assert pp.statement_is_public(allow("*", {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-x/*/ou-1/*"]}}))
    # Negated or IfExists operators do not confine.
    assert pp.statement_is_public(allow("*", {"StringNotEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}))
    assert pp.statement_is_public(allow("*", {"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abcdefghij"}}))
    # Broad CIDRs are public (private ranges excepted).
    assert pp.statement_is_public(allow("*", {"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}))
    assert not pp.statement_is_public(allow("*", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    # The wildcard statement becomes non-public with a fixed org id added beside its wildcards.
    assert not pp.statement_is_public(allow("*", {
        "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/sagemaker-role-*"},
        "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"},
    }))


def test_fixed_principals_and_denies_are_not_public():
    assert not pp.statement_is_public(allow({"AWS": "arn:aws:iam::111111111111:role/r"}))
    assert not pp.statement_is_public(allow({"AWS": ["111111111111", "arn:aws:iam::222222222222:root"]}))
    assert not pp.statement_is_public(allow({"Service": "logging.s3.amazonaws.com"}))
    assert pp.statement_is_public(allow({"AWS": ["111111111111", "*"]}))
    assert not pp.statement_is_public({**allow("*"), "Effect": "Deny"})


def _template(statement: dict, block: Any = None) -> dict:
    bucket: dict[str, Any] = {"BucketName": "b"}
    if block is not None:
        bucket["PublicAccessBlockConfiguration"] = block
    return {"Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": bucket},
        "Policy": {"Type": "AWS::S3::BucketPolicy",
                   "Properties": {"Bucket": "b", "PolicyDocument": {"Statement": [{**statement, "Sid": "S"}]}}},
    }}


def test_block_public_access_settings():
    public = allow("*")
    # Default (new buckets block public policies) and explicit: the stack fails.
    assert "PutBucketPolicy is rejected" in pp.problems(_template(public))[0]
    assert "PutBucketPolicy is rejected" in pp.problems(_template(public, {"BlockPublicPolicy": True}))[0]
    # Not blocked, but restricted: cross-account grants are ignored.
    restricted = pp.problems(_template(public, {"BlockPublicPolicy": False, "RestrictPublicBuckets": True}))
    assert "RestrictPublicBuckets" in restricted[0]
    assert pp.problems(_template(public, {"BlockPublicPolicy": "false", "RestrictPublicBuckets": "false"})) == []
    assert pp.problems(_template(allow("*", {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}))) == []
