"""Unit tests: manifest checks, the planner on hand-made live states, tokens, reports, CLI wiring."""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
from pathlib import Path

import pytest

from generator.publish import cli
from generator.publish.manifest import ManifestError, load_catalog, tag_text_ok
from generator.publish.model import Options, idempotency_token
from generator.publish.planner import (
    PlanError,
    artifact_description,
    artifact_location,
    parse_artifact_description,
    plan_region,
)
from generator.publish.report import TerminalProgress, render_plan
from generator.publish.state import (
    LiveArtifact,
    LiveConstraint,
    LivePortfolio,
    LiveProduct,
    LiveShare,
    LiveState,
    constraint_description,
)
from tests.publish.conftest import MEMBER, OU, build_dist, default_spec

OPTIONS = Options(bucket="smcat-artifacts")


def edit_manifest(dist, fn):
    manifest = json.loads((dist / "manifest.json").read_text())
    fn(manifest)
    (dist / "manifest.json").write_text(json.dumps(manifest))


def problems(dist) -> str:
    with pytest.raises(ManifestError) as excinfo:
        load_catalog(dist)
    return "\n".join(excinfo.value.problems)


# ------------------------------------------------------------------------------------------ manifest


def test_bundled_style_dist_loads(dist):
    catalog = load_catalog(dist)
    assert set(catalog.products) == {"model-build", "model-deploy", "batch-inference"}
    portfolio = catalog.portfolios["sagemaker-projects"]
    assert portfolio.launch_parameters == {"LocalRoleName": "AmazonSageMakerServiceCatalogProductsLaunchRole"}
    assert ("cost-center", "ml-2") in portfolio.tag_options
    assert catalog.studio_visible("batch-inference")


def test_missing_manifest(tmp_path):
    assert "run the build first" in problems(tmp_path)


@pytest.mark.parametrize(
    "edit,expected",
    [
        (lambda m: m.update(manifest_version=2), "manifest_version"),
        (lambda m: m["products"]["model-build"].update(template="../../etc/passwd"), "outside the dist"),
        (lambda m: m["products"]["model-build"].update(content_hash="xyz"), "content_hash"),
        (lambda m: m["products"]["model-build"].update(support_url="ftp://x"), "support_url"),
        (lambda m: m["products"]["model-build"]["seedcode"]["modelbuild"].update(key_parameter="Nope"),
         "no parameter Nope"),
        (lambda m: m["products"]["model-build"].pop("seedcode_bucket_parameter"), "seedcode_bucket_parameter"),
        (lambda m: m["products"]["model-build"]["seedcode"]["modelbuild"].update(sha256="0" * 64),
         "does not match its sha256"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["products"].append("ghost"), "ghost"),
        (lambda m: m["portfolios"]["sagemaker-projects"].update(display_name="x" * 101), "display_name"),
        (lambda m: m["portfolios"]["sagemaker-projects"].update(provider=""), "provider"),
        (lambda m: m["portfolios"]["sagemaker-projects"].update(
            launch_constraint={"LocalRoleName": "a", "RoleArn": "arn:aws:iam::123456789012:role/a"}),
         "exactly one"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["principals"].append(
            {"arn": "arn:aws:iam::123456789012:role/x*", "type": "IAM_PATTERN"}), "account-less"),
        (lambda m: m["portfolios"]["sagemaker-projects"].update(principals=[
            {"arn": f"arn:aws:iam:::role/r{i}*", "type": "IAM_PATTERN"} for i in range(11)]), "at most 10"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["shares"].append(
            {"type": "ORGANIZATIONAL_UNIT", "value": "ou-bad", "share_principals": True}), "not a valid"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["shares"][1].update(share_principals=True),
         "only supported for ORGANIZATION and ORGANIZATIONAL_UNIT"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["tags"].update({"aws:x": "y"}), "reserved by AWS"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["tags"].update({"smcat:portfolio": "y"}), "reserved"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["tags"].update({"k": ""}), "values must be 1-256"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["tags"].update({f"k{i}": "v" for i in range(20)}),
         "at most 17 tags"),
        (lambda m: m["portfolios"]["sagemaker-projects"]["tag_options"].update(
            {"many": [f"v{i}" for i in range(30)]}), "at most 25 TagOptions"),
        (lambda m: m["portfolios"]["data-science"].update(display_name="SageMaker MLOps project templates"),
         "display_name is also used"),
    ],
)
def test_manifest_problems(dist, edit, expected):
    edit_manifest(dist, edit)
    assert expected in problems(dist)


