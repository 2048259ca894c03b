"""Every principal a policy names exists when the policy is created, in the README's setup order.

The order is parsed from README.md's "### Setup order" numbered list (so README and test cannot
drift); each item becomes stacks with the fit world's accounts and parameters (test_fit.py), and
principals.py checks them in that order.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from .conftest import DATA_SCIENCE, HUB, PROD, STAGING
from .principals import ENABLE_PROJECTS, Stack, check_order, dependencies, named_principals
from .resolve import resolve
from .test_public_policies import catalog_products, catalog_template

README = Path(__file__).resolve().parents[2] / "README.md"

# Who each README item is for -> the fit world's accounts of that kind.
ACCOUNTS = {"hub account": [HUB], "target accounts": [STAGING, PROD], "data science accounts": [DATA_SCIENCE]}


@cache
def fit_parameters() -> dict[tuple[str, str], list[tuple[dict[str, Any], str]]]:
    """(product, account) -> the (parameters, stack) test_fit.build_world resolves it with: recorded
    by running build_world itself, so this test follows the fit world as it changes."""
    from . import test_fit

    calls: list[tuple[dict, str, dict, str]] = []
    real = test_fit.resolve

    def recording(template: dict, account: str, parameters: dict, stack: str = "") -> dict:
        calls.append((template, account, parameters, stack))
        return real(template, account, parameters, stack)

    test_fit.resolve = recording
    try:
        test_fit.build_world()
    finally:
        test_fit.resolve = real
    found: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = {}
    for template, account, parameters, stack in calls:
        product = next(name for name in catalog_products() if catalog_template(name) == template)
        found.setdefault((product, account), []).append((parameters, stack))
    # Not in the fit world's templates: project-roles (test_fit.project_roles adds its grants) and
    # s3-templates-domains (its one role trusts Lambda and grants nothing across accounts).
    found[("project-roles", DATA_SCIENCE)] = [({"CatalogArtifactBucket": "catalog-artifacts"}, "project-roles")]
    found[("s3-templates-domains", DATA_SCIENCE)] = [
        ({"TemplatesLocation": "s3://my-sagemaker-templates/t/"}, "s3-templates-domains")]
    return found


def readme_order(text: str) -> list[tuple[str, list[str]]]:
    """(who, [products]) of each numbered item of the "### Setup order" section, in order; an item
    naming no product enables SageMaker projects."""
    section = text.split("### Setup order", 1)[1].split("\n### ", 1)[0]
    items = re.findall(r"^\d+\. (.+?)(?=^\d+\. |\Z)", section, flags=re.M | re.S)
    order = []
    for item in items:
        who = next((kind for kind in ACCOUNTS if kind in item.lower()), None)
        assert who, f"README setup order item names no kind of account: {item!r}"
        products = re.findall(r"`([a-z0-9-]+)`", item)
        known = [p for p in products if p in catalog_products()]
        if not known:
            assert "enable sagemaker projects" in item.lower(), f"README setup order item names no product: {item!r}"
            known = [ENABLE_PROJECTS]
        order.append((who, known))
    return order


@cache
def readme_stacks() -> tuple[Stack, ...]:
    stacks = []
    for who, products in readme_order(README.read_text()):
        for product in products:
            for account in ACCOUNTS[who]:
                if product == ENABLE_PROJECTS:
                    stacks.append(Stack(product, account, None))
                else:
                    sets = fit_parameters().get((product, account))
                    assert sets, f"the fit world launches no {product} in {account}"
                    stacks += [Stack(product, account, catalog_template(product), parameters, stack)
                               for parameters, stack in sets]
    return tuple(stacks)


def test_the_readme_orders_every_product_hub_then_targets_then_data_science():
    order = readme_order(README.read_text())
    products = [p for _, ps in order for p in ps if p != ENABLE_PROJECTS]
    catalog = catalog_products()
    assert len(products) == len(set(products)) and set(products) <= set(catalog)
    # Admin stacks must each have their place; a Studio project template the list does not name
    # (one added with `smcat new product`) is launched with the others, in the last item, from Studio.
    assert [p for p in sorted(set(catalog) - set(products)) if not catalog[p].studio_project] == []
    section = README.read_text().split("### Setup order", 1)[1].split("\n### ", 1)[0]
    last = re.findall(r"^\d+\. (.+?)(?=^\d+\. |\Z)", section, flags=re.M | re.S)[-1]
    assert order[-1][0] == "data science accounts" and "from Studio" in last
    assert all(catalog[p].studio_project for p in order[-1][1])
    assert products.index("model-registry-hub") < products.index("target-account-bootstrap")
    assert products.index("target-account-bootstrap") < products.index("project-roles")
    assert products.index("project-roles") < products.index("model-build")
    assert order[0] == ("data science accounts", [ENABLE_PROJECTS])


def test_every_principal_exists_when_its_policy_is_created():
    """Fails while target-account-bootstrap's roles trust the data science account's pipeline role
    by its ARN: project-roles creates that role only after the target accounts are set up."""
    assert check_order(list(readme_stacks())) == []


# --- The checker itself, on small templates ------------------------------------------------------

def _role(name: str, trusts: Any, condition: dict | None = None, **extra: Any) -> dict:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": trusts}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Type": "AWS::IAM::Role", **extra,
            "Properties": {"RoleName": name, "AssumeRolePolicyDocument": {"Statement": [statement]}}}


def _stack(product: str, account: str, resources: dict) -> Stack:
    return Stack(product, account, {"Resources": resources})


def test_a_trust_naming_a_role_created_later_fails_and_earlier_passes():
    trusting = _stack("target", "333333333333", {"R": _role("deployer", "arn:aws:iam::111111111111:role/pipeline")})
    trusted = _stack("roles", "111111111111", {"P": _role("pipeline", "arn:aws:iam::111111111111:root")})
    (problem,) = check_order([trusting, trusted])
    assert "arn:aws:iam::111111111111:role/pipeline" in problem and "no earlier stack" in problem
    assert check_order([trusted, trusting]) == []


def test_the_account_root_with_a_principal_arn_condition_needs_no_role():
    trusting = _stack("target", "333333333333", {"R": _role(
        "deployer", "arn:aws:iam::111111111111:root",
        {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/pipeline"}},
    )})
    assert check_order([trusting]) == []
    anyone = _role("x", "*", {"StringEquals": {"aws:PrincipalOrgID": "o-1"}})
    assert check_order([_stack("b", "111111111111", {"R": anyone})]) == []


def test_a_role_of_the_same_stack_needs_a_dependency():
    ref = {"Fn::GetAtt": ["P", "Arn"]}
    by_ref = _stack("s", "111111111111", {"P": _role("pipeline", "111111111111"), "R": _role("deployer", ref)})
    # resolve() turns the GetAtt into the ARN; the dependency is read on the unresolved template.
    assert named_principals(resolve(by_ref.template, "111111111111", {}))[0].arn.endswith(":role/pipeline")
    assert dependencies(by_ref.template, "R") == {"P"}
    assert check_order([by_ref]) == []
    by_name = _stack("s", "111111111111", {
        "P": _role("pipeline", "111111111111"), "R": _role("deployer", "arn:aws:iam::111111111111:role/pipeline")})
    (problem,) = check_order([by_name])
    assert "created by P in the same stack, but R does not depend on it" in problem
    depends = _stack("s", "111111111111", {
        "P": _role("pipeline", "111111111111"),
        "R": _role("deployer", "arn:aws:iam::111111111111:role/pipeline", DependsOn="P")})
    assert check_order([depends]) == []


def test_aws_created_roles_exist_once_sagemaker_projects_are_enabled():
    use_role = "arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole"
    bucket = _stack("b", "222222222222", {"Policy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
        "Bucket": "b", "PolicyDocument": {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": use_role}, "Action": "s3:GetObject", "Resource": "*"}]}}}})
    (problem,) = check_order([bucket])
    assert "SageMaker projects are not enabled yet" in problem
    assert check_order([Stack(ENABLE_PROJECTS, "111111111111", None), bucket]) == []


@pytest.mark.parametrize("kind", ["AWS::KMS::Key", "AWS::SageMaker::ModelPackageGroup", "AWS::Events::EventBusPolicy"])
def test_key_group_and_bus_policies_are_checked(kind):
    statement = {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/nobody"}, "Action": "x:Y"}
    prop = {"AWS::KMS::Key": ("KeyPolicy", {"Statement": [statement]}),
            "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupPolicy", {"Statement": [statement]}),
            "AWS::Events::EventBusPolicy": ("Statement", statement)}[kind]
    assert len(check_order([_stack("s", "222222222222", {"X": {"Type": kind, "Properties": dict([prop])}})])) == 1
