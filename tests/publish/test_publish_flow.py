"""End-to-end publishing against moto (S3, STS, Organizations) and the Service Catalog double."""

from __future__ import annotations

import json
import re

import pytest
from botocore.awsrequest import AWSResponse

from generator.publish.aws import is_read_operation
from tests.fakes.servicecatalog import ServiceCatalogDouble
from tests.publish.conftest import (
    BUCKET,
    MEMBER,
    ORG,
    OU,
    REGION,
    build_dist,
    client,
    default_spec,
    is_ledger_write,
    s3_template_checker,
)

STUDIO = {"Key": "sagemaker:studio-visibility", "Value": "true"}
LAUNCH_ROLE = {"LocalRoleName": "AmazonSageMakerServiceCatalogProductsLaunchRole"}


def write_ops(double) -> list[str]:
    return [c.operation for c in double.writes() if c.error is None and not is_ledger_write(c)]


def ok_calls(double, operation):
    return [c for c in double.ops(operation) if c.error is None and not is_ledger_write(c)]


def without_digests(snapshot: dict) -> dict:
    """A double's snapshot with each applied digest replaced by a mark: a portfolio's digest covers its products'
    generated ids, which differ from one double to another."""
    text = json.dumps(snapshot, sort_keys=True, default=str)
    return json.loads(re.sub(r'"smcat:applied": "[0-9a-f]{32}"', '"smcat:applied": "<digest>"', text))


def region_state(double):
    return double.region("us-east-1")


# ------------------------------------------------------------------------------------------ first publish


def test_first_publish_creates_everything(double, dist, run_cli):
    run = run_cli("publish", dist)
    assert run.code == 0, run.err + run.out
    state = region_state(double)
    assert len(state.portfolios) == 2 and len(state.products) == 3

    products = {c.params["Name"]: c.params for c in ok_calls(double, "CreateProduct")}
    assert set(products) == {"model-build", "model-deploy", "batch-inference"}
    for name, params in products.items():
        assert STUDIO in params["Tags"]  # all three are in the studio-visible portfolio
        assert {"Key": "smcat:product", "Value": name} in params["Tags"]
        artifact = params["ProvisioningArtifactParameters"]
        assert artifact["Name"] == "1.0.0"
        assert artifact["Description"].startswith("sha256:")
        assert artifact["Info"]["LoadTemplateFromURL"].startswith(f"https://{BUCKET}.s3.us-east-1.amazonaws.com/")
        assert params["IdempotencyToken"].startswith("smcat-product-")

    constraints = ok_calls(double, "CreateConstraint")
    assert len(constraints) == 4
    by_role = [json.loads(c.params["Parameters"]) for c in constraints]
    assert by_role.count(LAUNCH_ROLE) == 3
    assert {"RoleArn": "arn:aws:iam::123456789012:role/SCLaunchRole"} in by_role
    assert all(c.params["Type"] == "LAUNCH" for c in constraints)

    shares = {c.params["OrganizationNode"]["Value"]: c.params for c in ok_calls(double, "CreatePortfolioShare")}
    assert shares[OU]["OrganizationNode"] == {"Type": "ORGANIZATIONAL_UNIT", "Value": OU}
    assert shares[OU]["SharePrincipals"] is True and shares[OU]["ShareTagOptions"] is True
    assert shares[MEMBER]["OrganizationNode"] == {"Type": "ACCOUNT", "Value": MEMBER}
    assert shares[MEMBER]["SharePrincipals"] is False
    assert shares[ORG]["OrganizationNode"]["Type"] == "ORGANIZATION"
    assert "AccountId" not in shares[MEMBER]
    # every share was polled to completion and is visible
    assert {v for shares_ in state.shares.values() for (_, v) in shares_} == {OU, MEMBER, ORG, "ou-ab12-zzzzzzzz"}

    principals = {(c.params["PrincipalARN"], c.params["PrincipalType"])
                  for c in ok_calls(double, "AssociatePrincipalWithPortfolio")}
    assert ("arn:aws:iam:::role/service-role/AmazonSageMaker*", "IAM_PATTERN") in principals
    assert len(ok_calls(double, "CreateTagOption")) == 2
    assert len(ok_calls(double, "AssociateTagOptionWithResource")) == 2
    assert len(ok_calls(double, "AssociateProductWithPortfolio")) == 4

    portfolio_tags = {c.params["DisplayName"]: c.params["Tags"] for c in ok_calls(double, "CreatePortfolio")}
    tags = portfolio_tags["SageMaker MLOps project templates"]
    assert {"Key": "smcat:portfolio", "Value": "sagemaker-projects"} in tags
    assert {"Key": "team", "Value": "platform"} in tags

    # ordering: everything a share exposes exists before the portfolio's first share (portfolios run at once)
    calls = [c for c in double.writes() if c.error is None]
    for portfolio_id in state.portfolios:
        mine = [i for i, c in enumerate(calls) if c.params.get("PortfolioId") == portfolio_id]
        first_share = min(i for i in mine if calls[i].operation == "CreatePortfolioShare")
        assert first_share > max(i for i in mine if calls[i].operation == "CreateConstraint")
    assert "us-east-1: 32 actions applied." in run.out  # 27 + the 5 applied digests


