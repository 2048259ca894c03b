"""Registering into the hub cannot skip its approval by a model lifecycle stage, evaluated.

A CreateModelPackage request carrying ModelLifeCycle has the condition keys
sagemaker:ModelLifeCycle:stage and sagemaker:ModelLifeCycle:stageStatus (developer guide,
model-registry-staging-construct-set-up). Whoever registers a version into the hub (a spoke's
model-build pipeline through the group policy, the push role, the sync role) may register it
pending approval at any stage but `Production`, and with any stage status but `Deployed`: the
hub's own approval would otherwise deploy to prod a version no one promoted there. A request
without ModelLifeCycle (approval mode) stays allowed: the guard is StringNotEquals, true on a
missing key (IAM user guide, reference_policies_elements_condition_operators).
"""

from __future__ import annotations

import pytest

from .access import need
from .test_fit import DS_PIPELINE, HUB_VERSION, PENDING, PUSH, SYNC, build_world, registration_target, versions_of

CREATE = "sagemaker:CreateModelPackage"
STAGE, STATUS = "sagemaker:ModelLifeCycle:stage", "sagemaker:ModelLifeCycle:stageStatus"
WHO = {"spoke pipeline": DS_PIPELINE, "push role": PUSH, "sync role": SYNC}


@pytest.fixture(scope="module")
def world():
    return build_world()


def registers(world, who: str, stage: str | None = None, status: str = "Approved"):
    target = versions_of(registration_target(world)) if who == "spoke pipeline" else HUB_VERSION
    keys = {STAGE: stage, STATUS: status} if stage else {}
    return need(WHO[who], CREATE, target, f"registers at {stage}/{status}", **PENDING, **keys)


@pytest.mark.parametrize("who", WHO)
@pytest.mark.parametrize("stage", [None, "Development", "Staging"])
def test_registering_below_production_is_allowed(world, who, stage):
    assert world.grants().check(registers(world, who, stage)) == []


@pytest.mark.parametrize("who", WHO)
def test_registering_at_production_is_refused(world, who):
    assert world.grants().check(registers(world, who, "Production"))


@pytest.mark.parametrize("who", WHO)
def test_registering_as_deployed_is_refused(world, who):
    assert world.grants().check(registers(world, who, "Development", "Deployed"))
