"""Who may set which model lifecycle stage, evaluated: project-roles' model lifecycle policy on two
Studio execution roles (a data scientist's and the production approver's), and its pipeline role.

A request to CreateModelPackage or UpdateModelPackage carrying ModelLifeCycle has the condition keys
sagemaker:ModelLifeCycle:stage and sagemaker:ModelLifeCycle:stageStatus (developer guide,
model-registry-staging-construct-set-up); the needs below carry them as that request would. The
Studio roles are AWS-created (AmazonSageMakerFullAccess, tests/hub/managed_policies.py), so what
they may do is that policy plus the statements project-roles attaches to them.
"""

from __future__ import annotations

from functools import cache

import pytest

from .access import Grants, _condition, need, role
from .conftest import DATA_SCIENCE, REGION
from .resolve import resolve

STUDIO_ROLE = "AmazonSageMaker-ExecutionRole-20260101T000000"  # a data scientist's
APPROVER_ROLE = "AmazonSageMaker-ExecutionRole-governance"  # the governance officer's
DATA_SCIENTIST = role(DATA_SCIENCE, f"service-role/{STUDIO_ROLE}")
APPROVER = role(DATA_SCIENCE, f"service-role/{APPROVER_ROLE}")
PIPELINE = role(DATA_SCIENCE, "sagemaker-projects-pipeline-role")
VERSION = f"arn:aws:sagemaker:{REGION}:{DATA_SCIENCE}:model-package/churn-p-abcdef123456/3"
UPDATE, CREATE = "sagemaker:UpdateModelPackage", "sagemaker:CreateModelPackage"


@cache
def grants(approver: bool = True) -> Grants:
    from products import project_roles

    parameters = {"CatalogArtifactBucket": "catalog-artifacts",
                  "ModelLifecycleUserRoleNames": [STUDIO_ROLE, APPROVER_ROLE]}
    if approver:
        parameters["ProductionApproverRoleArn"] = APPROVER.arn
    return Grants().add_template(resolve(project_roles.PRODUCT.template().to_dict(), DATA_SCIENCE, parameters),
                                 DATA_SCIENCE)


def sets(who, stage, status="Approved", action=UPDATE):
    return need(who, action, VERSION, f"sets {stage}/{status}",
                **{"sagemaker:ModelLifeCycle:stage": stage, "sagemaker:ModelLifeCycle:stageStatus": status})


# --- People: Development and Staging; Production only the approver ------------------------------


@pytest.mark.parametrize("stage", ["Development", "Staging"])
@pytest.mark.parametrize("action", [UPDATE, CREATE])
def test_a_data_scientist_may_set_development_and_staging(stage, action):
    assert grants().check(sets(DATA_SCIENTIST, stage, action=action)) == []


@pytest.mark.parametrize("action", [UPDATE, CREATE])
def test_a_data_scientist_may_not_set_production(action):
    problems = grants().check(sets(DATA_SCIENTIST, "Production", action=action))
    assert problems and problems[0].startswith("explicitly denied")


def test_a_data_scientist_may_not_fake_the_pipelines_record():
    assert grants().check(sets(DATA_SCIENTIST, "Staging", "Deployed"))


def test_the_production_approver_may_set_production():
    assert grants().check(sets(APPROVER, "Production")) == []


def test_without_a_named_approver_nobody_but_the_pipeline_sets_production():
    problems = grants(approver=False).check(sets(APPROVER, "Production"))
    assert problems and problems[0].startswith("explicitly denied")


def test_approving_without_a_lifecycle_stage_is_untouched():
    """Approval mode: UpdateModelPackage without ModelLifeCycle has no stage keys, and the guard's
    StringEquals on a key the request lacks is false: nothing is denied."""
    plain = need(DATA_SCIENTIST, UPDATE, VERSION, "approves", **{"sagemaker:ModelApprovalStatus": "Approved"})
    assert grants().check(plain) == []