def test_templates_get_the_seed_location_and_dist_stays_location_independent(double, dist, run_cli):
    before = (dist / "templates" / "model-build.json").read_bytes()
    assert run_cli("publish", dist).code == 0
    assert (dist / "templates" / "model-build.json").read_bytes() == before
    manifest = json.loads((dist / "manifest.json").read_text())
    product = manifest["products"]["model-build"]
    s3 = client("s3")
    key = f"smcat/templates/model-build/{product['content_hash']}.json"
    template = json.loads(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    seed_key = f"smcat/seedcode/modelbuild/{product['seedcode']['modelbuild']['sha256']}.zip"
    assert template["Parameters"]["SeedCodeBucket"]["Default"] == BUCKET
    assert template["Parameters"]["SeedCodeModelbuildKey"]["Default"] == seed_key
    zipped = s3.get_object(Bucket=BUCKET, Key=seed_key)["Body"].read()
    assert zipped == (dist / "seedcode" / "modelbuild.zip").read_bytes()


def test_second_publish_makes_no_writes(double, dist, run_cli, runtime_factory):
    assert run_cli("publish", dist).code == 0
    double.reset_calls()
    runtime = runtime_factory()
    run = run_cli("publish", dist, runtime=runtime)
    assert run.code == 0
    assert double.writes() == []
    s3_writes = [op for (svc, op) in runtime.counter.counts if svc == "s3" and not is_read_operation(op)]
    assert s3_writes == []
    assert "nothing to change" in run.out
    # reads grow with portfolios and products only; the applied digests vouch for the details
    counts = double.counts()
    assert counts["DescribeProductAsAdmin"] == 3 and "ListProvisioningArtifacts" not in counts
    assert counts["DescribePortfolio"] == 2 and "DescribePortfolioShares" not in counts
    # --refresh reads the details
    double.reset_calls()
    assert run_cli("publish", dist, "--refresh").code == 0
    assert double.writes() == []
    counts = double.counts()
    assert counts["ListProvisioningArtifacts"] == 3 and counts["DescribePortfolioShares"] == 6
    assert "DescribeConstraint" not in counts  # the list call + smcat's description serve


def test_plan_is_read_only(double, dist, run_cli):
    run = run_cli("plan", dist)
    assert run.code == 0
    assert double.writes() == []
    assert "+ create    portfolio" in run.out and "> share" in run.out
    assert client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_plan_json_is_plain_data(double, dist, run_cli):
    run = run_cli("plan", dist, "--format", "json")
    assert run.code == 0
    plan = run.json["plan"]
    kinds = {a["kind"] for r in plan["regions"] for a in r["actions"]}
    assert kinds <= {"create", "update", "delete", "share", "unshare", "deprecate", "noop"}
    assert plan["counts"]["share"] == 4
    first = plan["regions"][0]["actions"][0]
    assert set(first) == {"kind", "resource", "target", "region", "summary", "details"}


# ------------------------------------------------------------------------------------------ changes


def test_one_seed_change_adds_one_version_per_product_that_ships_it(double, tmp_path, run_cli):
    spec = default_spec()
    shared = {"common.py": "VERSION = 1\n"}
    spec["products"]["model-build"]["seeds"]["shared"] = shared
    spec["products"]["model-deploy"]["seeds"]["shared"] = dict(shared)
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    double.reset_calls()

    spec["products"]["model-build"]["seeds"]["shared"] = {"common.py": "VERSION = 2\n"}
    spec["products"]["model-deploy"]["seeds"]["shared"] = {"common.py": "VERSION = 2\n"}
    run = run_cli("publish", build_dist(tmp_path / "b", spec))
    assert run.code == 0, run.out + run.err
    assert write_ops(double) == ["CreateProvisioningArtifact", "CreateProvisioningArtifact"]
    created = {c.params["ProductId"]: c.params["Parameters"] for c in ok_calls(double, "CreateProvisioningArtifact")}
    names = {region_state(double).products[pid]["Name"] for pid in created}
    assert names == {"model-build", "model-deploy"}
    for parameters in created.values():
        assert parameters["Name"].startswith("1.0.0+")  # same version, new content: unique name
    assert "re-upload" not in run.out


def test_single_seed_change_touches_only_its_product(double, tmp_path, run_cli):
    spec = default_spec()
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    double.reset_calls()
    spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": "print('build v2')\n"}
    spec["products"]["model-build"]["version"] = "1.1.0"
    run = run_cli("publish", build_dist(tmp_path / "b", spec))
    assert run.code == 0
    assert write_ops(double) == ["CreateProvisioningArtifact"]
    assert ok_calls(double, "CreateProvisioningArtifact")[0].params["Parameters"]["Name"] == "1.1.0"
    assert run.out.count("+ create    s3-object") == 2  # the new zip and the new template


def test_versions_past_keep_versions_are_deprecated_never_deleted(double, tmp_path, run_cli):
    spec = default_spec()
    for version in range(1, 6):
        spec["products"]["model-build"]["version"] = f"1.{version}.0"
        spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": f"v{version}\n"}
        run = run_cli("publish", build_dist(tmp_path / f"v{version}", spec), "--keep-versions", "2")
        assert run.code == 0, run.out + run.err
    product = next(p for p in region_state(double).products.values() if p["Name"] == "model-build")
    guidance = [(a["Name"], a["Guidance"]) for a in product["Artifacts"]]
    assert guidance == [("1.1.0", "DEPRECATED"), ("1.2.0", "DEPRECATED"), ("1.3.0", "DEPRECATED"),
                        ("1.4.0", "DEFAULT"), ("1.5.0", "DEFAULT")]
    # each version was deprecated once, not again on later runs
    deprecated = [c.params["ProvisioningArtifactId"] for c in ok_calls(double, "UpdateProvisioningArtifact")]
    assert len(deprecated) == len(set(deprecated)) == 3
    assert all(a["Active"] for a in product["Artifacts"])
    double.reset_calls()
    assert run_cli("publish", build_dist(tmp_path / "v5b", spec), "--keep-versions", "2").code == 0
    assert double.writes() == []


def test_rolling_back_reactivates_the_old_version(double, tmp_path, run_cli):
    spec = default_spec()
    dists = []
    for version in range(1, 4):
        spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": f"v{version}\n"}
        spec["products"]["model-build"]["version"] = f"1.{version}.0"
        dists.append(build_dist(tmp_path / f"v{version}", spec))
        assert run_cli("publish", dists[-1], "--keep-versions", "1").code == 0
    double.reset_calls()
    assert run_cli("publish", dists[0], "--keep-versions", "1").code == 0
    assert write_ops(double) == ["UpdateProvisioningArtifact", "UpdateProvisioningArtifact"]
    product = next(p for p in region_state(double).products.values() if p["Name"] == "model-build")
    assert [(a["Name"], a["Guidance"]) for a in product["Artifacts"]] == [
        ("1.1.0", "DEFAULT"), ("1.2.0", "DEPRECATED"), ("1.3.0", "DEPRECATED")]


def test_config_changes_are_reconciled(double, tmp_path, run_cli):
    spec = default_spec()
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    double.reset_calls()
    portfolio = spec["portfolios"]["sagemaker-projects"]
    portfolio["launch_constraint"] = {"LocalRoleName": "OtherLaunchRole"}
    portfolio["principals"] = [{"arn": "arn:aws:iam:::role/service-role/AmazonSageMaker*", "type": "IAM_PATTERN"},
                               {"arn": "arn:aws:iam::123456789012:role/MLEngineer", "type": "IAM"}]
    portfolio["tags"] = {"owner": "ml"}
    portfolio["tag_options"] = {"cost-center": ["ml-1", "ml-3"]}
    portfolio["description"] = "new description"
    portfolio["shares"][0]["share_tag_options"] = False
    run = run_cli("publish", build_dist(tmp_path / "b", spec))
    assert run.code == 0, run.out + run.err
    ops = write_ops(double)
    # launch constraints change in place (UpdateConstraint): nothing deleted, nothing created
    assert ops.count("UpdateConstraint") == 3
    assert "DeleteConstraint" not in ops and "CreateConstraint" not in ops
    assert ops.count("DisassociatePrincipalFromPortfolio") == 1 and ops.count("AssociatePrincipalWithPortfolio") == 1
    assert ops.count("DisassociateTagOptionFromResource") == 1 and ops.count("CreateTagOption") == 1
    assert ops.count("UpdatePortfolioShare") == 1 and "CreatePortfolioShare" not in ops
    update = ok_calls(double, "UpdatePortfolio")[0].params
    assert update["Description"] == "new description"
    assert update["AddTags"] == [{"Key": "owner", "Value": "ml"}] and update["RemoveTags"] == ["team"]
    assert json.loads(ok_calls(double, "UpdateConstraint")[0].params["Parameters"]) == {
        "LocalRoleName": "OtherLaunchRole"}
    assert ok_calls(double, "UpdateConstraint")[0].params["Description"] == (
        'smcat launch role {"LocalRoleName":"OtherLaunchRole"}')
    double.reset_calls()
    assert run_cli("publish", build_dist(tmp_path / "b2", spec)).code == 0
    assert double.writes() == []


def test_studio_visibility_tag_follows_the_portfolios(double, tmp_path, run_cli):
    spec = default_spec()
    spec["portfolios"]["sagemaker-projects"]["studio_visibility"] = False
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    assert all("sagemaker:studio-visibility" not in p["Tags"] for p in region_state(double).products.values())
    double.reset_calls()
    spec["portfolios"]["sagemaker-projects"]["studio_visibility"] = True
    assert run_cli("publish", build_dist(tmp_path / "b", spec)).code == 0
    updates = ok_calls(double, "UpdateProduct")
    assert len(updates) == 3 and all(u.params["AddTags"] == [STUDIO] for u in updates)
    double.reset_calls()
    spec["portfolios"]["sagemaker-projects"]["studio_visibility"] = False
    assert run_cli("publish", build_dist(tmp_path / "c", spec)).code == 0
    assert [u.params["RemoveTags"] for u in ok_calls(double, "UpdateProduct")] == [
        ["sagemaker:studio-visibility"]] * 3


def test_foreign_resources_with_the_same_name_are_left_alone(double, dist, run_cli):
    foreign = double.call("CreatePortfolio", {"DisplayName": "SageMaker MLOps project templates",
                                              "ProviderName": "someone", "IdempotencyToken": "foreign"})
    run = run_cli("publish", dist)
    assert run.code == 0
    assert "without the tag smcat:portfolio=sagemaker-projects" in run.out
    state = region_state(double)
    assert state.portfolios[foreign["PortfolioDetail"]["Id"]]["ProviderName"] == "someone"
    assert len(state.portfolios) == 3


# ------------------------------------------------------------------------------------------ prune


def test_removed_share_is_only_unshared_with_prune(double, tmp_path, run_cli):
    spec = default_spec()
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    spec["portfolios"]["sagemaker-projects"]["shares"] = [
        s for s in spec["portfolios"]["sagemaker-projects"]["shares"] if s["type"] != "ACCOUNT"]
    changed = build_dist(tmp_path / "b", spec)
    double.reset_calls()
    run = run_cli("publish", changed)
    assert run.code == 0
    assert double.writes() == []
    assert f"shared with ACCOUNT {MEMBER}, which is not configured; run with --prune" in run.out

    plan = run_cli("plan", changed, "--prune")
    assert f"< unshare   share       portfolio/sagemaker-projects/share/ACCOUNT/{MEMBER}" in plan.out

    run = run_cli("publish", changed, "--prune")
    assert run.code == 0
    deletes = ok_calls(double, "DeletePortfolioShare")
    assert [d.params["OrganizationNode"] for d in deletes] == [{"Type": "ACCOUNT", "Value": MEMBER}]
    remaining = {v for shares in region_state(double).shares.values() for (_, v) in shares}
    assert MEMBER not in remaining and OU in remaining


def test_prune_removes_a_product_dropped_from_a_portfolio(double, tmp_path, run_cli):
    spec = default_spec()
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    spec["portfolios"]["data-science"]["products"] = []
    changed = build_dist(tmp_path / "b", spec)
    run = run_cli("publish", changed)
    assert "run with --prune to remove it from the portfolio" in run.out
    double.reset_calls()
    assert run_cli("publish", changed, "--prune").code == 0
    assert write_ops(double) == ["DeleteConstraint", "DisassociateProductFromPortfolio"]


# ------------------------------------------------------------------------------------------ robustness


@pytest.mark.parametrize(
    "operation,nth,after",
    [
        ("CreateProduct", 2, True),  # created, but the answer was lost
        ("AssociateProductWithPortfolio", 3, False),
        ("CreateConstraint", 2, True),
        ("CreateTagOption", 2, True),
        ("CreatePortfolioShare", 2, False),
        ("CreatePortfolio", 2, True),
        ("DescribePortfolioShareStatus", 3, False),  # stopped while a share was still running
    ],
)
def test_interrupted_publish_converges_without_duplicates(moto_aws, dist, run_cli, operation, nth, after):
    with ServiceCatalogDouble(template_checker=s3_template_checker) as reference:
        assert run_cli("publish", dist).code == 0
    expected = reference.snapshot()

    with ServiceCatalogDouble(template_checker=s3_template_checker, visibility_lag=8) as double:
        double.inject(operation, "InjectedFault", on_call=nth, after=after, message="connection reset")
        first = run_cli("publish", dist)
        assert first.code == 1
        assert "FAILED at" in first.out and "InjectedFault" in first.out
        assert "Not attempted" in first.out
        second = run_cli("publish", dist)
        assert second.code == 0, second.out + second.err
        assert without_digests(double.snapshot()) == without_digests(expected)
        double.reset_calls()
        assert run_cli("publish", dist).code == 0
        assert double.writes() == []


def test_lost_create_is_not_duplicated_even_when_not_yet_listed(moto_aws, dist, run_cli):
    """The rerun cannot see the product yet (eventual consistency) and creates it again: the same
    IdempotencyToken makes Service Catalog hand back the first product."""
    with ServiceCatalogDouble(template_checker=s3_template_checker, visibility_lag=10_000) as double:
        double.inject("CreateProduct", "InjectedFault", after=True)
        assert run_cli("publish", dist, "--max-parallel", "1").code == 1  # the other products not started
        assert len(double.region("us-east-1").products) == 1
        run_cli("publish", dist)
        lost = double.ops("CreateProduct")[0]
        tokens = [c.params["IdempotencyToken"] for c in double.ops("CreateProduct") if c.params["Name"] ==
                  lost.params["Name"]]
        assert len(tokens) == 2 and tokens[0] == tokens[1]
        assert len(double.region("us-east-1").products) == 3
        names = sorted(p["Name"] for p in double.region("us-east-1").products.values())
        assert names == ["batch-inference", "model-build", "model-deploy"]


def test_idempotency_tokens_are_deterministic(moto_aws, dist, run_cli):
    tokens = []
    for _ in range(2):
        with ServiceCatalogDouble(template_checker=s3_template_checker) as double:
            # one at a time: the double's generated ids (part of some requests) then come in the same order
            assert run_cli("publish", dist, "--max-parallel", "1").code == 0
            tokens.append(sorted(c.params["IdempotencyToken"] for c in double.calls if "IdempotencyToken" in c.params))
        client("s3").delete_objects(Bucket=BUCKET, Delete={"Objects": [
            {"Key": o["Key"]} for o in client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]})
    assert tokens[0] == tokens[1] and len(tokens[0]) == 2 + 3 + 4


def test_throttling_is_retried(double, dist, run_cli, no_sleep, runtime_factory):
    double.throttle("ListPortfolios", times=2)
    double.throttle("CreateProduct", times=3)
    double.throttle("CreateConstraint", times=1, on_call=2)
    runtime = runtime_factory()
    # one action at a time: a throttled request's retry is the next call of its operation
    run = run_cli("publish", dist, "--max-parallel", "1", runtime=runtime)
    assert run.code == 0, run.out + run.err
    assert [c.error for c in double.ops("CreateProduct")][:4] == ["ThrottlingException"] * 3 + [None]
    assert len(double.region("us-east-1").products) == 3
    assert no_sleep  # backed off
    # botocore's retries, not the publisher's: each throttled request is followed by the very same
    # request (same parameters, same IdempotencyToken) that succeeds, within one API call
    for operation, throttled in (("ListPortfolios", [0, 1]), ("CreateProduct", [0, 1, 2]), ("CreateConstraint", [1])):
        calls = double.ops(operation)
        for index in throttled:
            assert calls[index].error == "ThrottlingException", (operation, index)
        retried = calls[throttled[0]:throttled[-1] + 2]
        assert [c.error for c in retried] == ["ThrottlingException"] * len(throttled) + [None], operation
        assert all(c.params == retried[-1].params for c in retried), operation
    counted = runtime.counter.counts
    assert counted[("servicecatalog", "CreateProduct")] == 3 and len(double.ops("CreateProduct")) == 6
    assert counted[("servicecatalog", "ListPortfolios")] == 1 and len(double.ops("ListPortfolios")) == 3
    assert counted[("servicecatalog", "CreateConstraint")] == 4 and len(double.ops("CreateConstraint")) == 5


def test_throttling_beyond_max_attempts_fails_cleanly(double, dist, run_cli):
    double.throttle("CreatePortfolio", times=50)
    run = run_cli("publish", dist, "--max-parallel", "1")
    assert run.code == 1
    assert "ThrottlingException from CreatePortfolio" in run.out
    assert "Applied before the failure (5)" in run.out  # the S3 uploads


def test_constraint_right_after_association_is_retried(moto_aws, dist, run_cli):
    with ServiceCatalogDouble(template_checker=s3_template_checker, association_lag=2) as double:
        run = run_cli("publish", dist)
        assert run.code == 0, run.out
        errors = [c.error for c in double.ops("CreateConstraint")]
        assert errors.count("ResourceNotFoundException") == 8 and errors.count(None) == 4


def test_share_in_progress_is_retried(double, dist, run_cli):
    double.inject("CreatePortfolioShare", "InvalidStateException", times=2)
    run = run_cli("publish", dist)
    assert run.code == 0, run.out
    assert [c.error for c in double.ops("CreatePortfolioShare")][:3] == ["InvalidStateException"] * 2 + [None]


def test_share_busy_beyond_the_timeout_fails_after_bounded_retries(double, dist, run_cli):
    double.inject("CreatePortfolioShare", "InvalidStateException", times=10_000)
    run = run_cli("publish", dist, "--share-timeout", "60", "--max-parallel", "1")
    assert run.code == 1
    assert "InvalidStateException from CreatePortfolioShare" in run.out
    assert len(double.ops("CreatePortfolioShare")) < 15


def test_share_completed_with_errors_is_reported(double, dist, run_cli):
    double.share_outcomes[OU] = ("COMPLETED_WITH_ERRORS", [
        {"Accounts": ["111122223333"], "Message": "Account is suspended", "Error": "InvalidAccount"}])
    run = run_cli("publish", dist)
    assert run.code == 1
    assert "completed with errors" in run.out and "111122223333" in run.out and "Account is suspended" in run.out
    assert len(ok_calls(double, "CreatePortfolioShare")) == 4  # the others still went ahead


def test_share_timeout(double, dist, run_cli):
    double.share_steps = (10_000, 20_000)
    run = run_cli("publish", dist, "--share-timeout", "30")
    assert run.code == 1
    assert "still" in run.out and "run publish again" in run.out


def test_failure_report_in_json(double, dist, run_cli):
    double.inject("CreateConstraint", "InjectedFault", on_call=1)
    run = run_cli("publish", dist, "--format", "json", "--max-parallel", "1")
    assert run.code == 1
    result = run.json["result"]
    region = result["regions"][0]
    assert result["ok"] is False
    assert region["failed"]["action"]["resource"] == "constraint"
    assert "InjectedFault" in region["failed"]["message"]
    assert len(region["applied"]) == 19 and len(region["remaining"]) == 7 + 5  # and the 5 applied digests
    assert all(a["kind"] in ("create", "share") or a["resource"] == "ledger" for a in region["remaining"])


# ------------------------------------------------------------------------------------------ bad input


def test_malformed_manifest_never_reaches_aws(double, dist, run_cli, runtime_factory):
    (dist / "manifest.json").write_text("{ not json")
    runtime = runtime_factory()
    run = run_cli("publish", dist, runtime=runtime)
    assert run.code == 2
    assert "not valid JSON" in run.err
    assert double.calls == [] and not runtime.counter.counts


def test_invalid_manifest_lists_every_problem(double, dist, run_cli, runtime_factory):
    manifest = json.loads((dist / "manifest.json").read_text())
    manifest["portfolios"]["sagemaker-projects"]["tags"]["bad;key"] = "x"
    manifest["portfolios"]["sagemaker-projects"]["shares"][1]["share_principals"] = True
    manifest["products"]["model-build"]["template_sha256"] = "0" * 64
    (dist / "manifest.json").write_text(json.dumps(manifest))
    runtime = runtime_factory()
    run = run_cli("publish", dist, runtime=runtime)
    assert run.code == 2
    assert "bad;key" in run.err and "share_principals is only supported" in run.err and "sha256" in run.err
    assert double.calls == [] and not runtime.counter.counts


@pytest.mark.parametrize("args", [["--keep-versions", "0"], ["--prefix", "a/../b"], ["--share-timeout", "0"]])
def test_bad_options_exit_2(double, dist, run_cli, args):
    assert run_cli("publish", dist, *args).code == 2
    assert double.calls == []


def test_bad_bucket_name_exits_2(double, dist, run_cli):
    assert run_cli("publish", dist, bucket="Not_A_Bucket").code == 2


def test_missing_bucket_is_reported_before_any_change(double, dist, run_cli):
    run = run_cli("publish", dist, bucket="no-such-bucket")
    assert run.code == 1
    assert "does not exist" in run.err and "Nothing was changed" in run.err
    assert double.calls == []


def test_region_quota_stops_before_anything_is_written(double, dist, run_cli):
    for i in range(99):
        double.call("CreatePortfolio", {"DisplayName": f"other {i}", "ProviderName": "x",
                                        "IdempotencyToken": f"other-{i}"})
    double.reset_calls()
    run = run_cli("publish", dist)
    assert run.code == 1 and "quota" in run.err
    assert double.writes() == []


# ------------------------------------------------------------------------------------------ organizations


def test_org_access_disabled_stops_with_instructions(double, dist, run_cli):
    double.set_org_access("DISABLED")
    run = run_cli("publish", dist)
    assert run.code == 1
    assert "aws servicecatalog enable-aws-organizations-access" in run.err
    assert "Nothing was changed" in run.err
    assert double.writes() == []
    assert not any(c.operation.endswith("PortfolioShare") for c in double.calls)


def _fake_response(status: int, parsed: dict):
    class Raw:
        def stream(self, **_):
            return iter([b""])

    return AWSResponse("https://organizations.us-east-1.amazonaws.com/", status, {}, Raw()), parsed


def _deny(status=403, code="AccessDeniedException"):
    return lambda **_: _fake_response(status, {"Error": {"Code": code, "Message": "denied"}})


def test_not_management_nor_delegated_admin_stops(double, dist, run_cli, runtime_factory):
    runtime = runtime_factory()
    runtime.session.events.register(
        "before-call.organizations.DescribeOrganization",
        lambda **_: _fake_response(200, {"Organization": {"Id": ORG, "MasterAccountId": "999999999999"}}))
    run = run_cli("publish", dist, runtime=runtime)
    assert run.code == 1
    assert "register-delegated-administrator" in run.err and "--service-principal servicecatalog.amazonaws.com" in (
        run.err)
    assert double.writes() == []


def test_delegated_admin_is_accepted(double, dist, run_cli, runtime_factory):
    runtime = runtime_factory()
    runtime.session.events.register(
        "before-call.organizations.DescribeOrganization",
        lambda **_: _fake_response(200, {"Organization": {"Id": ORG, "MasterAccountId": "999999999999"}}))
    seen = []

    def admins(params=None, **_):
        seen.append(params)
        return _fake_response(200, {"DelegatedAdministrators": [{"Id": "123456789012"}]})

    runtime.session.events.register("before-call.organizations.ListDelegatedAdministrators", admins)
    run = run_cli("publish", dist, runtime=runtime)
    assert run.code == 0, run.err
    assert "delegated administrator 123456789012" in run.out
    assert seen and b"servicecatalog.amazonaws.com" in seen[0]["body"]


def test_delegated_admin_that_cannot_list_admins_falls_back(double, dist, run_cli, runtime_factory):
    runtime = runtime_factory()
    runtime.session.events.register("before-call.organizations.DescribeOrganization", _deny())
    runtime.session.events.register("before-call.organizations.ListDelegatedAdministrators", _deny())
    run = run_cli("publish", dist, runtime=runtime)
    assert run.code == 0, run.err
    assert "taken to be a delegated administrator" in run.out


# ------------------------------------------------------------------------------------------ S3, regions, env


def test_sse_kms_uploads(double, dist, run_cli):
    key_id = client("kms").create_key()["KeyMetadata"]["KeyId"]
    assert run_cli("publish", dist).code == 0  # first without KMS
    double.reset_calls()
    run = run_cli("publish", dist, "--kms-key-id", key_id)
    assert run.code == 0
    assert run.out.count("~ update    s3-object") == 5  # re-encrypted
    head = client("s3").head_object(Bucket=BUCKET, Key=next(
        o["Key"] for o in client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]))
    assert head["ServerSideEncryption"] == "aws:kms"
    for obj in client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]:
        assert client("s3").head_object(Bucket=BUCKET, Key=obj["Key"])["SSEKMSKeyId"] == key_id
    assert [c for c in double.writes() if not is_ledger_write(c)] == []  # the products' digests cover the key
    assert "nothing to change" in run_cli("publish", dist, "--kms-key-id", key_id).out


