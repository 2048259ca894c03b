"""Property: for any valid project name and id, every physical name in every product fits AWS."""

from __future__ import annotations

import json

import pytest
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.catalog import Catalog
from generator.names import name_violations, physical_names

PRODUCTS = Catalog(ROOT).products()
TEMPLATES = {name: json.loads(json.dumps(p.template().to_dict())) for name, p in PRODUCTS.items()}
PROJECT_TEMPLATES = {n: t for n, t in TEMPLATES.items() if "SageMakerProjectName" in t.get("Parameters", {})}


def sagemaker_names(alphabet: str, max_size: int):
    """Values of the API's pattern [a-zA-Z0-9](-*[a-zA-Z0-9])*: alphanumeric ends, hyphens inside."""
    inner = st.text(alphabet=alphabet + "-", max_size=max_size - 2)
    end = st.sampled_from(alphabet)
    return st.one_of(end, st.tuples(end, inner, end).map("".join))


project_names = sagemaker_names("abcdefghijklmnopqrstuvwxyz0123456789", 32)
project_ids = sagemaker_names("abcdefghijklmnopqrstuvwxyz0123456789", 20)


def test_every_product_is_checked():
    assert set(PROJECT_TEMPLATES) >= {"model-build", "multi-account-deploy", "cross-account-endpoint"}
    for name, template in PROJECT_TEMPLATES.items():
        assert physical_names(template), f"{name} has no named resources to check"


@pytest.mark.parametrize("product", sorted(TEMPLATES))
def test_longest_values_fit(product):
    assert name_violations(TEMPLATES[product]) == []


@settings(max_examples=150, derandomize=True, deadline=None)
@given(name=project_names, project_id=project_ids)
def test_random_valid_names_fit_every_limit_and_pattern(name, project_id):
    params = {"SageMakerProjectName": name, "SageMakerProjectId": project_id}
    for product, template in PROJECT_TEMPLATES.items():
        resolved = [p for p in physical_names(template, params) if p.value is not None]
        assert any(project_id in p.value for p in resolved), product  # the values really were used
        for physical in resolved:
            assert not physical.violations(), (product, physical.logical_id, physical.value, physical.violations())
