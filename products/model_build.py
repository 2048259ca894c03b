"""Model build: a seeded repository whose pushes run a SageMaker Pipeline that registers models.

Seed 000's flow. A push to `main` starts CodePipeline; CodeBuild upserts and starts the SageMaker
Pipeline (preprocess, train, evaluate, condition on MSE, register as PendingManualApproval with a
model card and a lifecycle stage; SageMaker Python SDK v3) in `seedcode/modelbuild/`. Models go
into this project's model package group, or, when a hub account and group are given, into the
shared-services (hub) registry: the model-registry-hub product's
group policy lets the data science accounts it lists register there, as PendingManualApproval only
(seed 000's push pattern); the hub account may read the artifacts and decrypt them.

Deploying the project's versions from other accounts: the group policy lets the named deployment
accounts (DeploymentAccountIds), or the accounts of whole OUs (DeploymentOrganizationalUnitIds,
what multi-account-deploy's StackSets deploy to), describe the versions and create models from
them, and the bucket and key let them read the model data. OU grants go to the roles that need
them only: the endpoints' execution roles (sagemaker-role-*, target-account-bootstrap) and the
StackSet execution roles (stacksets-exec-*) that create the models.
"""

from troposphere import And, Equals, GetAtt, If, Join, Not, Or, Output, Parameter, Ref, Sub, Template

from generator.blocks import cicd, crossaccount, hub, registry, source
from generator.blocks.policy import (
    BUCKET_READ,
    KEY_READ,
    OBJECT_READ,
    bucket_read_for_accounts,
    key_use_for,
    policy_document,
    when,
)
from generator.blocks.project import (
    PROJECT_ID,
    PROJECT_NAME,
    mark_optional,
    parameter_groups,
    project_name,
    project_parameters,
    project_tags,
    role_arn,
    role_parameter,
)
from generator.blocks.repository import SEED_BUCKET, seed_key_parameter_name, seed_parameters, seeded_repository
from generator.blocks.security import skip_check
from generator.blocks.storage import bucket_name, encrypted_bucket, encryption_key
from generator.parameters import account_id_parameter, account_list_parameter, optional_name_parameter
from generator.product import Product

SEED = "modelbuild"
DEPLOYMENT_OUS = "DeploymentOrganizationalUnitIds"


