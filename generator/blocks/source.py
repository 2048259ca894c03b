"""Where a Studio project's code lives: a seeded CodeCommit repository (the default), or the user's
GitHub, GitLab or Bitbucket repository reached through an AWS CodeConnections connection.

One template per product serves both: `add_source_choice` adds the parameters, the conditions
`UsesCodeCommit` / `UsesCodeConnections` and the rules that refuse incomplete or mixed choices. Each
piece that belongs to one provider carries its condition:

- CodeCommit: the seeded repository (`repository.seeded_repository(..., condition=USES_CODECOMMIT)`),
  the EventBridge push rule, the `CodeCommit` source action and the clone URL output.
- CodeConnections: the `CodeStarSourceConnection` source action (`source_stage`), the pipeline's
  `Triggers` (`triggers`), an `AWS::SageMaker::CodeRepository` so Studio shows the repository
  (`studio_repository`), the repository URL output, and the seeding of the empty repository
  (`seed_resources`, generator/blocks/seeding.py).

The connection must be tagged `sagemaker=true`: the AWS-managed policies of the roles SageMaker
creates for projects (AmazonSageMakerServiceCatalogProductsCodePipelineServiceRolePolicy and
...CodeBuildServiceRolePolicy, AWS Managed Policy Reference) allow `codeconnections:UseConnection`
and `codestar-connections:UseConnection` only with `aws:ResourceTag/sagemaker` = `true`.
"""

from __future__ import annotations

from typing import Any

from troposphere import (
    And,
    Equals,
    GetAtt,
    If,
    Not,
    Output,
    Parameter,
    Ref,
    Sub,
    Tags,
    Template,
    codepipeline,
    sagemaker,
)

from generator.blocks import cicd, seeding
from generator.blocks.policy import KEY_USE
from generator.blocks.project import PIPELINE_ROLE, PROJECT_ID, USE_ROLE, mark_optional, role_arn
from generator.blocks.repository import SEED_BUCKET, seed_key_parameter_name

PROVIDER = "RepositoryProvider"
CONNECTION_ARN = "CodeConnectionArn"
FULL_NAME = "RepositoryFullName"
BRANCH = "RepositoryBranch"
HOST = "RepositoryHost"
PARAMETERS = (PROVIDER, CONNECTION_ARN, FULL_NAME, BRANCH, HOST)

CODECOMMIT = "CodeCommit"
CODECONNECTIONS = "CodeConnections"
USES_CODECOMMIT = "UsesCodeCommit"
USES_CODECONNECTIONS = "UsesCodeConnections"

DEFAULT_BRANCH = "main"  # the CodeCommit repository is always seeded on main
DEFAULT_HOST = "github.com"

# Connection ARNs of both service prefixes (CodeStar Connections was renamed CodeConnections in
# 2024; existing connections keep their codestar-connections ARN).
CONNECTION_ARN_PATTERN = (
    r"arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[a-f0-9-]{36}"
)
# owner/repository (GitHub, Bitbucket workspace/repository), or group/subgroup/.../project (GitLab).
FULL_NAME_PATTERN = r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+"
FULL_NAME_MAX = 255
# A branch name git (no leading '-' or '/'), the pipeline trigger's branch filter (no glob
# characters) and SageMaker's GitConfig.Branch ([^ ~^:?*\[]+) all accept as the one literal branch.
BRANCH_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9._-]*(/[A-Za-z0-9_][A-Za-z0-9._-]*)*"
BRANCH_MAX = 255
HOST_PATTERN = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+"
HOST_MAX = 253


def _optional(pattern: str) -> str:
    return f"^({pattern})?$"


def source_parameters() -> list[Parameter]:
    return [
        Parameter(
            PROVIDER,
            Type="String",
            Default=CODECOMMIT,
            AllowedValues=[CODECOMMIT, CODECONNECTIONS],
            Description="Where the project's code lives: CodeCommit (a new repository, seeded by the project) or "
            "CodeConnections (your empty GitHub, GitLab or Bitbucket repository, seeded through the connection).",
        ),
        Parameter(
            CONNECTION_ARN,
            Type="String",
            Default="",
            MaxLength=256,
            AllowedPattern=_optional(CONNECTION_ARN_PATTERN),
            Description="Only for CodeConnections: ARN of an AVAILABLE connection to GitHub, GitLab or Bitbucket, "
            "tagged sagemaker=true. Leave blank for CodeCommit.",
            ConstraintDescription="blank or a connection ARN (arn:aws:codeconnections:<region>:<account>:"
            "connection/<id>, or the older codestar-connections form)",
        ),
        Parameter(
            FULL_NAME,
            Type="String",
            Default="",
            MaxLength=FULL_NAME_MAX,
            AllowedPattern=_optional(FULL_NAME_PATTERN),
            Description="Only for CodeConnections: the empty repository the project seeds, as owner/repository "
            "(GitLab: group/subgroup/project). Leave blank for CodeCommit.",
            ConstraintDescription="blank or owner/repository: letters, digits, '.', '_' and '-' separated by '/'",
        ),
        Parameter(
            BRANCH,
            Type="String",
            Default=DEFAULT_BRANCH,
            MinLength=1,
            MaxLength=BRANCH_MAX,
            AllowedPattern=f"^{BRANCH_PATTERN}$",
            Description="Only for CodeConnections: the branch the project seeds and builds (CodeCommit: main).",
            ConstraintDescription="a branch name: letters, digits, '.', '_', '-' and '/' (no glob characters)",
        ),
        Parameter(
            HOST,
            Type="String",
            Default=DEFAULT_HOST,
            MinLength=3,
            MaxLength=HOST_MAX,
            AllowedPattern=f"^{HOST_PATTERN}$",
            Description="Only for CodeConnections: host of the Git provider, for the repository URL Studio shows "
            "(github.com, gitlab.com, bitbucket.org, or your GitHub Enterprise Server / GitLab self-managed host).",
            ConstraintDescription="a lowercase host name such as github.com",
        ),
    ]


