"""Multi-account deploy: approved models go to every account of a staging OU, then of a prod OU.

Seed 001's flow. Approving a model version (or pushing to `main` of the seeded `modeldeploy`
repository) starts CodePipeline: the build finds the newest approved model package and writes the
stage parameter files; a CodeBuild step deploys the endpoint template as a service-managed
StackSet to the staging OU; a second CodeBuild project tests the staging endpoints; after a manual
approval the same template goes to the prod OU.

The StackSets are deployed by CodeBuild with `CallAs=DELEGATED_ADMIN`, not by CodePipeline's
StackSet actions, which only work in the management account (see `generator/blocks/stacksets.py`).
The endpoints' execution roles in the two OUs (and OUs nested in them) may read the artifacts and
decrypt them: every cross-account grant is conditioned on `aws:PrincipalOrgPaths` and on the
principal being one of the two execution roles (`aws:PrincipalArn`).

The model package group is required: a model-build project's group (in this account: give
model-build `DeploymentOrganizationalUnitIds`, so its group, bucket and key grant the two OUs) or a
hub group's ARN (model-registry-hub: list the OUs in `WorkloadOrganizationalUnitIds`). A group made
here would stay empty: model-build registers into its own group or the hub's, never another's.
"""

from troposphere import Output, Ref, Sub, Template

