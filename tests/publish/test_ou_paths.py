"""OU paths as share targets (Root/Workloads/ML), resolved through AWS Organizations (moto's real OU tree) at
plan time: one OU share, the expansion an exclusion needs, optional paths, missing paths (exit 2), what plan
shows, and the CreatePortfolioShare calls a publish makes through the Service Catalog double."""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from generator.errors import InputError
from generator.portfolio import load_portfolios
from generator.publish.manifest import ManifestError, load_catalog
from tests.fakes.catalog import build_dist, default_spec
from tests.fakes.s3templates import TEMPLATES_BUCKET, build_s3_dist, s3_spec
from tests.publish.conftest import client

FILE = "portfolios/sagemaker-projects.yaml"


@dataclass
class Org:
    id: str
    root: str
    management: str
    ous: dict[str, str]  # path -> id
    accounts: dict[str, list[str]]  # path of the parent -> account ids directly in it


@pytest.fixture
def org(double) -> Org:
    """Root
         Workloads            (account wl)
           ML                 (accounts ml-1, ml-2)
             Dev  (dev)   Prod (prod)   Sandbox (sandbox)
           Web
         Security
       plus the management account and one more account directly in Root."""
    orgs = client("organizations")
    described = orgs.describe_organization()["Organization"]
    root = orgs.list_roots()["Roots"][0]["Id"]
    tree = Org(described["Id"], root, described["MasterAccountId"], {"Root": root}, {})

    def ou(path: str) -> str:
        parent, _, name = path.rpartition("/")
        made = orgs.create_organizational_unit(ParentId=tree.ous[parent], Name=name)["OrganizationalUnit"]
        tree.ous[path] = made["Id"]
        return made["Id"]

    def account(name: str, parent: str) -> str:
        made = orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        if parent != "Root":
            orgs.move_account(AccountId=made, SourceParentId=root, DestinationParentId=tree.ous[parent])
        tree.accounts.setdefault(parent, []).append(made)
        return made

    for path in ("Root/Workloads", "Root/Workloads/ML", "Root/Workloads/ML/Dev", "Root/Workloads/ML/Prod",
                 "Root/Workloads/ML/Sandbox", "Root/Workloads/Web", "Root/Security"):
        ou(path)
    for name, parent in (("wl", "Root/Workloads"), ("ml-1", "Root/Workloads/ML"), ("ml-2", "Root/Workloads/ML"),
                         ("dev", "Root/Workloads/ML/Dev"), ("prod", "Root/Workloads/ML/Prod"),
                         ("sandbox", "Root/Workloads/ML/Sandbox"), ("loose", "Root")):
        account(name, parent)
    return tree


def path_share(path: str, *, exclude=(), optional=False, share_principals=True, share_tag_options=True) -> dict:
    """A share as the build writes an OU path target into the manifest."""
    return {"type": "OU_PATH", "value": path, "share_principals": share_principals,
            "share_tag_options": share_tag_options, "exclude": list(exclude), "optional": optional}


def dist_with(tmp_path: Path, *shares: dict, name: str = "b") -> Path:
    """The default catalog, its sagemaker-projects portfolio shared only as given, data-science not at all."""
    spec = default_spec()
    spec["portfolios"]["sagemaker-projects"]["shares"] = list(shares)
    spec["portfolios"]["data-science"]["shares"] = []
    return build_dist(tmp_path / name, spec)


def shared(double) -> set[tuple[str, str, bool, bool]]:
    """(type, value, SharePrincipals, ShareTagOptions) of each successful CreatePortfolioShare."""
    return {(c.params["OrganizationNode"]["Type"], c.params["OrganizationNode"]["Value"],
             c.params.get("SharePrincipals", False), c.params.get("ShareTagOptions", False))
            for c in double.ops("CreatePortfolioShare", ok_only=True)}


def errors(run) -> list[str]:
    return [line for line in run.err.splitlines() if line.startswith("error: ")]


def org_calls(runtime) -> dict[str, int]:
    return {op: n for (svc, op), n in runtime.counter.counts.items() if svc == "organizations" and n}


# ------------------------------------------------------------------------------------------ resolution


