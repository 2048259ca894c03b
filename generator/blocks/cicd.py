"""CodeBuild projects, CodePipeline stages and actions, and the EventBridge rules that start them."""

from __future__ import annotations

from typing import Any

from troposphere import GetAtt, Ref, Sub, Tags, codebuild, codepipeline, events

BUILD_IMAGE = "aws/codebuild/amazonlinux2-x86_64-standard:5.0"


def build_project(
    logical_id: str,
    name: Any,
    description: str,
    role: Any,
    key: Any,
    environment: dict[str, Any],
    tags: Tags,
    buildspec: str = "buildspec.yml",
    timeout_minutes: int = 480,
) -> codebuild.Project:
    """A CodeBuild project run by CodePipeline, encrypting its output with `key`."""
    return codebuild.Project(
        logical_id,
        Name=name,
        Description=description,
        ServiceRole=role,
        EncryptionKey=key,
        Artifacts=codebuild.Artifacts(Type="CODEPIPELINE"),
        Source=codebuild.Source(Type="CODEPIPELINE", BuildSpec=buildspec),
        Environment=codebuild.Environment(
            Type="LINUX_CONTAINER",
            ComputeType="BUILD_GENERAL1_SMALL",
            Image=BUILD_IMAGE,
            EnvironmentVariables=[
                codebuild.EnvironmentVariable(Name=k, Type="PLAINTEXT", Value=v) for k, v in environment.items()
            ],
        ),
        TimeoutInMinutes=timeout_minutes,
        Tags=tags,
    )


def codecommit_action(repository: Any, output: str, branch: str = "main", name: str = "Source") -> codepipeline.Actions:
    """The repository's branch, started by EventBridge (`branch_push_pattern`) rather than polling."""
    return codepipeline.Actions(
        Name=name,
        ActionTypeId=codepipeline.ActionTypeId(Category="Source", Owner="AWS", Provider="CodeCommit", Version="1"),
        Configuration={
            "RepositoryName": GetAtt(repository, "Name"),
            "BranchName": branch,
            "PollForSourceChanges": "false",
        },
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=output)],
        RunOrder=1,
    )


def codecommit_source(repository: Any, output: str, branch: str = "main") -> codepipeline.Stages:
    """Source stage: the repository's branch, started by EventBridge rather than polling."""
    return codepipeline.Stages(Name="Source", Actions=[codecommit_action(repository, output, branch)])


def connection_action(
    connection_arn: Any, full_repository_id: Any, branch: Any, output: str, name: str = "Source"
) -> codepipeline.Actions:
    """A GitHub, GitLab or Bitbucket repository through a CodeConnections connection.

    Configuration keys of the `CodeStarSourceConnection` action (CodePipeline user guide,
    action-reference-CodestarConnectionSource): ConnectionArn, FullRepositoryId (`owner/repo`),
    BranchName, OutputArtifactFormat (CODE_ZIP, the default, is what every action here reads;
    CODEBUILD_CLONE_REF only works for CodeBuild). DetectChanges is off: the pipeline's `Triggers`
    (`git_trigger`) start it ("when a trigger configuration is specified, default change
    detection for repository and branch commits is disabled", PipelineTriggerDeclaration).
    """
    return codepipeline.Actions(
        Name=name,
        ActionTypeId=codepipeline.ActionTypeId(
            Category="Source", Owner="AWS", Provider="CodeStarSourceConnection", Version="1"
        ),
        Configuration={
            "ConnectionArn": connection_arn,
            "FullRepositoryId": full_repository_id,
            "BranchName": branch,
            "OutputArtifactFormat": "CODE_ZIP",
            "DetectChanges": "false",
        },
        OutputArtifacts=[codepipeline.OutputArtifacts(Name=output)],
        RunOrder=1,
    )


# Pull request events that start a build: opened, and new commits pushed to it (CLOSED would run
# a merged or abandoned head again; the merge itself arrives as a push to the branch).
PULL_REQUEST_EVENTS = ["OPEN", "UPDATED"]