def _kms_key_ids():
    return {client("s3").head_object(Bucket=BUCKET, Key=o["Key"]).get("SSEKMSKeyId")
            for o in client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]}


def test_changing_the_kms_key_re_encrypts(double, dist, run_cli):
    kms = client("kms")
    first = kms.create_key()["KeyMetadata"]
    second = kms.create_key()["KeyMetadata"]
    assert run_cli("publish", dist, "--kms-key-id", first["KeyId"]).code == 0
    assert _kms_key_ids() == {first["KeyId"]}
    run = run_cli("publish", dist, "--kms-key-id", second["KeyId"])
    assert run.code == 0, run.err
    assert run.out.count("~ update    s3-object") == 5
    assert _kms_key_ids() == {second["KeyId"]}
    assert "nothing to change" in run_cli("publish", dist, "--kms-key-id", second["KeyId"]).out


def test_kms_alias_is_compared_with_the_key_it_names(double, dist, run_cli):
    kms = client("kms")
    key = kms.create_key()["KeyMetadata"]
    other = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/smcat", TargetKeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/smcat-other", TargetKeyId=other["KeyId"])
    assert run_cli("publish", dist, "--kms-key-id", key["Arn"]).code == 0
    # the same key by its alias: nothing to re-encrypt
    assert "nothing to change" in run_cli("publish", dist, "--kms-key-id", "alias/smcat").out
    run = run_cli("publish", dist, "--kms-key-id", "alias/smcat-other")
    assert run.code == 0 and run.out.count("~ update    s3-object") == 5
    assert _kms_key_ids() == {"alias/smcat-other"}  # S3 would answer with the key ARN; moto echoes


