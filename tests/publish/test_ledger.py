"""The applied-digest ledger (generator/publish/ledger.py): a publish with nothing to do reads at most one
call per product, portfolio and share target; what changed, what crashed and what --refresh asks for is read
in full."""

from __future__ import annotations

import dataclasses
import json

import pytest

from generator.publish.aws import is_read_operation
from generator.publish.ledger import Ledger
from generator.publish.manifest import load_catalog
from generator.publish.model import Options
from tests.publish.conftest import OU, build_dist, default_spec, is_ledger_write, synthetic_spec

APPLIED = "smcat:applied"
NAME = "SageMaker MLOps project templates"


def _region(double):
    return double.region("us-east-1")


def _portfolio(double, display_name=NAME) -> tuple[str, dict]:
    return next((pid, p) for pid, p in _region(double).portfolios.items() if p["DisplayName"] == display_name)


def _reads(runtime) -> dict[tuple[str, str], int]:
    return {key: n for key, n in runtime.counter.counts.items() if is_read_operation(key[1])}


def _read_portfolio_ids(double, operation="ListConstraintsForPortfolio") -> set[str]:
    return {c.params["PortfolioId"] for c in double.ops(operation)}


def test_noop_reads_stay_within_products_plus_portfolios_plus_share_targets(double, tmp_path, run_cli,
                                                                            runtime_factory):
    spec = synthetic_spec(12, portfolios=3, seeds=4, shares_per_portfolio=3)
    dist = build_dist(tmp_path / "a", spec)
    assert run_cli("publish", dist).code == 0
    # every portfolio and product got its digest, as the last write for it
    assert all(p["Tags"].get(APPLIED) for p in _region(double).portfolios.values())
    assert all(p["Tags"].get(APPLIED) for p in _region(double).products.values())

    double.reset_calls()
    runtime = runtime_factory()
    run = run_cli("publish", dist, runtime=runtime)
    assert run.code == 0, run.out + run.err
    budget = 12 + 3 + sum(len(p["shares"]) for p in spec["portfolios"].values())
    reads = _reads(runtime)
    assert sum(reads.values()) <= budget, reads
    assert not [op for (_, op) in runtime.counter.counts if not is_read_operation(op)]  # no write, any service
    # existence of every artifact from one listing, no HEAD; no detail read of any portfolio or product
    assert reads[("s3", "ListObjectsV2")] == 1 and ("s3", "HeadObject") not in reads
    for detail in ("ListProvisioningArtifacts", "ListConstraintsForPortfolio", "ListPrincipalsForPortfolio",
                   "DescribePortfolioShares"):
        assert ("servicecatalog", detail) not in reads
    assert "applied digests: 3 of 3 portfolios and 12 of 12 products unchanged" in run.out


def test_a_console_change_is_found_with_refresh(double, dist, run_cli):
    assert run_cli("publish", dist).code == 0
    pid, _ = _portfolio(double)
    gone = next(c for c in _region(double).constraints.values() if c["PortfolioId"] == pid)
    double.call("DeleteConstraint", {"Id": gone["ConstraintId"]})
    double.call("DisassociatePrincipalFromPortfolio", {"PortfolioId": pid, "PrincipalType": "IAM",
                                                       "PrincipalARN": "arn:aws:iam::123456789012:role/DataScientist"})
    double.reset_calls()
    # the digest still matches the manifest: the change made outside smcat is not seen
    trusted = run_cli("publish", dist)
    assert trusted.code == 0 and double.writes() == []

    refreshed = run_cli("publish", dist, "--refresh")
    assert refreshed.code == 0, refreshed.out + refreshed.err
    assert "--refresh: every portfolio and product read in full" in refreshed.out
    # (the first create replays the original token and is answered with the deleted constraint; see executor.py)
    assert {c.params["ProductId"] for c in double.ops("CreateConstraint") if c.error is None} == {gone["ProductId"]}
    assert len([c for c in double.ops("AssociatePrincipalWithPortfolio") if c.error is None]) == 1
    # the fix-up itself was guarded: digest forgotten first, recorded again last
    ledger = [c.params for c in double.writes() if is_ledger_write(c) and c.params["Id"] == pid]
    assert ledger[0] == {"Id": pid, "RemoveTags": [APPLIED]} and "AddTags" in ledger[-1]
    double.reset_calls()
    assert run_cli("publish", dist, "--refresh").code == 0 and double.writes() == []


def test_a_changed_manifest_entry_invalidates_only_its_digest(double, tmp_path, run_cli):
    spec = default_spec()
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    pid, before = _portfolio(double)
    other, _ = _portfolio(double, "Data science sandbox")
    old_digest = before["Tags"][APPLIED]
    spec["portfolios"]["sagemaker-projects"]["launch_constraint"] = {"LocalRoleName": "OtherLaunchRole"}
    spec["products"]["batch-inference"]["version"] = "1.0.1"
    double.reset_calls()
    run = run_cli("publish", build_dist(tmp_path / "b", spec))
    assert run.code == 0, run.out + run.err
    # only the changed portfolio and product were read in detail
    assert _read_portfolio_ids(double) == {pid}
    assert other not in _read_portfolio_ids(double, "ListPrincipalsForPortfolio")
    versions_read = {c.params["ProductId"] for c in double.ops("ListProvisioningArtifacts")}
    assert {_region(double).products[p]["Name"] for p in versions_read} == {"batch-inference"}
    assert len([c for c in double.ops("UpdateConstraint") if c.error is None]) == 3
    new_digest = _region(double).portfolios[pid]["Tags"][APPLIED]
    assert new_digest != old_digest
    double.reset_calls()
    assert run_cli("publish", build_dist(tmp_path / "c", spec)).code == 0 and double.writes() == []


