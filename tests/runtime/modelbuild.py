"""The model-build seed's CodeBuild run, recorded by `record_modelbuild.py` with the seed's own
virtual environment, and what it implies: the CodeBuild role's calls, the pipeline's jobs, the model
package it registers, and who must be able to read that model."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.hub.access import Need, Principal
from tests.hub.test_fit import PROD_ENDPOINT, STAGING_ENDPOINT, SYNC
from tests.runtime.calls import Call, check, check_calls
from tests.runtime.objects import reader_problems
from tests.runtime.pipeline import ModelPackage, run_pipeline
from tests.runtime.recording import RuntimeWorld, codebuild, principal

ROOT = Path(__file__).resolve().parents[2]
SEED_PYTHON = ROOT / ".venv-seed-modelbuild" / "bin" / "python"
RECORDER = ROOT / "tests" / "runtime" / "record_modelbuild.py"
# Who reads the registered model.tar.gz: the endpoints' execution role in the staging and prod
# accounts (multi-account-deploy / cross-account-endpoint, sagemaker-role-<suffix>), and the hub's
# sync role (model-build grants the hub account read).
MODEL_READERS = (STAGING_ENDPOINT, PROD_ENDPOINT, SYNC)


def recorder_defaults() -> dict[str, str]:
    """The recorder's own defaults of the CodeBuild environment (its DEFAULT_ENV)."""
    spec = importlib.util.spec_from_file_location("record_modelbuild_defaults", RECORDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.DEFAULT_ENV)


def record(codebuild_env: dict[str, str], account: str) -> dict[str, Any]:
    """Runs the recorder with the seed's python, as CodeBuild runs `run-pipeline`: with exactly the
    environment the template gives the CodeBuild project. A variable the recorder knows but the
    template does not set is passed empty, so that the recorder's default cannot stand in for a
    value the real build would lack."""
    overrides = {name: codebuild_env.get(name, "") for name in recorder_defaults()}
    overrides["AWS_ACCOUNT_ID"] = account
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SAGEMAKER_"))},
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [str(SEED_PYTHON), str(RECORDER), "--seed-dir", "seedcode/modelbuild",
         *(f"--env={name}={value}" for name, value in overrides.items())],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise AssertionError(f"record_modelbuild.py exited {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


@dataclass
class ModelBuildCheck:
    call_problems: list[str] = field(default_factory=list)
    job_problems: list[str] = field(default_factory=list)
    reader_problems: list[str] = field(default_factory=list)
    packages: list[ModelPackage] = field(default_factory=list)
    pipeline_role: Principal | None = None
    registrations: list[Need] = field(default_factory=list)  # the register steps' CreateModelPackage


def check_modelbuild(recording: dict[str, Any], rw: RuntimeWorld, readers=MODEL_READERS) -> ModelBuildCheck:
    """Checks a recording (the recorder's JSON) against the runtime world's grants. `rw.store`
    is filled as a side effect."""
    build_role, _ = codebuild(rw.world.build, "ModelBuildProject")
    result = ModelBuildCheck()
    calls = [Call(c["service"], c["operation"], c["params"], build_role) for c in recording["calls"]]
    result.call_problems = check_calls(calls, rw.grants, rw.store).problems
    created = [c for c in calls if c.operation in ("CreatePipeline", "UpdatePipeline") and c.params.get("RoleArn")]
    if not created:
        result.call_problems.append("the run neither created nor updated the pipeline with a RoleArn")
        return result
    result.pipeline_role = principal(created[-1].params["RoleArn"])
    run = run_pipeline(recording["pipeline_definition"], rw.store, result.pipeline_role, principal)
    result.job_problems = [p for n in run.needs for p in check(rw.grants, n)]
    result.job_problems += [f"a job reads {u}, which nothing in the run wrote" for u in run.unread]
    result.packages = run.packages
    result.registrations = [n for n in run.needs if n.action == "sagemaker:CreateModelPackage"]
    for package in run.packages:
        for container in package.containers:
            url = container.get("ModelDataUrl")
            if url:
                result.reader_problems += reader_problems(rw.grants, rw.store, url, list(readers), "endpoint model")
    return result
