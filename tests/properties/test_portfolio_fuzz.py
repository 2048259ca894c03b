"""Properties: whatever a portfolio file holds, the loader reports problems and never crashes; and a
problem in one key never hides the problems of another (every problem in one run)."""

from __future__ import annotations

import re
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
            "s3",
            "service-catalog",
            "my-templates-{region}",
            "us-east-1",
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
# s3_templates and publish_to with their own keys and values, so the S3 checks are reached
S3_KEYS = sorted(SCHEMA["properties"]["s3_templates"]["properties"])
s3_templates = st.dictionaries(st.sampled_from([*S3_KEYS, "other"]), values, max_size=5)
publish_to = st.lists(st.sampled_from(["s3", "service-catalog", "other"]), max_size=3)
documents = st.one_of(
    values,
    st.dictionaries(
        st.sampled_from([*KEYS, "unknown"]), st.one_of(values, shares, s3_templates, publish_to), max_size=len(KEYS) + 1
    ),
)
PRODUCTS = {"model-build", "multi-account-deploy"}


VALID = {
    "display_name": "Fuzz",
    "provider": "Tests",
    "products": ["model-build"],
    "launch_constraint": {"local_role_name": "SageMakerProjectsLaunchRole"},
    "shares": [{"target": "ou-ab12-abcdefgh"}],
}


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


def problems_of(document) -> list[str]:
    try:
        load(yaml.safe_dump(document, allow_unicode=True))
    except InputError as exc:
        return [str(p) for p in exc.problems]
    return []


@FUZZ
@given(st.sampled_from([k for k in KEYS if k != "products"]), st.one_of(values, shares))
def test_garbage_in_one_key_never_hides_an_unknown_product(key, value):
    lines = problems_of({**VALID, key: value, "products": ["model-build", "model-biuld"]})
    expected = "products[1]: unknown product 'model-biuld'; did you mean 'model-build'?"
    assert any(re.fullmatch(r"portfolios/fuzz\.yaml:\d+: " + re.escape(expected), line) for line in lines), lines


@FUZZ
@given(st.sampled_from([k for k in KEYS if k != "shares"]), st.one_of(values, shares))
def test_garbage_in_one_key_never_hides_a_bad_share_target(key, value):
    document = {**VALID, key: value, "shares": [{"target": "ou-bad"}, {"target": 5}]}
    lines = problems_of(document)
    assert any(line.endswith("shares[0].target: 'ou-bad' is not a valid OU id (ou-, 4-32 lowercase letters or "
                             "digits, -, 8-32 more)") for line in lines), lines
    assert any(line.endswith("shares[1].target: 5 is read by YAML as a number, not text; quote it: '5' "
                             "(account ids are 12 digits; this has 1)") for line in lines), lines


@FUZZ
@given(documents)
def test_a_portfolio_without_a_launch_constraint_is_never_accepted(document):
    """For Service Catalog (the default publish_to); S3 templates only launch with s3_templates.launch_role."""
    if isinstance(document, dict):
        document.pop("launch_constraint", None)
        document.pop("publish_to", None)
    assert problems_of(document)


@FUZZ
@given(st.sampled_from([k for k in KEYS if k != "s3_templates"]), st.one_of(values, shares, s3_templates))
def test_garbage_in_one_key_never_hides_a_bad_bucket(key, value):
    document = {**VALID, "publish_to": ["s3"], "s3_templates": {"bucket": "Bad_Bucket"}, key: value}
    lines = problems_of(document)
    assert any(line.endswith("s3_templates.bucket: 'Bad_Bucket' is not a valid S3 bucket name: has characters S3 "
                             "bucket names cannot have: 'B' '_' (only lowercase letters, digits, . and -)")
               for line in lines), lines
