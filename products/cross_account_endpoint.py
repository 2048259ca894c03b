"""Cross-account endpoint: approved models go to a preprod account, then (after approval) to prod.

Seeds 003, 000 and 002. The model package group may live in this account or in a hub account's
central registry (given by ARN); approval events reach this account's default bus either way (a
hub forwards them, and a bus policy admits exactly that account's SageMaker events). The build
writes each stage's TemplateConfiguration; CodePipeline's CloudFormation actions then deploy the
endpoint stack in the preprod and prod accounts, assuming the deployer role that the
target-account-bootstrap product creates there. The artifact bucket and key grant exactly those
two accounts.
"""

from troposphere import And, Equals, GetAtt, If, Not, Output, Ref, Sub, Template

from generator.blocks import cicd, crossaccount, keys, lifecycle, source
from generator.blocks.policy import KEY_READ, bucket_read_for_accounts, key_use_for
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
from generator.blocks.storage import bucket_name, encrypted_bucket, encryption_key
from generator.product import Product

SEED = "modeldeploy"
# target-account-bootstrap's role names with its default suffix.
DEFAULT_DEPLOYER_ROLE = "sagemaker-mlops-deployer"
DEFAULT_EXECUTION_ROLE = "sagemaker-role-mlops"
DEFAULT_TEST_ROLE = "sagemaker-mlops-tester"
# The endpoint template as the build step exports it (seedcode/modeldeploy/buildspec.yml). The
# template knows the stages `staging` and `prod`; preprod deploys the staging configuration.
EXPORTED_TEMPLATE = "template-export.yml"
TEMPLATE_PATH = f"BuildArtifact::{EXPORTED_TEMPLATE}"


