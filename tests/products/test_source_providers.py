"""The source choice of the three Studio products (issue 12): CodeCommit, or a GitHub, GitLab or
Bitbucket repository through a CodeConnections connection, in one template per product.

Each template is resolved as CloudFormation would create it (tests/hub/resolve.py) in both modes;
the rules are evaluated for complete, incomplete and mixed choices; every name the choice adds is
checked at the longest parameter values.
"""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, load_template
from troposphere import Tags

from generator.blocks import cicd, source
from generator.names import name_violations, resolve, unbounded_names
from tests.hub.resolve import Resolver

ACCOUNT = "111111111111"
CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/0123abcd-4567-89ef-0123-456789abcdef"
OLD_CONNECTION = "arn:aws:codestar-connections:eu-west-1:111111111111:connection/0123abcd-4567-89ef-0123-456789abcdef"
CODECONNECTIONS = {
    "RepositoryProvider": "CodeConnections",
    "CodeConnectionArn": CONNECTION,
    "RepositoryFullName": "acme/churn-model",
    "RepositoryBranch": "develop",
}
# Values for the parameters without a default (what Studio and the publisher fill in).
REQUIRED = {
    "SageMakerProjectName": "churn",
    "SageMakerProjectId": "p-abcdefghijkl",
    "SeedCodeBucket": "smcat-seed-bucket",
    "SeedCodeModelbuildKey": "smcat/seedcode/modelbuild.zip",
    "SeedCodeModeldeployKey": "smcat/seedcode/modeldeploy.zip",
    "OrganizationId": "o-abcdefghij",
    "OrganizationalUnitStagingId": "ou-ab12-stagingx",
    "OrganizationalUnitProdId": "ou-ab12-prodxxxx",
    "SageMakerModelPackageGroupName": "churn-p-abcdefghijkl",
    "PreProdAccount": "222222222222",
    "ProdAccount": "333333333333",
}
# product: (repository logical id, Studio code repository, seed key parameter, output prefix, seed,
#           whether pull requests start the pipeline)
PRODUCTS = {
    "model-build": ("ModelBuildRepository", "ModelBuildCodeRepository", "SeedCodeModelbuildKey", "ModelBuild",
                    "modelbuild", True),
    "multi-account-deploy": ("ModelDeployRepository", "ModelDeployCodeRepository", "SeedCodeModeldeployKey",
                             "ModelDeploy", "modeldeploy", False),
    "cross-account-endpoint": ("ModelDeployRepository", "ModelDeployCodeRepository", "SeedCodeModeldeployKey",
                               "ModelDeploy", "modeldeploy", False),
}


@pytest.fixture(scope="module")
def templates(built):
    return {name: load_template(built, name) for name in PRODUCTS}


def values(template: dict, **given: str) -> dict[str, str]:
    needed = {name for name, p in template["Parameters"].items() if "Default" not in p}
    assert needed <= set(REQUIRED), needed - set(REQUIRED)
    return {**{name: REQUIRED[name] for name in needed}, **given}


def resolved(template: dict, **given: str) -> dict:
    return Resolver(template, ACCOUNT, values(template, **given)).resolve()


def of_type(resolved_template: dict, kind: str) -> dict[str, dict]:
    return {k: v for k, v in resolved_template["Resources"].items() if v["Type"] == kind}


def source_action(resolved_template: dict) -> dict:
    [pipeline] = of_type(resolved_template, "AWS::CodePipeline::Pipeline").values()
    [stage] = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Source"]
    [action] = stage["Actions"]
    return action


SOURCE_RULES = ("CodeConnectionsNeedConnectionAndRepository", "CodeCommitTakesNoConnection")


def failed_rules(template: dict, **given: str) -> list[str]:
    """The AssertDescription of every assertion of the source choice's rules CloudFormation would
    refuse the stack with."""
    resolver = Resolver(template, ACCOUNT, values(template, **given))
    failed = []
    for rule in (template["Rules"][name] for name in SOURCE_RULES):
        if "RuleCondition" in rule and not resolver.test(rule["RuleCondition"]):
            continue
        failed += [a["AssertDescription"] for a in rule["Assertions"] if not resolver.test(a["Assert"])]
    return failed