def test_unknown_kms_key_stops_before_any_change(double, dist, run_cli):
    run = run_cli("publish", dist, "--kms-key-id", "alias/no-such-key")
    assert run.code == 1
    assert "KMS key alias/no-such-key does not exist" in run.err and "Nothing was changed" in run.err
    assert double.writes() == []


def test_several_regions(double, dist, run_cli):
    for region in ("us-east-1", "eu-west-1"):
        client("s3", region).create_bucket(
            Bucket=f"smcat-art-{region}",
            **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}))
    run = run_cli("publish", dist, "--region", "us-east-1", "--region", "eu-west-1",
                  bucket="smcat-art-{region}")
    assert run.code == 0, run.err
    for region in ("us-east-1", "eu-west-1"):
        assert len(double.region(region).products) == 3
        url = next(iter(double.region(region).products.values()))["Artifacts"][0]["Info"]["LoadTemplateFromURL"]
        assert url.startswith(f"https://smcat-art-{region}.s3.{region}.amazonaws.com/")
    # each region's rendered template points its seed code at that region's bucket
    product = json.loads((dist / "manifest.json").read_text())["products"]["model-build"]
    for region in ("us-east-1", "eu-west-1"):
        bucket = f"smcat-art-{region}"
        body = client("s3", region).get_object(
            Bucket=bucket, Key=f"smcat/templates/model-build/{product['content_hash']}.json")["Body"].read()
        parameters = json.loads(body)["Parameters"]
        assert parameters["SeedCodeBucket"]["Default"] == bucket
        seed_key = parameters["SeedCodeModelbuildKey"]["Default"]
        assert seed_key == f"smcat/seedcode/modelbuild/{product['seedcode']['modelbuild']['sha256']}.zip"
        client("s3", region).head_object(Bucket=bucket, Key=seed_key)