def test_a_path_without_exclusions_is_one_ou_share_of_the_id_it_names(org, double, tmp_path, run_cli, runtime_factory):
    dist = dist_with(tmp_path, path_share("Root/Workloads/ML"))
    ml = org.ous["Root/Workloads/ML"]
    plan = run_cli("plan", dist)
    assert plan.code == 0, plan.err + plan.out
    assert f"  portfolio sagemaker-projects shares[0]: Root/Workloads/ML -> {ml}" in plan.out.splitlines()
    assert f"> share     share       portfolio/sagemaker-projects/share/ORGANIZATIONAL_UNIT/{ml}" in plan.out

    runtime = runtime_factory()
    run = run_cli("publish", dist, runtime=runtime)
    assert run.code == 0, run.err + run.out
    assert shared(double) == {("ORGANIZATIONAL_UNIT", ml, True, True)}
    # each parent on the way read once: the root, then Root and Root/Workloads listed
    assert org_calls(runtime)["ListRoots"] == 1
    assert org_calls(runtime)["ListOrganizationalUnitsForParent"] == 2
    assert "ListAccountsForParent" not in org_calls(runtime)  # no exclusion: no account is looked at

    # published: a re-run is a no-op with the same resolution
    double.reset_calls()
    again = run_cli("publish", dist)
    assert again.code == 0 and double.writes() == []


def test_a_parent_with_more_ous_than_one_page_is_read_to_its_last_page(org, double, tmp_path, run_cli,
                                                                      runtime_factory):
    orgs = client("organizations")
    made = [orgs.create_organizational_unit(ParentId=org.ous["Root/Security"], Name=f"Team{i:02d}")
            ["OrganizationalUnit"]["Id"] for i in range(21)]  # Organizations pages these by 20 (moto too)
    runtime = runtime_factory()
    run = run_cli("plan", dist_with(tmp_path, path_share("Root/Security/Team20")), runtime=runtime)
    assert run.code == 0, run.err
    assert f"shares[0]: Root/Security/Team20 -> {made[20]}" in run.out
    assert org_calls(runtime)["ListOrganizationalUnitsForParent"] == 3  # Root, then Root/Security's two pages


def test_an_exclusion_shares_the_other_child_ous_and_the_accounts_directly_in_the_target(
        org, double, tmp_path, run_cli):
    dist = dist_with(tmp_path, path_share("Root/Workloads/ML", exclude=["Root/Workloads/ML/Sandbox"]))
    ous, accounts = org.ous, org.accounts
    run = run_cli("publish", dist)
    assert run.code == 0, run.err + run.out
    assert shared(double) == {
        ("ORGANIZATIONAL_UNIT", ous["Root/Workloads/ML/Dev"], True, True),
        ("ORGANIZATIONAL_UNIT", ous["Root/Workloads/ML/Prod"], True, True),
        # an ACCOUNT share cannot share principals (CreatePortfolioShare), so those go without
        *{("ACCOUNT", a, False, True) for a in accounts["Root/Workloads/ML"]},
    }
    assert all(c.params["OrganizationNode"]["Value"] not in (ous["Root/Workloads/ML"], ous["Root/Workloads/ML/Sandbox"])
               for c in double.ops("CreatePortfolioShare"))
    lines = run.out.splitlines()
    assert (f"  portfolio sagemaker-projects shares[0]: Root/Workloads/ML -> {ous['Root/Workloads/ML']} "
            "(4 shares after excluding Root/Workloads/ML/Sandbox)") in lines
    assert f"      ORGANIZATIONAL_UNIT {ous['Root/Workloads/ML/Dev']} (Root/Workloads/ML/Dev)" in lines
    assert f"      ACCOUNT {accounts['Root/Workloads/ML'][0]} (in Root/Workloads/ML)" in lines
    assert any("get ACCOUNT shares, which cannot share principals" in line for line in lines)


