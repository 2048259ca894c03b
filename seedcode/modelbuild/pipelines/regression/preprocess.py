"""Preprocessing step: split the raw CSV data into train, validation and test sets.

Runs in the SageMaker scikit-learn processing container, where SageMaker copies the
``InputDataUrl`` object(s) to ``/opt/ml/processing/input`` and uploads what the script
writes to ``/opt/ml/processing/{train,validation,test}``. Every path can be changed with
arguments, so the script also runs on a laptop or in the tests::

    python preprocess.py --input-dir data/ --output-dir /tmp/out

Input: one or more CSV files with a header row, numeric columns, one of them the target
(``--target-column``). Rows with missing values are dropped. Feature scaling is *not* done
here but inside the model (see ``train.py``), so that the deployed model takes raw features.

The script must run on the container's Python (3.9) and pandas, so keep it conservative.
"""

from __future__ import annotations

import argparse
import glob
import logging
import os
import sys

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

BASE_DIR = "/opt/ml/processing"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Split CSV data into train/validation/test.")
    parser.add_argument("--input-dir", default=os.path.join(BASE_DIR, "input"),
                        help="directory with the input CSV file(s), or a single CSV file")
    parser.add_argument("--output-dir", default=BASE_DIR,
                        help="train/, validation/ and test/ are created below this directory")
    parser.add_argument("--target-column", default="target")
    parser.add_argument("--validation-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args(argv)


def read_input(input_path: str) -> pd.DataFrame:
    """Read one CSV file, or all ``*.csv`` files in a directory, into one DataFrame."""
    if os.path.isdir(input_path):
        files = sorted(glob.glob(os.path.join(input_path, "*.csv")))
    else:
        files = [input_path]
    if not files:
        raise FileNotFoundError(f"No CSV file found in {input_path}")
    logger.info("Reading %s", files)
    return pd.concat([pd.read_csv(f) for f in files], ignore_index=True)


def clean(df: pd.DataFrame, target_column: str) -> pd.DataFrame:
    """Check the columns and drop incomplete rows."""
    if target_column not in df.columns:
        raise ValueError(f"Target column {target_column!r} not in the input columns {list(df.columns)}")
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        raise ValueError(f"Non-numeric columns (encode them first): {non_numeric}")
    before = len(df)
    df = df.dropna().reset_index(drop=True)
    if len(df) < before:
        logger.warning("Dropped %d rows with missing values", before - len(df))
    return df


def split(df: pd.DataFrame, validation_fraction: float, test_fraction: float, seed: int):
    """Shuffle the rows and cut them into (train, validation, test)."""
    if not (0 < validation_fraction < 1 and 0 < test_fraction < 1
            and validation_fraction + test_fraction < 1):
        raise ValueError("validation and test fractions must be in (0, 1) and sum to less than 1")
    n = len(df)
    n_test = int(round(n * test_fraction))
    n_validation = int(round(n * validation_fraction))
    if min(n_test, n_validation, n - n_test - n_validation) < 1:
        raise ValueError(f"Not enough rows ({n}) to split into train, validation and test")
    order = np.random.RandomState(seed).permutation(n)
    test = df.iloc[order[:n_test]]
    validation = df.iloc[order[n_test:n_test + n_validation]]
    train = df.iloc[order[n_test + n_validation:]]
    return train, validation, test


def main(argv=None) -> dict:
    """Run the step; returns {split name: path of the CSV written}."""
    args = parse_args(argv)
    df = clean(read_input(args.input_dir), args.target_column)
    parts = split(df, args.validation_fraction, args.test_fraction, args.seed)
    written = {}
    for name, part in zip(("train", "validation", "test"), parts):
        out_dir = os.path.join(args.output_dir, name)
        os.makedirs(out_dir, exist_ok=True)
        path = os.path.join(out_dir, f"{name}.csv")
        part.to_csv(path, index=False)
        written[name] = path
        logger.info("Wrote %d rows to %s", len(part), path)
    return written


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stdout)
    main()