# --- Parameters and rules ----------------------------------------------------------------------


@pytest.mark.parametrize("product", PRODUCTS)
def test_parameters_default_to_codecommit_and_are_optional_in_studio(templates, product):
    template = templates[product]
    parameters = template["Parameters"]
    assert parameters["RepositoryProvider"]["AllowedValues"] == ["CodeCommit", "CodeConnections"]
    assert {name: parameters[name]["Default"] for name in source.PARAMETERS} == {
        "RepositoryProvider": "CodeCommit", "CodeConnectionArn": "", "RepositoryFullName": "",
        "RepositoryBranch": "main", "RepositoryHost": "github.com",
    }
    optional = template["Metadata"]["SagemakerTemplateParameterRules"]
    assert all(optional[name] == {"Optional": True} for name in source.PARAMETERS)
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert {"Label": {"default": "Source repository"}, "Parameters": list(source.PARAMETERS)} in groups
    assert template["Conditions"]["UsesCodeCommit"] == {"Fn::Equals": [{"Ref": "RepositoryProvider"}, "CodeCommit"]}
    assert template["Conditions"]["UsesCodeConnections"] == {"Fn::Not": [{"Condition": "UsesCodeCommit"}]}
    # The defaults pass every rule; a complete CodeConnections choice too.
    assert failed_rules(template) == []
    assert failed_rules(template, **CODECONNECTIONS) == []