def test_every_problem_is_reported_at_once(dist):
    def edit(m):
        m["portfolios"]["sagemaker-projects"]["provider"] = ""
        m["products"]["model-deploy"]["owner"] = 7

    edit_manifest(dist, edit)
    text = problems(dist)
    assert "provider" in text and "owner" in text


def test_tag_text_matches_the_service_pattern():
    assert tag_text_ok("Zürich team_1 a.b:c/d=e+f-g@h")
    assert not tag_text_ok("a;b") and not tag_text_ok("a$b") and not tag_text_ok("quote'")


def test_template_too_large(tmp_path):
    dist = build_dist(tmp_path)
    template = dist / "templates" / "batch-inference.json"
    body = json.loads(template.read_text())
    body["Description"] = "x" * 1_000_001
    template.write_text(json.dumps(body))
    import hashlib

    edit_manifest(dist, lambda m: m["products"]["batch-inference"].update(
        template_sha256=hashlib.sha256(template.read_bytes()).hexdigest()))
    assert "at most 1000000" in problems(dist)


# ------------------------------------------------------------------------------------------ planner


T0 = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
HERE = artifact_location("smcat-artifacts", "smcat", "us-east-1")  # where live_state's versions live


def live_state(catalog, *, versions=None, shares=None, tags=None) -> LiveState:
    """Everything already published, with optional differences."""
    state = LiveState(region="us-east-1", bucket="smcat-artifacts")
    from generator.publish.artifacts import seed_key, template_key
    from generator.publish.state import LiveObject

    for product in catalog.products.values():
        for seed in product.seeds:
            state.objects[seed_key("smcat", seed)] = LiveObject("", True)
        state.objects[template_key("smcat", product)] = LiveObject("", True)
    for i, (key, product) in enumerate(catalog.products.items()):
        artifacts = (versions or {}).get(key) or [
            LiveArtifact(f"pa-{key}", product.version, artifact_description(product, HERE), T0, True, "DEFAULT")]
        product_tags = {"smcat:product": key}
        if catalog.studio_visible(key):
            product_tags["sagemaker:studio-visibility"] = "true"
        attributes = {"Owner": product.owner, "Description": product.description,
                      "Distributor": product.distributor, "SupportEmail": product.support_email,
                      "SupportUrl": product.support_url, "SupportDescription": product.support_description}
        state.products[key] = LiveProduct(f"prod-{i}", product.name, product_tags, artifacts, attributes)
    for key, portfolio in catalog.portfolios.items():
        live = LivePortfolio(
            id=f"port-{key}", display_name=portfolio.display_name, description=portfolio.description,
            provider=portfolio.provider,
            tags=(tags or {}).get(key, {**dict(portfolio.tags), "smcat:portfolio": key}),
            tag_options={option: f"tag-{option[1]}" for option in portfolio.tag_options},
            product_ids={state.products[p].id for p in portfolio.products},
            constraints=[LiveConstraint(f"cons-{p}", "LAUNCH", state.products[p].id,
                                        constraint_description(portfolio.launch_parameters),
                                        portfolio.launch_parameters) for p in portfolio.products],
            principals={p.arn: p.type for p in portfolio.principals},
            shares=(shares or {}).get(key, {
                (s.type, s.value): LiveShare(s.type, s.value, s.share_principals, s.share_tag_options)
                for s in portfolio.shares}),
        )
        state.portfolios[key] = live
    return state


def writes(plan):
    return [(a.kind, a.resource, a.target) for a in plan.actions if a.is_write]


def test_plan_against_an_empty_account_orders_the_actions(dist):
    catalog = load_catalog(dist)
    plan = plan_region(catalog, OPTIONS, LiveState("us-east-1", "smcat-artifacts"))
    resources = [a.resource for a in plan.actions]
    order = ["s3-object", "portfolio", "tag-option", "principal", "product", "association", "constraint", "share"]
    assert [r for r in dict.fromkeys(resources)] == order
    assert plan.counts()["share"] == 4 and plan.counts()["noop"] == 0


def test_plan_against_the_published_state_is_all_noop(dist):
    catalog = load_catalog(dist)
    plan = plan_region(catalog, OPTIONS, live_state(catalog))
    assert writes(plan) == []
    assert "nothing to change" in render_plan(_as_plan(plan))


def _as_plan(region_plan):
    from generator.publish.model import Plan

    return Plan(dist="dist", options=OPTIONS, regions=[region_plan])