def add_source_choice(template: Template) -> None:
    """The parameters, the two conditions and the rules; the parameters are optional in Studio's
    form (the default is CodeCommit)."""
    template.add_parameter(source_parameters())
    mark_optional(template, *PARAMETERS)
    template.add_condition(USES_CODECOMMIT, Equals(Ref(PROVIDER), CODECOMMIT))
    template.add_condition(USES_CODECONNECTIONS, Not({"Condition": USES_CODECOMMIT}))
    template.add_rule(
        "CodeConnectionsNeedConnectionAndRepository",
        {
            "RuleCondition": Equals(Ref(PROVIDER), CODECONNECTIONS),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(CONNECTION_ARN), "")),
                    "AssertDescription": "RepositoryProvider CodeConnections needs CodeConnectionArn (a connection "
                    "to GitHub, GitLab or Bitbucket, tagged sagemaker=true).",
                },
                {
                    "Assert": Not(Equals(Ref(FULL_NAME), "")),
                    "AssertDescription": "RepositoryProvider CodeConnections needs RepositoryFullName "
                    "(owner/repository of an empty repository).",
                },
            ],
        },
    )
    template.add_rule(
        "CodeCommitTakesNoConnection",
        {
            "RuleCondition": Equals(Ref(PROVIDER), CODECOMMIT),
            "Assertions": [
                {
                    "Assert": Equals(Ref(CONNECTION_ARN), ""),
                    "AssertDescription": "CodeConnectionArn is only for RepositoryProvider CodeConnections.",
                },
                {
                    "Assert": Equals(Ref(FULL_NAME), ""),
                    "AssertDescription": "RepositoryFullName is only for RepositoryProvider CodeConnections.",
                },
                {
                    "Assert": Equals(Ref(BRANCH), DEFAULT_BRANCH),
                    "AssertDescription": "RepositoryBranch is only for RepositoryProvider CodeConnections (the "
                    "CodeCommit repository is seeded on main).",
                },
                {
                    "Assert": Equals(Ref(HOST), DEFAULT_HOST),
                    "AssertDescription": "RepositoryHost is only for RepositoryProvider CodeConnections.",
                },
            ],
        },
    )


def source_stage(repository: Any, output: str = "SourceArtifact") -> codepipeline.Stages:
    """The Source stage: one action named `Source` either way, producing `output` (a zip of the
    branch, which every later action and buildspec reads the same way)."""
    return codepipeline.Stages(
        Name="Source",
        Actions=[
            If(
                USES_CODECOMMIT,
                cicd.codecommit_action(repository, output),
                cicd.connection_action(Ref(CONNECTION_ARN), Ref(FULL_NAME), Ref(BRANCH), output),
            )
        ],
    )


def triggers(pull_requests: bool) -> If:
    """The pipeline's `Triggers` with CodeConnections (pushes to the branch; with `pull_requests`,
    pull requests into it too); none with CodeCommit, which an EventBridge rule starts."""
    return If(USES_CODECONNECTIONS, [cicd.git_trigger(Ref(BRANCH), pull_requests)], Ref("AWS::NoValue"))


def repository_url() -> Sub:
    return Sub(f"https://${{{HOST}}}/${{{FULL_NAME}}}.git")


def studio_repository(logical_id: str, suffix: str, tags: Tags) -> sagemaker.CodeRepository:
    """The user's repository as a SageMaker code repository, so Studio lists it (the
    CreateCodeRepository API: "hosted either in AWS CodeCommit or in any other Git repository").
    Name `sagemaker-<project id>-<suffix>` (at most 63: the id is at most 20), as AWS's sample
    third-party Git project templates name theirs; no secret: Studio's users clone with their own
    credentials."""
    return sagemaker.CodeRepository(
        logical_id,
        Condition=USES_CODECONNECTIONS,
        CodeRepositoryName=Sub(f"sagemaker-${{{PROJECT_ID}}}-{suffix}"),
        GitConfig=sagemaker.GitConfig(RepositoryUrl=repository_url(), Branch=Ref(BRANCH)),
        Tags=tags,
    )


