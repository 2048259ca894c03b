#!/usr/bin/env python3
"""Write the sample input data set: scikit-learn's bundled diabetes data as CSV.

The data (442 patients, 10 baseline variables, a disease progression score one year later)
ships inside the scikit-learn wheel, so nothing is downloaded. The file is committed at
``pipelines/regression/sample_data/diabetes.csv`` and is the default ``InputDataUrl`` of
the pipeline (uploaded to the artifact bucket when the pipeline is created). Running this
script again reproduces it byte for byte (a test checks that).

Usage::

    python scripts/make_sample_data.py [--output PATH]
"""

import argparse
import csv
import os

from sklearn.datasets import load_diabetes

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPO_ROOT, "pipelines", "regression", "sample_data", "diabetes.csv")
TARGET_COLUMN = "target"


def write_sample_data(path):
    """Write the diabetes data set (unscaled features, target last) to ``path`` as CSV."""
    data = load_diabetes(scaled=False)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(list(data.feature_names) + [TARGET_COLUMN])
        for features, target in zip(data.data, data.target):
            writer.writerow([format(float(v), ".10g") for v in features] + [format(float(target), ".10g")])
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="CSV file to write")
    args = parser.parse_args(argv)
    print(write_sample_data(args.output))


if __name__ == "__main__":
    main()