from generator.blocks import cicd, crossaccount, keys, lifecycle, source, stacksets
from generator.blocks.policy import key_use_for
from generator.blocks.project import (
    PIPELINE_ROLE,
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
from generator.product import Product

SEED = "modeldeploy"
# The endpoint template as the build step exports it (seedcode/modeldeploy/buildspec.yml).
EXPORTED_TEMPLATE = "template-export.yml"
DEFAULT_EXECUTION_ROLE = "sagemaker-role-mlops"  # target-account-bootstrap's default
DEFAULT_TEST_ROLE = "sagemaker-mlops-tester"  # target-account-bootstrap's default


def template() -> Template:
    t = Template(Description="SageMaker project: deploy approved models to the accounts of a staging OU and a "
                 "prod OU with service-managed StackSets (smcat multi-account-deploy).")

    # --- Parameters: what Studio fills in, the organization and OUs, the target roles, the model.
    name, project_id = t.add_parameter(project_parameters())
    t.add_parameter(seed_parameters(SEED))
    source.add_source_choice(t)
    t.add_parameter(crossaccount.organization_id_parameter())
    t.add_parameter(crossaccount.ou_parameter(
        "OrganizationalUnitStagingId", "OU (ou-...) whose accounts get the staging endpoint."))
    t.add_parameter(crossaccount.ou_parameter(
        "OrganizationalUnitProdId", "OU (ou-...) whose accounts get the prod endpoint."))
    t.add_parameter(role_parameter(
        "SageMakerExecutionRoleStagingName", "the staging endpoints run as in every staging account "
        "(sagemaker-role-<suffix>, made by the target-account-bootstrap product)", DEFAULT_EXECUTION_ROLE))
    t.add_parameter(role_parameter(
        "SageMakerExecutionRoleProdName", "the prod endpoints run as in every prod account "
        "(sagemaker-role-<suffix>)", DEFAULT_EXECUTION_ROLE))
    t.add_parameter(role_parameter(
        "TestRoleName", "the test step assumes in every staging account to describe and invoke the endpoint "
        "(target-account-bootstrap: sagemaker-<suffix>-tester)", DEFAULT_TEST_ROLE))
    t.add_parameter(crossaccount.group_parameter(
        "SageMakerModelPackageGroupName",
        "Model package group whose approved versions are deployed: the name of a model-build project's group "
        "(<project name>-<project id>; that project's DeploymentOrganizationalUnitIds must list both OUs), or the "
        "ARN of a model-registry-hub group (its WorkloadOrganizationalUnitIds must list both OUs)."))
    t.add_parameter(keys.key_arn_parameter(
        "KmsKeyArn", "KMS key for the artifacts; its key policy must let the OUs decrypt. Leave blank to create one."))
    t.add_parameter(stacksets.call_as_parameter())
    t.add_parameter(lifecycle.promotion_mode_parameter())
    build_role = t.add_parameter(role_parameter(
        "CodeBuildRole", "CodeBuild runs as (build, deploy and test): it needs the StackSets API, "
        "organizations:ListDelegatedAdministrators and sts:AssumeRole of the staging tester roles, which the "
        "AWS-managed UseRole lacks (default: project-roles' pipeline role)", PIPELINE_ROLE))
    pipeline_role = t.add_parameter(role_parameter("CodePipelineRole", "CodePipeline runs as"))
    events_role = t.add_parameter(role_parameter("EventsRole", "EventBridge uses to start the pipeline"))
    mark_optional(t, "SageMakerExecutionRoleStagingName", "SageMakerExecutionRoleProdName", "TestRoleName",
                  "KmsKeyArn", "StackSetCallAs", lifecycle.PARAMETER,
                  "CodeBuildRole", "CodePipelineRole", "EventsRole")
    parameter_groups(t, {
        "Project": [PROJECT_NAME, PROJECT_ID],
        "Target accounts": ["OrganizationId", "OrganizationalUnitStagingId", "OrganizationalUnitProdId",
                            "SageMakerExecutionRoleStagingName", "SageMakerExecutionRoleProdName", "TestRoleName",
                            "StackSetCallAs"],
        "Model registry and encryption": ["SageMakerModelPackageGroupName", lifecycle.PARAMETER, "KmsKeyArn"],
        "Source repository": list(source.PARAMETERS),
        "Roles": ["CodeBuildRole", "CodePipelineRole", "EventsRole"],
        "Seed code (set by the publisher)": [SEED_BUCKET, seed_key_parameter_name(SEED)],
    })

    # --- Conditions: a key is created unless given; a group given as the ARN of another account's
    # (hub) group needs that account's events on this bus.
    t.add_condition("CreatesKey", keys.creates_key("KmsKeyArn"))
    t.add_condition("UsesHubGroup", crossaccount.uses_hub_group("SageMakerModelPackageGroupName"))
    lifecycle.add_conditions(t)

    tags = project_tags()
    roles = [role_arn(r.title) for r in (build_role, pipeline_role, events_role)]
    target_ous = crossaccount.ou_paths("OrganizationId", "OrganizationalUnitStagingId", "OrganizationalUnitProdId")
    # In the OUs' accounts only the endpoints' execution roles read artifacts (model data).
    execution_roles = ("${SageMakerExecutionRoleStagingName}", "${SageMakerExecutionRoleProdName}")

    # --- Encryption: the artifact key, usable by the project's roles; the OUs' execution roles decrypt.
    key, alias = t.add_resource(encryption_key(
        "ArtifactKey", "Encrypts the model-deploy artifacts and models of a SageMaker project.", tags,
        key_use_for(roles, sid="ProjectRolesUseKey"),
        source.pipeline_role_uses_key(),
        crossaccount.only_roles(
            crossaccount.key_read_for_org_paths("OrganizationId", target_ous, sid="TargetOUsDecrypt"),
            *execution_roles,
        ),
        alias=project_name("modeldeploy", prefix="alias/sagemaker-"),
    ))
    key.Condition = alias.Condition = "CreatesKey"
    skip_check(key, "CKV_AWS_33", "the * principal is confined to the execution roles of the staging and prod OUs "
               "by aws:PrincipalOrgPaths and aws:PrincipalArn (checkov does not read conditions; lint rule E9130 does)")
    key_arn = keys.chosen_key("CreatesKey", key, "KmsKeyArn")

    # --- Artifacts: pipeline artifacts and model files; the OUs' execution roles read them.
    bucket, _ = t.add_resource(encrypted_bucket(
        "ArtifactBucket", bucket_name(f"sagemaker-${{{PROJECT_ID}}}"), key, tags,
        crossaccount.only_roles(
            crossaccount.bucket_read_for_org_paths(
                "ArtifactBucket", "OrganizationId", target_ous, sid="TargetOUsReadArtifacts"
            ),
            *execution_roles),
    ))
    keys.use_key_for_bucket(bucket, key_arn)

    # --- Registry: the group is given (a model-build project's or a hub's); its own policy grants
    # the OUs. Approval events of a hub group come from the hub account.
    group = Ref("SageMakerModelPackageGroupName")
    group_name = crossaccount.group_name("SageMakerModelPackageGroupName")
    t.add_resource(crossaccount.registry_events_from_owner(
        "HubRegistryEvents", Sub(f"sagemaker-${{{PROJECT_ID}}}-hub-registry"), "SageMakerModelPackageGroupName",
        "UsesHubGroup",
    ))

    # --- Source: the seeded model-deploy repository (endpoint template, build and test scripts).
    repository = t.add_resource(seeded_repository(
        "ModelDeployRepository", project_name("modeldeploy"),
        "Model deployment code of a SageMaker project (endpoint template, stage configs, tests).", SEED, tags,
        condition=source.USES_CODECOMMIT,
    ))
    t.add_resource(source.studio_repository("ModelDeployCodeRepository", "modeldeploy", tags))
    seeding_role = source.connection_role(t, "CodeBuildRole")
    t.add_resource(source.seed_resources("ModelDeploy", SEED, seeding_role, tags, key=key_arn))

    # --- Build: find the newest approved model package, write each stage's parameter files.
    build = t.add_resource(cicd.build_project(
        "ModelDeployBuildProject", project_name("modeldeploy-build"),
        "Finds the newest approved model package and writes the stage parameter files.",
        roles[0], key_arn,
        {
            "SAGEMAKER_PROJECT_NAME": Ref(name),
            "SAGEMAKER_PROJECT_ID": Ref(project_id),
            "SAGEMAKER_PROJECT_ARN": Sub(
                "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:project/${SageMakerProjectName}"),
            "MODEL_PACKAGE_GROUP_NAME": group,
            "MODEL_EXECUTION_ROLE_NAME_STAGING": Ref("SageMakerExecutionRoleStagingName"),
            "MODEL_EXECUTION_ROLE_NAME_PROD": Ref("SageMakerExecutionRoleProdName"),
            "ARTIFACT_BUCKET": Ref(bucket),
            "EXPORT_TEMPLATE_NAME": EXPORTED_TEMPLATE,
        },
        tags, buildspec="buildspec.yml", timeout_minutes=30,
    ))

    # --- Deploy: one CodeBuild project runs the StackSets API (CallAs) for each stage's OU.
    deploy = t.add_resource(cicd.build_project(
        "ModelDeployStackSetProject", project_name("modeldeploy-stackset"),
        "Deploys the endpoint template to an OU as a service-managed StackSet (CallAs from StackSetCallAs).",
        roles[0], key_arn,
        {"CALL_AS": Ref("StackSetCallAs"), "EXPORT_TEMPLATE_NAME": EXPORTED_TEMPLATE},
        tags, buildspec=stacksets.DEPLOY_BUILDSPEC, timeout_minutes=120,
    ))

    # --- Test: invoke the staging endpoint in every account with an instance of the staging
    # StackSet, assuming the tester role there (never the endpoints' execution role).
    test = t.add_resource(cicd.build_project(
        "ModelDeployTestProject", project_name("modeldeploy-test"),
        "Tests the staging endpoints in every account of the staging OU.",
        roles[0], key_arn,
        {"STAGE": "staging", "STACK_SET_NAME": stacksets.stack_set_name("staging"), "CALL_AS": Ref("StackSetCallAs"),
         "TEST_ROLE_NAME": Ref("TestRoleName")},
        tags, buildspec="test/buildspec.yml", timeout_minutes=60,
    ))

    # --- Stage mode: after each stage's deployment, record it on the version (the Deployed status).
    record = t.add_resource(lifecycle.record_project(roles[0], key_arn, tags))

    # --- Pipeline: source -> build -> staging OU -> test -> approval -> prod OU. The build's
    # artifact carries everything the later steps run (template, parameters, scripts, buildspecs).
    # Stage mode: no manual approval (the Production stage is the approval), the staging version
    # recorded after its test, prod deployed only while a version is at Production, then recorded.
    deploy_pipeline = t.add_resource(cicd.pipeline(
        "ModelDeployPipeline", project_name("modeldeploy"), source.connection_role(t, "CodePipelineRole"),
        bucket, key,
        [
            source.source_stage(repository),
            cicd.stage("Build", lifecycle.build_variables(cicd.codebuild_action(
                "BuildDeploymentParameters", build, ["SourceArtifact"], ["BuildArtifact"]))),
            cicd.stage("DeployStaging", cicd.codebuild_action(
                "DeployStackSetStaging", deploy, ["BuildArtifact"],
                EnvironmentVariables=crossaccount.action_environment(
                    stacksets.stage_environment("staging", "OrganizationalUnitStagingId")))),
            cicd.stage("TestStaging", cicd.codebuild_action(
                "TestStagingEndpoints", test, ["BuildArtifact"]),
                lifecycle.record_action("RecordStagingStage", record, "staging", lifecycle.STAGING,
                                        "the staging OU ${OrganizationalUnitStagingId}")),
            lifecycle.skip_manual_approval(cicd.stage("ApproveDeployment", crossaccount.manual_approval(
                "ApproveProdDeployment", "Staging endpoints passed their tests: approve to deploy to the prod OU."))),
            lifecycle.deploy_prod_when_promoted(cicd.stage("DeployProd", cicd.codebuild_action(
                "DeployStackSetProd", deploy, ["BuildArtifact"],
                EnvironmentVariables=crossaccount.action_environment(
                    stacksets.stage_environment("prod", "OrganizationalUnitProdId"))),
                lifecycle.record_action("RecordProdStage", record, "prod", lifecycle.PRODUCTION,
                                        "the prod OU ${OrganizationalUnitProdId}"))),
        ],
        tags,
        # A pending approval must not hold up newer approvals: the newest execution wins.
        execution_mode=cicd.SUPERSEDED,
        # CodeConnections: pushes to the branch only (a pull request must not deploy endpoints).
        triggers=source.triggers(pull_requests=False),
    ))
    keys.use_key_for_pipeline(deploy_pipeline, key_arn)

    source.push_seed_after(t, "ModelDeploy", deploy_pipeline)

    # --- Triggers: a version of the group approved or rejected (redeploys the newest approved
    # one), or in stage mode promoted to Staging or Production, or rejected; and pushes to main.
    approval_rule = t.add_resource(cicd.start_pipeline_rule(
        "ModelApprovalTrigger", Sub(f"sagemaker-${{{PROJECT_ID}}}-model-approval"),
        "Starts the model-deploy pipeline when a model version is approved or rejected.",
        cicd.model_package_state_pattern([group_name], ["Approved", "Rejected"]),
        deploy_pipeline, roles[2], tags,
    ))
    approval_rule.Condition = lifecycle.USES_APPROVAL
    push_rule = t.add_resource(cicd.start_pipeline_rule(
        "ModelDeployTrigger", Sub(f"sagemaker-${{{PROJECT_ID}}}-modeldeploy"),
        "Starts the model-deploy pipeline on pushes to main.",
        cicd.branch_push_pattern(repository), deploy_pipeline, roles[2], tags,
    ))
    push_rule.Condition = source.USES_CODECOMMIT
    t.add_resource(lifecycle.promotion_rules(deploy_pipeline, [group_name], roles[2], tags))

    # --- Outputs
    t.add_output([
        Output("ArtifactBucketName", Description="Bucket for pipeline artifacts and models (readable by the OUs).",
               Value=Ref(bucket)),
        Output("ArtifactKeyArn", Description="KMS key encrypting the artifacts.", Value=key_arn),
        *source.repository_outputs("ModelDeploy", repository),
        Output("ModelDeployPipelineName", Description="CodePipeline that deploys approved models.",
               Value=Ref(deploy_pipeline)),
        Output("ModelPackageGroupName", Description="Model package group whose approved versions are deployed.",
               Value=group),
        Output("StagingStackSetName", Description="StackSet holding the staging endpoints.",
               Value=stacksets.stack_set_name("staging")),
        Output("ProdStackSetName", Description="StackSet holding the prod endpoints.",
               Value=stacksets.stack_set_name("prod")),
    ])
    return t


PRODUCT = Product(
    name="multi-account-deploy",
    description="Deploys approved models as SageMaker endpoints to every account of a staging OU, tests them, "
    "and after manual approval to every account of a prod OU, with service-managed StackSets run from a "
    "delegated-administrator account.",
    owner="ML platform team",
    version="1.0.0",
    seedcode=(SEED,),
    template=template,
    after_create={
        "repository": source.after_create_repository("modeldeploy", "ModelDeployRepositoryUrl", deploys=True),
        "endpoint": "Each account of the OU gets the endpoint `<project name>-<project id>-<stage>` (`staging` or "
        "`prod`, from the repository's `endpoint-config-template.yml` and stage configs), in this region: SageMaker "
        "console **Inference → Endpoints** of that account, or `aws sagemaker describe-endpoint --endpoint-name "
        "<project name>-<project id>-staging` with its credentials.",
    },
)
