"""Test doubles for AWS services that moto does not cover well enough (see servicecatalog.py)."""
