"""Fixtures of the recorded runs: the runtime world and the model-build recording, made once."""

from __future__ import annotations

import pytest

from tests.runtime.modelbuild import RECORDER, ROOT, SEED_PYTHON, check_modelbuild, record
from tests.runtime.recording import RuntimeWorld, codebuild, runtime_world


@pytest.fixture(scope="session")
def rw() -> RuntimeWorld:
    return runtime_world()


@pytest.fixture(scope="session")
def modelbuild(rw):
    """(the recorder's JSON, its check) for the model-build project of the fit world."""
    if not SEED_PYTHON.exists():
        pytest.skip(f"{SEED_PYTHON} does not exist (CI creates the seed's venv before the main suite)")
    if not RECORDER.exists():
        pytest.skip(f"{RECORDER.relative_to(ROOT)} does not exist yet")
    role, env = codebuild(rw.world.build, "ModelBuildProject")
    recording = record(env, role.account)
    return recording, check_modelbuild(recording, rw)
