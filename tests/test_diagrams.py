"""The architecture diagrams on the docs pages, read back from their Mermaid (tests/diagram_parse.py):
each product's page shows its resources by account and an arrow for a known cross-account grant,
which goes when the grant is taken out of the template; the index shows how the products connect."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from conftest import ROOT, load_template, main
from diagram_parse import parse

from generator.catalog import Catalog
from generator.diagram import catalog_diagram, product_diagram
from generator.diagram.accounts import Parameters
from generator.diagram.catalog import can_match, resolved
from generator.diagram.edges import ATTACHED
from generator.diagram.values import arn_fields, text


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The bundled catalog built without lint (the diagrams do not depend on it)."""
    out = tmp_path_factory.mktemp("diagrams") / "dist"
    assert main(["--root", str(ROOT), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    return out


def page_diagram(dist: Path, name: str):
    from diagram_parse import mermaid_blocks

    blocks = mermaid_blocks((dist / "docs" / f"{name}.md").read_text())
    assert len(blocks) == 1, name
    return blocks[0]


def without(value, drop):
    """A copy of `value` without the list items (or Fn::If around them) for which drop(item) holds."""
    def gone(item) -> bool:
        if isinstance(item, dict) and set(item) == {"Fn::If"}:
            return any(gone(branch) for branch in item["Fn::If"][1:])
        return isinstance(item, dict) and drop(item)

    if isinstance(value, list):
        return [without(item, drop) for item in value if not gone(item)]
    if isinstance(value, dict):
        return {k: without(v, drop) for k, v in value.items()}
    return value


def sid(name):
    return lambda item: item.get("Sid") == name


# product -> (the grant: where its principal is, the principal, the resource, the verb; and how to take it out)
GRANTS = {
    "model-build": ("Account HubAccountId", "role sagemaker-${HubName}-sync", "ArtifactBucket", "reads",
                    "ArtifactBucketPolicy", sid("HubSyncRoleReadsModels")),
    "model-registry-hub": ("Accounts DataScienceAccountIds", "any principal", "PushRole", "assumes",
                           "PushRole", sid("DataScienceAccountsInOrganization")),
    "registry-spoke": ("This account", "ForwardGroupsToHub", "event bus sagemaker-${HubName}", "forwards events",
                       "ForwardGroupsToHub", lambda item: item.get("Id") == "HubEventBus"),
    "multi-account-deploy": ("OU OrganizationalUnitStagingId", "role ${SageMakerExecutionRoleStagingName}",
                             "ArtifactBucket", "reads", "ArtifactBucketPolicy", sid("TargetOUsReadArtifacts")),
    "cross-account-endpoint": ("Account ProdAccount", "any principal", "ArtifactKey", "decrypts",
                               "ArtifactKey", sid("TargetAccountsDecrypt")),
    "target-account-bootstrap": ("Account DataScienceAccountId", "role ${PipelineRoleName}", "DeployerRole", "assumes",
                                 "DeployerRole", lambda item: "sts:AssumeRole" in json.dumps(item.get("Action"))
                                 and "DataScienceAccountId" in json.dumps(item.get("Principal"))),
    "project-roles": ("This account", "PipelineRole", "role sagemaker-*-deployer", "assumes",
                      "PipelineRole", sid("AssumeTargetAccountRoles")),
}


def test_every_product_has_a_known_grant_or_none_crosses(dist):
    products, _, _ = Catalog(ROOT).load_products()
    for name in products:
        if name not in GRANTS:
            diagram = parse(page_diagram(dist, name))
            assert diagram.groups == {"This account"} and not diagram.arrows, name


@pytest.mark.parametrize("name", sorted(GRANTS))
def test_the_known_grant_is_an_arrow_and_goes_with_the_grant(dist, name):
    group, source, target, verb, resource, drop = GRANTS[name]
    template = load_template(dist, name)
    diagram = parse(page_diagram(dist, name))
    arrow = diagram.arrow(source, target, source_group=group)
    assert arrow is not None, f"{name}: no arrow {source} -> {target}"
    assert verb in arrow.label.split("\n")[0].split(", "), arrow

    changed = copy.deepcopy(template)
    before = json.dumps(changed["Resources"][resource], sort_keys=True)
    changed["Resources"][resource] = without(changed["Resources"][resource], drop)
    assert json.dumps(changed["Resources"][resource], sort_keys=True) != before, f"{name}: nothing taken out"
    after = parse(product_diagram(changed)).arrow(source, target, source_group=group)
    assert after is None or verb not in after.label.split("\n")[0].split(", "), after


def test_the_page_diagram_is_the_built_templates(dist):
    """Same template, same bytes: the page's diagram is the one drawn from the template in dist."""
    for page in (dist / "docs").glob("*.md"):
        if page.stem != "index":
            assert page_diagram(dist, page.stem) == product_diagram(load_template(dist, page.stem))


def test_every_resource_is_drawn_in_this_account(dist):
    for page in (dist / "docs").glob("*.md"):
        if page.stem == "index":
            continue
        resources = load_template(dist, page.stem)["Resources"]
        drawn = parse(page_diagram(dist, page.stem))
        expected = sorted(rid for rid, r in resources.items() if r["Type"] not in ATTACHED)
        assert sorted(n for n in drawn.nodes("This account") if n in resources) == expected, page.stem
        conditional = {rid for rid in expected if resources[rid].get("Condition")}
        assert drawn.conditional == conditional, page.stem


def test_conditions_mark_arrows_and_both_branches_are_drawn(dist):
    build = parse(page_diagram(dist, "model-build"))
    arrow = build.arrow("any principal", "ArtifactBucket", source_group="Accounts DeploymentAccountIds")
    assert arrow.dotted and arrow.label == "reads\nif HasDeploymentAccounts"
    spoke = parse(page_diagram(dist, "registry-spoke"))
    # PushCallerPolicy's key statement is an Fn::If: the hub's own key, or the one HubKeyArn names.
    assert spoke.arrow("PushCallerPolicy", "key *").label == "decrypts\nif not HasHubKeyArn"
    assert spoke.arrow("PushCallerPolicy", "key ${HubKeyArn}").label == "decrypts\nif HasHubKeyArn"
    assert "key ${HubKeyArn}" in spoke.nodes("Account of HubKeyArn")
    assert not spoke.arrow("PushCallerPolicy", "role sagemaker-${HubName}-push").dotted


def test_pipeline_stages_that_act_in_other_accounts(dist):
    cross = parse(page_diagram(dist, "cross-account-endpoint"))
    for stage, account in (("DeployPreProd", "PreProdAccount"), ("DeployProd", "ProdAccount")):
        found = [a for a in cross.arrows if a.label == f"stage {stage} assumes"]
        assert [(a.source, a.target, a.target_group) for a in found] == [
            ("ModelDeployPipeline\nCodePipeline Pipeline", "role ${DeployerRoleName}", f"Account {account}")]
    multi = parse(page_diagram(dist, "multi-account-deploy"))
    staging = "StackSet sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-deploy-staging"
    assert staging in multi.nodes("OU OrganizationalUnitStagingId")
    assert multi.arrow("ModelDeployPipeline", staging).label == "stage DeployStaging deploys"


def test_event_bus_policies_let_in_the_group_owner(dist):
    for name in ("multi-account-deploy", "cross-account-endpoint"):
        diagram = parse(page_diagram(dist, name))
        arrow = diagram.arrow("any principal", "default event bus", "Account of SageMakerModelPackageGroupName")
        assert arrow.label == "sends events\nif UsesHubGroup" and arrow.dotted


# -- the index: how the products connect ------------------------------------------------------------------


def index_diagram(dist: Path):
    from diagram_parse import mermaid_blocks

    (block,) = mermaid_blocks((dist / "docs" / "index.md").read_text())
    return parse(block)


CONNECTIONS = [  # (from, to, a line of the arrow's label)
    ("registry-spoke", "model-registry-hub", "forwards events: event bus sagemaker-${HubName} in HubAccountId"),
    ("registry-spoke", "model-registry-hub", "assumes: role sagemaker-${HubName}-push in HubAccountId"),
    ("model-registry-hub", "registry-spoke", "reads, decrypts as role sagemaker-${HubName}-sync in HubAccountId"),
    ("model-registry-hub", "model-build", "reads, decrypts as role sagemaker-${HubName}-sync in HubAccountId"),
    ("model-build", "registry-spoke", "sends SageMaker Model Package State Change events"),
    ("model-build", "multi-account-deploy", "sends SageMaker Model Package State Change events"),
    ("model-build", "cross-account-endpoint", "sends SageMaker Model Package State Change events"),
    ("target-account-bootstrap", "model-build",
     "reads, decrypts, deploys from as role sagemaker-role-* in DeploymentOrganizationalUnitIds"),
    ("cross-account-endpoint", "target-account-bootstrap",
     "stage DeployPreProd assumes, stage DeployProd assumes: role ${DeployerRoleName} in PreProdAccount, ProdAccount"),
    ("project-roles", "target-account-bootstrap", "assumes as role ${PipelineRoleName} in DataScienceAccountId"),
    ("project-roles", "target-account-bootstrap", "assumes: role sagemaker-*-deployer, sagemaker-*-tester"),
]


def test_the_index_shows_how_the_products_connect(dist):
    diagram = index_diagram(dist)
    products, _, _ = Catalog(ROOT).load_products()
    assert sorted(diagram.nodes()) == sorted(products) and not diagram.groups
    for source, target, line in CONNECTIONS:
        arrow = diagram.arrow(source, target)
        assert arrow is not None and line in arrow.label.split("\n"), (source, target, arrow)
    # The hub forwards only its own groups' events: no product's arrow says the hub listens for events.
    assert diagram.arrow("model-build", "model-registry-hub") is None


def test_a_connection_goes_when_the_name_it_rests_on_changes(dist):
    templates = {p.stem: load_template(dist, p.stem) for p in (dist / "templates").glob("*.json")}
    assert parse(catalog_diagram(templates)).arrow("model-registry-hub", "model-build") is not None
    templates["model-registry-hub"]["Resources"]["SyncRole"]["Properties"]["RoleName"] = {
        "Fn::Sub": "sagemaker-${HubName}-copier"}
    assert parse(catalog_diagram(templates)).arrow("model-registry-hub", "model-build") is None


def test_the_diagrams_are_deterministic(dist):
    templates = {p.stem: load_template(dist, p.stem) for p in (dist / "templates").glob("*.json")}
    reordered = {name: {**t, "Resources": dict(reversed(list(t["Resources"].items())))}
                 for name, t in reversed(list(templates.items()))}
    assert catalog_diagram(reordered) == catalog_diagram(templates)
    for name, t in templates.items():
        assert product_diagram(reordered[name]) == product_diagram(t)


# -- the pieces ---------------------------------------------------------------------------------------------


def test_arn_fields_keep_placeholders_whole():
    assert arn_fields("arn:${AWS::Partition}:iam::${HubAccountId}:role/sagemaker-${HubName}-sync") == [
        "arn", "${AWS::Partition}", "iam", "", "${HubAccountId}", "role/sagemaker-${HubName}-sync"]
    assert arn_fields("sagemaker-${HubName}") is None


def test_computed_values_read_as_the_parameters_they_come_from():
    owner = {"Fn::Select": [4, {"Fn::Split": [":", {"Fn::Join": [":", [
        {"Ref": "SageMakerModelPackageGroupName"}, {"Ref": "AWS::AccountId"}]]}]}]}
    assert text({"Fn::Sub": ["arn:aws:iam::${Owner}:root", {"Owner": owner}]}) == (
        "arn:aws:iam::${SageMakerModelPackageGroupName}:root")
    assert text({"Fn::Sub": "${Bucket}/${!aws:PrincipalAccount}/*"}) == "${Bucket}/${aws:PrincipalAccount}/*"


@pytest.mark.parametrize("a, b, expected", [
    ("sagemaker-*-deployer", "sagemaker-mlops-deployer", True),
    ("sagemaker-*-deployer", "sagemaker-mlops-tester", False),
    ("sagemaker-*-sync", "sagemaker-model-hub-sync", True),
    ("sagemaker-?-x", "sagemaker-ab-x", False),
    ("a*c", "*b*", True),
    ("abc", "abd", False),
])
def test_name_patterns_match_when_some_name_fits_both(a, b, expected):
    assert can_match(a, b) is expected and can_match(b, a) is expected


def test_parameters_are_read_as_their_defaults_or_wildcards():
    parameters = Parameters({"Parameters": {"HubName": {"Type": "String", "Default": "model-hub"},
                                            "Other": {"Type": "String", "Default": ""}}})
    assert resolved("sagemaker-${HubName}-${Other}-${AWS::Region}", parameters) == "sagemaker-model-hub-*-*"


ODD = {  # shapes a template may have before cfn-lint has looked at it: drawn as far as they go, never a crash
    "Parameters": {"Acct": {"Type": "String", "AllowedPattern": "^\\d{12}$"}},
    "Resources": {
        "NoType": {"Properties": {}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole",
                                                       "Condition": {"Fn::If": ["C", {}, {}]}}},
            "Policies": {"Fn::If": ["C", [{"PolicyDocument": "{\"Statement\": []}"}], {"Ref": "AWS::NoValue"}]}}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": ["arn:aws:iam::${A}:root", {"A": {"Ref": "Acct"}}]}},
             "Action": ["kms:Decrypt"]},
            {"Effect": "Allow", "Principal": {"AWS": {"Fn::If": ["Broken"]}}, "Action": "kms:*"},
            {"Effect": "Allow", "Principal": {"AWS": {"Fn::Join": "x"}}, "Action": "kms:*"}]}}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {"EventPattern": "{}", "Targets": ["x", {"Arn": 3}]}},
        "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Stages": [
            "stage", {"Name": "S", "Actions": ["a", {"Configuration": "c", "RoleArn": {"Fn::GetAtt": "R.Arn"}}]}]}},
        "Label": {"Type": "Custom::A\"b#c`d", "Condition": "Has#\"x"},
    },
}


def test_odd_templates_are_drawn_not_refused():
    diagram = parse(product_diagram(ODD))
    assert set(diagram.nodes("This account")) == {"Role", "Key", "Rule", "Pipeline", "Label"}
    assert diagram.labels["r_Label"] == 'Label\nCustom A"b#c`d\nif Has#"x'
    assert diagram.arrow("any principal", "Key", source_group="Account Acct").label == "decrypts"
    parse(catalog_diagram({"odd": ODD, "other": ODD}))
