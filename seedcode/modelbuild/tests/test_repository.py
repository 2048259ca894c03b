"""The repository's wiring: buildspec, packaging and docs agree with the code."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import re
import stat
import subprocess
import sys

import pytest
import yaml

from pipelines import run_pipeline
from pipelines.regression.pipeline import get_pipeline

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None

# The variables the project's CodeBuild project sets (the CloudFormation template's contract).
BUILD_ENV = {
    "SAGEMAKER_PROJECT_NAME": "my-project",
    "SAGEMAKER_PROJECT_ID": "p-abc123",
    "SAGEMAKER_PROJECT_ARN": "arn:aws:sagemaker:us-east-1:111111111111:project/my-project",
    "SAGEMAKER_PIPELINE_NAME": "sagemaker-my-project-p-abc123",
    "SAGEMAKER_PIPELINE_ROLE_ARN": (
        "arn:aws:iam::111111111111:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole"),
    "ARTIFACT_BUCKET": "sagemaker-my-project-p-abc123-artifacts",
    "ARTIFACT_KEY_ARN": "arn:aws:kms:us-east-1:111111111111:key/11111111-2222-3333-4444-555555555555",
    "MODEL_PACKAGE_GROUP_NAME": "arn:aws:sagemaker:eu-west-1:222222222222:model-package-group/hub-models",
    "AWS_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def buildspec(repo_root):
    with open(os.path.join(repo_root, "codebuild-buildspec.yml")) as f:
        return yaml.safe_load(f)


def run_build_phase(buildspec, tmp_path, env):
    """Run the build commands with a stand-in ``run-pipeline`` that records its arguments."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "run-pipeline"
    record = tmp_path / "argv.json"
    fake.write_text(f"#!{sys.executable}\nimport json, sys\n"
                    f"json.dump(sys.argv[1:], open({str(record)!r}, 'w'))\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    (bin_dir / "python").symlink_to(sys.executable)
    script = "\n".join(buildspec["phases"]["build"]["commands"])
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                            env=dict(env, PATH=f"{bin_dir}:/usr/bin:/bin"))
    argv = json.loads(record.read_text()) if record.exists() else None
    return result, argv


def test_buildspec_passes_the_codebuild_variables_to_run_pipeline(buildspec, tmp_path):
    assert "python -m pip install -r requirements.txt ." in buildspec["phases"]["install"]["commands"]
    # No client-side IAM checks of the roles by the SDK: the build's role does not read IAM.
    assert buildspec["env"]["variables"]["SAGEMAKER_VALIDATE_ROLE"] == "false"
    result, argv = run_build_phase(buildspec, tmp_path, BUILD_ENV)
    assert result.returncode == 0, result.stderr
    args = run_pipeline.parse_args(argv)
    assert args.module_name == "pipelines.regression.pipeline"
    assert args.role_arn == BUILD_ENV["SAGEMAKER_PIPELINE_ROLE_ARN"]
    assert args.pipeline_name == BUILD_ENV["SAGEMAKER_PIPELINE_NAME"]
    assert args.project_arn == BUILD_ENV["SAGEMAKER_PROJECT_ARN"]
    assert args.wait
    assert json.loads(args.tags) == [
        {"Key": "sagemaker:project-name", "Value": "my-project"},
        {"Key": "sagemaker:project-id", "Value": "p-abc123"},
    ]
    assert json.loads(args.kwargs) == {
        "region": "us-east-1",
        "role": BUILD_ENV["SAGEMAKER_PIPELINE_ROLE_ARN"],
        "default_bucket": BUILD_ENV["ARTIFACT_BUCKET"],
        "kms_key": BUILD_ENV["ARTIFACT_KEY_ARN"],
        "model_package_group_name": BUILD_ENV["MODEL_PACKAGE_GROUP_NAME"],
        "pipeline_name": BUILD_ENV["SAGEMAKER_PIPELINE_NAME"],
        "base_job_prefix": BUILD_ENV["SAGEMAKER_PIPELINE_NAME"],
        "sagemaker_project_name": "my-project",
    }
    # Every kwarg is a parameter of get_pipeline().
    assert set(json.loads(args.kwargs)) <= set(inspect.signature(get_pipeline).parameters)


@pytest.mark.parametrize("missing", sorted(BUILD_ENV))
def test_buildspec_fails_when_a_variable_is_missing(buildspec, tmp_path, missing):
    env = {k: v for k, v in BUILD_ENV.items() if k != missing}
    result, argv = run_build_phase(buildspec, tmp_path, env)
    assert result.returncode != 0
    assert argv is None
    assert missing in result.stderr


def test_readme_documents_the_environment_variables(repo_root):
    with open(os.path.join(repo_root, "README.md")) as f:
        readme = f.read()
    for name in BUILD_ENV:
        assert f"`{name}`" in readme, name


@pytest.mark.skipif(tomllib is None, reason="needs Python 3.11+")
def test_console_scripts_and_pins(repo_root):
    with open(os.path.join(repo_root, "pyproject.toml"), "rb") as f:
        project = tomllib.load(f)["project"]
    for name in ("run-pipeline", "get-pipeline-definition"):
        module_name, function = project["scripts"][name].split(":")
        assert callable(getattr(importlib.import_module(module_name), function))
    with open(os.path.join(repo_root, "requirements.txt")) as f:
        pins = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    assert sorted(pins) == sorted(project["dependencies"])
    # SageMaker Python SDK v3 and each of its parts, held to one minor series.
    sdk_pins = {re.match(r"[a-z-]+", p)[0]: p for p in pins if p.startswith("sagemaker")}
    assert set(sdk_pins) == {"sagemaker", "sagemaker-core", "sagemaker-train", "sagemaker-serve", "sagemaker-mlops"}
    assert sdk_pins["sagemaker"].startswith("sagemaker>=3."), "SageMaker Python SDK v3"
    for name, pin in sdk_pins.items():
        bounds = re.fullmatch(rf"{name}>=(\d+)\.(\d+),<(\d+)\.(\d+)", pin)
        major, minor, next_major, next_minor = map(int, bounds.groups())
        assert (next_major, next_minor) == (major, minor + 1), f"{pin}: one minor series"


def test_installed_sdk_is_the_pinned_one():
    """The environment the tests run in has what CodeBuild installs (requirements.txt)."""
    from importlib.metadata import version

    assert version("sagemaker").startswith("3.27.")
    assert version("sagemaker-core").startswith("2.27.")
