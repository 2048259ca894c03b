"""`plan`/`publish --retire-after N`: DEPRECATED versions past the newest N deleted when nothing this account can
see uses them; never the current version; what is kept is said, with why."""

from __future__ import annotations

import pytest

from tests.fakes.provisioning import launch, product_ids, s3_template_reader, settle, versions_of
from tests.publish.conftest import MEMBER, ORG, OU, build_dist, client, default_spec

PARAMETERS = {"SageMakerProjectName": "keeper", "SageMakerProjectId": "p-keeper"}


@pytest.fixture
def catalog(double):
    double.template_reader = s3_template_reader
    return double


def unshared() -> dict:
    spec = default_spec()
    for portfolio in spec["portfolios"].values():
        portfolio["shares"] = []
    return spec


def model_build(spec: dict, n: int) -> dict:
    spec["products"]["model-build"]["version"] = f"1.{n}.0"
    spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": f"print('build v{n}')\n"}
    return spec


def publish(run_cli, tmp_path, spec: dict, n: int, *extra: str):
    dist = build_dist(tmp_path / f"v{n}", model_build(spec, n))
    run = run_cli("publish", dist, *extra)
    assert run.code == 0, run.err + run.out
    return dist, run


def deleted(double) -> list[str]:
    return sorted(c.params["ProvisioningArtifactId"] for c in double.ops("DeleteProvisioningArtifact", ok_only=True))


def ids(double, *names: str) -> list[str]:
    versions = versions_of(double, "model-build")
    return sorted(versions[n]["Id"] for n in names)


def retire_notes(run) -> list[str]:
    return [line.strip() for line in run.out.splitlines() if line.strip().startswith("note: retire:")]


def test_retire_keeps_the_newest_and_the_used_and_deletes_the_rest(catalog, double, tmp_path, run_cli):
    spec = unshared()
    for n in range(1, 6):
        publish(run_cli, tmp_path, spec, n, "--keep-versions", "1")
        if n == 2:
            launch(double, "model-build", "1.2.0", "keeper", PARAMETERS)
    assert [a["Guidance"] for a in versions_of(double, "model-build").values()] == ["DEPRECATED"] * 4 + ["DEFAULT"]
    dist = tmp_path / "v5" / "dist"

    double.reset_calls()
    plan = run_cli("plan", dist, "--keep-versions", "1", "--retire-after", "1")
    assert plan.code == 0, plan.err
    assert double.writes() == []
    assert "- delete    artifact    product/model-build/version/1.1.0" in plan.out
    assert "- delete    artifact    product/model-build/version/1.3.0" in plan.out
    assert retire_notes(plan) == [
        "note: retire: product model-build keeps deprecated versions 1.4.0 (the newest 1 deprecated); 1.2.0 (used by "
        "keeper)"]
    search = double.ops("SearchProvisionedProducts")[0].params
    assert search["AccessLevelFilter"] == {"Key": "Account", "Value": "self"}

    old = ids(double, "1.1.0", "1.3.0")
    run = run_cli("publish", dist, "--keep-versions", "1", "--retire-after", "1")
    assert run.code == 0, run.err + run.out
    assert deleted(double) == old
    assert list(versions_of(double, "model-build")) == ["1.2.0", "1.4.0", "1.5.0"]
    assert all(len(versions_of(double, p)) == 1 for p in ("model-deploy", "batch-inference"))

    double.reset_calls()
    again = run_cli("publish", dist, "--keep-versions", "1", "--retire-after", "1")
    assert again.code == 0 and deleted(double) == []
    assert retire_notes(again) == retire_notes(plan)


def test_a_project_s_version_is_kept_and_retired_once_it_moved(catalog, double, tmp_path, run_cli):
    spec = unshared()
    publish(run_cli, tmp_path, spec, 1, "--keep-versions", "1")
    pp = launch(double, "model-build", "1.1.0", "keeper", PARAMETERS)
    dist, _ = publish(run_cli, tmp_path, spec, 2, "--keep-versions", "1")
    kept = run_cli("plan", dist, "--keep-versions", "1", "--retire-after", "0")
    assert retire_notes(kept) == ["note: retire: product model-build keeps deprecated versions 1.1.0 (used by keeper)"]
    client("servicecatalog").update_provisioned_product(
        ProvisionedProductId=pp, ProvisioningArtifactId=versions_of(double, "model-build")["1.2.0"]["Id"],
        UpdateToken="move", ProvisioningParameters=[{"Key": k, "UsePreviousValue": True} for k in PARAMETERS])
    settle(double)
    old = ids(double, "1.1.0")
    assert run_cli("publish", dist, "--keep-versions", "1", "--retire-after", "0").code == 0
    assert deleted(double) == old


def test_versions_of_a_shared_portfolio_s_products_are_kept_unless_retire_shared(catalog, double, tmp_path, run_cli):
    spec = default_spec()  # sagemaker-projects is shared with an OU, an account and the organization
    for n in range(1, 4):
        dist, _ = publish(run_cli, tmp_path, spec, n, "--keep-versions", "1")
    run = run_cli("plan", dist, "--keep-versions", "1", "--retire-after", "0")
    assert run.code == 0
    (note,) = retire_notes(run)
    assert note.startswith(
        "note: retire: product model-build keeps deprecated versions 1.2.0 (portfolio sagemaker-projects is shared "
        f"with ACCOUNT {MEMBER}, ORGANIZATION {ORG}, ORGANIZATIONAL_UNIT {OU}: provisioned products in other accounts "
        "cannot be seen from this one (--retire-shared retires anyway))")
    assert "1.1.0 (portfolio sagemaker-projects is shared" in note
    assert "- delete" not in run.out

    old = ids(double, "1.1.0", "1.2.0")
    forced = run_cli("publish", dist, "--keep-versions", "1", "--retire-after", "0", "--retire-shared")
    assert forced.code == 0, forced.err + forced.out
    assert deleted(double) == old