def test_a_deeper_exclusion_recurses_only_into_the_ous_on_its_way(org, double, tmp_path, run_cli):
    dist = dist_with(tmp_path, path_share("Root/Workloads", exclude=["Root/Workloads/ML/Sandbox"],
                                          share_principals=False, share_tag_options=False))
    ous, accounts = org.ous, org.accounts
    assert run_cli("publish", dist).code == 0
    assert shared(double) == {
        ("ORGANIZATIONAL_UNIT", ous["Root/Workloads/Web"], False, False),  # holds no excluded OU: shared whole
        ("ORGANIZATIONAL_UNIT", ous["Root/Workloads/ML/Dev"], False, False),
        ("ORGANIZATIONAL_UNIT", ous["Root/Workloads/ML/Prod"], False, False),
        *{("ACCOUNT", a, False, False) for a in accounts["Root/Workloads"] + accounts["Root/Workloads/ML"]},
    }


def test_root_is_the_organization_and_with_an_exclusion_never_the_publishing_account(org, double, tmp_path, run_cli):
    whole = run_cli("plan", dist_with(tmp_path, path_share("Root"), name="whole"))
    assert whole.code == 0, whole.err
    assert f"portfolio/sagemaker-projects/share/ORGANIZATION/{org.id}" in whole.out

    dist = dist_with(tmp_path, path_share("Root", exclude=["Root/Workloads"]), name="but")
    run = run_cli("publish", dist)
    assert run.code == 0, run.err + run.out
    assert shared(double) == {("ORGANIZATIONAL_UNIT", org.ous["Root/Security"], True, True),
                              *{("ACCOUNT", a, False, True) for a in org.accounts["Root"]}}
    assert (f"account {org.management} in Root is the publishing account, which holds the portfolio: not shared "
            "with itself") in run.out


def test_an_exclusion_that_does_not_exist_yet_still_keeps_the_target_from_being_shared_whole(
        org, double, tmp_path, run_cli):
    dist = dist_with(tmp_path, path_share("Root/Workloads/ML", exclude=["Root/Workloads/ML/Later"]))
    run = run_cli("publish", dist)
    assert run.code == 0, run.err + run.out
    values = {value for _, value, _, _ in shared(double)}
    assert org.ous["Root/Workloads/ML"] not in values
    assert {org.ous[f"Root/Workloads/ML/{n}"] for n in ("Dev", "Prod", "Sandbox")} <= values
    assert "exclude Root/Workloads/ML/Later does not exist now" in run.out


# ------------------------------------------------------------------------------------------ missing paths


def test_a_missing_required_path_is_one_line_naming_the_file_and_share_exit_2_before_any_read(
        org, double, tmp_path, run_cli):
    dist = dist_with(tmp_path, {"type": "ACCOUNT", "value": org.accounts["Root"][-1], "share_principals": False,
                                "share_tag_options": False}, path_share("Root/Workloads/Ml"))
    for command in ("plan", "publish"):
        double.reset_calls()
        run = run_cli(command, dist)
        assert run.code == 2, run.out
        assert errors(run) == [
            f"error: {FILE}: shares[1].target: OU path 'Root/Workloads/Ml' does not exist: Root/Workloads has no OU "
            "'Ml'; did you mean 'ML'? (OU names are case-sensitive); fix the path, create the OU, or mark the share "
            "optional: true",
        ]
        assert run.err.splitlines()[-1] == "Nothing was changed."
        assert double.calls == []  # not even a Service Catalog read

    as_json = run_cli("plan", dist, "--format", "json")
    assert as_json.code == 2 and as_json.json["status"] == "bad-input"
    assert "shares[1].target: OU path 'Root/Workloads/Ml' does not exist" in as_json.json["error"]


