"""Regression pipeline: scikit-learn ridge regression on the diabetes sample data."""