def test_a_version_deprecated_by_this_run_is_kept_until_the_next(catalog, double, tmp_path, run_cli):
    spec = unshared()
    for n in range(1, 3):
        publish(run_cli, tmp_path, spec, n)  # --keep-versions 3: nothing deprecated yet
    dist, run = publish(run_cli, tmp_path, spec, 3, "--keep-versions", "1", "--retire-after", "0")
    assert deleted(double) == []
    assert retire_notes(run) == ["note: retire: product model-build keeps deprecated versions 1.2.0 (deprecated by "
                                 "this run; retired by a later one); 1.1.0 (deprecated by this run; retired by a later "
                                 "one)"]
    old = ids(double, "1.1.0", "1.2.0")
    publish(run_cli, tmp_path, spec, 3, "--keep-versions", "1", "--retire-after", "0")
    assert deleted(double) == old


def test_the_current_version_is_never_retired_even_after_a_roll_back(catalog, double, tmp_path, run_cli):
    spec = unshared()
    for n in range(1, 4):
        publish(run_cli, tmp_path, spec, n, "--keep-versions", "1")
    old = ids(double, "1.2.0")
    run = run_cli("publish", tmp_path / "v1" / "dist", "--keep-versions", "1", "--retire-after", "0")
    assert run.code == 0, run.err + run.out
    assert deleted(double) == old  # 1.3.0 is deprecated by this run, 1.1.0 re-activated: both kept
    guidance = {name: a["Guidance"] for name, a in versions_of(double, "model-build").items()}
    assert guidance == {"1.1.0": "DEFAULT", "1.3.0": "DEPRECATED"}


def test_provisioned_products_under_change_keep_every_version(catalog, double, tmp_path, run_cli):
    spec = unshared()
    publish(run_cli, tmp_path, spec, 1, "--keep-versions", "1")
    pp = launch(double, "model-build", "1.1.0", "changing", PARAMETERS)
    publish(run_cli, tmp_path, spec, 2, "--keep-versions", "1")
    dist, _ = publish(run_cli, tmp_path, spec, 3, "--keep-versions", "1")
    double.record_steps = (500, 1000)
    client("servicecatalog").update_provisioned_product(
        ProvisionedProductId=pp, ProvisioningArtifactId=versions_of(double, "model-build")["1.3.0"]["Id"],
        UpdateToken="slow", ProvisioningParameters=[{"Key": k, "UsePreviousValue": True} for k in PARAMETERS])
    run = run_cli("publish", dist, "--keep-versions", "1", "--retire-after", "0")
    assert run.code == 0 and deleted(double) == []
    assert retire_notes(run) == ["note: retire: product model-build keeps deprecated versions 1.2.0 (provisioned "
                                 "products are under change (changing)); 1.1.0 (used by changing)"]


def test_a_product_also_in_a_portfolio_smcat_does_not_manage_is_kept(catalog, double, tmp_path, run_cli):
    spec = unshared()
    for n in range(1, 3):
        dist, _ = publish(run_cli, tmp_path, spec, n, "--keep-versions", "1")
    sc = client("servicecatalog")
    foreign = sc.create_portfolio(DisplayName="Someone else's", ProviderName="them")["PortfolioDetail"]["Id"]
    sc.associate_product_with_portfolio(ProductId=product_ids(double)["model-build"], PortfolioId=foreign)
    run = run_cli("publish", dist, "--keep-versions", "1", "--retire-after", "0")
    assert run.code == 0 and deleted(double) == []
    assert retire_notes(run) == [
        f"note: retire: product model-build keeps deprecated versions 1.1.0 (it is also in portfolio {foreign}, whose "
        "shares smcat does not read: provisioned products in other accounts cannot be seen from this one "
        "(--retire-shared retires anyway))"]


def test_without_retire_after_nothing_is_deleted_nor_usage_read(catalog, double, tmp_path, run_cli):
    spec = unshared()
    for n in range(1, 4):
        publish(run_cli, tmp_path, spec, n, "--keep-versions", "1")
    assert deleted(double) == []
    assert double.ops("SearchProvisionedProducts") == [] and double.ops("ListPortfoliosForProduct") == []


@pytest.mark.parametrize(("extra", "message"), [
    (["--retire-after", "-1"], "--retire-after must be 0 or more"),
    (["--retire-shared"], "--retire-shared needs --retire-after N"),
])
def test_bad_retire_options_exit_2(catalog, double, dist, run_cli, extra, message):
    run = run_cli("publish", dist, *extra)
    assert run.code == 2
    assert f"error: {message}" in run.err and "Traceback" not in run.err
    assert double.calls == []


@pytest.mark.parametrize(("code", "exit_code"), [("ResourceNotFoundException", 0), ("ResourceInUseException", 1)])
def test_a_version_gone_already_is_fine_a_refusal_is_reported(catalog, double, tmp_path, run_cli, code, exit_code):
    spec = unshared()
    for n in range(1, 3):
        dist, _ = publish(run_cli, tmp_path, spec, n, "--keep-versions", "1")
    double.inject("DeleteProvisioningArtifact", code, message="the service said so")
    run = run_cli("publish", dist, "--keep-versions", "1", "--retire-after", "0")
    assert run.code == exit_code, run.err + run.out
    assert len(double.ops("DeleteProvisioningArtifact")) == 1
    if exit_code:
        assert f"{code} from DeleteProvisioningArtifact: the service said so" in run.out