def test_a_missing_optional_path_is_a_note_and_its_old_share_goes_only_with_prune(org, double, tmp_path, run_cli):
    dist = dist_with(tmp_path, path_share("Root/Workloads/ML/Prod", optional=True))
    prod = org.ous["Root/Workloads/ML/Prod"]
    assert run_cli("publish", dist).code == 0
    assert shared(double) == {("ORGANIZATIONAL_UNIT", prod, True, True)}

    client("organizations").update_organizational_unit(OrganizationalUnitId=prod, Name="Production")
    double.reset_calls()
    plan = run_cli("plan", dist)
    assert plan.code == 0, plan.err
    lines = plan.out.splitlines()
    assert "  portfolio sagemaker-projects shares[0]: Root/Workloads/ML/Prod (optional) -> not found; no share" in lines
    assert ("      note: Root/Workloads/ML has no OU 'Prod' (its OUs: Dev, Production, Sandbox); optional: no share"
            in lines)
    assert (f"  note: portfolio sagemaker-projects is shared with ORGANIZATIONAL_UNIT {prod}, which is not configured; "
            "run with --prune to remove the share (kept)") in lines
    assert run_cli("publish", dist).code == 0
    assert double.ops("DeletePortfolioShare") == []  # never pruned silently

    pruned = run_cli("publish", dist, "--prune")
    assert pruned.code == 0, pruned.err + pruned.out
    assert [c.params["OrganizationNode"] for c in double.ops("DeletePortfolioShare", ok_only=True)] == [
        {"Type": "ORGANIZATIONAL_UNIT", "Value": prod}]


def test_two_sibling_ous_of_one_name_make_a_path_ambiguous(org, double, tmp_path, run_cli):
    # Organizations refuses this (DuplicateOrganizationalUnitException); moto does not, which lets it be shown
    client("organizations").create_organizational_unit(ParentId=org.ous["Root/Workloads"], Name="Web")
    run = run_cli("plan", dist_with(tmp_path, path_share("Root/Workloads/Web", optional=True)))
    assert run.code == 2
    assert errors(run)[0].startswith(
        f"error: {FILE}: shares[0].target: 'Root/Workloads/Web': Root/Workloads has 2 OUs named 'Web' (")


def test_a_path_and_an_id_reaching_one_ou_must_agree_on_the_flags(org, double, tmp_path, run_cli):
    ml = org.ous["Root/Workloads/ML"]
    same = dist_with(tmp_path, path_share("Root/Workloads/ML"), {"type": "ORGANIZATIONAL_UNIT", "value": ml,
                     "share_principals": True, "share_tag_options": True}, name="same")
    assert run_cli("publish", same).code == 0
    assert [c.params["OrganizationNode"]["Value"] for c in double.ops("CreatePortfolioShare")] == [ml]  # once

    other = dist_with(tmp_path, path_share("Root/Workloads/ML"), {"type": "ORGANIZATIONAL_UNIT", "value": ml,
                      "share_principals": False, "share_tag_options": True}, name="other")
    run = run_cli("plan", other)
    assert run.code == 2
    assert (f"error: {FILE}: shares[1].target: '{ml}' shares with ORGANIZATIONAL_UNIT {ml}, as shares[0] does, with "
            "other share_principals/share_tag_options; make them agree") in run.err


# ------------------------------------------------------------------------------------------ plan output


def test_plan_json_says_what_each_path_resolved_to(org, double, tmp_path, run_cli):
    excluded = ["Root/Workloads/ML/Sandbox", "Root/Workloads/ML/Dev"]
    dist = dist_with(tmp_path, path_share("Root/Workloads/ML", exclude=excluded),
                     path_share("Root/Later", optional=True))
    run = run_cli("plan", dist, "--format", "json")
    assert run.code == 0, run.err
    ml, ml_accounts = org.ous["Root/Workloads/ML"], sorted(org.accounts["Root/Workloads/ML"])
    first, later = run.json["plan"]["ou_paths"]
    assert first == {
        "portfolio": "sagemaker-projects", "share": "shares[0]", "path": "Root/Workloads/ML",
        "exclude": ["Root/Workloads/ML/Sandbox", "Root/Workloads/ML/Dev"], "optional": False, "resolved": ml,
        "shares": [{"type": "ORGANIZATIONAL_UNIT", "value": org.ous["Root/Workloads/ML/Prod"],
                    "where": "Root/Workloads/ML/Prod", "share_principals": True, "share_tag_options": True}]
        + [{"type": "ACCOUNT", "value": a, "where": "in Root/Workloads/ML", "share_principals": False,
            "share_tag_options": True} for a in ml_accounts],
        "summary": f"Root/Workloads/ML -> {ml} (3 shares after excluding Root/Workloads/ML/Sandbox, "
                   "Root/Workloads/ML/Dev)",
        "notes": [f"accounts directly in Root/Workloads/ML get ACCOUNT shares, which cannot share principals: "
                  f"{', '.join(ml_accounts)}"],
    }
    assert later["resolved"] is None and later["shares"] == [] and later["optional"] is True
    # the planned actions name the concrete targets only
    targets = {a["target"] for r in run.json["plan"]["regions"] for a in r["actions"] if a["resource"] == "share"}
    assert targets == {f"portfolio/sagemaker-projects/share/ORGANIZATIONAL_UNIT/{org.ous['Root/Workloads/ML/Prod']}",
                       *{f"portfolio/sagemaker-projects/share/ACCOUNT/{a}" for a in ml_accounts}}