@pytest.mark.parametrize("value,ok", [
    (CONNECTION, True), (OLD_CONNECTION, True), ("", True),
    ("arn:aws-us-gov:codeconnections:us-gov-west-1:111111111111:connection/0123abcd-4567-89ef-0123-456789abcdef",
     True),
    ("arn:aws:codeconnections:us-east-1:111111111111:host/0123abcd-4567-89ef-0123-456789abcdef", False),
    ("arn:aws:codecommit:us-east-1:111111111111:connection/0123abcd-4567-89ef-0123-456789abcdef", False),
    ("0123abcd-4567-89ef-0123-456789abcdef", False),
])
def test_connection_arn_pattern(templates, value, ok):
    pattern = templates["model-build"]["Parameters"]["CodeConnectionArn"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok


@pytest.mark.parametrize("value,ok", [
    ("acme/churn-model", True), ("my-group/sub.group/project_1", True), ("", True),
    ("acme", False), ("https://github.com/acme/churn-model", False), ("acme/", False), ("acme/a b", False),
])
def test_repository_full_name_pattern(templates, value, ok):
    pattern = templates["model-build"]["Parameters"]["RepositoryFullName"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok


@pytest.mark.parametrize("value,ok", [
    ("main", True), ("release/2025.1", True), ("feature/x_y-z", True),
    ("", False), ("feature/*", False), ("-rf", False), ("a b", False), ("a:b", False), ("/main", False),
])
def test_branch_pattern_is_a_literal_branch_name(templates, value, ok):
    pattern = templates["model-build"]["Parameters"]["RepositoryBranch"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, value)) is ok
    if ok:  # SageMaker's GitConfig.Branch pattern accepts every branch the parameter does
        assert re.fullmatch(r"[^ ~^:?*\[]+", value)


CONNECTION_NEEDS_ARN = ("RepositoryProvider CodeConnections needs CodeConnectionArn (a connection to GitHub, "
                        "GitLab or Bitbucket, tagged sagemaker=true).")
CONNECTION_NEEDS_NAME = ("RepositoryProvider CodeConnections needs RepositoryFullName (owner/repository of an "
                         "empty repository).")


@pytest.mark.parametrize("product", PRODUCTS)
@pytest.mark.parametrize("given,expected", [
    ({"RepositoryProvider": "CodeConnections"}, [CONNECTION_NEEDS_ARN, CONNECTION_NEEDS_NAME]),
    ({"RepositoryProvider": "CodeConnections", "CodeConnectionArn": CONNECTION}, [CONNECTION_NEEDS_NAME]),
    ({"RepositoryProvider": "CodeConnections", "RepositoryFullName": "acme/churn"}, [CONNECTION_NEEDS_ARN]),
    ({"CodeConnectionArn": CONNECTION}, ["CodeConnectionArn is only for RepositoryProvider CodeConnections."]),
    ({"RepositoryFullName": "acme/churn"}, ["RepositoryFullName is only for RepositoryProvider CodeConnections."]),
    ({"RepositoryBranch": "develop"}, ["RepositoryBranch is only for RepositoryProvider CodeConnections (the "
                                      "CodeCommit repository is seeded on main)."]),
    ({"RepositoryHost": "gitlab.com"}, ["RepositoryHost is only for RepositoryProvider CodeConnections."]),
])
def test_rules_refuse_incomplete_or_mixed_choices(templates, product, given, expected):
    assert failed_rules(templates[product], **given) == expected


# --- CodeCommit (the default) --------------------------------------------------------------------


@pytest.mark.parametrize("product", PRODUCTS)
def test_codecommit_mode_seeds_codecommit_and_starts_on_pushes_through_eventbridge(templates, product):
    repository, studio, key, prefix, seed, _ = PRODUCTS[product]
    t = resolved(templates[product])
    assert set(of_type(t, "AWS::CodeCommit::Repository")) == {repository}
    assert t["Resources"][repository]["Properties"]["Code"] == {
        "BranchName": "main", "S3": {"Bucket": "smcat-seed-bucket", "Key": f"smcat/seedcode/{seed}.zip"}}
    action = source_action(t)
    assert action["ActionTypeId"] == {"Category": "Source", "Owner": "AWS", "Provider": "CodeCommit", "Version": "1"}
    assert action["Configuration"]["BranchName"] == "main"
    [pipeline] = of_type(t, "AWS::CodePipeline::Pipeline").values()
    assert "Triggers" not in pipeline["Properties"]
    pushes = [r for r in of_type(t, "AWS::Events::Rule").values()
              if r["Properties"]["EventPattern"]["source"] == ["aws.codecommit"]]
    assert len(pushes) == 1 and pushes[0]["Properties"]["EventPattern"]["detail"]["referenceName"] == ["main"]
    # Nothing of the other mode: no Studio code repository, no seeding build, no URL output.
    assert not of_type(t, "AWS::SageMaker::CodeRepository") and not of_type(t, "Custom::SeedCheckin")
    assert f"{prefix}RepositoryCloneUrl" in t["Outputs"] and f"{prefix}RepositoryUrl" not in t["Outputs"]
    assert studio not in t["Resources"]


# --- CodeConnections ------------------------------------------------------------------------------


@pytest.mark.parametrize("product", PRODUCTS)
def test_codeconnections_mode_uses_the_connection_source_action_and_triggers(templates, product):
    repository, _, _, _, _, pull_requests = PRODUCTS[product]
    t = resolved(templates[product], **CODECONNECTIONS)
    assert not of_type(t, "AWS::CodeCommit::Repository")
    action = source_action(t)
    assert action == {
        "Name": "Source",
        "ActionTypeId": {"Category": "Source", "Owner": "AWS", "Provider": "CodeStarSourceConnection", "Version": "1"},
        "Configuration": {
            "ConnectionArn": CONNECTION,
            "FullRepositoryId": "acme/churn-model",
            "BranchName": "develop",
            "OutputArtifactFormat": "CODE_ZIP",  # a zip, as the CodeCommit action gives every later action
            "DetectChanges": "false",  # the triggers below start the pipeline
        },
        "OutputArtifacts": [{"Name": "SourceArtifact"}],
        "RunOrder": 1,
    }
    [pipeline] = of_type(t, "AWS::CodePipeline::Pipeline").values()
    git = {"SourceActionName": "Source", "Push": [{"Branches": {"Includes": ["develop"]}}]}
    if pull_requests:
        git["PullRequest"] = [{"Branches": {"Includes": ["develop"]}, "Events": ["OPEN", "UPDATED"]}]
    assert pipeline["Properties"]["Triggers"] == [{"ProviderType": "CodeStarSourceConnection", "GitConfiguration": git}]
    assert pipeline["Properties"]["PipelineType"] == "V2"  # triggers need V2
    # No EventBridge CodeCommit rule; the deploy products keep their model-approval rule.
    rules = [r["Properties"]["EventPattern"] for r in of_type(t, "AWS::Events::Rule").values()]
    assert not [p for p in rules if p["source"] == ["aws.codecommit"]]
    approvals = [p for p in rules if p.get("detail-type") == ["SageMaker Model Package State Change"]]
    assert len(approvals) == (0 if product == "model-build" else 1)


@pytest.mark.parametrize("product", PRODUCTS)
def test_codeconnections_mode_shows_the_repository_in_studio(templates, product):
    _, studio, _, prefix, seed, _ = PRODUCTS[product]
    t = resolved(templates[product], **CODECONNECTIONS, RepositoryHost="gitlab.example.com")
    assert set(of_type(t, "AWS::SageMaker::CodeRepository")) == {studio}
    props = t["Resources"][studio]["Properties"]
    assert props["CodeRepositoryName"] == f"sagemaker-p-abcdefghijkl-{seed}"
    assert props["GitConfig"] == {"RepositoryUrl": "https://gitlab.example.com/acme/churn-model.git",
                                  "Branch": "develop"}
    assert {t["Key"]: t["Value"] for t in props["Tags"]} == {
        "sagemaker:project-name": "churn", "sagemaker:project-id": "p-abcdefghijkl"}
    assert t["Outputs"][f"{prefix}RepositoryUrl"] == "https://gitlab.example.com/acme/churn-model.git"
    assert f"{prefix}RepositoryCloneUrl" not in t["Outputs"]


@pytest.mark.parametrize("product", PRODUCTS)
def test_codeconnections_mode_seeds_the_same_zip_through_the_connection(templates, product):
    _, _, key, _, seed, _ = PRODUCTS[product]
    template = templates[product]
    seeding = {k: v for k, v in template["Resources"].items() if v["Type"] == "Custom::SeedCheckin"}
    assert len(seeding) == 1, "generator/blocks/seeding.py is wired in (source.seed_resources)"
    [(logical_id, checkin)] = seeding.items()
    # Every seeding resource exists in CodeConnections mode only.
    added = [k for k, v in template["Resources"].items() if v.get("Condition") == "UsesCodeConnections"]
    assert logical_id in added and all(template["Resources"][k]["Condition"] == "UsesCodeConnections" for k in added)
    t = resolved(template, **CODECONNECTIONS)
    props = t["Resources"][logical_id]["Properties"]
    # The seed the CodeCommit repository is created from, pushed to the branch the pipeline builds.
    assert props["SeedKey"] == f"smcat/seedcode/{seed}.zip" and props["SeedBucket"] == "smcat-seed-bucket"
    assert props["Branch"] == "develop"
    assert props["RepositoryUrl"].endswith("/acme/churn-model.git")
    assert checkin["Properties"]["SeedKey"] == {"Ref": key}
    # The build uses the connection and reads the seed code as project-roles' pipeline role (the
    # CodeBuildRole default, the UseRole, may not use codeconnections: connections); the function that
    # starts it runs as the UseRole, which trusts Lambda (the pipeline role does not).
    [build] = [v for v in of_type(t, "AWS::CodeBuild::Project").values() if v.get("Condition")]
    assert build["Properties"]["ServiceRole"] == f"arn:aws:iam::{ACCOUNT}:role/sagemaker-projects-pipeline-role"
    [function] = of_type(t, "AWS::Lambda::Function").values()
    assert function["Properties"]["Role"] == (
        f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole")
    assert not [k for k in t["Resources"] if k in added and k not in t["Resources"]]


# --- Names ----------------------------------------------------------------------------------------

CODE_REPOSITORY_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"  # CreateCodeRepository, 1-63
REPOSITORY_URL = r"https://([^/]+)/?.{3,1016}"  # GitConfig.RepositoryUrl, 11-1024


@pytest.mark.parametrize("product", PRODUCTS)
def test_every_derived_name_fits_at_the_longest_values(templates, product):
    template = templates[product]
    assert name_violations(template) == []  # every resource, both modes (conditions do not hide any)
    assert unbounded_names(template) == []
    _, studio, _, _, _, _ = PRODUCTS[product]
    props = template["Resources"][studio]["Properties"]
    name = resolve(props["CodeRepositoryName"], template)
    assert len(name) <= 63 and re.fullmatch(CODE_REPOSITORY_NAME, name), name
    url = resolve(props["GitConfig"]["RepositoryUrl"], template)
    assert len(url) <= 1024 and re.fullmatch(REPOSITORY_URL, url), url
    branch = resolve(props["GitConfig"]["Branch"], template)
    assert len(branch) <= 1024 and re.fullmatch(r"[^ ~^:?*\[]+", branch)
    # The trigger names its source action (GitConfiguration.SourceActionName: 1-100, [A-Za-z0-9.@\-_]+).
    [trigger] = template["Resources"][next(k for k, v in template["Resources"].items()
                                           if v["Type"] == "AWS::CodePipeline::Pipeline")]["Properties"]["Triggers"][
        "Fn::If"][1]
    assert re.fullmatch(r"[A-Za-z0-9.@\-_]{1,100}", trigger["GitConfiguration"]["SourceActionName"])


def test_the_block_builds_push_only_and_pull_request_triggers():
    push = cicd.git_trigger("main", pull_requests=False).to_dict()
    assert push == {"ProviderType": "CodeStarSourceConnection", "GitConfiguration": {
        "SourceActionName": "Source", "Push": [{"Branches": {"Includes": ["main"]}}]}}
    both = cicd.git_trigger("main", pull_requests=True).to_dict()
    assert both["GitConfiguration"]["PullRequest"] == [{"Branches": {"Includes": ["main"]},
                                                         "Events": ["OPEN", "UPDATED"]}]
    # A pipeline without triggers has no Triggers property (the CodeCommit-only products).
    pipeline = cicd.pipeline("P", "p", "role", "Bucket", "Key", [], Tags(k="v")).to_dict()
    assert "Triggers" not in pipeline["Properties"]


# --- Seed code: the same files serve both modes ------------------------------------------------------

SEED_TEXTS = sorted(
    p for seed in ("modelbuild", "modeldeploy") for p in (ROOT / "seedcode" / seed).rglob("*")
    if p.is_file() and (p.name == "README.md" or (p.suffix == ".yml" and "buildspec" in p.name))
)


def test_seed_buildspecs_and_readmes_are_found():
    names = {p.relative_to(ROOT / "seedcode").as_posix() for p in SEED_TEXTS}
    assert {"modelbuild/README.md", "modelbuild/codebuild-buildspec.yml", "modeldeploy/README.md",
            "modeldeploy/buildspec.yml", "modeldeploy/buildspec-deploy-stackset.yml",
            "modeldeploy/test/buildspec.yml"} <= names


@pytest.mark.parametrize("path", SEED_TEXTS, ids=lambda p: p.relative_to(ROOT / "seedcode").as_posix())
def test_seed_buildspecs_and_readmes_have_nothing_codecommit_specific(path):
    text = path.read_text()
    for pattern in (r"codecommit", r"git-remote-codecommit", r"CODEBUILD_SOURCE_REPO_URL", r"main branch",
                    r"CloneUrl"):
        assert not re.search(pattern, text, re.I), f"{path}: {pattern}"


@pytest.mark.parametrize("product", PRODUCTS)
def test_docs_say_where_the_repository_is_in_both_modes(built, product):
    _, _, _, prefix, seed, _ = PRODUCTS[product]
    page = (built / "docs" / f"{product}.md").read_text()
    section = page.split("### Where the repository is", 1)[1].split("\n### ", 1)[0]
    assert f"clone URL in the output `{prefix}RepositoryCloneUrl`" in section
    assert f"(output `{prefix}RepositoryUrl`; Studio lists it as the code repository `sagemaker-<project id>-{seed}`)" \
        in " ".join(section.split())


@pytest.mark.parametrize("product", list(PRODUCTS))
@pytest.mark.parametrize("connection", [CONNECTION, OLD_CONNECTION])
def test_the_roles_that_use_the_connection_may_use_it(templates, product, connection):
    """The pipeline's source action and the seeding build use the connection as the roles the template
    resolves to; the offline evaluator (the AWS-managed UseRole's real policy, project-roles' pipeline
    role) must allow codeconnections:UseConnection in the connection's own prefix. With the defaults
    the UseRole, whose policy names codestar-connections only, is never the one that uses it."""
    from tests.hub.access import Principal, need
    from tests.hub.test_fit import build_world

    grants = build_world().grants()
    t = resolved(templates[product], **{**CODECONNECTIONS, "CodeConnectionArn": connection})
    [pipeline] = of_type(t, "AWS::CodePipeline::Pipeline").values()
    [seeding] = [v for v in of_type(t, "AWS::CodeBuild::Project").values() if v.get("Condition")]
    prefix = connection.split(":")[2]
    tagged = {"aws:ResourceTag/sagemaker": "true"}  # what users must do (README: CodeConnections)
    for role in (pipeline["Properties"]["RoleArn"], seeding["Properties"]["ServiceRole"]):
        user = Principal(role, "o-abcdefghij")
        assert grants.check(need(user, f"{prefix}:UseConnection", connection, "source", **tagged)) == [], role
    # The UseRole could not have: the reason it is swapped out in this mode.
    use_role = Principal(f"arn:aws:iam::{ACCOUNT}:role/service-role/AmazonSageMakerServiceCatalogProductsUseRole")
    refused = grants.check(need(use_role, f"{prefix}:UseConnection", connection, "source", **tagged))
    assert bool(refused) == (prefix == "codeconnections")


def test_a_role_given_for_the_connection_is_kept(templates):
    t = resolved(templates["model-build"], **CODECONNECTIONS, CodePipelineRole="my-pipeline-role")
    [pipeline] = of_type(t, "AWS::CodePipeline::Pipeline").values()
    assert pipeline["Properties"]["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/my-pipeline-role"


@pytest.mark.parametrize("product", list(PRODUCTS))
def test_the_seed_is_pushed_once_the_pipeline_exists(templates, product):
    """The seed's push starts the first run through the pipeline's push trigger, so the check-in
    waits for the pipeline."""
    template = templates[product]
    [checkin] = [v for v in template["Resources"].values() if v["Type"] == "Custom::SeedCheckin"]
    [pipeline] = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::CodePipeline::Pipeline"]
    assert pipeline in checkin.get("DependsOn", [])


@pytest.mark.parametrize("product", list(PRODUCTS))
def test_the_seeding_function_and_build_may_do_what_they_do(templates, product):
    """At creation the custom resource's function (as the UseRole) starts and polls the seeding build;
    the build (as the role that uses the connection) gets the connection and its token: each allowed by
    the roles' real policies (the UseRole's AWS-managed policy, project-roles' pipeline role)."""
    from tests.hub.access import Principal, need
    from tests.hub.test_fit import build_world

    grants = build_world().grants()
    t = resolved(templates[product], **CODECONNECTIONS)
    [function] = of_type(t, "AWS::Lambda::Function").values()
    [seeding] = [v for v in of_type(t, "AWS::CodeBuild::Project").values() if v.get("Condition")]
    project = f"arn:aws:codebuild:us-east-1:{ACCOUNT}:project/{seeding['Properties']['Name']}"
    starter = Principal(function["Properties"]["Role"], "o-abcdefghij")
    for action in ("codebuild:StartBuild", "codebuild:BatchGetBuilds"):
        assert grants.check(need(starter, action, project, "seed")) == [], action
    builder = Principal(seeding["Properties"]["ServiceRole"], "o-abcdefghij")
    tagged = {"aws:ResourceTag/sagemaker": "true"}
    for action in ("codeconnections:GetConnectionToken", "codeconnections:GetConnection"):
        assert grants.check(need(builder, action, CONNECTION, "clone and push", **tagged)) == [], action
    # An untagged connection is refused (users must tag it: README).
    assert grants.check(need(builder, "codeconnections:UseConnection", CONNECTION, "untagged"))
