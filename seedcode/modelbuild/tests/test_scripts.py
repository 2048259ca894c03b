"""Run the step scripts locally, the way the SageMaker jobs run them, on the sample data."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import tarfile

import joblib
import numpy as np
import pandas as pd
import pytest
from sagemaker.core.shapes.model_card_shapes import ModelCardContent
from sklearn.dummy import DummyRegressor

from pipelines.regression import evaluate, preprocess, train
from pipelines.regression.pipeline import (
    DEFAULT_INTENDED_USE,
    DEFAULT_MSE_THRESHOLD,
    MODEL_CODE_DIR,
    SAMPLE_DATA_FILE,
    TARGET_COLUMN,
    TRAINING_SCRIPT,
)


def make_model_tarball(model_dir: str, destination_dir: str) -> str:
    """Pack the model directory as a SageMaker training job does (model.tar.gz)."""
    os.makedirs(destination_dir, exist_ok=True)
    path = os.path.join(destination_dir, "model.tar.gz")
    with tarfile.open(path, "w:gz") as tar:
        for name in os.listdir(model_dir):
            tar.add(os.path.join(model_dir, name), arcname=name)
    return path


@pytest.fixture
def splits(tmp_path):
    """Output of the preprocessing step on the sample data."""
    out = tmp_path / "processing"
    written = preprocess.main(["--input-dir", os.path.dirname(SAMPLE_DATA_FILE), "--output-dir", str(out)])
    return out, written


@pytest.fixture
def trained(tmp_path, splits):
    out, _ = splits
    model_dir = tmp_path / "model"
    train.main(["--train", str(out / "train"), "--validation", str(out / "validation"),
                "--model-dir", str(model_dir), "--alpha", "1.0"])
    return model_dir


def test_sample_data_is_the_diabetes_data_set():
    df = pd.read_csv(SAMPLE_DATA_FILE)
    assert df.shape == (442, 11)
    assert df.columns[-1] == TARGET_COLUMN
    assert not df.isna().any().any()
    assert os.path.getsize(SAMPLE_DATA_FILE) < 100_000


def test_make_sample_data_reproduces_the_committed_file(tmp_path, repo_root):
    output = tmp_path / "diabetes.csv"
    subprocess.run([sys.executable, os.path.join(repo_root, "scripts", "make_sample_data.py"),
                    "--output", str(output)], check=True, capture_output=True)
    with open(SAMPLE_DATA_FILE, "rb") as committed:
        assert output.read_bytes() == committed.read()


def test_preprocess_splits_all_rows_into_three_sets(splits):
    out, written = splits
    assert set(written) == {"train", "validation", "test"}
    parts = {name: pd.read_csv(path) for name, path in written.items()}
    for name, path in written.items():
        assert path == str(out / name / f"{name}.csv")
    assert {name: len(df) for name, df in parts.items()} == {"train": 310, "validation": 66, "test": 66}
    source = pd.read_csv(SAMPLE_DATA_FILE)
    for df in parts.values():
        assert list(df.columns) == list(source.columns)
    # Every source row lands in exactly one split.
    combined = pd.concat(parts.values()).sort_values(list(source.columns)).reset_index(drop=True)
    expected = source.sort_values(list(source.columns)).reset_index(drop=True)
    pd.testing.assert_frame_equal(combined, expected)


def test_preprocess_is_deterministic_and_seeded(tmp_path):
    def test_rows(seed, name):
        written = preprocess.main(["--input-dir", SAMPLE_DATA_FILE, "--output-dir", str(tmp_path / name),
                                   "--seed", str(seed)])
        return pd.read_csv(written["test"])

    pd.testing.assert_frame_equal(test_rows(1, "a"), test_rows(1, "b"))
    assert not test_rows(1, "c").equals(test_rows(2, "d"))


def test_preprocess_drops_incomplete_rows_and_checks_columns(tmp_path):
    df = pd.read_csv(SAMPLE_DATA_FILE).head(40)
    df.loc[3, "bmi"] = np.nan
    (tmp_path / "in").mkdir()
    df.to_csv(tmp_path / "in" / "data.csv", index=False)
    written = preprocess.main(["--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out")])
    assert sum(len(pd.read_csv(p)) for p in written.values()) == 39

    with pytest.raises(ValueError, match="Target column 'y'"):
        preprocess.main(["--input-dir", str(tmp_path / "in"), "--output-dir", str(tmp_path / "out"),
                         "--target-column", "y"])
    with pytest.raises(FileNotFoundError):
        preprocess.main(["--input-dir", str(tmp_path / "out" / "nothing-here"), "--output-dir", str(tmp_path)])


def test_train_reads_sagemaker_environment(tmp_path, splits, monkeypatch):
    out, _ = splits
    monkeypatch.setenv("SM_CHANNEL_TRAIN", str(out / "train"))
    monkeypatch.setenv("SM_CHANNEL_VALIDATION", str(out / "validation"))
    monkeypatch.setenv("SM_MODEL_DIR", str(tmp_path / "sm-model"))
    path = train.main(["--alpha", "0.5"])
    assert path == str(tmp_path / "sm-model" / "model.joblib")
    assert joblib.load(path).named_steps["regressor"].alpha == 0.5


def test_train_prints_validation_metrics_for_the_metric_definitions(splits, tmp_path, capsys):
    out, _ = splits
    train.main(["--train", str(out / "train"), "--validation", str(out / "validation"),
                "--model-dir", str(tmp_path / "m")])
    printed = capsys.readouterr().out
    assert "validation:mse=" in printed and "validation:r2=" in printed


def test_model_fn_serves_raw_feature_rows(trained, splits):
    out, written = splits
    model = train.model_fn(str(trained))
    test = pd.read_csv(written["test"])
    rows = test.drop(columns=[TARGET_COLUMN]).to_numpy(dtype=float)  # what a text/csv request decodes to
    predictions = model.predict(rows)
    assert predictions.shape == (len(test),)
    assert np.all(np.isfinite(predictions))


def test_training_puts_the_inference_code_into_the_model(trained, repo_root):
    """SageMaker uploads the model directory as model.tar.gz: the code travels with the model."""
    assert sorted(os.listdir(trained)) == ["code", "model.joblib"]
    assert os.listdir(trained / "code") == [TRAINING_SCRIPT]
    with open(os.path.join(repo_root, "pipelines", "regression", TRAINING_SCRIPT), "rb") as f:
        assert (trained / "code" / TRAINING_SCRIPT).read_bytes() == f.read()


def test_the_model_archive_serves_with_its_own_code_only(tmp_path, trained, splits):
    """What the scikit-learn serving container does with the registered package's environment:
    extract model.tar.gz to /opt/ml/model, import SAGEMAKER_PROGRAM from
    SAGEMAKER_SUBMIT_DIRECTORY (/opt/ml/model/code) and call its model_fn(/opt/ml/model)."""
    _, written = splits
    archive = make_model_tarball(str(trained), str(tmp_path / "s3"))
    model_dir = tmp_path / "opt" / "ml" / "model"
    model_dir.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(model_dir, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    code_dir = model_dir / os.path.relpath(MODEL_CODE_DIR, "/opt/ml/model")
    spec = importlib.util.spec_from_file_location("served_train", code_dir / TRAINING_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.model_fn(str(model_dir))
    rows = pd.read_csv(written["test"]).drop(columns=[TARGET_COLUMN]).to_numpy(dtype=float)
    assert np.all(np.isfinite(model.predict(rows)))


def test_preprocess_train_evaluate_end_to_end(tmp_path, splits, trained):
    out, written = splits
    model_input = tmp_path / "evaluation-input" / "model"
    make_model_tarball(str(trained), str(model_input))

    report = evaluate.main(["--model-dir", str(model_input), "--test-dir", str(out / "test"),
                            "--output-dir", str(tmp_path / "evaluation")])

    with open(tmp_path / "evaluation" / "evaluation.json") as f:
        on_disk = json.load(f)
    assert on_disk == report
    mse = on_disk["regression_metrics"]["mse"]
    assert math.isfinite(mse["value"]) and mse["value"] > 0
    assert math.isfinite(mse["standard_deviation"])
    assert on_disk["regression_metrics"]["rmse"]["value"] == pytest.approx(math.sqrt(mse["value"]))
    # The model learned something: clearly better than predicting the mean, and it passes
    # the pipeline's default quality gate.
    y_test = pd.read_csv(written["test"])[TARGET_COLUMN]
    assert mse["value"] < 0.8 * float(np.var(y_test))
    assert mse["value"] <= DEFAULT_MSE_THRESHOLD
    assert on_disk["regression_metrics"]["r2"]["value"] > 0.2


CARD_ARGS = ["--risk-rating", "Low", "--training-data", "s3://b/p/sample-data/diabetes.csv",
             "--training-data", "s3://b/p/e1/PreprocessData/output/train",
             "--test-data", "s3://b/p/e1/PreprocessData/output/test"]


def run_evaluation(tmp_path, splits, trained, *extra) -> dict:
    out, _ = splits
    model_input = tmp_path / "evaluation-input" / "model"
    make_model_tarball(str(trained), str(model_input))
    return evaluate.main(["--model-dir", str(model_input), "--test-dir", str(out / "test"),
                          "--output-dir", str(tmp_path / "evaluation"), *extra])


def card_content(tmp_path) -> dict:
    """model-card.json: {"content": <the JSON text the register step passes as ModelCardContent>}."""
    document = json.loads((tmp_path / "evaluation" / evaluate.MODEL_CARD_FILE).read_text())
    assert set(document) == {"content"} and isinstance(document["content"], str)
    assert len(document["content"]) <= 100_000  # botocore sagemaker ModelCardContent max
    return json.loads(document["content"])


def test_evaluation_writes_the_model_card(tmp_path, splits, trained):
    report = run_evaluation(tmp_path, splits, trained, "--intended-use", DEFAULT_INTENDED_USE, *CARD_ARGS)
    content = card_content(tmp_path)
    # The SDK's model of the card content accepts it, and drops nothing (no misspelt field).
    assert ModelCardContent.model_validate(content).model_dump(mode="json", exclude_unset=True) == content
    assert content["intended_uses"] == {"intended_uses": DEFAULT_INTENDED_USE, "risk_rating": "Low"}
    assert content["training_details"]["training_job_details"]["training_datasets"] == [
        "s3://b/p/sample-data/diabetes.csv", "s3://b/p/e1/PreprocessData/output/train"]
    [evaluation] = content["evaluation_details"]
    assert evaluation["datasets"] == ["s3://b/p/e1/PreprocessData/output/test"]
    [group] = evaluation["metric_groups"]
    assert {m["name"]: m["value"] for m in group["metric_data"]} == {
        name: report["regression_metrics"][name]["value"] for name in ("mse", "rmse", "mae", "r2")}
    assert {m["type"] for m in group["metric_data"]} == {"number"}


def test_the_card_keeps_any_intended_use_text_intact(tmp_path, splits, trained):
    """The text is a pipeline parameter: quotes, backslashes and newlines must not break the JSON."""
    text = 'Scores "churn" risk;\nnot for C:\\credit decisions'
    run_evaluation(tmp_path, splits, trained, "--intended-use", text, *CARD_ARGS)
    assert card_content(tmp_path)["intended_uses"]["intended_uses"] == text


def test_evaluation_refuses_an_unknown_risk_rating(tmp_path, splits, trained, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_evaluation(tmp_path, splits, trained, "--risk-rating", "Severe")
    assert exit_info.value.code == 2
    assert "invalid choice: 'Severe'" in capsys.readouterr().err


def test_default_threshold_rejects_a_model_that_predicts_the_mean(tmp_path, splits):
    out, written = splits
    train_df = pd.read_csv(written["train"])
    dummy = DummyRegressor().fit(train_df.drop(columns=[TARGET_COLUMN]).to_numpy(), train_df[TARGET_COLUMN])
    model_dir = tmp_path / "dummy"
    model_dir.mkdir()
    joblib.dump(dummy, model_dir / "model.joblib")
    make_model_tarball(str(model_dir), str(tmp_path / "dummy-input"))
    report = evaluate.main(["--model-dir", str(tmp_path / "dummy-input"), "--test-dir", str(out / "test"),
                            "--output-dir", str(tmp_path / "evaluation")])
    assert report["regression_metrics"]["mse"]["value"] > DEFAULT_MSE_THRESHOLD


def test_evaluate_refuses_archive_paths_outside_its_directory(tmp_path):
    evil = tmp_path / "evil.txt"
    evil.write_text("x")
    (tmp_path / "model").mkdir()
    with tarfile.open(tmp_path / "model" / "model.tar.gz", "w:gz") as tar:
        tar.add(evil, arcname="../evil.txt")
    with pytest.raises(ValueError, match="Unsafe path"):
        evaluate.load_model(str(tmp_path / "model"))


def test_scripts_run_as_programs(tmp_path):
    """The containers run the scripts as ``python3 <script>``: check that entry point too."""
    scripts = os.path.dirname(preprocess.__file__)

    def run(script, *args):
        subprocess.run([sys.executable, os.path.join(scripts, script), *args], check=True,
                       capture_output=True, cwd=tmp_path)

    run("preprocess.py", "--input-dir", SAMPLE_DATA_FILE, "--output-dir", str(tmp_path / "p"))
    env_train = ["--train", str(tmp_path / "p" / "train"), "--validation", str(tmp_path / "p" / "validation")]
    run("train.py", *env_train, "--model-dir", str(tmp_path / "model"))
    make_model_tarball(str(tmp_path / "model"), str(tmp_path / "model-input"))
    run("evaluate.py", "--model-dir", str(tmp_path / "model-input"), "--test-dir", str(tmp_path / "p" / "test"),
        "--output-dir", str(tmp_path / "evaluation"))
    with open(tmp_path / "evaluation" / "evaluation.json") as f:
        assert math.isfinite(json.load(f)["regression_metrics"]["mse"]["value"])