def test_deprecation_keeps_the_current_and_the_newest(dist):
    catalog = load_catalog(dist)
    product = catalog.products["model-build"]
    old = [LiveArtifact(f"pa-{i}", f"0.{i}", f"sha256:{i:064d}", T0 + dt.timedelta(days=i), True,
                        "DEPRECATED" if i == 0 else "DEFAULT") for i in range(4)]
    live = live_state(catalog, versions={"model-build": old})
    plan = plan_region(catalog, Options(bucket="b", keep_versions=2), live)
    assert ("create", "artifact", "product/model-build/version/1.0.0") in writes(plan)
    deprecated = [a.details["artifact_id"] for a in plan.actions if a.kind == "deprecate"]
    assert deprecated == ["pa-2", "pa-1"]  # pa-3 kept (newest), pa-0 already deprecated
    current = LiveArtifact("pa-cur", "1.0.0", artifact_description(product, HERE), T0, True, "DEFAULT")
    plan = plan_region(catalog, Options(bucket="b", keep_versions=1),
                       live_state(catalog, versions={"model-build": [*old, current]}))
    assert sorted(a.details["artifact_id"] for a in plan.actions if a.kind == "deprecate") == ["pa-1", "pa-2", "pa-3"]


def test_same_version_with_new_content_gets_a_distinct_name(dist):
    catalog = load_catalog(dist)
    old = [LiveArtifact("pa-1", "1.0.0", "sha256:" + "1" * 64, T0, True, "DEFAULT")]
    plan = plan_region(catalog, OPTIONS, live_state(catalog, versions={"model-build": old}))
    created = [a for a in plan.actions if a.resource == "artifact" and a.kind == "create"]
    assert created[0].details["Name"] == "1.0.0+" + catalog.products["model-build"].content_hash[:12]


def test_version_quota(dist):
    catalog = load_catalog(dist)
    full = [LiveArtifact(f"pa-{i}", f"0.{i}", f"sha256:{i:064d}", T0, True, "DEPRECATED") for i in range(100)]
    with pytest.raises(PlanError, match="quota"):
        plan_region(catalog, OPTIONS, live_state(catalog, versions={"model-build": full}))


def test_share_differences(dist):
    catalog = load_catalog(dist)
    shares = {"sagemaker-projects": {
        ("ORGANIZATIONAL_UNIT", OU): LiveShare("ORGANIZATIONAL_UNIT", OU, False, True),
        ("ACCOUNT", MEMBER): LiveShare("ACCOUNT", MEMBER, False, False),
        ("ACCOUNT", "999999999999"): LiveShare("ACCOUNT", "999999999999", False, False),
    }}
    plan = plan_region(catalog, OPTIONS, live_state(catalog, shares=shares))
    kinds = {(a.kind, a.target.rsplit("/", 1)[1]) for a in plan.actions if a.resource == "share" and a.is_write}
    assert kinds == {("update", OU), ("share", "o-abcdefghij")}
    assert any("999999999999" in n and "--prune" in n for n in plan.notes)
    pruned = plan_region(catalog, Options(bucket="b", prune=True), live_state(catalog, shares=shares))
    assert ("unshare", "share", "portfolio/sagemaker-projects/share/ACCOUNT/999999999999") in writes(pruned)


def test_portfolio_tags_are_reconciled(dist):
    catalog = load_catalog(dist)
    tags = {"sagemaker-projects": {"smcat:portfolio": "sagemaker-projects", "team": "old", "stray": "x"}}
    plan = plan_region(catalog, OPTIONS, live_state(catalog, tags=tags))
    update = next(a for a in plan.actions if a.resource == "portfolio" and a.kind == "update")
    assert update.details["AddTags"] == [{"Key": "team", "Value": "platform"}]
    assert update.details["RemoveTags"] == ["stray"]


def test_plan_is_deterministic(dist):
    catalog = load_catalog(dist)
    one = plan_region(catalog, OPTIONS, LiveState("us-east-1", "b")).to_dict()
    two = plan_region(catalog, OPTIONS, LiveState("us-east-1", "b")).to_dict()
    assert json.dumps(one, sort_keys=True, default=str) == json.dumps(two, sort_keys=True, default=str)


# ------------------------------------------------------------------------------------------ tokens, output, CLI


