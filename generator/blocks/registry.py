"""The SageMaker model registry: model package groups and their cross-account resource policies."""

from __future__ import annotations

from typing import Any

from troposphere import Sub, Tags, sagemaker

# What a deployment account needs to find and deploy a model version (seed 000's shared registry).
GROUP_READ = [
    "sagemaker:DescribeModelPackageGroup",
    "sagemaker:DescribeModelPackage",
    "sagemaker:ListModelPackages",
]
# What an account that deploys the group's versions needs: creating a model from a version of
# another account's group is authorized against the version (model-package/<group>/<n>) too, so
# the group's policy must allow CreateModel besides the reads (seed 002; the one list every
# group policy here uses).
GROUP_DEPLOY = [*GROUP_READ, "sagemaker:CreateModel"]
GROUP_WRITE = ["sagemaker:CreateModelPackage", "sagemaker:UpdateModelPackage"]


def group_arn(name: Any) -> Sub:
    return Sub(
        "arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package-group/${Name}", Name=name
    )


def packages_arn(name: Any) -> Sub:
    return Sub("arn:${AWS::Partition}:sagemaker:${AWS::Region}:${AWS::AccountId}:model-package/${Name}/*", Name=name)


def group_access_for_accounts(name: Any, accounts: Any, actions: list[str], sid: str) -> dict[str, Any]:
    """A model package group policy statement granting `actions` to the listed accounts."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": accounts},
        "Action": actions,
        "Resource": [group_arn(name), packages_arn(name)],
    }


def model_package_group(
    logical_id: str, name: Any, description: str, tags: Tags, policy: Any = None
) -> sagemaker.ModelPackageGroup:
    group = sagemaker.ModelPackageGroup(
        logical_id, ModelPackageGroupName=name, ModelPackageGroupDescription=description, Tags=tags
    )
    if policy is not None:
        group.ModelPackageGroupPolicy = policy
    return group
