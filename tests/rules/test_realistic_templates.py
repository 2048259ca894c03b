"""Templates in the style of the public SageMaker MLOps project templates, linted by cfn-lint with
its own rules and ours: each known bug is caught with a clear message, and the fixed versions
come out clean."""

from __future__ import annotations

from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent / "templates"

EXPECTED = {
    "mlops_build_train_buggy.yaml": [
        ("E9110", "MlOpsArtifactsBucket",
         "MlOpsArtifactsBucket BucketName 'sagemaker-project-${SageMakerProjectName}-${SageMakerProjectId}' is 71 "
         "characters at the longest SageMakerProjectName (32) and SageMakerProjectId (20); S3 bucket names allow "
         "at most 63 (8 over)"),
        ("E9110", "MlOpsArtifactsBucket", "can contain uppercase letters: SageMakerProjectName and SageMakerProjectId"),
        ("E9110", "ModelBuildCodeCommitEventRule",
         "is 82 characters at the longest SageMakerProjectName (32) and SageMakerProjectId (20); EventBridge rule "
         "names allow at most 64 (18 over)"),
        ("E9140", "MlOpsArtifactsBucket", "MlOpsArtifactsBucket (AWS::S3::Bucket) has no BucketEncryption"),
        ("E9141", "MlOpsArtifactsBucket", "has no AWS::S3::BucketPolicy, so it accepts requests over plain HTTP"),
        ("E9130", "ModelPackageGroup",
         "statement 'ModelPackageGroupShare' allows sagemaker:DescribeModelPackageGroup to any AWS principal ('*') "
         "with no condition limiting it to your organization or accounts"),
        ("E9130", "ModelPackageGroup", "statement 'ModelPackageShare' allows sagemaker:DescribeModelPackage"),
        ("E9102", "ModelBuildCodeCommitEventRule", "has no Tags"),
    ],
    "mlops_deploy_buggy.yaml": [
        ("E9150", "ArtifactKey", "is a symmetric key with EnableKeyRotation not set"),
        ("E9120", "ArtifactKey", "statement 'DeployRoleUsesKey' allows 'kms:*'"),
        ("E9102", "ModelArtifactBucket", "has no Tags"),
        ("E9110", "ModelArtifactBucket", "can contain uppercase letters: SageMakerProjectId allows them"),
        ("E9140", "ModelArtifactBucket", "uses aws:kms without KMSMasterKeyID"),
        ("E9141", "ModelArtifactBucketPolicy", "does not deny requests where aws:SecureTransport is false"),
        ("E9130", "ModelArtifactBucketPolicy",
         "statement 'DeploymentAccountsRead' allows s3:GetObject, s3:ListBucket to any AWS principal ('*')"),
        ("E9110", "ModelDeployRole", "is 70 characters at the longest SageMakerProjectName (32) and "
                                     "SageMakerProjectId (20); IAM role names allow at most 64"),
        ("E9120", "ModelDeployRole", "Statement[0] allows 's3:*'"),
        ("E9121", "ModelDeployRole", "allows sagemaker:CreateModel, sagemaker:CreateEndpointConfig, "
                                     "sagemaker:CreateEndpoint on Resource '*'"),
        ("E9102", "ModelDeployRole", "is not tagged sagemaker:project-id"),
        ("E9102", "ModelDeployEventRule", "has no Tags"),
    ],
    "mlops_build_deploy_fixed.yaml": [],
    "admin_hub.yaml": [],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template(lint_all, name):
    findings = lint_all((TEMPLATES / name).read_text())
    ours = [f for f in findings if f.rule[1] == "9"]
    others = [f for f in findings if f.rule[1] != "9"]
    assert others == [], f"cfn-lint's own rules should accept {name}: {others}"
    remaining = list(ours)
    for rule, logical_id, fragment in EXPECTED[name]:
        hit = next((f for f in remaining if f.rule == rule and f.path[1] == logical_id and fragment in f.message),
                   None)
        assert hit is not None, f"{rule} {logical_id} {fragment!r} not in {[(f.rule, f.message) for f in remaining]}"
        assert hit.line > 1  # points at the offending line of the template
        remaining.remove(hit)
    assert remaining == [], f"unexpected findings: {remaining}"