def test_the_portfolio_digest_covers_every_field_of_the_manifest_entry(tmp_path):
    """Whatever fields a portfolio entry has (now or added later), changing one changes the digest."""
    catalog = load_catalog(build_dist(tmp_path, default_spec()))
    ledger = Ledger(catalog, Options(bucket="b"))
    portfolio = catalog.portfolios["sagemaker-projects"]
    base = ledger.portfolio_base(portfolio, "us-east-1")
    assert ledger.portfolio_base(portfolio, "eu-west-1") != base
    for field in dataclasses.fields(portfolio):
        value = getattr(portfolio, field.name)
        changed = (not value if isinstance(value, bool) else value + ("x",) if isinstance(value, tuple)
                   else f"{value}x" if isinstance(value, str) else "x" if value is None else None)
        if changed is None:  # a nested dataclass: compared as its fields
            continue
        assert ledger.portfolio_base(dataclasses.replace(portfolio, **{field.name: changed}), "us-east-1") != base, \
            field.name


@pytest.mark.parametrize("operation", ["UpdateConstraint", "UpdatePortfolioShare", "CreateProvisioningArtifact"])
def test_a_crashed_run_leaves_no_digest_and_the_next_run_reads_fully(double, tmp_path, run_cli, operation):
    spec = default_spec()
    original = build_dist(tmp_path / "a", spec)
    assert run_cli("publish", original).code == 0
    expected = double.snapshot()
    pid, _ = _portfolio(double)
    spec["portfolios"]["sagemaker-projects"]["launch_constraint"] = {"LocalRoleName": "OtherLaunchRole"}
    spec["portfolios"]["sagemaker-projects"]["shares"][0]["share_tag_options"] = False
    spec["products"]["model-build"]["version"] = "1.1.0"
    spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": "v2\n"}
    double.inject(operation, "InjectedFault", on_call=len(double.ops(operation)) + 1, after=True)
    crashed = run_cli("publish", build_dist(tmp_path / "b", spec))
    assert crashed.code == 1 and "InjectedFault" in crashed.out
    # the resource the failed action belongs to lost its digest before anything of it changed
    owner = (_region(double).portfolios[pid] if operation != "CreateProvisioningArtifact" else
             next(p for p in _region(double).products.values() if p["Name"] == "model-build"))
    assert APPLIED not in owner["Tags"]

    # reverting the manifest does not make the old digest vouch again: the next run reads and repairs
    double.reset_calls()
    repaired = run_cli("publish", original)
    assert repaired.code == 0, repaired.out + repaired.err
    if operation != "CreateProvisioningArtifact":
        assert pid in _read_portfolio_ids(double)
    else:
        assert owner["ProductId"] in {c.params["ProductId"] for c in double.ops("ListProvisioningArtifacts")}
    snapshot = double.snapshot()
    for product in snapshot["us-east-1"]["products"] + expected["us-east-1"]["products"]:
        product["Artifacts"] = product["Artifacts"][:1]  # a version made before the crash stays (never deleted)
    assert json.dumps(snapshot, sort_keys=True, default=str) == json.dumps(expected, sort_keys=True, default=str)


def test_a_share_with_errors_leaves_the_portfolio_without_digest(double, dist, run_cli):
    double.share_outcomes[OU] = ("COMPLETED_WITH_ERRORS", [
        {"Accounts": ["111122223333"], "Message": "Account is suspended", "Error": "InvalidAccount"}])
    run = run_cli("publish", dist, "--format", "json")
    assert run.code == 1
    _, portfolio = _portfolio(double)
    assert APPLIED not in portfolio["Tags"]
    skipped = [o for o in run.json["result"]["regions"][0]["applied"] if o["status"] == "skipped"]
    assert [o["action"]["target"] for o in skipped] == ["portfolio/sagemaker-projects/ledger"]
    _, other = _portfolio(double, "Data science sandbox")
    assert other["Tags"].get(APPLIED)  # the other portfolio's shares completed


def test_what_only_prune_removes_keeps_the_portfolio_read_in_full(double, tmp_path, run_cli):
    spec = default_spec()
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    spec["portfolios"]["data-science"]["shares"] = []
    changed = build_dist(tmp_path / "b", spec)
    pid, _ = _portfolio(double, "Data science sandbox")
    for _ in range(2):  # no digest recorded while the stray share stays: every run reads it and says so
        double.reset_calls()
        run = run_cli("publish", changed)
        assert run.code == 0 and "ou-ab12-zzzzzzzz, which is not configured" in run.out
        assert pid in _read_portfolio_ids(double, "DescribePortfolioShares")
        assert double.writes() == []
    assert run_cli("publish", changed, "--prune").code == 0
    assert _portfolio(double, "Data science sandbox")[1]["Tags"].get(APPLIED)
    double.reset_calls()
    assert run_cli("publish", changed).code == 0 and double.writes() == []
    assert pid not in _read_portfolio_ids(double)


def test_kms_encryption_is_vouched_by_the_digest_and_read_with_refresh(double, dist, run_cli, runtime_factory):
    from tests.publish.conftest import client

    key = client("kms").create_key()["KeyMetadata"]["KeyId"]
    assert run_cli("publish", dist, "--kms-key-id", key).code == 0
    runtime = runtime_factory()
    assert run_cli("publish", dist, "--kms-key-id", key, runtime=runtime).code == 0
    assert ("s3", "HeadObject") not in runtime.counter.counts
    runtime = runtime_factory()
    run = run_cli("publish", dist, "--kms-key-id", key, "--refresh", runtime=runtime)
    assert run.code == 0 and "nothing to change" in run.out
    assert runtime.counter.counts[("s3", "HeadObject")] == 5  # 3 templates, 2 seed zips