def repository_outputs(prefix: str, repository: Any) -> list[Output]:
    """`<prefix>RepositoryCloneUrl` (CodeCommit) or `<prefix>RepositoryUrl` (CodeConnections)."""
    return [
        Output(
            f"{prefix}RepositoryCloneUrl",
            Condition=USES_CODECOMMIT,
            Description="HTTPS clone URL of the CodeCommit repository.",
            Value=GetAtt(repository, "CloneUrlHttp"),
        ),
        Output(
            f"{prefix}RepositoryUrl",
            Condition=USES_CODECONNECTIONS,
            Description="HTTPS URL of the GitHub, GitLab or Bitbucket repository (RepositoryHost/RepositoryFullName).",
            Value=repository_url(),
        ),
    ]


# ---- Seeding the user's repository (generator/blocks/seeding.py) ----
def seed_resources(logical_prefix: str, seed: str, role_arn: Any, tags: Tags, key: Any = None) -> list:
    """What puts the seed zip into the empty repository through the connection (a CodeBuild
    project run once by a custom resource, generator/blocks/seeding.py), under `UsesCodeConnections`;
    `key`: the project's KMS key, which the build encrypts with. The build runs as `role_arn` (a role
    that uses the connection and reads the seed code: `connection_role`); the function that starts it
    as the UseRole, whose trust policy admits lambda.amazonaws.com (the pipeline role and the split
    CodeBuild role trust no Lambda)."""
    return list(
        seeding.seeding_resources(
            logical_prefix,
            connection_arn=Ref(CONNECTION_ARN),
            repository_full_name=Ref(FULL_NAME),
            branch=Ref(BRANCH),
            seed_bucket=Ref(SEED_BUCKET),
            seed_key=Ref(seed_key_parameter_name(seed)),
            role_arn=role_arn,
            tags=tags,
            condition=USES_CODECONNECTIONS,
            function_role_arn=Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{USE_ROLE}"),
            key=key,
        )
    )


def push_seed_after(template: Template, logical_prefix: str, pipeline: Any) -> None:
    """The seed is pushed once the pipeline exists: its push trigger then starts the first run (a
    push before the pipeline existed would start nothing, and the pipeline's own first run at
    creation would find an empty branch)."""
    template.resources[f"{logical_prefix}SeedCheckin"].DependsOn = [pipeline.title]


def connection_role(template: Template, role_parameter: str) -> If:
    """The role a resource that uses the connection runs as: the role parameter's, except that its
    default, the UseRole, becomes project-roles' pipeline role in CodeConnections mode. The UseRole's
    policy allows `codestar-connections:UseConnection` only, and an action's prefix must match the
    connection ARN's (Developer Tools console user guide, "Permissions for connections"), so newer
    `codeconnections:` connections would be refused; nor may it read the publisher's seed code. The
    pipeline role may (generator/blocks/projectroles.py)."""
    condition = f"{role_parameter}IsUseRoleWithConnection"
    template.add_condition(condition, And({"Condition": USES_CODECONNECTIONS}, Equals(Ref(role_parameter), USE_ROLE)))
    return If(condition, Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{PIPELINE_ROLE}"),
              role_arn(role_parameter))


def pipeline_role_uses_key() -> If:
    """Key-policy statement: in CodeConnections mode project-roles' pipeline role may stand in for
    the UseRole (`connection_role`), so it uses the project's key."""
    return If(USES_CODECONNECTIONS, {
        "Sid": "PipelineRoleUsesKeyWithConnection",
        "Effect": "Allow",
        "Principal": {"AWS": Sub(f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{PIPELINE_ROLE}")},
        "Action": KEY_USE,
        "Resource": "*",
    }, Ref("AWS::NoValue"))


def after_create_repository(kind: str, output: str, deploys: bool) -> str:
    """The product page's "where the repository is" text for CodeConnections mode (generator/docs.py):
    `kind` names the Studio code repository (`modelbuild`, `modeldeploy`), `output` its URL output; a
    deploy project starts on pushes and model approvals, model-build on pushes and pull requests."""
    starts = ("on pushes to that branch (not on pull requests) and on model approvals as above"
              if deploys else "on pushes to that branch and on pull requests into it")
    return (
        "With `RepositoryProvider` `CodeConnections` there is no CodeCommit repository: the project uses your "
        "GitHub, GitLab or Bitbucket repository `RepositoryFullName` through the connection `CodeConnectionArn` "
        f"(output `{output}`; Studio lists it as the code repository `sagemaker-<project id>-{kind}`). The project "
        "pushes the seed code to its `RepositoryBranch` when it is created (only if that branch has no commits), and "
        f"the pipeline starts {starts} (pipeline triggers instead of an EventBridge rule)."
    )
