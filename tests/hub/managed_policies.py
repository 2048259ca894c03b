"""The identity policies of roles AWS creates, which no template here makes (issue 9).

`tests/hub/access.py` used to treat every role no template creates as allowed everything. The roles
the projects actually run as are created by AWS when SageMaker projects are enabled for a Studio
domain (SageMaker developer guide, "AWS Managed Policies for SageMaker projects and JumpStart",
https://docs.aws.amazon.com/sagemaker/latest/dg/security-iam-awsmanpol-sc.html), each with a known
policy. `identity_statements(role_arn)` gives the statements of the role's attached policies, in
whatever account the role is; `None` for a role no table here knows (`UNMODELLED` is then the
evaluator's answer, and tests/hub/test_managed_roles.py lists which principals of the fit world
are still in that state).

Sources and how complete each table is:

* AWS managed policies, copied statement for statement (nothing added, nothing left out) from the
  default version the AWS Managed Policy Reference shows,
  https://docs.aws.amazon.com/aws-managed-policy/latest/reference/<PolicyName>.html, as mirrored
  by the zoph-io/MAMIP repository (which records every version of every AWS managed policy; the
  commit of the version used is in each `*_SOURCE`):
  - `AmazonSageMakerServiceCatalogProductsCodeBuildServiceRolePolicy` (split role
    `service-role/AmazonSageMakerServiceCatalogProductsCodeBuildRole`),
  - `AmazonSageMakerServiceCatalogProductsCodePipelineServiceRolePolicy` (`...CodePipelineRole`),
  - `AmazonSageMakerServiceCatalogProductsEventsServiceRolePolicy` (`...EventsRole`; its JSON is
    also printed in the developer guide page above),
  - `AmazonSageMakerFullAccess` (`...ExecutionRole`, and the Studio execution role).
* `service-role/AmazonSageMakerServiceCatalogProductsUseRole`: the console attaches a
  CUSTOMER-managed policy it creates (`service-role/AmazonSageMakerServiceCatalogProductsUseRole-
  <date>`), not an AWS managed policy, so the managed policy reference has no page for it and no
  version. `USE_ROLE_STATEMENTS` are the statements of that policy as AWS's own sample code
  re-creates it for accounts where projects were never enabled (aws-samples CDK construct
  `SageMakerServiceRoles`, "typically created automatically when an administrator activates
  SageMaker Project Templates"), with the same Resources. What matters here is what it lacks: no
  `kms:*` and no `sts:*` at all (the developer guide's own summary of the projects' roles lists no
  KMS or STS permissions either).
* The Studio execution role (`service-role/AmazonSageMaker-ExecutionRole-<date>`, what the
  console creates for a domain): `AmazonSageMakerFullAccess` only. PARTIAL: the console also
  attaches a customer-managed `AmazonSageMaker-ExecutionPolicy-<date>` whose S3 statements depend
  on the buckets chosen in the console; it is not modelled, so a need such a role has on S3
  outside `*sagemaker*` buckets may be allowed in reality and refused here.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ManagedPolicy:
    name: str
    version: str
    created: str
    mirror_commit: str  # zoph-io/MAMIP commit holding that version

    @property
    def url(self) -> str:
        return f"https://docs.aws.amazon.com/aws-managed-policy/latest/reference/{self.name}.html"


# AmazonSageMakerServiceCatalogProductsCodeBuildServiceRolePolicy v5 (default version, created 2026-02-12T18:00:10Z).
CODEBUILD_STATEMENTS: list[dict[str, Any]] = [
    {
        "Action": [
            "codecommit:CancelUploadArchive", "codecommit:GetBranch", "codecommit:GetCommit",
            "codecommit:GetUploadArchiveStatus", "codecommit:UploadArchive"
        ],
        "Resource": "arn:aws:codecommit:*:*:sagemaker-*",
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodeBuildCodeCommitPermission",
    },
    {
        "Action": [
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:DescribeImageScanFindings",
            "ecr:DescribeRegistry", "ecr:DescribeImageReplicationStatus", "ecr:DescribeRepositories",
            "ecr:DescribeImageReplicationStatus", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer"
        ],
        "Resource": ["*"],
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodeBuildECRReadPermission",
    },
    {
        "Action": [
            "ecr:CompleteLayerUpload", "ecr:CreateRepository", "ecr:InitiateLayerUpload", "ecr:PutImage",
            "ecr:UploadLayerPart"
        ],
        "Resource": ["arn:aws:ecr:*:*:repository/sagemaker-*"],
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodeBuildECRWritePermission",
    },
    {
        "Action": ["iam:PassRole"],
        "Resource": [
            "arn:aws:iam::*:role/service-role/AmazonSageMakerServiceCatalogProductsEventsRole",
            "arn:aws:iam::*:role/service-role/AmazonSageMakerServiceCatalogProductsCodePipelineRole",
            "arn:aws:iam::*:role/service-role/AmazonSageMakerServiceCatalogProductsCloudformationRole",
            "arn:aws:iam::*:role/service-role/AmazonSageMakerServiceCatalogProductsCodeBuildRole",
            "arn:aws:iam::*:role/service-role/AmazonSageMakerServiceCatalogProductsExecutionRole"
        ],
        "Effect": "Allow",
        "Condition": {
            "StringEquals": {
                "iam:PassedToService": [
                    "events.amazonaws.com", "codepipeline.amazonaws.com", "cloudformation.amazonaws.com",
                    "codebuild.amazonaws.com", "sagemaker.amazonaws.com"
                ],
            },
        },
        "Sid": "AmazonSageMakerCodeBuildPassRoletPermission",
    },
    {
        "Action": [
            "logs:CreateLogDelivery", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DeleteLogDelivery",
            "logs:DescribeLogGroups", "logs:DescribeLogStreams", "logs:DescribeResourcePolicies",
            "logs:DescribeDestinations", "logs:DescribeExportTasks", "logs:DescribeMetricFilters",
            "logs:DescribeQueries", "logs:DescribeQueryDefinitions", "logs:DescribeSubscriptionFilters",
            "logs:GetLogDelivery", "logs:GetLogEvents", "logs:ListLogDeliveries", "logs:PutLogEvents",
            "logs:PutResourcePolicy", "logs:UpdateLogDelivery"
        ],
        "Resource": "arn:aws:logs:*:*:log-group:/aws/codebuild/*",
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodeBuildLogPermission",
    },
    {
        "Action": [
            "s3:CreateBucket", "s3:DeleteBucket", "s3:GetBucketAcl", "s3:GetBucketCors", "s3:GetBucketLocation",
            "s3:ListAllMyBuckets", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutBucketCors",
            "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"
        ],
        "Resource": ["arn:aws:s3:::aws-glue-*", "arn:aws:s3:::sagemaker-*"],
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodeBuildS3Permission",
    },
    {
        "Action": [
            "sagemaker:AddAssociation", "sagemaker:AddTags", "sagemaker:AssociateTrialComponent",
            "sagemaker:BatchDescribeModelPackage", "sagemaker:BatchGetMetrics", "sagemaker:BatchGetRecord",
            "sagemaker:BatchPutMetrics", "sagemaker:CreateAction", "sagemaker:CreateAlgorithm",
            "sagemaker:CreateApp", "sagemaker:CreateAppImageConfig", "sagemaker:CreateArtifact",
            "sagemaker:CreateAutoMLJob", "sagemaker:CreateCodeRepository", "sagemaker:CreateCompilationJob",
            "sagemaker:CreateContext", "sagemaker:CreateDataQualityJobDefinition", "sagemaker:CreateDeviceFleet",
            "sagemaker:CreateDomain", "sagemaker:CreateEdgePackagingJob", "sagemaker:CreateEndpoint",
            "sagemaker:CreateEndpointConfig", "sagemaker:CreateExperiment", "sagemaker:CreateFeatureGroup",
            "sagemaker:CreateFlowDefinition", "sagemaker:CreateHumanTaskUi",
            "sagemaker:CreateHyperParameterTuningJob", "sagemaker:CreateImage", "sagemaker:CreateImageVersion",
            "sagemaker:CreateInferenceRecommendationsJob", "sagemaker:CreateLabelingJob",
            "sagemaker:CreateLineageGroupPolicy", "sagemaker:CreateModel", "sagemaker:CreateModelBiasJobDefinition",
            "sagemaker:CreateModelExplainabilityJobDefinition", "sagemaker:CreateModelPackage",
            "sagemaker:CreateModelPackageGroup", "sagemaker:CreateModelQualityJobDefinition",
            "sagemaker:CreateMonitoringSchedule", "sagemaker:CreateNotebookInstance",
            "sagemaker:CreateNotebookInstanceLifecycleConfig", "sagemaker:CreatePipeline",
            "sagemaker:CreatePresignedDomainUrl", "sagemaker:CreatePresignedNotebookInstanceUrl",
            "sagemaker:CreateProcessingJob", "sagemaker:CreateProject", "sagemaker:CreateTrainingJob",
            "sagemaker:CreateTransformJob", "sagemaker:CreateTrial", "sagemaker:CreateTrialComponent",
            "sagemaker:CreateUserProfile", "sagemaker:CreateWorkforce", "sagemaker:CreateWorkteam",
            "sagemaker:DeleteAction", "sagemaker:DeleteAlgorithm", "sagemaker:DeleteApp",
            "sagemaker:DeleteAppImageConfig", "sagemaker:DeleteArtifact", "sagemaker:DeleteAssociation",
            "sagemaker:DeleteCodeRepository", "sagemaker:DeleteContext", "sagemaker:DeleteDataQualityJobDefinition",
            "sagemaker:DeleteDeviceFleet", "sagemaker:DeleteDomain", "sagemaker:DeleteEndpoint",
            "sagemaker:DeleteEndpointConfig", "sagemaker:DeleteExperiment", "sagemaker:DeleteFeatureGroup",
            "sagemaker:DeleteFlowDefinition", "sagemaker:DeleteHumanLoop", "sagemaker:DeleteHumanTaskUi",
            "sagemaker:DeleteImage", "sagemaker:DeleteImageVersion", "sagemaker:DeleteLineageGroupPolicy",
            "sagemaker:DeleteModel", "sagemaker:DeleteModelBiasJobDefinition",
            "sagemaker:DeleteModelExplainabilityJobDefinition", "sagemaker:DeleteModelPackage",
            "sagemaker:DeleteModelPackageGroup", "sagemaker:DeleteModelPackageGroupPolicy",
            "sagemaker:DeleteModelQualityJobDefinition", "sagemaker:DeleteMonitoringSchedule",
            "sagemaker:DeleteNotebookInstance", "sagemaker:DeleteNotebookInstanceLifecycleConfig",
            "sagemaker:DeletePipeline", "sagemaker:DeleteProject", "sagemaker:DeleteRecord", "sagemaker:DeleteTags",
            "sagemaker:DeleteTrial", "sagemaker:DeleteTrialComponent", "sagemaker:DeleteUserProfile",
            "sagemaker:DeleteWorkforce", "sagemaker:DeleteWorkteam", "sagemaker:DeregisterDevices",
            "sagemaker:DescribeAction", "sagemaker:DescribeAlgorithm", "sagemaker:DescribeApp",
            "sagemaker:DescribeAppImageConfig", "sagemaker:DescribeArtifact", "sagemaker:DescribeAutoMLJob",
            "sagemaker:DescribeCodeRepository", "sagemaker:DescribeCompilationJob", "sagemaker:DescribeContext",
            "sagemaker:DescribeDataQualityJobDefinition", "sagemaker:DescribeDevice",
            "sagemaker:DescribeDeviceFleet", "sagemaker:DescribeDomain", "sagemaker:DescribeEdgePackagingJob",
            "sagemaker:DescribeEndpoint", "sagemaker:DescribeEndpointConfig", "sagemaker:DescribeExperiment",
            "sagemaker:DescribeFeatureGroup", "sagemaker:DescribeFlowDefinition", "sagemaker:DescribeHumanLoop",
            "sagemaker:DescribeHumanTaskUi", "sagemaker:DescribeHyperParameterTuningJob", "sagemaker:DescribeImage",
            "sagemaker:DescribeImageVersion", "sagemaker:DescribeInferenceRecommendationsJob",
            "sagemaker:DescribeLabelingJob", "sagemaker:DescribeLineageGroup", "sagemaker:DescribeModel",
            "sagemaker:DescribeModelBiasJobDefinition", "sagemaker:DescribeModelExplainabilityJobDefinition",
            "sagemaker:DescribeModelPackage", "sagemaker:DescribeModelPackageGroup",
            "sagemaker:DescribeModelQualityJobDefinition", "sagemaker:DescribeMonitoringSchedule",
            "sagemaker:DescribeNotebookInstance", "sagemaker:DescribeNotebookInstanceLifecycleConfig",
            "sagemaker:DescribePipeline", "sagemaker:DescribePipelineDefinitionForExecution",
            "sagemaker:DescribePipelineExecution", "sagemaker:DescribeProcessingJob", "sagemaker:DescribeProject",
            "sagemaker:DescribeSubscribedWorkteam", "sagemaker:DescribeTrainingJob",
            "sagemaker:DescribeTransformJob", "sagemaker:DescribeTrial", "sagemaker:DescribeTrialComponent",
            "sagemaker:DescribeUserProfile", "sagemaker:DescribeWorkforce", "sagemaker:DescribeWorkteam",
            "sagemaker:DisableSagemakerServicecatalogPortfolio", "sagemaker:DisassociateTrialComponent",
            "sagemaker:EnableSagemakerServicecatalogPortfolio", "sagemaker:GetDeviceFleetReport",
            "sagemaker:GetDeviceRegistration", "sagemaker:GetLineageGroupPolicy",
            "sagemaker:GetModelPackageGroupPolicy", "sagemaker:GetRecord",
            "sagemaker:GetSagemakerServicecatalogPortfolioStatus", "sagemaker:GetSearchSuggestions",
            "sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync", "sagemaker:ListActions",
            "sagemaker:ListAlgorithms", "sagemaker:ListAppImageConfigs", "sagemaker:ListApps",
            "sagemaker:ListArtifacts", "sagemaker:ListAssociations", "sagemaker:ListAutoMLJobs",
            "sagemaker:ListCandidatesForAutoMLJob", "sagemaker:ListCodeRepositories",
            "sagemaker:ListCompilationJobs", "sagemaker:ListContexts", "sagemaker:ListDataQualityJobDefinitions",
            "sagemaker:ListDeviceFleets", "sagemaker:ListDevices", "sagemaker:ListDomains",
            "sagemaker:ListEdgePackagingJobs", "sagemaker:ListEndpointConfigs", "sagemaker:ListEndpoints",
            "sagemaker:ListExperiments", "sagemaker:ListFeatureGroups", "sagemaker:ListFlowDefinitions",
            "sagemaker:ListHumanLoops", "sagemaker:ListHumanTaskUis", "sagemaker:ListHyperParameterTuningJobs",
            "sagemaker:ListImageVersions", "sagemaker:ListImages", "sagemaker:ListInferenceRecommendationsJobs",
            "sagemaker:ListLabelingJobs", "sagemaker:ListLabelingJobsForWorkteam", "sagemaker:ListLineageGroups",
            "sagemaker:ListModelBiasJobDefinitions", "sagemaker:ListModelExplainabilityJobDefinitions",
            "sagemaker:ListModelMetadata", "sagemaker:ListModelPackageGroups", "sagemaker:ListModelPackages",
            "sagemaker:ListModelQualityJobDefinitions", "sagemaker:ListModels",
            "sagemaker:ListMonitoringExecutions", "sagemaker:ListMonitoringSchedules",
            "sagemaker:ListNotebookInstanceLifecycleConfigs", "sagemaker:ListNotebookInstances",
            "sagemaker:ListPipelineExecutionSteps", "sagemaker:ListPipelineExecutions",
            "sagemaker:ListPipelineParametersForExecution", "sagemaker:ListPipelines",
            "sagemaker:ListProcessingJobs", "sagemaker:ListProjects", "sagemaker:ListSubscribedWorkteams",
            "sagemaker:ListTags", "sagemaker:ListTrainingJobs",
            "sagemaker:ListTrainingJobsForHyperParameterTuningJob", "sagemaker:ListTransformJobs",
            "sagemaker:ListTrialComponents", "sagemaker:ListTrials", "sagemaker:ListUserProfiles",
            "sagemaker:ListWorkforces", "sagemaker:ListWorkteams", "sagemaker:PutLineageGroupPolicy",
            "sagemaker:PutModelPackageGroupPolicy", "sagemaker:PutRecord", "sagemaker:QueryLineage",
            "sagemaker:RegisterDevices", "sagemaker:RenderUiTemplate", "sagemaker:Search",
            "sagemaker:SendHeartbeat", "sagemaker:SendPipelineExecutionStepFailure",
            "sagemaker:SendPipelineExecutionStepSuccess", "sagemaker:StartHumanLoop",
            "sagemaker:StartMonitoringSchedule", "sagemaker:StartNotebookInstance",
            "sagemaker:StartPipelineExecution", "sagemaker:StopAutoMLJob", "sagemaker:StopCompilationJob",
            "sagemaker:StopEdgePackagingJob", "sagemaker:StopHumanLoop", "sagemaker:StopHyperParameterTuningJob",
            "sagemaker:StopInferenceRecommendationsJob", "sagemaker:StopLabelingJob",
            "sagemaker:StopMonitoringSchedule", "sagemaker:StopNotebookInstance", "sagemaker:StopPipelineExecution",
            "sagemaker:StopProcessingJob", "sagemaker:StopTrainingJob", "sagemaker:StopTransformJob",
            "sagemaker:UpdateAction", "sagemaker:UpdateAppImageConfig", "sagemaker:UpdateArtifact",
            "sagemaker:UpdateCodeRepository", "sagemaker:UpdateContext", "sagemaker:UpdateDeviceFleet",
            "sagemaker:UpdateDevices", "sagemaker:UpdateDomain", "sagemaker:UpdateEndpoint",
            "sagemaker:UpdateEndpointWeightsAndCapacities", "sagemaker:UpdateExperiment", "sagemaker:UpdateImage",
            "sagemaker:UpdateModelPackage", "sagemaker:UpdateMonitoringSchedule",
            "sagemaker:UpdateNotebookInstance", "sagemaker:UpdateNotebookInstanceLifecycleConfig",
            "sagemaker:UpdatePipeline", "sagemaker:UpdatePipelineExecution", "sagemaker:UpdateProject",
            "sagemaker:UpdateTrainingJob", "sagemaker:UpdateTrial", "sagemaker:UpdateTrialComponent",
            "sagemaker:UpdateUserProfile", "sagemaker:UpdateWorkforce", "sagemaker:UpdateWorkteam"
        ],
        "Resource": [
            "arn:aws:sagemaker:*:*:endpoint/*", "arn:aws:sagemaker:*:*:endpoint-config/*",
            "arn:aws:sagemaker:*:*:model/*", "arn:aws:sagemaker:*:*:pipeline/*", "arn:aws:sagemaker:*:*:project/*",
            "arn:aws:sagemaker:*:*:model-package/*"
        ],
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodeBuildSageMakerPermission",
    },
    {
        "Action": ["codestar-connections:UseConnection"],
        "Resource": ["arn:aws:codestar-connections:*:*:connection/*", "arn:aws:codeconnections:*:*:connection/*"],
        "Effect": "Allow",
        "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"}},
        "Sid": "AmazonSageMakerCodeBuildCodeStarConnectionPermission",
    },
    {
        "Action": ["codeconnections:UseConnection"],
        "Resource": ["arn:aws:codeconnections:*:*:connection/*", "arn:aws:codestar-connections:*:*:connection/*"],
        "Effect": "Allow",
        "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"}},
        "Sid": "AmazonSageMakerCodeBuildCodeConnectionPermission",
    },
]
CODEBUILD_SOURCE = ManagedPolicy(
    "AmazonSageMakerServiceCatalogProductsCodeBuildServiceRolePolicy",
    "v5",
    "2026-02-12",
    "63377a4d2f20f6d609efc94b2e087d77ca6684f9",
)

# AmazonSageMakerServiceCatalogProductsCodePipelineServiceRolePolicy v5 (default version, created 2026-02-12T18:00:38Z).
CODEPIPELINE_STATEMENTS: list[dict[str, Any]] = [
    {
        "Action": [
            "cloudformation:CreateChangeSet", "cloudformation:CreateStack", "cloudformation:DescribeChangeSet",
            "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack", "cloudformation:DescribeStacks",
            "cloudformation:ExecuteChangeSet", "cloudformation:SetStackPolicy", "cloudformation:UpdateStack"
        ],
        "Resource": "arn:aws:cloudformation:*:*:stack/sagemaker-*",
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodePipelineCFnPermission",
    },
    {
        "Action": ["cloudformation:TagResource", "cloudformation:UntagResource"],
        "Resource": "arn:aws:cloudformation:*:*:stack/sagemaker-*",
        "Effect": "Allow",
        "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["sagemaker:project-name"]}},
        "Sid": "AmazonSageMakerCodePipelineCFnTagPermission",
    },
    {
        "Action": [
            "s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"
        ],
        "Resource": ["arn:aws:s3:::sagemaker-*"],
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodePipelineS3Permission",
    },
    {
        "Action": ["iam:PassRole"],
        "Resource": ["arn:aws:iam::*:role/service-role/AmazonSageMakerServiceCatalogProductsCloudformationRole"],
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodePipelinePassRolePermission",
    },
    {
        "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
        "Resource": ["arn:aws:codebuild:*:*:project/sagemaker-*", "arn:aws:codebuild:*:*:build/sagemaker-*"],
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodePipelineCodeBuildPermission",
    },
    {
        "Action": [
            "codecommit:CancelUploadArchive", "codecommit:GetBranch", "codecommit:GetCommit",
            "codecommit:GetUploadArchiveStatus", "codecommit:UploadArchive"
        ],
        "Resource": "arn:aws:codecommit:*:*:sagemaker-*",
        "Effect": "Allow",
        "Sid": "AmazonSageMakerCodePipelineCodeCommitPermission",
    },
    {
        "Action": ["codestar-connections:UseConnection"],
        "Resource": ["arn:aws:codestar-connections:*:*:connection/*", "arn:aws:codeconnections:*:*:connection/*"],
        "Effect": "Allow",
        "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"}},
        "Sid": "AmazonSageMakerCodePipelineCodeStarConnectionPermission",
    },
    {
        "Action": ["codeconnections:UseConnection"],
        "Resource": ["arn:aws:codeconnections:*:*:connection/*", "arn:aws:codestar-connections:*:*:connection/*"],
        "Effect": "Allow",
        "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"}},
        "Sid": "AmazonSageMakerCodePipelineCodeConnectionPermission",
    },
]
CODEPIPELINE_SOURCE = ManagedPolicy(
    "AmazonSageMakerServiceCatalogProductsCodePipelineServiceRolePolicy",
    "v5",
    "2026-02-12",
    "cee571558e9250a349cb45dbb6217cf03fa205bc",
)

# AmazonSageMakerServiceCatalogProductsEventsServiceRolePolicy v1 (default version, created 2022-02-22T09:53:59Z).
EVENTS_STATEMENTS: list[dict[str, Any]] = [
    {
        "Action": "codepipeline:StartPipelineExecution",
        "Resource": "arn:aws:codepipeline:*:*:sagemaker-*",
        "Effect": "Allow",
    },
]
EVENTS_SOURCE = ManagedPolicy(
    "AmazonSageMakerServiceCatalogProductsEventsServiceRolePolicy",
    "v1",
    "2022-02-22",
    "aafbae9e6087b732577df3a0556f8677e5d4c79b",
)

# AmazonSageMakerFullAccess v29 (default version, created 2026-02-12T17:58:32Z).
FULL_ACCESS_STATEMENTS: list[dict[str, Any]] = [
    {
        "Action": ["sagemaker:*", "sagemaker-geospatial:*"],
        "NotResource": [
            "arn:aws:sagemaker:*:*:domain/*", "arn:aws:sagemaker:*:*:user-profile/*", "arn:aws:sagemaker:*:*:app/*",
            "arn:aws:sagemaker:*:*:space/*", "arn:aws:sagemaker:*:*:partner-app/*",
            "arn:aws:sagemaker:*:*:flow-definition/*", "arn:aws:sagemaker:*:*:training-plan/*",
            "arn:aws:sagemaker:*:*:reserved-capacity/*"
        ],
        "Effect": "Allow",
        "Sid": "AllowAllNonAdminSageMakerActions",
    },
    {
        "Action": ["sagemaker:AddTags"],
        "Resource": ["arn:aws:sagemaker:*:*:space/*"],
        "Effect": "Allow",
        "Condition": {"StringEquals": {"sagemaker:TaggingAction": "CreateSpace"}},
        "Sid": "AllowAddTagsForSpace",
    },
    {
        "Action": ["sagemaker:AddTags"],
        "Resource": ["arn:aws:sagemaker:*:*:app/*"],
        "Effect": "Allow",
        "Sid": "AllowAddTagsForApp",
    },
    {
        "Action": [
            "sagemaker:CreateTrainingJob", "sagemaker:CreateCluster", "sagemaker:UpdateCluster",
            "sagemaker:DescribeTrainingPlan"
        ],
        "Resource": ["arn:aws:sagemaker:*:*:training-plan/*", "arn:aws:sagemaker:*:*:reserved-capacity/*"],
        "Effect": "Allow",
        "Sid": "AllowUseOfTrainingPlanResources",
    },
    {
        "Action": [
            "sagemaker:CreatePresignedDomainUrl", "sagemaker:DescribeDomain", "sagemaker:ListDomains",
            "sagemaker:DescribeUserProfile", "sagemaker:ListUserProfiles", "sagemaker:DescribeSpace",
            "sagemaker:ListSpaces", "sagemaker:DescribeApp", "sagemaker:ListApps"
        ],
        "Resource": "*",
        "Effect": "Allow",
        "Sid": "AllowStudioActions",
    },
    {
        "Action": ["sagemaker:CreateApp", "sagemaker:DeleteApp"],
        "Resource": "arn:aws:sagemaker:*:*:app/*/*/*/*",
        "Effect": "Allow",
        "Condition": {"Null": {"sagemaker:OwnerUserProfileArn": "true"}},
        "Sid": "AllowAppActionsForUserProfile",
    },
    {
        "Action": ["sagemaker:CreateApp", "sagemaker:DeleteApp"],
        "Resource": "arn:aws:sagemaker:*:*:app/${sagemaker:DomainId}/*/*/*",
        "Effect": "Allow",
        "Condition": {"StringEquals": {"sagemaker:SpaceSharingType": ["Shared"]}},
        "Sid": "AllowAppActionsForSharedSpaces",
    },
    {
        "Action": ["sagemaker:CreateSpace", "sagemaker:UpdateSpace", "sagemaker:DeleteSpace"],
        "Resource": "arn:aws:sagemaker:*:*:space/${sagemaker:DomainId}/*",
        "Effect": "Allow",
        "Condition": {"Null": {"sagemaker:OwnerUserProfileArn": "true"}},
        "Sid": "AllowMutatingActionsOnSharedSpacesWithoutOwner",
    },
    {
        "Action": ["sagemaker:CreateSpace", "sagemaker:UpdateSpace", "sagemaker:DeleteSpace"],
        "Resource": "arn:aws:sagemaker:*:*:space/${sagemaker:DomainId}/*",
        "Effect": "Allow",
        "Condition": {
            "ArnLike": {
                "sagemaker:OwnerUserProfileArn": "arn:aws:sagemaker:*:*:user-profile/${sagemaker:DomainId}/${sagemaker:UserProfileName}",  # noqa: E501
            },
            "StringEquals": {"sagemaker:SpaceSharingType": ["Private", "Shared"]},
        },
        "Sid": "RestrictMutatingActionsOnSpacesToOwnerUserProfile",
    },
    {
        "Action": ["sagemaker:CreateApp", "sagemaker:DeleteApp"],
        "Resource": "arn:aws:sagemaker:*:*:app/${sagemaker:DomainId}/*/*/*",
        "Effect": "Allow",
        "Condition": {
            "ArnLike": {
                "sagemaker:OwnerUserProfileArn": "arn:aws:sagemaker:*:*:user-profile/${sagemaker:DomainId}/${sagemaker:UserProfileName}",  # noqa: E501
            },
            "StringEquals": {"sagemaker:SpaceSharingType": ["Private"]},
        },
        "Sid": "RestrictMutatingActionsOnPrivateSpaceAppsToOwnerUserProfile",
    },
    {
        "Action": "sagemaker:*",
        "Resource": ["arn:aws:sagemaker:*:*:flow-definition/*"],
        "Effect": "Allow",
        "Condition": {"StringEqualsIfExists": {"sagemaker:WorkteamType": ["private-crowd", "vendor-crowd"]}},
        "Sid": "AllowFlowDefinitionActions",
    },
    {
        "Action": [
            "application-autoscaling:DeleteScalingPolicy", "application-autoscaling:DeleteScheduledAction",
            "application-autoscaling:DeregisterScalableTarget", "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:DescribeScalingActivities", "application-autoscaling:DescribeScalingPolicies",
            "application-autoscaling:DescribeScheduledActions", "application-autoscaling:PutScalingPolicy",
            "application-autoscaling:PutScheduledAction", "application-autoscaling:RegisterScalableTarget",
            "aws-marketplace:ViewSubscriptions", "cloudformation:GetTemplateSummary", "cloudwatch:DeleteAlarms",
            "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData", "cloudwatch:GetMetricStatistics",
            "cloudwatch:ListMetrics", "cloudwatch:PutMetricAlarm", "cloudwatch:PutMetricData",
            "codecommit:BatchGetRepositories", "codecommit:CreateRepository", "codecommit:GetRepository",
            "codecommit:List*", "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminCreateUser",
            "cognito-idp:AdminDeleteUser", "cognito-idp:AdminDisableUser", "cognito-idp:AdminEnableUser",
            "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:CreateGroup", "cognito-idp:CreateUserPool",
            "cognito-idp:CreateUserPoolClient", "cognito-idp:CreateUserPoolDomain", "cognito-idp:DescribeUserPool",
            "cognito-idp:DescribeUserPoolClient", "cognito-idp:List*", "cognito-idp:UpdateUserPool",
            "cognito-idp:UpdateUserPoolClient", "ec2:CreateNetworkInterface",
            "ec2:CreateNetworkInterfacePermission", "ec2:CreateVpcEndpoint", "ec2:DeleteNetworkInterface",
            "ec2:DeleteNetworkInterfacePermission", "ec2:DescribeDhcpOptions", "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets",
            "ec2:DescribeVpcEndpoints", "ec2:DescribeVpcs", "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage",
            "ecr:CreateRepository", "ecr:Describe*", "ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer",
            "ecr:StartImageScan", "elastic-inference:Connect", "elasticfilesystem:DescribeFileSystems",
            "elasticfilesystem:DescribeMountTargets", "fsx:DescribeFileSystems", "glue:CreateJob", "glue:DeleteJob",
            "glue:GetJob*", "glue:GetTable*", "glue:GetWorkflowRun", "glue:ResetJobBookmark", "glue:StartJobRun",
            "glue:StartWorkflowRun", "glue:UpdateJob", "groundtruthlabeling:*", "iam:ListRoles", "kms:DescribeKey",
            "kms:ListAliases", "lambda:ListFunctions", "logs:CreateLogDelivery", "logs:CreateLogGroup",
            "logs:CreateLogStream", "logs:DeleteLogDelivery", "logs:Describe*", "logs:GetLogDelivery",
            "logs:GetLogEvents", "logs:ListLogDeliveries", "logs:PutLogEvents", "logs:PutResourcePolicy",
            "logs:UpdateLogDelivery", "robomaker:CreateSimulationApplication",
            "robomaker:DescribeSimulationApplication", "robomaker:DeleteSimulationApplication",
            "robomaker:CreateSimulationJob", "robomaker:DescribeSimulationJob", "robomaker:CancelSimulationJob",
            "secretsmanager:ListSecrets", "servicecatalog:Describe*", "servicecatalog:List*",
            "servicecatalog:ScanProvisionedProducts", "servicecatalog:SearchProducts",
            "servicecatalog:SearchProvisionedProducts", "sns:ListTopics", "tag:GetResources"
        ],
        "Resource": "*",
        "Effect": "Allow",
        "Sid": "AllowAWSServiceActions",
    },
    {
        "Action": [
            "ecr:SetRepositoryPolicy", "ecr:CompleteLayerUpload", "ecr:BatchDeleteImage", "ecr:UploadLayerPart",
            "ecr:DeleteRepositoryPolicy", "ecr:InitiateLayerUpload", "ecr:DeleteRepository", "ecr:PutImage"
        ],
        "Resource": ["arn:aws:ecr:*:*:repository/*sagemaker*"],
        "Effect": "Allow",
        "Sid": "AllowECRActions",
    },
    {
        "Action": ["codecommit:GitPull", "codecommit:GitPush"],
        "Resource": [
            "arn:aws:codecommit:*:*:*sagemaker*", "arn:aws:codecommit:*:*:*SageMaker*",
            "arn:aws:codecommit:*:*:*Sagemaker*"
        ],
        "Effect": "Allow",
        "Sid": "AllowCodeCommitActions",
    },
    {
        "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
        "Resource": ["arn:aws:codebuild:*:*:project/sagemaker*", "arn:aws:codebuild:*:*:build/*"],
        "Effect": "Allow",
        "Sid": "AllowCodeBuildActions",
    },
    {
        "Action": [
            "states:DescribeExecution", "states:GetExecutionHistory", "states:StartExecution",
            "states:StopExecution", "states:UpdateStateMachine"
        ],
        "Resource": ["arn:aws:states:*:*:statemachine:*sagemaker*", "arn:aws:states:*:*:execution:*sagemaker*:*"],
        "Effect": "Allow",
        "Sid": "AllowStepFunctionsActions",
    },
    {
        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue", "secretsmanager:CreateSecret"],
        "Resource": ["arn:aws:secretsmanager:*:*:secret:AmazonSageMaker-*"],
        "Effect": "Allow",
        "Sid": "AllowSecretManagerActions",
    },
    {
        "Action": ["secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"],
        "Resource": "*",
        "Effect": "Allow",
        "Condition": {"StringEquals": {"secretsmanager:ResourceTag/SageMaker": "true"}},
        "Sid": "AllowReadOnlySecretManagerActions",
    },
    {
        "Action": ["servicecatalog:ProvisionProduct"],
        "Resource": "*",
        "Effect": "Allow",
        "Sid": "AllowServiceCatalogProvisionProduct",
    },
    {
        "Action": ["servicecatalog:TerminateProvisionedProduct", "servicecatalog:UpdateProvisionedProduct"],
        "Resource": "*",
        "Effect": "Allow",
        "Condition": {"StringEquals": {"servicecatalog:userLevel": "self"}},
        "Sid": "AllowServiceCatalogTerminateUpdateProvisionProduct",
    },
    {
        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
        "Resource": [
            "arn:aws:s3:::*SageMaker*", "arn:aws:s3:::*Sagemaker*", "arn:aws:s3:::*sagemaker*",
            "arn:aws:s3:::*aws-glue*"
        ],
        "Effect": "Allow",
        "Sid": "AllowS3ObjectActions",
    },
    {
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::*"],
        "Effect": "Allow",
        "Condition": {"StringEqualsIgnoreCase": {"s3:ExistingObjectTag/SageMaker": "true"}},
        "Sid": "AllowS3GetObjectWithSageMakerExistingObjectTag",
    },
    {
        "Action": ["s3:GetObject"],
        "Resource": ["arn:aws:s3:::*"],
        "Effect": "Allow",
        "Condition": {"StringEquals": {"s3:ExistingObjectTag/servicecatalog:provisioning": "true"}},
        "Sid": "AllowS3GetObjectWithServiceCatalogProvisioningExistingObjectTag",
    },
    {
        "Action": [
            "s3:CreateBucket", "s3:GetBucketLocation", "s3:ListBucket", "s3:ListAllMyBuckets", "s3:GetBucketCors",
            "s3:PutBucketCors"
        ],
        "Resource": "*",
        "Effect": "Allow",
        "Sid": "AllowS3BucketActions",
    },
    {
        "Action": ["s3:GetBucketAcl", "s3:PutObjectAcl"],
        "Resource": ["arn:aws:s3:::*SageMaker*", "arn:aws:s3:::*Sagemaker*", "arn:aws:s3:::*sagemaker*"],
        "Effect": "Allow",
        "Sid": "AllowS3BucketACL",
    },
    {
        "Action": ["lambda:InvokeFunction"],
        "Resource": [
            "arn:aws:lambda:*:*:function:*SageMaker*", "arn:aws:lambda:*:*:function:*sagemaker*",
            "arn:aws:lambda:*:*:function:*Sagemaker*", "arn:aws:lambda:*:*:function:*LabelingFunction*"
        ],
        "Effect": "Allow",
        "Sid": "AllowLambdaInvokeFunction",
    },
    {
        "Action": "iam:CreateServiceLinkedRole",
        "Resource": "arn:aws:iam::*:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",  # noqa: E501
        "Effect": "Allow",
        "Condition": {"StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}},
        "Sid": "AllowCreateServiceLinkedRoleForSageMakerApplicationAutoscaling",
    },
    {
        "Action": "iam:CreateServiceLinkedRole",
        "Resource": "*",
        "Effect": "Allow",
        "Condition": {"StringEquals": {"iam:AWSServiceName": "robomaker.amazonaws.com"}},
        "Sid": "AllowCreateServiceLinkedRoleForRobomaker",
    },
    {
        "Action": ["sns:Subscribe", "sns:CreateTopic", "sns:Publish"],
        "Resource": ["arn:aws:sns:*:*:*SageMaker*", "arn:aws:sns:*:*:*Sagemaker*", "arn:aws:sns:*:*:*sagemaker*"],
        "Effect": "Allow",
        "Sid": "AllowSNSActions",
    },
    {
        "Action": ["iam:PassRole"],
        "Resource": "arn:aws:iam::*:role/*AmazonSageMaker*",
        "Effect": "Allow",
        "Condition": {
            "StringEquals": {
                "iam:PassedToService": ["glue.amazonaws.com", "robomaker.amazonaws.com", "states.amazonaws.com"],
            },
        },
        "Sid": "AllowPassRoleForSageMakerRoles",
    },
    {
        "Action": ["iam:PassRole"],
        "Resource": "arn:aws:iam::*:role/*",
        "Effect": "Allow",
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
        "Sid": "AllowPassRoleToSageMaker",
    },
    {
        "Action": [
            "athena:ListDataCatalogs", "athena:ListDatabases", "athena:ListTableMetadata",
            "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StartQueryExecution",
            "athena:StopQueryExecution"
        ],
        "Resource": ["*"],
        "Effect": "Allow",
        "Sid": "AllowAthenaActions",
    },
    {
        "Action": ["glue:CreateTable"],
        "Resource": [
            "arn:aws:glue:*:*:table/*/sagemaker_tmp_*", "arn:aws:glue:*:*:table/sagemaker_featurestore/*",
            "arn:aws:glue:*:*:catalog", "arn:aws:glue:*:*:database/*"
        ],
        "Effect": "Allow",
        "Sid": "AllowGlueCreateTable",
    },
    {
        "Action": ["glue:UpdateTable"],
        "Resource": [
            "arn:aws:glue:*:*:table/sagemaker_featurestore/*", "arn:aws:glue:*:*:catalog",
            "arn:aws:glue:*:*:database/sagemaker_featurestore"
        ],
        "Effect": "Allow",
        "Sid": "AllowGlueUpdateTable",
    },
    {
        "Action": ["glue:DeleteTable"],
        "Resource": [
            "arn:aws:glue:*:*:table/*/sagemaker_tmp_*", "arn:aws:glue:*:*:catalog", "arn:aws:glue:*:*:database/*"
        ],
        "Effect": "Allow",
        "Sid": "AllowGlueDeleteTable",
    },
    {
        "Action": ["glue:GetDatabases", "glue:GetTable", "glue:GetTables"],
        "Resource": ["arn:aws:glue:*:*:table/*", "arn:aws:glue:*:*:catalog", "arn:aws:glue:*:*:database/*"],
        "Effect": "Allow",
        "Sid": "AllowGlueGetTablesAndDatabases",
    },
    {
        "Action": ["glue:CreateDatabase", "glue:GetDatabase"],
        "Resource": [
            "arn:aws:glue:*:*:catalog", "arn:aws:glue:*:*:database/sagemaker_featurestore",
            "arn:aws:glue:*:*:database/sagemaker_processing", "arn:aws:glue:*:*:database/default",
            "arn:aws:glue:*:*:database/sagemaker_data_wrangler"
        ],
        "Effect": "Allow",
        "Sid": "AllowGlueGetAndCreateDatabase",
    },
    {
        "Action": [
            "redshift-data:ExecuteStatement", "redshift-data:DescribeStatement", "redshift-data:CancelStatement",
            "redshift-data:GetStatementResult", "redshift-data:ListSchemas", "redshift-data:ListTables"
        ],
        "Resource": ["*"],
        "Effect": "Allow",
        "Sid": "AllowRedshiftDataActions",
    },
    {
        "Action": ["redshift:GetClusterCredentials"],
        "Resource": ["arn:aws:redshift:*:*:dbuser:*/sagemaker_access*", "arn:aws:redshift:*:*:dbname:*"],
        "Effect": "Allow",
        "Sid": "AllowRedshiftGetClusterCredentials",
    },
    {
        "Action": ["sagemaker:ListTags"],
        "Resource": ["arn:aws:sagemaker:*:*:user-profile/*"],
        "Effect": "Allow",
        "Sid": "AllowListTagsForUserProfile",
    },
    {
        "Action": ["cloudformation:ListStackResources"],
        "Resource": "arn:aws:cloudformation:*:*:stack/SC-*",
        "Effect": "Allow",
        "Sid": "AllowCloudformationListStackResources",
    },
    {
        "Action": ["s3express:CreateSession"],
        "Resource": [
            "arn:aws:s3express:*:*:bucket/*SageMaker*", "arn:aws:s3express:*:*:bucket/*Sagemaker*",
            "arn:aws:s3express:*:*:bucket/*sagemaker*", "arn:aws:s3express:*:*:bucket/*aws-glue*"
        ],
        "Effect": "Allow",
        "Condition": {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
        "Sid": "AllowS3ExpressObjectActions",
    },
    {
        "Action": ["s3express:CreateBucket"],
        "Resource": [
            "arn:aws:s3express:*:*:bucket/*SageMaker*", "arn:aws:s3express:*:*:bucket/*Sagemaker*",
            "arn:aws:s3express:*:*:bucket/*sagemaker*"
        ],
        "Effect": "Allow",
        "Condition": {"StringEquals": {"aws:ResourceAccount": "${aws:PrincipalAccount}"}},
        "Sid": "AllowS3ExpressCreateBucketActions",
    },
    {
        "Action": ["s3express:ListAllMyDirectoryBuckets"],
        "Resource": "*",
        "Effect": "Allow",
        "Sid": "AllowS3ExpressListBucketActions",
    },
]
FULL_ACCESS_SOURCE = ManagedPolicy(
    "AmazonSageMakerFullAccess", "v29", "2026-02-12", "90412600fff06a57d5a980c0411146799ac4cf09"
)

# The UseRole's console-created policy (customer managed: no managed policy reference page, no
# version), as AWS's sample re-creates it; see the module docstring.
USE_ROLE_STATEMENTS: list[dict[str, Any]] = [
    {
        "Effect": "Allow",
        "Action": [
            "cloudformation:CreateChangeSet", "cloudformation:CreateStack", "cloudformation:DescribeChangeSet",
            "cloudformation:DeleteChangeSet", "cloudformation:DeleteStack", "cloudformation:DescribeStacks",
            "cloudformation:ExecuteChangeSet", "cloudformation:SetStackPolicy", "cloudformation:UpdateStack",
        ],
        "Resource": ["arn:aws:cloudformation:*:*:stack/sagemaker-*"],
    },
    {"Effect": "Allow", "Action": ["cloudwatch:PutMetricData"], "Resource": ["*"]},
    {
        "Effect": "Allow",
        "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
        "Resource": ["arn:aws:codebuild:*:*:project/sagemaker-*", "arn:aws:codebuild:*:*:build/sagemaker-*"],
    },
    {
        "Effect": "Allow",
        "Action": [
            "codecommit:CancelUploadArchive", "codecommit:GetBranch", "codecommit:GetCommit",
            "codecommit:GetUploadArchiveStatus", "codecommit:UploadArchive",
        ],
        "Resource": ["arn:aws:codecommit:*:*:sagemaker-*"],
    },
    {
        "Effect": "Allow",
        "Action": ["codepipeline:StartPipelineExecution"],
        "Resource": ["arn:aws:codepipeline:*:*:sagemaker-*"],
    },
    {"Effect": "Allow", "Action": ["ec2:DescribeRouteTables"], "Resource": ["*"]},
    {
        "Effect": "Allow",
        "Action": [
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:Describe*", "ecr:GetAuthorizationToken",
            "ecr:GetDownloadUrlForLayer",
        ],
        "Resource": ["*"],
    },
    {
        "Effect": "Allow",
        "Action": [
            "ecr:BatchDeleteImage", "ecr:CompleteLayerUpload", "ecr:CreateRepository", "ecr:DeleteRepository",
            "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
        ],
        "Resource": ["arn:aws:ecr:*:*:repository/sagemaker-*"],
    },
    {
        "Effect": "Allow",
        "Action": ["events:DeleteRule", "events:DescribeRule", "events:PutRule", "events:PutTargets",
                   "events:RemoveTargets"],
        "Resource": ["arn:aws:events:*:*:rule/sagemaker-*"],
    },
    {
        "Effect": "Allow",
        "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
        "Resource": ["arn:aws:firehose:*:*:deliverystream/sagemaker-*"],
    },
    {
        "Effect": "Allow",
        "Action": [
            "glue:BatchCreatePartition", "glue:BatchDeletePartition", "glue:BatchDeleteTable",
            "glue:BatchDeleteTableVersion", "glue:BatchGetPartition", "glue:CreateDatabase", "glue:CreatePartition",
            "glue:CreateTable", "glue:DeletePartition", "glue:DeleteTable", "glue:DeleteTableVersion",
            "glue:GetDatabase", "glue:GetPartition", "glue:GetPartitions", "glue:GetTable", "glue:GetTables",
            "glue:GetTableVersion", "glue:GetTableVersions", "glue:SearchTables", "glue:UpdatePartition",
            "glue:UpdateTable", "glue:GetUserDefinedFunctions",
        ],
        "Resource": [
            "arn:aws:glue:*:*:catalog", "arn:aws:glue:*:*:database/default", "arn:aws:glue:*:*:database/global_temp",
            "arn:aws:glue:*:*:database/sagemaker-*", "arn:aws:glue:*:*:table/sagemaker-*",
            "arn:aws:glue:*:*:tableVersion/sagemaker-*",
        ],
    },
    {
        "Effect": "Allow",
        "Action": ["iam:PassRole"],
        "Resource": ["arn:aws:iam::*:role/service-role/AmazonSageMakerServiceCatalogProductsUse*"],
    },
    {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["arn:aws:lambda:*:*:function:sagemaker-*"]},
    {
        "Effect": "Allow",
        "Action": [
            "logs:CreateLogDelivery", "logs:CreateLogGroup", "logs:CreateLogStream", "logs:DeleteLogDelivery",
            "logs:Describe*", "logs:GetLogDelivery", "logs:GetLogEvents", "logs:ListLogDeliveries",
            "logs:PutLogEvents", "logs:PutResourcePolicy", "logs:UpdateLogDelivery",
        ],
        "Resource": ["*"],
    },
    {
        "Effect": "Allow",
        "Action": [
            "s3:CreateBucket", "s3:DeleteBucket", "s3:GetBucketAcl", "s3:GetBucketCors", "s3:GetBucketLocation",
            "s3:ListAllMyBuckets", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutBucketCors",
            "s3:PutObjectAcl",
        ],
        "Resource": ["arn:aws:s3:::aws-glue-*", "arn:aws:s3:::sagemaker-*"],
    },
    {
        "Effect": "Allow",
        "Action": ["s3:AbortMultipartUpload", "s3:DeleteObject", "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
        "Resource": ["arn:aws:s3:::aws-glue-*", "arn:aws:s3:::sagemaker-*"],
    },
    {
        "Effect": "Allow",
        "Action": ["sagemaker:*"],
        "NotResource": [
            "arn:aws:sagemaker:*:*:domain/*", "arn:aws:sagemaker:*:*:user-profile/*", "arn:aws:sagemaker:*:*:app/*",
            "arn:aws:sagemaker:*:*:flow-definition/*",
        ],
    },
    {
        "Effect": "Allow",
        "Action": [
            "states:DescribeExecution", "states:DescribeStateMachine", "states:DescribeStateMachineForExecution",
            "states:GetExecutionHistory", "states:ListExecutions", "states:ListTagsForResource",
            "states:StartExecution", "states:StopExecution", "states:TagResource", "states:UntagResource",
            "states:UpdateStateMachine",
        ],
        "Resource": ["arn:aws:states:*:*:stateMachine:sagemaker-*", "arn:aws:states:*:*:execution:sagemaker-*:*"],
    },
    {"Effect": "Allow", "Action": ["states:ListStateMachines"], "Resource": ["*"]},
    {
        "Effect": "Allow",
        "Action": ["codestar-connections:UseConnection"],
        "Resource": ["arn:aws:codestar-connections:*:*:connection/*"],
        "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/sagemaker": "true"}},
    },
]

# Role name (with its path) -> the policies attached to it: (what the policy is, its statements).
# Where the name has a wildcard, it matches the roles the console names that way.
ROLE_POLICIES: dict[str, list[tuple[str, list[dict[str, Any]]]]] = {
    "service-role/AmazonSageMakerServiceCatalogProductsUseRole": [
        ("console-created AmazonSageMakerServiceCatalogProductsUseRole-<date> (customer managed)", USE_ROLE_STATEMENTS),
    ],
    "service-role/AmazonSageMakerServiceCatalogProductsCodeBuildRole": [(CODEBUILD_SOURCE.name, CODEBUILD_STATEMENTS)],
    "service-role/AmazonSageMakerServiceCatalogProductsCodePipelineRole": [
        (CODEPIPELINE_SOURCE.name, CODEPIPELINE_STATEMENTS)
    ],
    "service-role/AmazonSageMakerServiceCatalogProductsEventsRole": [(EVENTS_SOURCE.name, EVENTS_STATEMENTS)],
    "service-role/AmazonSageMakerServiceCatalogProductsExecutionRole": [
        (FULL_ACCESS_SOURCE.name, FULL_ACCESS_STATEMENTS)
    ],
    # PARTIAL (see the module docstring): the console's AmazonSageMaker-ExecutionPolicy-<date> is not modelled.
    "service-role/AmazonSageMaker-ExecutionRole-*": [(FULL_ACCESS_SOURCE.name, FULL_ACCESS_STATEMENTS)],
}

SOURCES = (CODEBUILD_SOURCE, CODEPIPELINE_SOURCE, EVENTS_SOURCE, FULL_ACCESS_SOURCE)


def role_name(arn: str) -> str | None:
    """`path/name` of an IAM role ARN, None for anything else."""
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    return parts[5].removeprefix("role/")


def policies_of(arn: str) -> list[tuple[str, list[dict[str, Any]]]] | None:
    """The policies of an AWS-created role (any account), None if no table here knows the role."""
    name = role_name(arn)
    if name is None:
        return None
    for pattern, policies in ROLE_POLICIES.items():
        if fnmatch.fnmatchcase(name, pattern):
            return policies
    return None