def test_idempotency_tokens_fit_the_model():
    import re

    token = idempotency_token("constraint", "us-east-1", {"a": 1}, ["x"])
    assert re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_-]*", token) and len(token) <= 128
    assert token == idempotency_token("constraint", "us-east-1", {"a": 1}, ["x"])
    assert token != idempotency_token("constraint", "us-east-1", {"a": 2}, ["x"])
    assert token != idempotency_token("constraint", "eu-west-1", {"a": 1}, ["x"])


def test_progress_plain_and_tty(dist):
    from generator.publish.model import Action

    action = Action("create", "portfolio", "portfolio/x", "us-east-1")
    plain = io.StringIO()
    progress = TerminalProgress(plain, tty=False)
    progress.start(1, 2, action)
    progress.finish(1, 2, action, "applied")
    assert plain.getvalue() == "[1/2] create portfolio/x: ok\n"
    tty = io.StringIO()
    progress = TerminalProgress(tty, tty=True)
    progress.start(1, 2, action)
    progress.finish(1, 2, action, "failed", "boom")
    assert tty.getvalue().startswith("[1/2] create portfolio/x ...\r\x1b[K")
    assert tty.getvalue().endswith("FAILED - boom\n")


def test_register_adds_plan_and_publish(monkeypatch):
    # The commands load the publisher only when they run: they dispatch to cli.run_*.
    monkeypatch.setattr(cli, "run_publish", lambda args, **kw: "published")
    monkeypatch.setattr(cli, "run_plan", lambda args, **kw: "planned")
    parser = argparse.ArgumentParser(prog="smcat")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["publish", "--bucket", "b", "--region", "us-east-1", "--region", "eu-west-1",
                              "--prune", "--keep-versions", "5", "--format", "json", "--kms-key-id", "alias/x",
                              "--share-timeout", "60", "--prefix", "p", "--profile", "prod"])
    assert args.func(args) == "published"
    assert args.region == ["us-east-1", "eu-west-1"] and args.prune and args.keep_versions == 5
    plan_args = parser.parse_args(["plan", "--bucket", "b"])
    assert plan_args.func(plan_args) == "planned"
    assert cli.dist_dir(parser.parse_args(["plan", "--bucket", "b"])) == Path("dist")
    with_root = parser.parse_args(["plan", "--bucket", "b"])
    with_root.root = Path("/catalog")
    assert cli.dist_dir(with_root) == Path("/catalog/dist")
    # --bucket is checked when the catalog is known: required for Service Catalog portfolios only
    # (test_s3_target.py::test_service_catalog_needs_bucket_but_s3_only_does_not).
    assert parser.parse_args(["publish"]).bucket is None


def test_specs_are_independent_copies():
    spec = default_spec()
    spec["portfolios"]["sagemaker-projects"]["tags"]["x"] = "y"
    assert "x" not in default_spec()["portfolios"]["sagemaker-projects"]["tags"]


def test_artifact_description_carries_content_and_location(dist):
    catalog = load_catalog(dist)
    product = catalog.products["model-build"]
    text = artifact_description(product, HERE)
    assert text == f"sha256:{product.content_hash} location:{HERE}"
    assert parse_artifact_description(text) == (product.content_hash, HERE)
    assert parse_artifact_description(f"  {text}  (published by smcat)") == (product.content_hash, HERE)
    assert parse_artifact_description(f"sha256:{product.content_hash}") == (product.content_hash, None)
    assert parse_artifact_description("hand-made version") == (None, None)
    assert parse_artifact_description("") == (None, None)
    assert len({HERE, artifact_location("smcat-artifacts", "other", "us-east-1"),
                artifact_location("other-bucket", "smcat", "us-east-1"),
                artifact_location("smcat-artifacts", "smcat", "eu-west-1")}) == 4
    assert artifact_location("b", "/smcat/", "r") == artifact_location("b", "smcat", "r")


def test_a_version_without_the_location_is_not_current(dist):
    catalog = load_catalog(dist)
    product = catalog.products["model-build"]
    old = [LiveArtifact("pa-1", "1.0.0", f"sha256:{product.content_hash}", T0, True, "DEFAULT")]
    plan = plan_region(catalog, Options(bucket="smcat-artifacts", keep_versions=1),
                       live_state(catalog, versions={"model-build": old}))
    created = [a for a in plan.actions if a.resource == "artifact" and a.kind == "create"]
    assert [a.details["Description"] for a in created] == [f"sha256:{product.content_hash} location:{HERE}"]
    assert created[0].details["Name"] == f"1.0.0+{product.content_hash[:12]}"
    assert [a.details["artifact_id"] for a in plan.actions if a.kind == "deprecate"] == ["pa-1"]