def test_one_bucket_for_several_regions_gives_urls_in_the_bucket_region(double, dist, run_cli):
    bucket = "smcat-shared-eu"
    client("s3", "eu-west-1").create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    run = run_cli("publish", dist, "--region", "us-east-1", "--region", "eu-west-1", bucket=bucket)
    assert run.code == 0, run.err + run.out
    for region in ("us-east-1", "eu-west-1"):
        products = double.region(region).products.values()
        assert len(products) == 3
        for product in products:
            url = product["Artifacts"][0]["Info"]["LoadTemplateFromURL"]
            assert url.startswith(f"https://{bucket}.s3.eu-west-1.amazonaws.com/smcat/templates/"), url
    assert f"artifact bucket {bucket} is in eu-west-1, not us-east-1" in run.out


def test_template_checker_wants_the_bucket_region_in_the_url(double):
    client("s3").put_object(Bucket=BUCKET, Key="t.json", Body=b"{}")
    assert s3_template_checker(f"https://{BUCKET}.s3.us-east-1.amazonaws.com/t.json")
    assert s3_template_checker(f"https://s3.us-east-1.amazonaws.com/{BUCKET}/t.json")
    assert not s3_template_checker(f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/t.json")
    assert not s3_template_checker(f"https://{BUCKET}.s3.us-east-1.amazonaws.com/missing.json")


def test_aws_endpoint_url_is_respected(aws_env, monkeypatch):
    from generator.publish.aws import Runtime

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ENDPOINT_URL_SERVICE_CATALOG", "http://127.0.0.1:4567")
    runtime = Runtime()
    assert runtime.client("s3", "us-east-1").meta.endpoint_url == "http://127.0.0.1:4566"
    assert runtime.client("servicecatalog", "us-east-1").meta.endpoint_url == "http://127.0.0.1:4567"
    config = runtime.client("servicecatalog", "us-east-1").meta.config
    assert config.retries["mode"] == "adaptive"


def test_default_region_comes_from_the_environment(double, dist, run_cli, monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    run = run_cli("plan", dist)
    assert "Plan for us-east-1" in run.out


def test_unknown_profile_is_bad_input(double, dist, run_cli, runtime_factory):
    run = run_cli("plan", dist, "--profile", "nope", runtime=runtime_factory(profile="nope"))
    assert run.code == 2 and "nope" in run.err
    assert double.calls == []


def test_no_region_is_bad_input(double, dist, run_cli, monkeypatch):
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    run = run_cli("plan", dist)
    assert run.code == 2 and "no region" in run.err


def test_share_of_a_portfolio_without_configured_shares_is_reported(double, tmp_path, run_cli):
    """Shares are read even when none is configured and --prune is off: the plan reports the stray one."""
    spec = default_spec()
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    spec["portfolios"]["data-science"]["shares"] = []
    changed = build_dist(tmp_path / "b", spec)
    double.reset_calls()
    run = run_cli("plan", changed)
    assert run.code == 0, run.err
    assert ("portfolio data-science is shared with ORGANIZATIONAL_UNIT ou-ab12-zzzzzzzz, which is not "
            "configured; run with --prune to remove the share (kept)") in run.out
    assert double.writes() == []
    # reads stay one list per share type per portfolio read in full (the unchanged one's digest vouches for it)
    assert double.counts()["DescribePortfolioShares"] == 3
    pruned = run_cli("plan", changed, "--prune")
    assert "< unshare   share       portfolio/data-science/share/ORGANIZATIONAL_UNIT/ou-ab12-zzzzzzzz" in pruned.out


def test_plan_prints_the_whole_plan_then_the_preflight_problem(double, dist, run_cli):
    double.set_org_access("DISABLED")
    run = run_cli("plan", dist)
    assert run.code == 1
    # the full plan first: every region, every action, the summary line ...
    assert "Plan for us-east-1" in run.out
    assert "+ create    portfolio   portfolio/sagemaker-projects" in run.out
    assert run.out.count("> share") == 4 and "Summary:" in run.out
    # ... then what stops it
    assert "aws servicecatalog enable-aws-organizations-access" in run.err
    assert double.writes() == []


def test_preflight_failure_in_json_is_one_object_on_stdout(double, dist, run_cli):
    double.set_org_access("DISABLED")
    for command in ("plan", "publish"):
        run = run_cli(command, dist, "--format", "json")
        assert run.code == 1
        answer = run.json  # stdout is one JSON object
        assert answer["status"] == "failed"
        assert "enable-aws-organizations-access" in answer["error"]
        assert answer["applied"] == []
        assert len(answer["remaining"]) == 27 + 5 and answer["plan"]["counts"]["share"] == 4  # + applied digests
        assert "enable-aws-organizations-access" in run.err  # and the message for people
    assert double.writes() == []
    assert client("s3").list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_apply_failure_in_json_has_status_error_applied_remaining(double, dist, run_cli):
    double.inject("CreateConstraint", "InjectedFault", on_call=1)
    run = run_cli("publish", dist, "--format", "json", "--max-parallel", "1")
    assert run.code == 1
    answer = run.json
    assert answer["status"] == "failed"
    assert "InjectedFault" in answer["error"] and "constraint" in answer["error"]
    assert len(answer["applied"]) == 19 and len(answer["remaining"]) == 7 + 5  # + the applied digests
    assert answer["remaining"][0]["resource"] == "constraint"
    assert "InjectedFault" in run.err


def test_state_error_and_bad_input_in_json(double, dist, run_cli):
    run = run_cli("publish", dist, "--format", "json", bucket="no-such-bucket")
    assert run.code == 1
    assert run.json["status"] == "failed" and "does not exist" in run.json["error"]
    assert run.json["applied"] == [] and run.json["remaining"] == []
    assert "does not exist" in run.err
    run = run_cli("publish", dist, "--format", "json", "--keep-versions", "0")
    assert run.code == 2
    assert run.json["status"] == "bad-input" and "--keep-versions" in run.json["error"]
    assert "--keep-versions" in run.err


def test_kms_key_id_region_placeholder(double, dist, run_cli):
    keys = {}
    for region in ("us-east-1", "eu-west-1"):
        client("s3", region).create_bucket(
            Bucket=f"smcat-art-{region}",
            **({} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}))
        kms = client("kms", region)
        keys[region] = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=f"alias/smcat-{region}", TargetKeyId=keys[region])
    run = run_cli("publish", dist, "--region", "us-east-1", "--region", "eu-west-1",
                  "--kms-key-id", "alias/smcat-{region}", bucket="smcat-art-{region}")
    assert run.code == 0, run.err + run.out
    for region in ("us-east-1", "eu-west-1"):
        s3 = client("s3", region)
        objects = s3.list_objects_v2(Bucket=f"smcat-art-{region}")["Contents"]
        assert len(objects) == 5
        for obj in objects:
            head = s3.head_object(Bucket=f"smcat-art-{region}", Key=obj["Key"])
            assert head["ServerSideEncryption"] == "aws:kms"
            assert head["SSEKMSKeyId"] == f"alias/smcat-{region}"