def test_a_catalog_without_paths_makes_no_organizations_call_to_plan(org, double, dist, run_cli, runtime_factory):
    assert run_cli("publish", dist).code == 0
    runtime = runtime_factory()
    run = run_cli("plan", dist, runtime=runtime)
    assert run.code == 0 and "OU paths" not in run.out
    assert org_calls(runtime) == {}
    assert json.loads(run_cli("plan", dist, "--format", "json").out)["plan"]["ou_paths"] == []


def test_organizations_refusing_the_reads_is_a_failure_that_says_who_may_read(org, double, tmp_path, run_cli,
                                                                              runtime_factory):
    from botocore.exceptions import ClientError

    def deny(**_kwargs):
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "ListRoots")

    runtime = runtime_factory()
    runtime.session.events.register("before-call.organizations.ListRoots", deny)
    run = run_cli("plan", dist_with(tmp_path, path_share("Root/Workloads")), runtime=runtime)
    assert run.code == 1
    assert "cannot resolve the OU paths of share targets" in run.err and "delegated administrator" in run.err
    assert double.calls == []


# ------------------------------------------------------------------------------------------ S3 templates


def test_an_s3_portfolio_path_becomes_the_bucket_policy_of_the_resolved_ou(org, templates_bucket, tmp_path, run_s3):
    spec = s3_spec(organization_id=org.id)
    spec["portfolios"]["sagemaker-projects"]["shares"] = [path_share("Root/Workloads/ML",
                                                                     exclude=["Root/Workloads/ML/Sandbox"])]
    spec["portfolios"]["data-science"]["shares"] = []
    run = run_s3("publish", build_s3_dist(tmp_path / "s3", spec))
    assert run.code == 0, run.err + run.out
    policy = json.loads(client("s3").get_bucket_policy(Bucket=TEMPLATES_BUCKET)["Policy"])
    objects = [s for s in policy["Statement"] if s["Sid"].endswith("Objects")]
    paths = {s["Condition"]["ForAnyValue:StringLike"]["aws:PrincipalOrgPaths"]
             for s in objects if "ForAnyValue:StringLike" in s.get("Condition", {})}
    assert paths == {f"{org.id}/*/{org.ous[p]}/*" for p in ("Root/Workloads/ML/Dev", "Root/Workloads/ML/Prod")}
    readers = {s["Principal"]["AWS"] for s in policy["Statement"] if isinstance(s["Principal"], dict)}
    assert readers == {f"arn:aws:iam::{a}:root" for a in org.accounts["Root/Workloads/ML"]}

    for portfolio in spec["portfolios"].values():
        portfolio["organization_id"] = "o-zzzzzzzzzz"
    wrong = run_s3("plan", build_s3_dist(tmp_path / "wrong", spec))
    assert wrong.code == 2
    assert (f"error: {FILE}: organization_id: 'o-zzzzzzzzzz', but the OU paths are resolved in organization "
            f"{org.id!r}; the bucket policy confines readers to organization_id") in wrong.err


# ------------------------------------------------------------------------------------------ offline checks