def test_the_evaluator_decides_by_the_lifecycle_keys():
    """The same request is refused with the Production stage key and allowed without it: the
    evaluator reads the key (a condition it ignored would give the same answer twice)."""
    with_key = sets(DATA_SCIENTIST, "Production")
    without_key = need(DATA_SCIENTIST, UPDATE, VERSION, "no lifecycle keys")
    assert grants().check(with_key) and grants().check(without_key) == []


# --- The pipeline role records what it deployed ---------------------------------------------------


@pytest.mark.parametrize("stage", ["Staging", "Production"])
def test_the_pipeline_role_records_deployed_stages(stage):
    assert grants().check(sets(PIPELINE, stage, "Deployed")) == []


@pytest.mark.parametrize(("stage", "status"), [("Production", "Approved"), ("Development", "Deployed")])
def test_the_pipeline_role_records_nothing_else(stage, status):
    assert grants().check(sets(PIPELINE, stage, status))


def test_the_pipeline_role_may_not_record_in_another_accounts_registry():
    hub_version = VERSION.replace(DATA_SCIENCE, "222222222222")
    assert grants().check(need(PIPELINE, UPDATE, hub_version, "hub", **{
        "sagemaker:ModelLifeCycle:stage": "Production", "sagemaker:ModelLifeCycle:stageStatus": "Deployed"}))


# --- The evaluator's negated operators -------------------------------------------------------------


@pytest.mark.parametrize(("operator", "actual", "expected", "holds"), [
    ("ArnNotEquals", None, ["arn:aws:iam::1:role/a"], True),  # a key the request lacks: true
    ("ArnNotEquals", "arn:aws:iam::1:role/a", ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"], False),
    ("ArnNotEquals", "arn:aws:iam::1:role/c", ["arn:aws:iam::1:role/a", "arn:aws:iam::1:role/b"], True),
    ("ArnNotLike", "arn:aws:iam::1:role/a", ["arn:aws:iam::*:role/*"], False),
    ("StringNotLike", None, ["x*"], True),
    ("StringEquals", None, ["Production"], False),
])
def test_negated_operators_follow_iam(operator, actual, expected, holds):
    assert _condition(operator, actual, expected) is holds


# --- The pipeline steps' role: a model-build run cannot register a version at Production --------

USE_ROLE_NAME = "AmazonSageMakerServiceCatalogProductsUseRole"  # model-build's SageMakerExecutionRole default
USE_ROLE = role(DATA_SCIENCE, f"service-role/{USE_ROLE_NAME}")


@cache
def guarded_use_role() -> Grants:
    from products import project_roles

    parameters = {"CatalogArtifactBucket": "catalog-artifacts", "ProductionApproverRoleArn": APPROVER.arn,
                  "ModelLifecycleUserRoleNames": [STUDIO_ROLE, APPROVER_ROLE, USE_ROLE_NAME]}
    return Grants().add_template(resolve(project_roles.PRODUCT.template().to_dict(), DATA_SCIENCE, parameters),
                                 DATA_SCIENCE)


def test_a_pipeline_run_registers_at_development_as_the_use_role():
    """The register step runs as the pipeline's role (the UseRole by default), with the stage the
    run was started with: Development, the seed's default, is allowed."""
    assert guarded_use_role().check(sets(USE_ROLE, "Development", action=CREATE)) == []


@pytest.mark.parametrize("stage, status", [("Production", "Approved"), ("Staging", "Deployed")])
def test_a_run_started_with_production_cannot_register_it_once_the_use_role_is_listed(stage, status):
    """A data scientist may start model-build's pipeline with ModelLifeCycleStage=Production (or edit
    the seed code): listing the UseRole in ModelLifecycleUserRoleNames is what refuses the register
    step, as the README's set-up says."""
    problems = guarded_use_role().check(sets(USE_ROLE, stage, status, action=CREATE))
    assert problems and problems[0].startswith("explicitly denied")
    # and without the UseRole listed nothing refuses it: the parameter is what protects
    assert grants().check(sets(USE_ROLE, stage, status, action=CREATE)) == []
