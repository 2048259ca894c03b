"""Roles no template creates have their real policies (managed_policies.py), and the principals of
the fit world whose identity policy nothing models are listed, not silently allowed everything."""

from __future__ import annotations

import pytest

from . import managed_policies as mp
from .access import Grants, Principal, Statement, need
from .test_fit import NEEDS, World, build_world

USE_ROLE_ARN = "arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole"

# The principals of test_fit's NEEDS whose identity policy no template and no table models (the
# evaluator then assumes they allow everything), and why each stays so.
UNMODELLED = {
    # An account added to the staging OU later: target-account-bootstrap (a StackSet to the OU)
    # makes this role there, but the fit world resolves the bootstrap for staging and prod only.
    "arn:aws:iam::555555555555:role/sagemaker-role-mlops",
    # What a service-managed StackSet runs as in a target account (created by CloudFormation
    # StackSets with the StackSet's own permissions); no table of it here.
    "arn:aws:iam::555555555555:role/stacksets-exec-0123456789abcdef",
}


@pytest.fixture(scope="module")
def world() -> World:
    return build_world()


def _own_buckets(*buckets: str) -> Grants:
    """Grants knowing that `buckets` belong to 111111111111 (S3 ARNs carry no account): each with
    a TLS-only bucket policy that allows nothing."""
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    resources = {f"P{i}": {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": bucket, "PolicyDocument": {"Statement": [deny]}}} for i, bucket in enumerate(buckets)}
    return Grants().add_template({"Resources": resources}, "111111111111")


def test_the_principals_still_unmodelled_in_the_fit_world(world: World):
    grants = world.grants()
    unmodelled = {n.principal.arn for make in NEEDS.values() for n in make(world) if grants.unmodelled(n.principal.arn)}
    assert unmodelled == UNMODELLED


def test_the_projects_roles_are_modelled(world: World):
    grants = world.grants()
    for name in ("UseRole", "CodeBuildRole", "CodePipelineRole", "EventsRole", "ExecutionRole"):
        arn = f"arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProducts{name}"
        assert not grants.unmodelled(arn), arn
    assert not grants.unmodelled("arn:aws:iam::111111111111:role/service-role/AmazonSageMaker-ExecutionRole-2026")
    assert grants.unmodelled("arn:aws:iam::111111111111:role/service-role/SomethingElse")
    assert not grants.unmodelled("arn:aws:iam::111111111111:root")


@pytest.mark.parametrize("role", ["UseRole", "CodeBuildRole", "CodePipelineRole", "EventsRole"])
def test_the_projects_roles_have_no_kms_and_no_sts(role):
    """What makes the hub push and the hub bucket's key unusable from the UseRole alone."""
    (policies,) = [mp.policies_of(f"arn:aws:iam::1:role/service-role/AmazonSageMakerServiceCatalogProducts{role}")]
    actions = [a for _, statements in policies for s in statements for a in
               (s.get("Action") if isinstance(s.get("Action"), list) else [s.get("Action")])]
    assert actions and not [a for a in actions if a.split(":")[0] in ("kms", "sts")]


def test_the_sources_are_recorded():
    for source in mp.SOURCES:
        assert source.url == f"https://docs.aws.amazon.com/aws-managed-policy/latest/reference/{source.name}.html"
        assert source.version.startswith("v") and len(source.mirror_commit) == 40


def test_the_use_role_in_its_own_account():
    grants = _own_buckets("sagemaker-x-111111111111", "other-bucket")
    use_role = Principal(USE_ROLE_ARN)
    # Same account, no bucket policy: the identity policy decides.
    assert grants.check(need(use_role, "s3:PutObject", "arn:aws:s3:::sagemaker-x-111111111111/k", "own")) == []
    assert grants.check(need(use_role, "s3:PutObject", "arn:aws:s3:::other-bucket/k", "not sagemaker-*"))
    # sagemaker:* with NotResource: everything but domains, user profiles, apps, flow definitions.
    group = "arn:aws:sagemaker:us-east-1:111111111111:model-package-group/g"
    assert grants.check(need(use_role, "sagemaker:CreateModelPackageGroup", group, "group")) == []
    assert grants.check(need(use_role, "sagemaker:DescribeDomain",
                             "arn:aws:sagemaker:us-east-1:111111111111:domain/d-1", "domain"))
    assert grants.check(need(use_role, "kms:Decrypt", "arn:aws:kms:us-east-1:111111111111:key/k", "no kms"))


def test_template_statements_add_to_the_managed_ones():
    """A policy a template attaches to an AWS-created role (AWS::IAM::ManagedPolicy with Roles)
    adds to the role's own policy; it does not replace it."""
    grants = Grants()
    grants.identity_policies[USE_ROLE_ARN] = [Statement("Spoke PushRole", {
        "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::222222222222:role/push"})]
    statements = grants.identity_of(USE_ROLE_ARN)
    assert statements[0].where == "Spoke PushRole"
    assert len(statements) == 1 + len(mp.USE_ROLE_STATEMENTS)


def test_condition_operators_of_the_managed_policies():
    grants = _own_buckets("data")
    studio = Principal("arn:aws:iam::111111111111:role/service-role/AmazonSageMaker-ExecutionRole-1")
    # StringEqualsIgnoreCase on an object tag (AllowS3GetObjectWithSageMakerExistingObjectTag).
    tagged = need(studio, "s3:GetObject", "arn:aws:s3:::data/k", "tag", **{"s3:ExistingObjectTag/SageMaker": "TRUE"})
    assert grants.check(tagged) == []
    assert grants.check(need(studio, "s3:GetObject", "arn:aws:s3:::data/k", "untagged"))
    # Null (AllowAppActionsForSharedSpaces and others): the key must be present / absent.
    from .access import _condition

    assert _condition("Null", None, ["true"]) and not _condition("Null", "x", ["true"])
    assert _condition("Null", "x", ["false"]) and not _condition("Null", None, ["false"])