def template() -> Template:
    t = Template(Description="SageMaker project: model building with a SageMaker Pipeline (smcat model-build).")

    # --- Parameters: what Studio fills in, the roles the pipelines run as, optional sharing.
    name, project_id = t.add_parameter(project_parameters())
    t.add_parameter(seed_parameters(SEED))
    source.add_source_choice(t)
    execution_role = t.add_parameter(role_parameter("SageMakerExecutionRole", "SageMaker Pipeline steps run as"))
    build_role = t.add_parameter(role_parameter("CodeBuildRole", "CodeBuild runs as"))
    pipeline_role = t.add_parameter(role_parameter("CodePipelineRole", "CodePipeline runs as"))
    events_role = t.add_parameter(role_parameter("EventsRole", "EventBridge uses to start the pipeline"))
    deployment_accounts = t.add_parameter(
        account_list_parameter(
            "DeploymentAccountIds", "Accounts that deploy this project's models (read them and create models)."
        )
    )
    t.add_parameter(
        Parameter(
            hub.ORGANIZATION_ID,
            Type="String",
            Default="",
            AllowedPattern=hub.ORGANIZATION_ID_PATTERN.replace("^", "^(", 1).replace("$", ")?$"),
            Description="Id of the AWS Organization (o-...) of DeploymentOrganizationalUnitIds.",
            ConstraintDescription="blank or an organization id: o- and 10-32 lowercase letters or digits",
        )
    )
    t.add_parameter(
        hub.ou_list_parameter(
            DEPLOYMENT_OUS,
            "OUs whose accounts deploy this project's models (multi-account-deploy's staging and prod OUs): "
            "their endpoint execution roles (sagemaker-role-*) read the models, their StackSet execution roles "
            "create models from the versions.",
        )
    )
    hub_account = t.add_parameter(
        account_id_parameter(
            "HubAccountId",
            "Shared-services account of a hub model registry (model-registry-hub, which must list this account "
            "in DataScienceAccountIds).",
        )
    )
    hub_group = t.add_parameter(
        optional_name_parameter(
            "HubModelPackageGroupName",
            "Model package group in the hub registry (one of its ModelPackageGroupName1-5): versions are registered "
            "there, pending the hub owner's approval.",
            63,
        )
    )
    t.add_parameter(
        Parameter(
            hub.HUB_NAME,
            Type="String",
            Default="",
            MaxLength=hub.HUB_NAME_MAX,
            AllowedPattern=hub.HUB_NAME_PATTERN.replace("^", "^(", 1).replace("$", ")?$"),
            Description="HubName of a model-registry-hub in HubAccountId that pulls this project's approved "
            "versions (pull pattern, with a registry-spoke forwarding this group's events): the group, bucket and "
            "key let the hub's sync role (sagemaker-<hub name>-sync) read them, so no policy needs replacing by "
            "hand. Leave blank when not used.",
            ConstraintDescription="blank or 1-24 lowercase letters, digits and inner hyphens",
        )
    )
    mark_optional(
        t,
        hub.HUB_NAME,
        "SageMakerExecutionRole",
        "CodeBuildRole",
        "CodePipelineRole",
        "EventsRole",
        "DeploymentAccountIds",
        hub.ORGANIZATION_ID,
        DEPLOYMENT_OUS,
        "HubAccountId",
        "HubModelPackageGroupName",
    )
    parameter_groups(
        t,
        {
            "Project": [PROJECT_NAME, PROJECT_ID],
            "Model registry": [
                "DeploymentAccountIds",
                hub.ORGANIZATION_ID,
                DEPLOYMENT_OUS,
                "HubAccountId",
                "HubModelPackageGroupName",
                hub.HUB_NAME,
            ],
            "Source repository": list(source.PARAMETERS),
            "Roles": ["SageMakerExecutionRole", "CodeBuildRole", "CodePipelineRole", "EventsRole"],
            "Seed code (set by the publisher)": [SEED_BUCKET, seed_key_parameter_name(SEED)],
        },
    )

    # --- Conditions and rules: sharing is opt-in; a hub needs both its account and its group.
    t.add_condition("HasDeploymentAccounts", Not(Equals(Join("", Ref(deployment_accounts)), "")))
    t.add_condition("HasDeploymentOUs", hub.has_items(DEPLOYMENT_OUS))
    t.add_condition("HasDeployers", Or({"Condition": "HasDeploymentAccounts"}, {"Condition": "HasDeploymentOUs"}))
    t.add_condition("HasGroupPolicy", Or({"Condition": "HasDeployers"}, {"Condition": "SyncsToHub"}))
    t.add_rule(
        "DeploymentOUsNeedOrganization",
        {
            "RuleCondition": Not({"Fn::EachMemberEquals": [Ref(DEPLOYMENT_OUS), ""]}),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(hub.ORGANIZATION_ID), "")),
                    "AssertDescription": "DeploymentOrganizationalUnitIds needs OrganizationId.",
                }
            ],
        },
    )
    t.add_condition("UsesHubRegistry", And(Not(Equals(Ref(hub_account), "")), Not(Equals(Ref(hub_group), ""))))
    t.add_rule(
        "HubGroupNeedsAccount",
        {
            "RuleCondition": Not(Equals(Ref(hub_group), "")),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(hub_account), "")),
                    "AssertDescription": "HubModelPackageGroupName needs HubAccountId.",
                }
            ],
        },
    )
    t.add_condition("SyncsToHub", And(Not(Equals(Ref(hub_account), "")), Not(Equals(Ref(hub.HUB_NAME), ""))))
    t.add_rule(
        "HubAccountNeedsGroupOrHub",
        {
            "RuleCondition": Not(Equals(Ref(hub_account), "")),
            "Assertions": [
                {
                    "Assert": Or(Not(Equals(Ref(hub_group), "")), Not(Equals(Ref(hub.HUB_NAME), ""))),
                    "AssertDescription": "HubAccountId needs HubModelPackageGroupName (register into the hub) or "
                    "HubName (the hub pulls from this project).",
                }
            ],
        },
    )
    t.add_rule(
        "HubNameNeedsAccount",
        {
            "RuleCondition": Not(Equals(Ref(hub.HUB_NAME), "")),
            "Assertions": [
                {
                    "Assert": Not(Equals(Ref(hub_account), "")),
                    "AssertDescription": "HubName needs HubAccountId.",
                }
            ],
        },
    )

    tags = project_tags()
    roles = [role_arn(r.title) for r in (execution_role, build_role, pipeline_role, events_role)]
    # Accounts of the deployment OUs: the endpoints' execution roles read the model data; the
    # StackSet execution roles also create the models (nothing else there needs anything).
    readers = (crossaccount.EXECUTION_ROLES,)
    model_creators = (crossaccount.EXECUTION_ROLES, crossaccount.STACK_SET_EXECUTION_ROLES)

    # --- Encryption: one customer-managed key for the artifacts, shared read-only where named.
    key, _ = t.add_resource(
        encryption_key(
            "ArtifactKey",
            "Encrypts the model-build artifacts of a SageMaker project.",
            tags,
            key_use_for(roles, sid="ProjectRolesUseKey"),
        source.pipeline_role_uses_key(),
            when(
                "HasDeploymentAccounts",
                key_use_for(Ref(deployment_accounts), KEY_READ, sid="DeploymentAccountsDecrypt"),
            ),
            when(
                "HasDeploymentOUs",
                crossaccount.only_roles(hub.for_ous("DeploymentOUsDecrypt", DEPLOYMENT_OUS, KEY_READ, "*"), *readers),
            ),
            when("UsesHubRegistry", key_use_for(Ref(hub_account), KEY_READ, sid="HubAccountDecrypts")),
            when("SyncsToHub", hub.for_hub_role("HubSyncRoleDecrypts", "${HubAccountId}", "sync", KEY_READ, "*")),
            alias=Sub(f"alias/sagemaker-${{{PROJECT_NAME}}}-${{{PROJECT_ID}}}-modelbuild"),
        )
    )
    skip_check(
        key,
        "CKV_AWS_33",
        "the * principal is confined to the deployment OUs' execution roles (aws:PrincipalOrgID, "
        "aws:PrincipalOrgPaths, aws:PrincipalArn); checkov does not read conditions, lint rule E9130 does",
    )

    # --- Artifacts: pipeline artifacts and model.tar.gz files; deployers and the hub read models.
    bucket, _ = t.add_resource(
        encrypted_bucket(
            "ArtifactBucket",
            bucket_name(f"sagemaker-${{{PROJECT_ID}}}"),
            key,
            tags,
            when(
                "HasDeploymentAccounts",
                bucket_read_for_accounts(
                    "ArtifactBucket", Ref(deployment_accounts), sid="DeploymentAccountsReadModels"
                ),
            ),
            when(
                "HasDeploymentOUs",
                crossaccount.only_roles(
                    hub.for_ous(
                        "DeploymentOUsReadModels",
                        DEPLOYMENT_OUS,
                        OBJECT_READ + BUCKET_READ,
                        [GetAtt("ArtifactBucket", "Arn"), Sub("${Arn}/*", Arn=GetAtt("ArtifactBucket", "Arn"))],
                    ),
                    *readers,
                ),
            ),
            when("UsesHubRegistry", bucket_read_for_accounts("ArtifactBucket", Ref(hub_account), sid="HubReadsModels")),
            when(
                "SyncsToHub",
                hub.for_hub_role(
                    "HubSyncRoleReadsModels",
                    "${HubAccountId}",
                    "sync",
                    OBJECT_READ + BUCKET_READ,
                    [GetAtt("ArtifactBucket", "Arn"), Sub("${Arn}/*", Arn=GetAtt("ArtifactBucket", "Arn"))],
                ),
            ),
        )
    )

    # --- Registry: the project's model package group, deployable by the deployment accounts and OUs
    # (creating a model from another account's version needs CreateModel on this side too).
    group_name = Sub(f"${{{PROJECT_NAME}}}-${{{PROJECT_ID}}}")
    t.add_resource(
        registry.model_package_group(
            "ModelPackageGroup",
            group_name,
            "Models registered by this project's model-build pipeline.",
            tags,
            policy=If(
                "HasGroupPolicy",
                policy_document(
                    when(
                        "HasDeploymentAccounts",
                        registry.group_access_for_accounts(
                            group_name, Ref(deployment_accounts), registry.GROUP_DEPLOY, "DeploymentAccountsDeploy"
                        ),
                    ),
                    when(
                        "HasDeploymentOUs",
                        crossaccount.only_roles(
                            hub.for_ous(
                                "DeploymentOUsDeploy",
                                DEPLOYMENT_OUS,
                                registry.GROUP_DEPLOY,
                                [registry.group_arn(group_name), registry.packages_arn(group_name)],
                            ),
                            *model_creators,
                        ),
                    ),
                    # The hub's sync role (pull pattern) describes the group and reads its versions.
                    when(
                        "SyncsToHub",
                        hub.for_hub_role(
                            "HubSyncRoleDescribesGroup", "${HubAccountId}", "sync", hub.SYNC_GROUP,
                            registry.group_arn(group_name),
                        ),
                    ),
                    when(
                        "SyncsToHub",
                        hub.for_hub_role(
                            "HubSyncRoleReadsVersions", "${HubAccountId}", "sync", hub.SYNC_VERSIONS,
                            registry.packages_arn(group_name),
                        ),
                    ),
                ),
                Ref("AWS::NoValue"),
            ),
        )
    )
    registration_target = If(
        "UsesHubRegistry",
        Sub(
            "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${HubAccountId}:model-package-group/"
            "${HubModelPackageGroupName}"
        ),
        group_name,
    )

    # --- Source: the seeded model-build repository in CodeCommit, or the user's GitHub, GitLab or
    # Bitbucket repository (seeded through the connection, listed in Studio as a code repository).
    repository = t.add_resource(
        seeded_repository(
            "ModelBuildRepository",
            project_name("modelbuild"),
            "Model building code of a SageMaker project (a SageMaker Pipeline).",
            SEED,
            tags,
            condition=source.USES_CODECOMMIT,
        )
    )
    t.add_resource(source.studio_repository("ModelBuildCodeRepository", "modelbuild", tags))
    seeding_role = source.connection_role(t, "CodeBuildRole")
    t.add_resource(source.seed_resources("ModelBuild", SEED, seeding_role, tags, key=GetAtt(key, "Arn")))

    # --- Build: CodeBuild upserts and starts the SageMaker Pipeline.
    pipeline_name = project_name()
    build = t.add_resource(
        cicd.build_project(
            "ModelBuildProject",
            project_name("modelbuild"),
            "Upserts and starts the project's SageMaker Pipeline.",
            roles[1],
            GetAtt(key, "Arn"),
            {
                "SAGEMAKER_PROJECT_NAME": Ref(name),
                "SAGEMAKER_PROJECT_ID": Ref(project_id),
                "SAGEMAKER_PROJECT_ARN": Sub(
                    "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:project/${SageMakerProjectName}"
                ),
                "SAGEMAKER_PIPELINE_NAME": pipeline_name,
                "SAGEMAKER_PIPELINE_ROLE_ARN": roles[0],
                "ARTIFACT_BUCKET": Ref(bucket),
                # Every object the pipeline writes names this key: without one the SDK's uploads
                # and SageMaker's job outputs use the account's aws/s3 key, which no other account
                # (deployment accounts, the hub) can use (seedcode/modelbuild/README.md).
                "ARTIFACT_KEY_ARN": GetAtt(key, "Arn"),
                "MODEL_PACKAGE_GROUP_NAME": registration_target,
                "AWS_REGION": Ref("AWS::Region"),
            },
            tags,
            buildspec="codebuild-buildspec.yml",
        )
    )

    # --- Pipeline: source -> build, started by pushes to main.
    model_build_pipeline = t.add_resource(
        cicd.pipeline(
            "ModelBuildPipeline",
            project_name("modelbuild"),
            source.connection_role(t, "CodePipelineRole"),
            bucket,
            key,
            [
                source.source_stage(repository),
                cicd.stage("Build", cicd.codebuild_action("BuildAndRunSageMakerPipeline", build, ["SourceArtifact"])),
            ],
            tags,
            # CodeConnections: pushes to the branch and pull requests into it (a pull request's
            # build shows whether its pipeline still runs before it is merged).
            triggers=source.triggers(pull_requests=True),
        )
    )
    source.push_seed_after(t, "ModelBuild", model_build_pipeline)

    push_rule = t.add_resource(
        cicd.start_pipeline_rule(
            "ModelBuildTrigger",
            Sub(f"sagemaker-${{{PROJECT_ID}}}-modelbuild"),
            "Starts the model-build pipeline on pushes to main.",
            cicd.branch_push_pattern(repository),
            model_build_pipeline,
            roles[3],
            tags,
        )
    )
    push_rule.Condition = source.USES_CODECOMMIT

    # --- Outputs
    t.add_output(
        [
            Output("ArtifactBucketName", Description="Bucket for pipeline artifacts and models.", Value=Ref(bucket)),
            Output("ArtifactKeyArn", Description="KMS key encrypting the artifacts.", Value=GetAtt(key, "Arn")),
            *source.repository_outputs("ModelBuild", repository),
            Output(
                "ModelBuildPipelineName",
                Description="CodePipeline that runs the model build.",
                Value=Ref(model_build_pipeline),
            ),
            Output(
                "SageMakerPipelineName",
                Description="SageMaker Pipeline the build upserts and runs.",
                Value=pipeline_name,
            ),
            Output("ModelPackageGroupName", Description="This project's model package group.", Value=group_name),
            Output(
                "RegistrationTarget",
                Description="Where models are registered (local group or hub group ARN).",
                Value=registration_target,
            ),
        ]
    )
    return t