def load(tmp_path: Path, shares: str, extra: str = "") -> list[str]:
    """The problems of a portfolio file with these shares (the build's check), or its shares as the manifest
    keeps them."""
    path = tmp_path / "portfolios" / "sagemaker-projects.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text("display_name: T\nprovider: P\nproducts: [model-build]\n"
                    "launch_constraint: {local_role_name: SageMakerProjectsLaunchRole}\nshares:\n"
                    + textwrap.indent(textwrap.dedent(shares), "  ") + extra)
    try:
        (portfolio,) = load_portfolios([path], {"model-build"}, lambda _: FILE)
    except InputError as exc:
        return [str(p) for p in exc.problems]
    return portfolio.config["shares"]


def test_the_build_keeps_a_path_target_with_its_exclusions_for_the_manifest(tmp_path):
    assert load(tmp_path, """\
        - target: Root/Workloads/ML
          exclude: [Root/Workloads/ML/Sandbox]
        - target: Root/Later
          optional: true
          share_principals: false
        """) == [path_share("Root/Workloads/ML", exclude=["Root/Workloads/ML/Sandbox"]),
                 path_share("Root/Later", optional=True, share_principals=False)]


def test_the_build_refuses_bad_paths_one_line_each_naming_file_line_and_key(tmp_path):
    assert load(tmp_path, """\
        - target: Workloads/ML
        - target: root/ML
        - target: Root/Workloads//ML
        - target: Root/A
          exclude: [Root/B, Root/A/C, Root/A/C, Root/A/C/D, Root/A]
        - target: ou-ab12-abcdefgh
          optional: true
        - target: Root/A
        """) == [
        f"{FILE}:6: shares[0].target: 'Workloads/ML' is not an OU path: a path starts at the root, such as "
        "Root/Workloads/ML; did you mean Root/Workloads/ML?",
        f"{FILE}:7: shares[1].target: 'root/ML' is not an OU path: the root is written Root (capital R)",
        f"{FILE}:8: shares[2].target: 'Root/Workloads//ML' has an empty OU name (a leading, trailing or doubled /)",
        f"{FILE}:10: shares[3].exclude[0]: 'Root/B' is not under the target 'Root/A'; an exclude names an OU below "
        "the target",
        f"{FILE}:10: shares[3].exclude[2]: 'Root/A/C' is listed twice",
        f"{FILE}:10: shares[3].exclude[3]: 'Root/A/C/D' and 'Root/A/C': one lies under the other; exclude only the "
        "higher one",
        f"{FILE}:10: shares[3].exclude[4]: 'Root/A' is not under the target 'Root/A'; an exclude names an OU below "
        "the target",
        f"{FILE}:12: shares[4].optional: is for OU path targets (Root/...); 'ou-ab12-abcdefgh' is an id, which is "
        "shared as a whole",
        f"{FILE}:13: shares[5].target: 'Root/A' is listed twice",
    ]


def test_an_s3_portfolio_path_needs_organization_id(tmp_path):
    s3 = "publish_to: [s3]\ns3_templates: {bucket: my-templates}\n"
    assert load(tmp_path, "- target: Root/Workloads\n", s3) == [
        f"{FILE}:6: shares[0].target: sharing S3 templates with OU 'Root/Workloads' needs organization_id (o-...): "
        "the bucket policy confines the OU with aws:PrincipalOrgID and aws:PrincipalOrgPaths"]


def test_the_manifest_check_holds_path_shares_to_the_same_rules(tmp_path):
    dist = dist_with(tmp_path, path_share("Root/A", exclude=["Root/B"]), path_share("Workloads"),
                     {"type": "ACCOUNT", "value": "111122223333", "share_principals": False,
                      "share_tag_options": False, "optional": True})
    with pytest.raises(ManifestError) as caught:
        load_catalog(dist)
    assert [line.split(": ", 1)[1] for line in caught.value.lines] == [
        "portfolio sagemaker-projects shares[0]: exclude[0]: 'Root/B' is not under the target 'Root/A'; an exclude "
        "names an OU below the target",
        "portfolio sagemaker-projects shares[1]: 'Workloads' is not an OU path: a path starts at the root, such as "
        "Root/Workloads/ML; did you mean Root/Workloads?",
        "portfolio sagemaker-projects shares[2]: exclude and optional are for OU_PATH shares only",
    ]