def template() -> Template:
    t = Template(Description="SageMaker project: deploy approved models to a preprod account and, after manual "
                 "approval, a prod account with cross-account CloudFormation actions (smcat cross-account-endpoint).")

    # --- Parameters: what Studio fills in, the model group, the two accounts and their roles.
    name, project_id = t.add_parameter(project_parameters())
    t.add_parameter(seed_parameters(SEED))
    source.add_source_choice(t)
    t.add_parameter(crossaccount.group_parameter(
        "SageMakerModelPackageGroupName",
        "Model package group whose approved versions are deployed: a name in this account, or the ARN of a "
        "group in a hub account's central registry."))
    t.add_parameter(lifecycle.promotion_mode_parameter())
    t.add_parameter(crossaccount.account_parameter("PreProdAccount", "Account (12 digits) of the preprod endpoint."))
    t.add_parameter(crossaccount.account_parameter("ProdAccount", "Account (12 digits) of the prod endpoint."))
    t.add_parameter(role_parameter(
        "DeployerRoleName", "the pipeline and CloudFormation assume in both target accounts "
        "(target-account-bootstrap: sagemaker-<suffix>-deployer)", DEFAULT_DEPLOYER_ROLE))
    t.add_parameter(role_parameter(
        "ModelExecutionRoleName", "the endpoints run as in both target accounts "
        "(target-account-bootstrap: sagemaker-role-<suffix>)", DEFAULT_EXECUTION_ROLE))
    t.add_parameter(role_parameter(
        "TestRoleName", "the test step assumes in the preprod account to describe and invoke the endpoint "
        "(target-account-bootstrap: sagemaker-<suffix>-tester)", DEFAULT_TEST_ROLE))
    t.add_parameter(crossaccount.region_parameter(
        "DeploymentRegion", "Region of the endpoints. Leave blank for this region."))
    t.add_parameter(crossaccount.bucket_parameter(
        "DeploymentRegionArtifactBucket", "Only for another DeploymentRegion: an S3 bucket in that region for "
        "CodePipeline's artifacts, readable by both target accounts."))
    t.add_parameter(keys.key_arn_parameter(
        "DeploymentRegionArtifactKeyArn", "Only for another DeploymentRegion: the KMS key (in that region) "
        "encrypting that bucket, usable by both target accounts. Leave blank when not used."))
    build_role = t.add_parameter(role_parameter(
        "CodeBuildRole", "CodeBuild runs as: the test step assumes the preprod tester role, which the AWS-managed "
        "UseRole cannot (default: project-roles' pipeline role)", PIPELINE_ROLE))
    pipeline_role = t.add_parameter(role_parameter(
        "CodePipelineRole", "CodePipeline runs as: it assumes the deployer roles of the target accounts, which the "
        "AWS-managed UseRole cannot (default: project-roles' pipeline role)", PIPELINE_ROLE))
    events_role = t.add_parameter(role_parameter("EventsRole", "EventBridge uses to start the pipeline"))
    mark_optional(t, "DeployerRoleName", "ModelExecutionRoleName", "TestRoleName", "DeploymentRegion",
                  "DeploymentRegionArtifactBucket", "DeploymentRegionArtifactKeyArn",
                  "CodeBuildRole", "CodePipelineRole", "EventsRole", lifecycle.PARAMETER)
    parameter_groups(t, {
        "Project": [PROJECT_NAME, PROJECT_ID],
        "Model registry": ["SageMakerModelPackageGroupName", lifecycle.PARAMETER],
        "Target accounts": ["PreProdAccount", "ProdAccount", "DeployerRoleName", "ModelExecutionRoleName",
                            "TestRoleName"],
        "Deployment region": ["DeploymentRegion", "DeploymentRegionArtifactBucket", "DeploymentRegionArtifactKeyArn"],
        "Source repository": list(source.PARAMETERS),
        "Roles": ["CodeBuildRole", "CodePipelineRole", "EventsRole"],
        "Seed code (set by the publisher)": [SEED_BUCKET, seed_key_parameter_name(SEED)],
    })

    # --- Conditions and rules: a hub group's account may send its events here; another region
    # needs its own artifact store (CodePipeline copies artifacts there).
    t.add_condition("UsesHubGroup", crossaccount.uses_hub_group("SageMakerModelPackageGroupName"))
    lifecycle.add_conditions(t)
    t.add_condition("DeploysToOtherRegion", And(
        Not(Equals(Ref("DeploymentRegion"), "")), Not(Equals(Ref("DeploymentRegion"), Ref("AWS::Region"))),
    ))
    t.add_rule("OtherRegionNeedsArtifactStore", {
        "RuleCondition": And(Not(Equals(Ref("DeploymentRegion"), "")),
                             Not(Equals(Ref("DeploymentRegion"), Ref("AWS::Region")))),
        "Assertions": [{
            "Assert": And(Not(Equals(Ref("DeploymentRegionArtifactBucket"), "")),
                          Not(Equals(Ref("DeploymentRegionArtifactKeyArn"), ""))),
            "AssertDescription": "Another DeploymentRegion needs DeploymentRegionArtifactBucket and "
                                 "DeploymentRegionArtifactKeyArn.",
        }],
    })
    t.add_rule("TargetsAreTwoOtherAccounts", {
        "Assertions": [{
            "Assert": Not(Equals(Ref("PreProdAccount"), Ref("ProdAccount"))),
            "AssertDescription": "PreProdAccount and ProdAccount must be different accounts.",
        }],
    })

    tags = project_tags()
    roles = [role_arn(r.title) for r in (build_role, pipeline_role, events_role)]
    targets = crossaccount.account_roots("PreProdAccount", "ProdAccount")
    deployers = {
        stage: crossaccount.role_in_account(account, "DeployerRoleName")
        for stage, account in (("preprod", "PreProdAccount"), ("prod", "ProdAccount"))
    }

    # --- Encryption: the artifact key, usable by the project's roles; the two accounts decrypt.
    key, _ = t.add_resource(encryption_key(
        "ArtifactKey", "Encrypts the cross-account model-deploy artifacts of a SageMaker project.", tags,
        key_use_for(roles, sid="ProjectRolesUseKey"),
        source.pipeline_role_uses_key(),
        key_use_for(targets, KEY_READ, sid="TargetAccountsDecrypt"),
        # The key may also encrypt the endpoints' volumes (KmsKeyArn of a stage config): the
        # deployer's CreateEndpointConfig has SageMaker create a grant for the instances
        # (target-account-bootstrap's GrantVolumeKeysToSageMaker is the identity side).
        keys.grant_for_aws_resources(targets, sid="TargetAccountsGrantToSageMaker"),
        alias=project_name("modeldeploy", prefix="alias/sagemaker-"),
    ))

    # --- Artifacts: the endpoint template and stage configurations, read by the two accounts.
    bucket, _ = t.add_resource(encrypted_bucket(
        "ArtifactBucket", bucket_name(f"sagemaker-${{{PROJECT_ID}}}"), key, tags,
        bucket_read_for_accounts("ArtifactBucket", targets, sid="TargetAccountsReadArtifacts"),
    ))

    # --- Registry events: a hub registry's account may put its model package events on our bus.
    group_name = crossaccount.group_name("SageMakerModelPackageGroupName")
    t.add_resource(crossaccount.registry_events_from_owner(
        "HubRegistryEvents", Sub(f"sagemaker-${{{PROJECT_ID}}}-hub-registry"), "SageMakerModelPackageGroupName",
        "UsesHubGroup",
    ))

    # --- Source: the seeded model-deploy repository (endpoint template, stage configs, build script).
    repository = t.add_resource(seeded_repository(
        "ModelDeployRepository", project_name("modeldeploy"),
        "Model deployment code of a SageMaker project (endpoint template, stage configs).", SEED, tags,
        condition=source.USES_CODECOMMIT,
    ))
    t.add_resource(source.studio_repository("ModelDeployCodeRepository", "modeldeploy", tags))
    seeding_role = source.connection_role(t, "CodeBuildRole")
    t.add_resource(source.seed_resources("ModelDeploy", SEED, seeding_role, tags, key=GetAtt(key, "Arn")))

    # --- Build: find the newest approved model package, write each stage's TemplateConfiguration.
    build = t.add_resource(cicd.build_project(
        "ModelDeployBuildProject", project_name("modeldeploy-build"),
        "Finds the newest approved model package and writes the stage template configurations.",
        roles[0], GetAtt(key, "Arn"),
        {
            "SAGEMAKER_PROJECT_NAME": Ref(name),
            "SAGEMAKER_PROJECT_ID": Ref(project_id),
            "SAGEMAKER_PROJECT_ARN": Sub(
                "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:project/${SageMakerProjectName}"),
            "MODEL_PACKAGE_GROUP_NAME": Ref("SageMakerModelPackageGroupName"),
            "MODEL_EXECUTION_ROLE_NAME": Ref("ModelExecutionRoleName"),
            "ARTIFACT_BUCKET": Ref(bucket),
            "EXPORT_TEMPLATE_NAME": EXPORTED_TEMPLATE,
        },
        tags, buildspec="buildspec.yml", timeout_minutes=30,
    ))

    # --- Test: the preprod endpoint is InService and answers, checked from the preprod account
    # with the tester role there (never the endpoints' execution role).
    test = t.add_resource(cicd.build_project(
        "ModelDeployTestProject", project_name("modeldeploy-test"),
        "Tests the preprod endpoint in the preprod account.",
        roles[0], GetAtt(key, "Arn"),
        {"STAGE": "staging", "TARGET_ACCOUNT_IDS": Ref("PreProdAccount"), "TEST_ROLE_NAME": Ref("TestRoleName")},
        tags, buildspec="test/buildspec.yml", timeout_minutes=60,
    ))

    # --- Stage mode: after each stage's deployment, record it on the version (the Deployed status).
    record = t.add_resource(lifecycle.record_project(roles[0], GetAtt(key, "Arn"), tags))

    # --- Pipeline: source -> build -> preprod account -> test -> approval -> prod account. Stage
    # mode: no manual approval (the Production stage is the approval), the preprod version recorded
    # (as Staging) after its test, prod deployed only while a version is at Production, then recorded.
    region = If("DeploysToOtherRegion", Ref("DeploymentRegion"), Ref("AWS::NoValue"))
    deploy_pipeline = t.add_resource(cicd.pipeline(
        "ModelDeployPipeline", project_name("modeldeploy"), source.connection_role(t, "CodePipelineRole"),
        bucket, key,
        [
            source.source_stage(repository),
            cicd.stage("Build", lifecycle.build_variables(cicd.codebuild_action(
                "BuildDeploymentParameters", build, ["SourceArtifact"], ["BuildArtifact"]))),
            cicd.stage("DeployPreProd", crossaccount.cloudformation_deploy(
                "DeployPreProdEndpoint", project_name("deploy-preprod"), TEMPLATE_PATH,
                "BuildArtifact::staging-config-export.json", deployers["preprod"], ["BuildArtifact"], region)),
            cicd.stage("TestPreProd", cicd.codebuild_action("TestPreProdEndpoint", test, ["BuildArtifact"]),
                       lifecycle.record_action("RecordPreProdStage", record, "staging", lifecycle.STAGING,
                                               "the preprod account ${PreProdAccount}")),
            lifecycle.skip_manual_approval(cicd.stage("ApproveDeployment", crossaccount.manual_approval(
                "ApproveProdDeployment", "Check the preprod endpoint, then approve to deploy to the prod account."))),
            lifecycle.deploy_prod_when_promoted(cicd.stage("DeployProd", crossaccount.cloudformation_deploy(
                "DeployProdEndpoint", project_name("deploy-prod"), TEMPLATE_PATH,
                "BuildArtifact::prod-config-export.json", deployers["prod"], ["BuildArtifact"], region),
                lifecycle.record_action("RecordProdStage", record, "prod", lifecycle.PRODUCTION,
                                        "the prod account ${ProdAccount}"))),
        ],
        tags,
        # A pending approval must not hold up newer approvals: the newest execution wins.
        execution_mode=cicd.SUPERSEDED,
        # CodeConnections: pushes to the branch only (a pull request must not deploy endpoints).
        triggers=source.triggers(pull_requests=False),
    ))
    crossaccount.artifact_store_in_region(
        deploy_pipeline, "DeploysToOtherRegion", "DeploymentRegion",
        "DeploymentRegionArtifactBucket", "DeploymentRegionArtifactKeyArn",
    )

    source.push_seed_after(t, "ModelDeploy", deploy_pipeline)

    # --- Triggers: a version of the group approved or rejected (here or forwarded by a hub; a
    # rejection redeploys the newest approved version), or in stage mode promoted to Staging or
    # Production, or rejected; and pushes to main.
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
        Output("ArtifactBucketName", Description="Bucket for pipeline artifacts.", Value=Ref(bucket)),
        Output("ArtifactKeyArn", Description="KMS key encrypting the artifacts.", Value=GetAtt(key, "Arn")),
        *source.repository_outputs("ModelDeploy", repository),
        Output("ModelDeployPipelineName", Description="CodePipeline that deploys approved models.",
               Value=Ref(deploy_pipeline)),
        Output("ModelPackageGroupName", Description="Name of the model package group the pipeline follows.",
               Value=group_name),
        Output("PreProdDeployerRoleArn", Description="Role assumed in the preprod account.",
               Value=deployers["preprod"]),
        Output("ProdDeployerRoleArn", Description="Role assumed in the prod account.", Value=deployers["prod"]),
    ])
    return t


PRODUCT = Product(
    name="cross-account-endpoint",
    description="Deploys approved models (from this account's or a hub's model registry) as SageMaker endpoints "
    "to a preprod account and, after manual approval, to a prod account, with cross-account CloudFormation "
    "actions assuming a deployer role in each.",
    owner="ML platform team",
    version="1.0.0",
    seedcode=(SEED,),
    template=template,
    after_create={
        "repository": source.after_create_repository("modeldeploy", "ModelDeployRepositoryUrl", deploys=True),
        "endpoint": "The preprod account gets the endpoint `<project name>-<project id>-staging` and the prod account "
        "`<project name>-<project id>-prod` (from the repository's `endpoint-config-template.yml` and stage configs), "
        "in `DeploymentRegion` (blank: this region): SageMaker console **Inference → Endpoints** of that account, "
        "or `aws sagemaker describe-endpoint "
        "--endpoint-name <project name>-<project id>-staging` with its credentials.",
    },
)