def test_new_bucket_or_prefix_publishes_new_versions_there(double, dist, run_cli):
    """The template bakes in the bucket and seed keys: moving them must move the live versions."""
    assert run_cli("publish", dist).code == 0
    other = "smcat-artifacts-new"
    client("s3").create_bucket(Bucket=other)
    double.reset_calls()
    run = run_cli("publish", dist, "--keep-versions", "1", bucket=other)
    assert run.code == 0, run.err + run.out
    created = ok_calls(double, "CreateProvisioningArtifact")
    assert len(created) == 3
    for call in created:
        assert call.params["Parameters"]["Info"]["LoadTemplateFromURL"].startswith(
            f"https://{other}.s3.us-east-1.amazonaws.com/smcat/templates/")
    assert len(ok_calls(double, "UpdateProvisioningArtifact")) == 3  # the old bucket's versions deprecated
    for product in region_state(double).products.values():
        guidance = [(a["Info"]["LoadTemplateFromURL"].split(".s3.")[0], a["Guidance"]) for a in product["Artifacts"]]
        assert guidance == [(f"https://{BUCKET}", "DEPRECATED"), (f"https://{other}", "DEFAULT")]
    manifest = json.loads((dist / "manifest.json").read_text())
    key = f"smcat/templates/model-build/{manifest['products']['model-build']['content_hash']}.json"
    template = json.loads(client("s3").get_object(Bucket=other, Key=key)["Body"].read())
    assert template["Parameters"]["SeedCodeBucket"]["Default"] == other
    double.reset_calls()
    assert run_cli("publish", dist, "--keep-versions", "1", bucket=other).code == 0
    assert double.writes() == []

    run = run_cli("publish", dist, "--keep-versions", "1", "--prefix", "catalog/v2", bucket=other)
    assert run.code == 0, run.err + run.out
    created = ok_calls(double, "CreateProvisioningArtifact")
    assert len(created) == 3
    assert all("/catalog/v2/templates/" in c.params["Parameters"]["Info"]["LoadTemplateFromURL"] for c in created)
    names = {c.params["Parameters"]["Name"] for c in created}
    assert all(n.startswith("1.0.0+") for n in names)  # unique among the product's versions


# ------------------------------------------------------------------------------------------ stale replays


def _constraints(double, portfolio_name, product_name):
    state = region_state(double)
    portfolio = next(pid for pid, p in state.portfolios.items() if p["DisplayName"] == portfolio_name)
    product = next(pid for pid, p in state.products.items() if p["Name"] == product_name)
    return [c for c in state.constraints.values() if (c["PortfolioId"], c["ProductId"]) == (portfolio, product)]


