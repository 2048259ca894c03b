"""Seeding a user's third-party Git repository (GitHub, GitLab, Bitbucket) through CodeConnections.

CodeCommit repositories are seeded by CloudFormation itself (`Code.S3`, repository.py); a
repository reached through a connection has no such property. This block does what AWS's own
SageMaker project templates for third-party Git repositories do (seen with the `search` tool in
aws-samples/sagemaker-custom-project-templates, whose ported AWS template has a CodeBuild project
`GitSeedCodeCheckinProject` built from `bootstrap/GitRepositorySeedCodeCheckinCodeBuildProject`, a
Lambda `GitSeedCodeCheckinProjectTriggerLambda` behind a `Custom::LambdaInvoker` custom resource that
starts the build on Create and polls `BatchGetBuilds`, and a `get_repository_url` that clones
`https://<codeconnections|codestar-connections>.<region>.amazonaws.com/git-http/<account>/<region>/
<connection id>/<owner>/<repo>.git`, the service prefix taken from the connection ARN):

- a CodeBuild project (`NO_SOURCE`) whose buildspec embeds generator/seeding/checkin.py: it
  downloads the seed zip, clones the repository through the connection's git-http endpoint, commits
  the seed to an empty branch and pushes it; a branch holding the seed already is left alone
  (exit 0), a branch with others' commits is refused (the build fails, so does the stack, with the
  reason), and nothing is ever force-pushed;
- a Lambda function (generator/lambdas/seed_checkin.py, inline) and its log group, and the custom
  resource that runs it on Create and on every Update that changes the repository, branch or seed
  (a re-run pushes nothing); Delete leaves the repository alone.

Git credentials: the buildspec sets `env: git-credential-helper: yes`, CodeBuild's documented way
(buildspec reference) to let its Git credential helper answer git's HTTPS credential requests with
the build's own role, which is how CodeBuild reaches the git-http endpoint of a connection (as for
CodePipeline's full-clone `CODEBUILD_CLONE_REF` artifacts). No token is stored anywhere. The build
role (`role_arn`) needs `codeconnections:UseConnection` (and `codestar-connections:UseConnection`
for connections with the older ARN prefix) on the connection, `s3:GetObject` on the seed zip and
CloudWatch Logs writes; the function role (`function_role_arn`, by default the same role, which must
then trust lambda.amazonaws.com too, as the AWS-managed AmazonSageMakerServiceCatalogProductsUseRole
does) needs `codebuild:StartBuild` and `codebuild:BatchGetBuilds` on the project and Logs writes.

Names derive from the project's parameters: the build `sagemaker-<name>-<id>-<slug>-seed`, the
function `sagemaker-<id>-<slug>-seed` (Lambda allows 64 characters), `slug` being the lowercased
`logical_prefix` (at most 20 characters).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from troposphere import AWSObject, GetAtt, Join, Ref, Select, Split, Sub, Tags, cloudformation, codebuild

from generator.blocks.cicd import BUILD_IMAGE
from generator.blocks.lambda_function import inline_function, log_group
from generator.blocks.project import PROJECT_ID
from generator.blocks.project import project_name as derived_name
from generator.blocks.security import skip_check

CHECKIN = Path(__file__).resolve().parents[1] / "seeding" / "checkin.py"
HEREDOC = "SEED_CHECKIN"
SLUG_MAX = 20
# The function waits at most its timeout (900 s, Lambda's maximum) for a build that may queue 5
# minutes and run 8; CloudFormation gives the custom resource a little longer to answer.
BUILD_MINUTES, QUEUED_MINUTES, FUNCTION_SECONDS, SERVICE_TIMEOUT = 8, 5, 900, 960


class SeedCheckin(cloudformation.CustomResource):
    resource_type = "Custom::SeedCheckin"


def buildspec() -> str:
    """The seeding build's buildspec: checkin.py fed to python3 through a quoted here-document, so
    the script runs byte for byte as it is in the repository (no shell expansion inside)."""
    script = CHECKIN.read_text()
    if HEREDOC in script:
        raise ValueError(f"{CHECKIN} must not contain the here-document delimiter {HEREDOC}")
    body = "".join(f"        {line}".rstrip() + "\n" for line in script.splitlines())
    return (
        "version: 0.2\n"
        "env:\n"
        "  shell: bash\n"
        "  git-credential-helper: yes\n"
        "phases:\n"
        "  build:\n"
        "    commands:\n"
        "      - |\n"
        f"        python3 - <<'{HEREDOC}'\n"
        f"{body}"
        f"        {HEREDOC}\n"
    )


def connection_git_url(connection_arn: Any, repository_full_name: Any) -> Join:
    """`https://<service>.<region>.<url suffix>/git-http/<account>/<region>/<connection id>/<owner>/<repo>.git`,
    the parts read from the connection ARN (`arn:<partition>:<service>:<region>:<account>:connection/<id>`)."""
    part = lambda index: Select(index, Split(":", connection_arn))  # noqa: E731
    return Join("", [
        "https://", part(2), ".", part(3), ".", Ref("AWS::URLSuffix"), "/git-http/", part(4), "/", part(3), "/",
        Select(1, Split("/", connection_arn)), "/", repository_full_name, ".git",
    ])


def seeding_resources(
    logical_prefix: str,
    *,
    connection_arn: Any,
    repository_full_name: Any,
    branch: Any,
    seed_bucket: Any,
    seed_key: Any,
    role_arn: Any,
    tags: Tags,
    condition: str = "UsesCodeConnections",
    function_role_arn: Any = None,
    key: Any = None,
) -> list[AWSObject]:
    """The build, function, log group and custom resource that seed the repository, each under
    `condition`. `key` (optional): the KMS key (ARN or alias) CodeBuild encrypts with."""
    slug = logical_prefix.lower()
    if not logical_prefix.isalnum() or not logical_prefix[0].isalpha() or len(slug) > SLUG_MAX:
        raise ValueError(f"logical_prefix {logical_prefix!r} must be 1-{SLUG_MAX} letters and digits, "
                         "starting with a letter")
    url = connection_git_url(connection_arn, repository_full_name)
    project = codebuild.Project(
        f"{logical_prefix}SeedBuild",
        Name=derived_name(f"{slug}-seed"),
        Description="Checks the project's seed code in to the empty repository through the connection, once.",
        ServiceRole=role_arn,
        Artifacts=codebuild.Artifacts(Type="NO_ARTIFACTS"),
        Source=codebuild.Source(Type="NO_SOURCE", BuildSpec=buildspec()),
        Environment=codebuild.Environment(
            Type="LINUX_CONTAINER",
            ComputeType="BUILD_GENERAL1_SMALL",
            Image=BUILD_IMAGE,
            EnvironmentVariables=[
                codebuild.EnvironmentVariable(Name=name, Type="PLAINTEXT", Value=value)
                for name, value in (
                    ("SEED_BUCKET", seed_bucket), ("SEED_KEY", seed_key), ("REPOSITORY_URL", url),
                    ("REPOSITORY_BRANCH", branch),
                )
            ],
        ),
        TimeoutInMinutes=BUILD_MINUTES,
        QueuedTimeoutInMinutes=QUEUED_MINUTES,
        Tags=tags,
    )
    if key is not None:
        project.EncryptionKey = key
    else:
        skip_check(project, "CKV_AWS_147", "NO_ARTIFACTS: the build writes nothing but its log line; no key to "
                   "encrypt with.")
    function_name = Sub(f"sagemaker-${{{PROJECT_ID}}}-{slug}-seed")
    logs = log_group(f"{logical_prefix}SeedLogGroup", function_name, tags)
    skip_check(logs, "CKV_AWS_158", "Logs hold the build id and status only; no key to manage for them.")
    function = inline_function(
        f"{logical_prefix}SeedFunction",
        function_name,
        "Runs the seed check-in build once and answers CloudFormation (custom resource).",
        "seed_checkin",
        function_role_arn if function_role_arn is not None else role_arn,
        {},
        tags,
        timeout=FUNCTION_SECONDS,
        memory=128,
    )
    del function.properties["Environment"]  # everything comes with each event
    function.DependsOn = [logs.title]
    skip_check(function, "CKV_AWS_117", "Calls the CodeBuild API only; no VPC resources to reach.")
    skip_check(function, "CKV_AWS_116", "Invoked synchronously by CloudFormation, which reports each failure on the "
               "stack; nothing to dead-letter.")
    skip_check(function, "CKV_AWS_115", "Runs on stack events only; reserved concurrency fails in accounts at the "
               "minimum concurrency quota.")
    checkin = SeedCheckin(
        f"{logical_prefix}SeedCheckin",
        ServiceToken=GetAtt(function, "Arn"),
        ServiceTimeout=SERVICE_TIMEOUT,
        # Not read by the function: a change to any of them is an Update, which runs the build again.
        ProjectName=Ref(project),
        RepositoryUrl=url,
        Branch=branch,
        SeedBucket=seed_bucket,
        SeedKey=seed_key,
    )
    resources: list[AWSObject] = [project, logs, function, checkin]
    for resource in resources:
        resource.Condition = condition
    return resources
