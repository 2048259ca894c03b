"""`.taskcat.yml` for the built catalog: one taskcat test per product, with realistic values.

Values that only a real sandbox knows (organization, OU and account ids) come from SSM
parameters under /smcat/taskcat/ in the test account, read by taskcat at run time.
"""

from __future__ import annotations

import hashlib
from typing import Any

import yaml

from generator.errors import Problem

SSM = "$[taskcat_ssm_/smcat/taskcat/{}]"
PROJECT = "smcat-catalog"
REGIONS = ["us-east-1", "eu-west-1"]

# Values by parameter name, for parameters without a default. Products can add their own
# (Product.test_parameters), which win.
COMMON = {
    "SeedCodeBucket": "$[taskcat_autobucket]",
    "OrganizationId": SSM.format("organization-id"),
    "OrganizationalUnitStagingId": SSM.format("staging-ou-id"),
    "OrganizationalUnitProdId": SSM.format("prod-ou-id"),
    "PreProdAccount": SSM.format("preprod-account-id"),
    "ProdAccount": SSM.format("prod-account-id"),
    "DataScienceAccountId": SSM.format("data-science-account-id"),
    "HubAccountId": SSM.format("hub-account-id"),
    "ArtifactKeyArns": SSM.format("artifact-key-arn"),
    "SageMakerModelPackageGroupName": SSM.format("model-package-group"),
    "ProjectNamePrefix": "tc-",
    "ModelPackageGroupName1": "tc-hub-models",
}


def project_values(product: str) -> dict[str, str]:
    """A project name and id of the shape Studio gives, distinct per product."""
    digest = hashlib.sha256(product.encode()).hexdigest()
    return {"SageMakerProjectName": f"tc-{product}"[:32].rstrip("-"), "SageMakerProjectId": f"p-{digest[:12]}"}


def test_values(built) -> tuple[dict[str, str], list[Problem]]:
    """Values for the parameters of the product's template that have no default."""
    product = built.product
    known = {**COMMON, **project_values(product.name), **product.test_parameters}
    for seed, key_parameter in built.seed_key_parameters.items():
        known[key_parameter] = f"$[taskcat_project_name]/seedcode/{seed}.zip"
    values, problems = {}, []
    for name, parameter in sorted(built.template.get("Parameters", {}).items()):
        if "Default" in parameter:
            continue  # a test of the product as a data scientist launches it: defaults stay
        if name in known:
            values[name] = known[name]
        else:
            problems.append(Problem(product.source, "test_parameters", f"taskcat needs a value for parameter {name!r}"))
    return values, problems


def names_global_resources(template: dict[str, Any]) -> bool:
    """IAM roles and policies with fixed names are global: a second region's stack would collide."""
    return any(
        resource.get("Type", "").startswith("AWS::IAM::")
        and any(key in resource.get("Properties", {}) for key in ("RoleName", "ManagedPolicyName", "UserName"))
        for resource in template.get("Resources", {}).values()
    )


def taskcat_config(products: dict[str, Any]) -> tuple[bytes, list[Problem]]:
    tests, problems = {}, []
    for name, built in sorted(products.items()):
        values, found = test_values(built)
        problems += found
        tests[name] = {"template": f"templates/{name}.json", "parameters": values}
        if names_global_resources(built.template):
            tests[name]["regions"] = REGIONS[:1]
    config = {
        "project": {"name": PROJECT, "regions": REGIONS, "shorten_stack_name": True},
        "tests": tests,
    }
    header = "# Written by `smcat build`. Run in a sandbox account: see README (taskcat).\n"
    return (header + yaml.safe_dump(config, sort_keys=True, default_flow_style=False)).encode(), problems