def test_constraint_is_recreated_after_prune_and_re_add(double, tmp_path, run_cli):
    """Scenario: publish, prune a product from a portfolio, add it back, publish."""
    spec = default_spec()
    original = build_dist(tmp_path / "a", spec)
    assert run_cli("publish", original).code == 0
    spec["portfolios"]["data-science"]["products"] = []
    assert run_cli("publish", build_dist(tmp_path / "b", spec), "--prune").code == 0
    assert _constraints(double, "Data science sandbox", "batch-inference") == []
    double.reset_calls()
    run = run_cli("publish", original)
    assert run.code == 0, run.out + run.err
    constraints = _constraints(double, "Data science sandbox", "batch-inference")
    assert [json.loads(c["Parameters"]) for c in constraints] == [
        {"RoleArn": "arn:aws:iam::123456789012:role/SCLaunchRole"}]
    double.reset_calls()
    again = run_cli("publish", original)
    assert again.code == 0 and double.writes() == [], again.out


def test_constraint_deleted_by_hand_is_recreated_once(double, dist, run_cli):
    """Scenario: a launch constraint deleted by hand, publish twice."""
    assert run_cli("publish", dist).code == 0
    [gone] = _constraints(double, "SageMaker MLOps project templates", "model-build")
    double.call("DeleteConstraint", {"Id": gone["ConstraintId"]})
    first = run_cli("publish", dist, "--refresh")  # a change made outside smcat: the digest still vouches
    assert first.code == 0, first.out + first.err
    [made] = _constraints(double, "SageMaker MLOps project templates", "model-build")
    assert made["ConstraintId"] != gone["ConstraintId"]
    # the first token was the original one, answered with the deleted constraint; the salted one made it
    tokens = [c.params["IdempotencyToken"] for c in double.ops("CreateConstraint")[-2:]]
    assert len(set(tokens)) == 2
    double.reset_calls()
    second = run_cli("publish", dist)
    assert second.code == 0 and double.writes() == [], second.out


def test_constraint_survives_a_failed_role_change_and_a_revert(double, tmp_path, run_cli):
    """Scenario: change the launch role, fail while changing the constraint, revert, publish."""
    spec = default_spec()
    original = build_dist(tmp_path / "a", spec)
    assert run_cli("publish", original).code == 0
    expected = double.snapshot()
    spec["portfolios"]["data-science"]["launch_constraint"] = {"LocalRoleName": "OtherLaunchRole"}
    double.inject("UpdateConstraint", "InjectedFault")
    double.inject("CreateConstraint", "InjectedFault")
    assert run_cli("publish", build_dist(tmp_path / "b", spec)).code == 1
    run = run_cli("publish", original)
    assert run.code == 0, run.out + run.err
    assert double.snapshot() == expected
    double.reset_calls()
    assert run_cli("publish", original).code == 0 and double.writes() == []


def test_constraint_removed_between_plan_and_change_is_created(double, tmp_path, run_cli, runtime_factory):
    spec = default_spec()
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
    spec["portfolios"]["data-science"]["launch_constraint"] = {"LocalRoleName": "OtherLaunchRole"}
    [gone] = _constraints(double, "Data science sandbox", "batch-inference")
    runtime = runtime_factory()
    # someone deletes the constraint after it was read, right before the publisher changes it

    def delete_first(**_):
        double.call("DeleteConstraint", {"Id": gone["ConstraintId"]})  # returns None: the call goes on

    runtime.session.events.register("before-call.servicecatalog.UpdateConstraint", delete_first)
    run = run_cli("publish", build_dist(tmp_path / "b", spec), runtime=runtime)
    assert run.code == 0, run.out + run.err
    [made] = _constraints(double, "Data science sandbox", "batch-inference")
    assert json.loads(made["Parameters"]) == {"LocalRoleName": "OtherLaunchRole"}
    assert made["ConstraintId"] != gone["ConstraintId"]
    assert [c.error for c in double.ops("UpdateConstraint")] == ["ResourceNotFoundException"]


def _delete_portfolio_by_hand(double, display_name):
    state = region_state(double)
    pid = next(p for p, v in state.portfolios.items() if v["DisplayName"] == display_name)
    for c in [c for c in state.constraints.values() if c["PortfolioId"] == pid]:
        double.call("DeleteConstraint", {"Id": c["ConstraintId"]})
    for product in list(state.portfolio_products.get(pid, [])):
        double.call("DisassociateProductFromPortfolio", {"PortfolioId": pid, "ProductId": product})
    for arn, kind in list(state.principals.get(pid, {}).items()):
        double.call("DisassociatePrincipalFromPortfolio", {"PortfolioId": pid, "PrincipalARN": arn,
                                                           "PrincipalType": kind})
    state.shares.pop(pid, None)  # (share removal is asynchronous; not what this is about)
    double.call("DeletePortfolio", {"Id": pid})
    return pid


def test_portfolio_deleted_by_hand_is_recreated(double, dist, run_cli):
    assert run_cli("publish", dist).code == 0
    expected = double.snapshot()
    gone = _delete_portfolio_by_hand(double, "Data science sandbox")
    run = run_cli("publish", dist)
    assert run.code == 0, run.out + run.err
    assert double.snapshot() == expected
    made = next(p for p, v in region_state(double).portfolios.items() if v["DisplayName"] == "Data science sandbox")
    assert made != gone
    double.reset_calls()
    assert run_cli("publish", dist).code == 0 and double.writes() == []


def test_product_deleted_by_hand_is_recreated(double, dist, run_cli):
    assert run_cli("publish", dist).code == 0
    expected = double.snapshot()
    state = region_state(double)
    gone = next(p for p, v in state.products.items() if v["Name"] == "model-deploy")
    for c in [c for c in state.constraints.values() if c["ProductId"] == gone]:
        double.call("DeleteConstraint", {"Id": c["ConstraintId"]})
    for pid, members in state.portfolio_products.items():
        if gone in members:
            double.call("DisassociateProductFromPortfolio", {"PortfolioId": pid, "ProductId": gone})
    double.call("DeleteProduct", {"Id": gone})
    run = run_cli("publish", dist)
    assert run.code == 0, run.out + run.err
    assert without_digests(double.snapshot()) == without_digests(expected)
    assert gone not in region_state(double).products
    double.reset_calls()
    assert run_cli("publish", dist).code == 0 and double.writes() == []


def test_version_deleted_by_hand_is_recreated(double, tmp_path, run_cli):
    spec = default_spec()
    first = build_dist(tmp_path / "a", spec)
    assert run_cli("publish", first).code == 0
    spec["products"]["model-build"]["version"] = "1.1.0"
    spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": "v2\n"}
    second = build_dist(tmp_path / "b", spec)
    assert run_cli("publish", second).code == 0
    product_id, product = next((k, v) for k, v in region_state(double).products.items() if v["Name"] == "model-build")
    gone = product["Artifacts"][-1]["Id"]
    double.call("DeleteProvisioningArtifact", {"ProductId": product_id, "ProvisioningArtifactId": gone})
    run = run_cli("publish", second, "--refresh")  # a change made outside smcat: the digest still vouches
    assert run.code == 0, run.out + run.err
    names = [(a["Name"], a["Guidance"]) for a in region_state(double).products[product_id]["Artifacts"]]
    assert names == [("1.0.0", "DEFAULT"), ("1.1.0", "DEFAULT")]
    assert region_state(double).products[product_id]["Artifacts"][-1]["Id"] != gone
    double.reset_calls()
    assert run_cli("publish", second).code == 0 and double.writes() == []


