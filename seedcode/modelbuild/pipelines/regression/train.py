"""Training script (SageMaker script mode) and inference entry point of the model.

Training: the SageMaker scikit-learn container runs ``python train.py --alpha 1.0 ...``
(the estimator's hyperparameters become arguments) with the input channels and the model
directory in environment variables::

    SM_CHANNEL_TRAIN       /opt/ml/input/data/train       (train.csv from preprocess.py)
    SM_CHANNEL_VALIDATION  /opt/ml/input/data/validation  (optional)
    SM_MODEL_DIR           /opt/ml/model  -> uploaded as model.tar.gz

Locally, pass the directories as arguments instead::

    python train.py --train out/train --validation out/validation --model-dir out/model

Inference: the registered model uses this same file as its entry point. Training copies it
into the model directory (``code/train.py`` inside ``model.tar.gz``), because the endpoint runs
the model with network isolation and cannot fetch code from S3; the model package points the
container at it (``SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code``, ``SAGEMAKER_PROGRAM=train.py``).
The container imports it (so training must stay under ``if __name__ == "__main__"``) and calls
:func:`model_fn`; the container's default ``input_fn``/``predict_fn`` handle ``text/csv``
requests: rows of raw feature values, in the column order of the training data minus the
target.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import shutil
import sys

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

logger = logging.getLogger(__name__)

MODEL_FILE_NAME = "model.joblib"
# Where the inference code goes inside the model directory (/opt/ml/model/code once deployed).
CODE_DIR_NAME = "code"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Train the regression model.")
    # Hyperparameters (set in pipeline.py, estimator hyperparameters).
    parser.add_argument("--alpha", type=float, default=1.0, help="L2 regularisation strength")
    parser.add_argument("--target-column", default="target")
    # SageMaker environment.
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    return parser.parse_args(argv)


def load_xy(path: str, target_column: str):
    """Read the CSV file(s) at ``path``; return (features, target) as float arrays."""
    files = sorted(glob.glob(os.path.join(path, "*.csv"))) if os.path.isdir(path) else [path]
    if not files:
        raise FileNotFoundError(f"No CSV file found in {path}")
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    y = df.pop(target_column).to_numpy(dtype=float)
    return df.to_numpy(dtype=float), y


def build_model(alpha: float) -> Pipeline:
    """Scaling is part of the model, so the endpoint takes raw feature values."""
    return Pipeline([("scale", StandardScaler()), ("regressor", Ridge(alpha=alpha))])


def save_inference_code(model_dir: str) -> str:
    """Copy this file to ``<model_dir>/code/``: it becomes part of ``model.tar.gz``."""
    code_dir = os.path.join(model_dir, CODE_DIR_NAME)
    os.makedirs(code_dir, exist_ok=True)
    source = os.path.realpath(__file__)
    return shutil.copyfile(source, os.path.join(code_dir, os.path.basename(source)))


def model_fn(model_dir: str):
    """Load the model for inference (called by the SageMaker scikit-learn container)."""
    return joblib.load(os.path.join(model_dir, MODEL_FILE_NAME))


def main(argv=None) -> str:
    """Train, report validation metrics, save the model; returns the model file path."""
    args = parse_args(argv)
    x_train, y_train = load_xy(args.train, args.target_column)
    logger.info("Training on %d rows, %d features, alpha=%s", *x_train.shape, args.alpha)
    model = build_model(args.alpha).fit(x_train, y_train)

    if args.validation:
        x_val, y_val = load_xy(args.validation, args.target_column)
        predictions = model.predict(x_val)
        # Parsed by the estimator's metric_definitions into training job metrics.
        print(f"validation:mse={mean_squared_error(y_val, predictions):.6f};")
        print(f"validation:r2={r2_score(y_val, predictions):.6f};")

    if not np.all(np.isfinite(model.predict(x_train[:5]))):
        raise RuntimeError("The model predicts non-finite values")
    os.makedirs(args.model_dir, exist_ok=True)
    path = os.path.join(args.model_dir, MODEL_FILE_NAME)
    joblib.dump(model, path)
    save_inference_code(args.model_dir)
    logger.info("Saved the model and its inference code to %s", args.model_dir)
    return path


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    main()
