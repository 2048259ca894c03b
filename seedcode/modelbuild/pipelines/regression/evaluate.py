"""Evaluation step: score the trained model on the test set; write ``evaluation.json`` and the
model card content, ``model-card.json``.

Runs in the SageMaker scikit-learn processing container (same version as training, so the
joblib file loads). Inputs and outputs, all overridable with arguments::

    /opt/ml/processing/model/model.tar.gz   the training job's output
    /opt/ml/processing/test/*.csv           test split from preprocess.py
    /opt/ml/processing/evaluation/evaluation.json
    /opt/ml/processing/evaluation/model-card.json

``evaluation.json`` uses the model quality metrics layout that SageMaker Model Registry
shows, and the pipeline's condition reads ``regression_metrics.mse.value`` from it::

    {"regression_metrics": {"mse": {"value": 2900.5, "standard_deviation": 53.8}, ...}}

``standard_deviation`` of ``mse`` is the standard deviation of the prediction errors, as in
the AWS sample pipelines.

``model-card.json`` is ``{"content": "<JSON text>"}``: the register step passes that text as the
model package's ``ModelCard.ModelCardContent``, which follows the model package model card
schema (SageMaker developer guide, "Model package model card schema"; the same fields as
``sagemaker.core.shapes.model_card_shapes.ModelCardContent``): the intended use and risk rating
(pipeline parameters, given here as ``--intended-use`` and ``--risk-rating``), the training and
test data locations, and the test metrics.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import math
import os
import sys
import tarfile
import tempfile

import joblib
import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

logger = logging.getLogger(__name__)

BASE_DIR = "/opt/ml/processing"
MODEL_FILE_NAME = "model.joblib"
MODEL_CARD_FILE = "model-card.json"
RISK_RATINGS = ("High", "Medium", "Low", "Unknown")
REPORTED_METRICS = ("mse", "rmse", "mae", "r2")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Evaluate the model on the test set.")
    parser.add_argument("--model-dir", default=os.path.join(BASE_DIR, "model"),
                        help="directory holding model.tar.gz")
    parser.add_argument("--test-dir", default=os.path.join(BASE_DIR, "test"))
    parser.add_argument("--output-dir", default=os.path.join(BASE_DIR, "evaluation"))
    parser.add_argument("--target-column", default="target")
    # Model card content.
    parser.add_argument("--intended-use", help="the model's intended use, as the card states it")
    parser.add_argument("--risk-rating", choices=RISK_RATINGS, default="Unknown")
    parser.add_argument("--training-data", action="append", default=[],
                        help="S3 URI of data the model was trained on (repeatable)")
    parser.add_argument("--test-data", action="append", default=[],
                        help="S3 URI of the data it was evaluated on (repeatable)")
    return parser.parse_args(argv)


def load_model(model_dir: str):
    """Extract ``model.tar.gz`` from ``model_dir`` and load the joblib model in it."""
    archive = os.path.join(model_dir, "model.tar.gz")
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(archive) as tar:
        root = os.path.realpath(tmp)
        for member in tar.getmembers():  # refuse paths that would leave the directory
            target = os.path.realpath(os.path.join(root, member.name))
            if os.path.commonpath([root, target]) != root:
                raise ValueError(f"Unsafe path in {archive}: {member.name}")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.8.17 / 3.11.4
            tar.extractall(root, filter="data")
        else:
            tar.extractall(root)
        return joblib.load(os.path.join(root, MODEL_FILE_NAME))


def load_test_data(test_dir: str, target_column: str):
    files = sorted(glob.glob(os.path.join(test_dir, "*.csv")))
    if not files:
        raise FileNotFoundError(f"No CSV file found in {test_dir}")
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    y = df.pop(target_column).to_numpy(dtype=float)
    return df.to_numpy(dtype=float), y


def evaluate(model, x, y) -> dict:
    """Return the evaluation report for ``model`` on (x, y)."""
    predictions = model.predict(x)
    mse = float(mean_squared_error(y, predictions))
    if not math.isfinite(mse):
        raise ValueError(f"The test MSE is not finite: {mse}")
    return {
        "regression_metrics": {
            "mse": {"value": mse, "standard_deviation": float(np.std(y - predictions))},
            "rmse": {"value": math.sqrt(mse)},
            "mae": {"value": float(mean_absolute_error(y, predictions))},
            "r2": {"value": float(r2_score(y, predictions))},
        }
    }


def model_card(report: dict, intended_use, risk_rating: str, training_data: list, test_data: list) -> dict:
    """The model card content (snake_case fields of the model package model card schema)."""
    metrics = report["regression_metrics"]
    intended = {"risk_rating": risk_rating}
    if intended_use:
        intended["intended_uses"] = intended_use
    evaluation = {
        "name": "test-split",
        "metric_groups": [{
            "name": "regression_metrics",
            "metric_data": [{"name": name, "type": "number", "value": metrics[name]["value"]}
                            for name in REPORTED_METRICS],
        }],
    }
    if test_data:
        evaluation["datasets"] = test_data
    card = {"intended_uses": intended, "evaluation_details": [evaluation]}
    if training_data:
        card["training_details"] = {"training_job_details": {"training_datasets": training_data}}
    return card


def write_json(path: str, document: dict) -> None:
    with open(path, "w") as f:
        json.dump(document, f, indent=2, sort_keys=True)


def main(argv=None) -> dict:
    """Run the step; returns the report that was written."""
    args = parse_args(argv)
    model = load_model(args.model_dir)
    x, y = load_test_data(args.test_dir, args.target_column)
    report = evaluate(model, x, y)
    os.makedirs(args.output_dir, exist_ok=True)
    path = os.path.join(args.output_dir, "evaluation.json")
    write_json(path, report)
    card = model_card(report, args.intended_use, args.risk_rating, args.training_data, args.test_data)
    # A JSON string in a JSON file: the pipeline's JsonGet reads it as the one string
    # CreateModelPackage's ModelCardContent takes.
    write_json(os.path.join(args.output_dir, MODEL_CARD_FILE), {"content": json.dumps(card, sort_keys=True)})
    logger.info("Test MSE %.3f on %d rows; wrote %s and %s",
                report["regression_metrics"]["mse"]["value"], len(y), path, MODEL_CARD_FILE)
    return report


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    main()