def git_trigger(
    branch: Any, pull_requests: bool, source_action: str = "Source"
) -> codepipeline.PipelineTriggerDeclaration:
    """A V2 pipeline trigger (only for `CodeStarSourceConnection` actions, CloudFormation
    AWS::CodePipeline::Pipeline GitConfiguration): pushes to `branch` and, with `pull_requests`,
    pull requests into it opened or updated. CodePipeline offers both filters for every provider
    it reaches through connections (GitHub, GitLab, Bitbucket: user guide, pipelines-filter)."""
    git = codepipeline.GitConfiguration(
        SourceActionName=source_action,
        Push=[codepipeline.GitPushFilter(Branches=codepipeline.GitBranchFilterCriteria(Includes=[branch]))],
    )
    if pull_requests:
        git.PullRequest = [
            codepipeline.GitPullRequestFilter(
                Branches=codepipeline.GitBranchFilterCriteria(Includes=[branch]), Events=PULL_REQUEST_EVENTS
            )
        ]
    return codepipeline.PipelineTriggerDeclaration(ProviderType="CodeStarSourceConnection", GitConfiguration=git)


def codebuild_action(
    name: str, project: Any, inputs: list[str], outputs: list[str] = (), run_order: int = 1, **configuration: Any
) -> codepipeline.Actions:
    action = codepipeline.Actions(
        Name=name,
        ActionTypeId=codepipeline.ActionTypeId(Category="Build", Owner="AWS", Provider="CodeBuild", Version="1"),
        Configuration={"ProjectName": Ref(project), **configuration},
        InputArtifacts=[codepipeline.InputArtifacts(Name=i) for i in inputs],
        RunOrder=run_order,
    )
    if outputs:
        action.OutputArtifacts = [codepipeline.OutputArtifacts(Name=o) for o in outputs]
    return action


def stage(name: str, *actions: codepipeline.Actions) -> codepipeline.Stages:
    return codepipeline.Stages(Name=name, Actions=list(actions))


# How a pipeline treats a new execution while another runs (V2 pipelines). QUEUED runs every
# execution to the end in order: right for builds, where every pushed commit should run.
# SUPERSEDED lets a newer execution overtake one waiting between stages: right for deploy
# pipelines with a manual approval, where a pending approval would otherwise hold up every
# later approval event (and their build step always deploys the newest approved version).
QUEUED = "QUEUED"
SUPERSEDED = "SUPERSEDED"


def pipeline(
    logical_id: str,
    name: Any,
    role: Any,
    bucket: Any,
    key: Any,
    stages: list[codepipeline.Stages],
    tags: Tags,
    execution_mode: str = QUEUED,
    triggers: Any = None,
) -> codepipeline.Pipeline:
    """A V2 pipeline whose artifacts are encrypted with the customer-managed `key`; `triggers`:
    its `Triggers` (a list, or an Fn::If choosing one), for connection source actions."""
    if execution_mode not in (QUEUED, SUPERSEDED):
        raise ValueError(f"execution_mode must be {QUEUED} or {SUPERSEDED}, not {execution_mode!r}")
    extra = {} if triggers is None else {"Triggers": triggers}
    return codepipeline.Pipeline(
        logical_id,
        Name=name,
        RoleArn=role,
        PipelineType="V2",
        ExecutionMode=execution_mode,
        ArtifactStore=codepipeline.ArtifactStore(
            Type="S3",
            Location=Ref(bucket),
            EncryptionKey=codepipeline.EncryptionKey(Id=GetAtt(key, "Arn"), Type="KMS"),
        ),
        Stages=stages,
        Tags=tags,
        **extra,
    )


def pipeline_arn(pipeline_resource: Any) -> Sub:
    return Sub(
        "arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:${Pipeline}",
        Pipeline=Ref(pipeline_resource),
    )


def branch_push_pattern(repository: Any, branch: str = "main") -> dict[str, Any]:
    """EventBridge pattern: a commit pushed to (or creating) `branch` of `repository`."""
    return {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [GetAtt(repository, "Arn")],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated"],
            "referenceType": ["branch"],
            "referenceName": [branch],
        },
    }


def model_package_state_pattern(group_names: Any, statuses: list[str]) -> dict[str, Any]:
    """EventBridge pattern: a model package in one of `group_names` reached one of `statuses`."""
    return {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Model Package State Change"],
        "detail": {"ModelPackageGroupName": group_names, "ModelApprovalStatus": statuses},
    }


def start_pipeline_rule(
    logical_id: str, name: Any, description: str, pattern: dict[str, Any], target_pipeline: Any, role: Any, tags: Tags
) -> events.Rule:
    """A rule that starts `target_pipeline` when `pattern` matches."""
    return events.Rule(
        logical_id,
        Name=name,
        Description=description,
        EventPattern=pattern,
        State="ENABLED",
        Targets=[events.Target(Id="Pipeline", Arn=pipeline_arn(target_pipeline), RoleArn=role)],
        Tags=tags,
    )