def test_limit_exceeded_is_not_retried(double, dist, run_cli, runtime_factory):
    """botocore counts LimitExceededException as throttling; for Service Catalog it is a quota."""
    double.inject("CreatePortfolio", "LimitExceededException", times=50, message="Portfolio limit reached")
    runtime = runtime_factory(max_attempts=10)
    run = run_cli("publish", dist, "--max-parallel", "1", runtime=runtime)
    assert run.code == 1
    assert "LimitExceededException from CreatePortfolio: Portfolio limit reached" in run.out
    assert [c.error for c in double.ops("CreatePortfolio")] == ["LimitExceededException"]  # one attempt
    double.clear_faults()
    # throttling itself is still retried by the same client
    double.throttle("CreatePortfolio", times=2)
    assert run_cli("publish", dist, runtime=runtime).code == 0
    assert [c.error for c in double.ops("CreatePortfolio")][1:4] == ["ThrottlingException"] * 2 + [None]


def _steps(actions):
    return [(a["region"], a["kind"], a["resource"], a["target"]) for a in actions]


@pytest.mark.parametrize("change", ["first", "changes"])
def test_publish_applies_exactly_the_planned_actions(double, tmp_path, run_cli, change):
    spec = default_spec()
    if change == "changes":
        assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
        spec["products"]["model-build"]["version"] = "1.1.0"
        spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": "v2\n"}
        spec["portfolios"]["data-science"]["launch_constraint"] = {"LocalRoleName": "OtherLaunchRole"}
        spec["portfolios"]["data-science"]["products"].append("model-deploy")
        spec["portfolios"]["sagemaker-projects"]["shares"][0]["share_tag_options"] = False
        spec["portfolios"]["sagemaker-projects"]["tag_options"] = {"cost-center": ["ml-1", "ml-9"]}
    dist = build_dist(tmp_path / "b", spec)
    planned = run_cli("plan", dist, "--format", "json", "--keep-versions", "1")
    assert planned.code == 0
    writes = [a for r in planned.json["plan"]["regions"] for a in r["actions"] if a["kind"] != "noop"]
    published = run_cli("publish", dist, "--format", "json", "--keep-versions", "1")
    assert published.code == 0, published.err
    assert published.json["status"] == "ok"
    assert writes and _steps(published.json["applied"]) == _steps(writes)
    assert published.json["applied"] == writes  # details included
    assert published.json["remaining"] == []


def _noop_reads(run_cli, runtime_factory, dist, double) -> dict:
    runtime = runtime_factory()
    double.reset_calls()
    assert run_cli("publish", dist, runtime=runtime).code == 0
    assert double.writes() == []
    return {key: n for key, n in runtime.counter.counts.items() if is_read_operation(key[1])}


def test_noop_reads_do_not_grow_with_versions_or_share_targets(moto_aws, tmp_path, run_cli, runtime_factory):
    spec = default_spec()
    with ServiceCatalogDouble(template_checker=s3_template_checker) as double:
        dist = build_dist(tmp_path / "v0", spec)
        assert run_cli("publish", dist).code == 0
        baseline = _noop_reads(run_cli, runtime_factory, dist, double)
        for version in range(1, 6):  # five more versions of two products
            for key in ("model-build", "model-deploy"):
                spec["products"][key]["version"] = f"1.{version}.0"
                seed = next(iter(spec["products"][key]["seeds"]))
                spec["products"][key]["seeds"][seed] = {"main.py": f"v{version}\n"}
            dist = build_dist(tmp_path / f"v{version}", spec)
            assert run_cli("publish", dist).code == 0
        assert len(next(p for p in double.region(REGION).products.values() if p["Name"] == "model-build")[
            "Artifacts"]) == 6
        assert _noop_reads(run_cli, runtime_factory, dist, double) == baseline

    spec = default_spec()
    for key, portfolio in spec["portfolios"].items():  # twice the share targets
        extra = [{**share, "value": share["value"][:-3] + "xyz"} if share["type"] == "ORGANIZATIONAL_UNIT"
                 else {**share, "value": "1" + share["value"][1:]} for share in portfolio["shares"]
                 if share["type"] != "ORGANIZATION"]
        extra += [{"type": "ORGANIZATIONAL_UNIT", "value": f"ou-ab12-{key[:4]}{i:04d}", "share_principals": False,
                   "share_tag_options": False} for i in range(len(portfolio["shares"]) - len(extra))]
        portfolio["shares"] = portfolio["shares"] + extra
    assert sum(len(p["shares"]) for p in spec["portfolios"].values()) == 8
    with ServiceCatalogDouble(template_checker=s3_template_checker) as double:
        dist = build_dist(tmp_path / "shares", spec)
        assert run_cli("publish", dist).code == 0
        assert sum(len(s) for s in double.region(REGION).shares.values()) == 8
        assert _noop_reads(run_cli, runtime_factory, dist, double) == baseline


def test_mixed_studio_visibility(double, tmp_path, run_cli):
    """A product in a Studio-visible portfolio and in one that is not is tagged (Studio lists it
    through the visible portfolio); one only in the other portfolio is not; the tag follows moves."""
    spec = default_spec()
    spec["portfolios"]["sagemaker-projects"]["products"] = ["model-build", "batch-inference"]
    spec["portfolios"]["data-science"]["products"] = ["model-deploy", "batch-inference"]
    assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0

    def tagged():
        return {p["Name"]: p["Tags"].get("sagemaker:studio-visibility")
                for p in region_state(double).products.values()}

    assert tagged() == {"model-build": "true", "batch-inference": "true", "model-deploy": None}
    spec["portfolios"]["sagemaker-projects"]["products"] = ["model-build"]
    spec["portfolios"]["data-science"]["products"] = ["model-deploy", "batch-inference"]
    assert run_cli("publish", build_dist(tmp_path / "b", spec)).code == 0
    assert tagged() == {"model-build": "true", "batch-inference": None, "model-deploy": None}


# ------------------------------------------------------------------------------ a reviewed plan, applied later


def test_publish_applies_a_saved_plan_that_still_holds(double, dist, run_cli, tmp_path):
    saved = tmp_path / "plan.json"
    assert run_cli("plan", dist, "--out", str(saved)).code == 0
    assert double.writes() == [] and json.loads(saved.read_text())["plan"]["counts"]["share"] == 4
    run = run_cli("publish", dist, "--plan", str(saved))
    assert run.code == 0, run.err + run.out
    assert "CreatePortfolio" in write_ops(double)


def test_publish_refuses_a_saved_plan_the_live_state_no_longer_gives(double, dist, run_cli, tmp_path):
    saved = tmp_path / "plan.json"
    assert run_cli("plan", dist, "--out", str(saved)).code == 0
    assert run_cli("publish", dist).code == 0  # someone else published in between
    writes = len(double.writes())
    run = run_cli("publish", dist, "--plan", str(saved))
    assert run.code == 1
    assert "the live state or the build changed since this plan was made (the actions differ in us-east-1)" in run.err
    assert len(double.writes()) == writes  # nothing applied


def test_publish_refuses_a_saved_plan_for_other_options(double, dist, run_cli, tmp_path):
    saved = tmp_path / "plan.json"
    assert run_cli("plan", dist, "--out", str(saved)).code == 0
    run = run_cli("publish", dist, "--plan", str(saved), "--keep-versions", "7")
    assert run.code == 1 and "the publish options differ" in run.err
    assert double.writes() == []


def test_publish_with_an_unreadable_plan_is_bad_input(double, dist, run_cli, tmp_path):
    saved = tmp_path / "plan.json"
    saved.write_text("not json")
    run = run_cli("publish", dist, "--plan", str(saved))
    assert run.code == 2 and "not a plan written by `plan --out`" in run.err
    assert double.writes() == []