PRODUCT = Product(
    name="model-build",
    description="Model building, training and registration with a SageMaker Pipeline, run on every push to "
    "main; models wait for approval in the project's (or a shared hub's) model registry.",
    owner="ML platform team",
    version="1.0.0",
    seedcode=(SEED,),
    template=template,
    after_create={
        "repository": source.after_create_repository("modelbuild", "ModelBuildRepositoryUrl", deploys=False),
        "push": "The build runs `run-pipeline` (the repository's `codebuild-buildspec.yml`): it creates or updates the "
        "SageMaker Pipeline `sagemaker-<project name>-<project id>` (output `SageMakerPipelineName`; in Studio under "
        "**Pipelines**) and waits for its execution: preprocess, train, evaluate, and register the model if its MSE "
        "is at most `MseThreshold`. The repository's README explains how to change the pipeline.",
        "approve": "New versions wait as `PendingManualApproval`. With `HubAccountId` and `HubModelPackageGroupName` "
        "they are registered in the hub account's group instead (output `RegistrationTarget`) and approved there. "
        "Each version carries a model card (its intended use, training data and test metrics) with status "
        "`PendingReview`: review it and set it to `Approved` with the version. Versions start at lifecycle stage "
        "`Development` (status `Approved`; pipeline parameters `ModelLifeCycleStage` and "
        "`ModelLifeCycleStageStatus`).",
        "endpoint": "Deploy the approved versions with a `multi-account-deploy` or `cross-account-endpoint` project "
        "given this project's model package group.",
    },
)
