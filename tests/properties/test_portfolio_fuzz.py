"""Property: whatever a portfolio file holds, the loader reports problems and never crashes."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generator.errors import InputError
from generator.portfolio import SCHEMA, load_portfolios

KEYS = sorted(SCHEMA["properties"])
SHARE_KEYS = ["target", "share_principals", "share_tag_options"]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(
        [
            "ou-ab12-abcdefgh",
            "r-ab12",
            "o-abcdefghij",
            "123456789012",
            "arn:aws:iam:::role/x*",
            "model-build",
            "aws:tag",
            "ou-",
            "",
            " ",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        # YAML keys need not be strings: 1:, null:, yes: are ints, None and booleans
        st.dictionaries(st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none()), inner, max_size=4),
    ),
    max_leaves=12,
)
shares = st.lists(st.dictionaries(st.sampled_from([*SHARE_KEYS, "other"]), values, max_size=4), max_size=3)
documents = st.one_of(
    values,
    st.dictionaries(st.sampled_from([*KEYS, "unknown"]), st.one_of(values, shares), max_size=len(KEYS) + 1),
)
PRODUCTS = {"model-build", "multi-account-deploy"}


def load(text: str):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.yaml"
        path.write_text(text, encoding="utf-8")
        return load_portfolios([path], PRODUCTS, lambda p: "portfolios/fuzz.yaml")


def check(text: str) -> None:
    try:
        load(text)
    except InputError as exc:
        assert exc.problems
        for problem in exc.problems:
            line = str(problem)
            assert line.startswith("portfolios/fuzz.yaml") and "\n" not in line, line


FUZZ = settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(documents)
def test_structured_garbage_is_reported_not_raised(document):
    check(yaml.safe_dump(document, allow_unicode=True))


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_is_reported_not_raised(text):
    check(text)
