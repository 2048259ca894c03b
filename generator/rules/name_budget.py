"""E9110: every physical name fits its AWS limit at the longest parameter values."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

from cfnlint.rules import CloudFormationLintRule, RuleMatch


def _load_common():
    """``_common.py`` from this directory, by path: cfn-lint imports rule files outside any package."""
    here = Path(__file__).resolve().parent
    key = "_smcat_rules_" + hashlib.sha1(str(here).encode()).hexdigest()[:12] + "__common"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, here / "_common.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


common = _load_common()


class NameBudget(CloudFormationLintRule):
    """Checks that the names a template gives its resources fit AWS's limits.

    A name such as ``sagemaker-${SageMakerProjectName}-${SageMakerProjectId}-artifacts`` works for
    the short project name it was tried with and fails at launch for a long one: AWS sample
    templates broke on S3 bucket names for project names over 18 characters. For every name
    property in ``_names.NAME_LIMITS`` (S3 buckets, EventBridge rules, IAM roles, CodeBuild,
    CodePipeline, SageMaker ...), the name is evaluated with each parameter at its longest allowed
    value (MaxLength / AllowedValues / AllowedPattern; SageMakerProjectName 32 and
    SageMakerProjectId 20 at most) and pseudo parameters at their longest real values, and then
    checked against the service's maximum length and pattern. Each parameter is also tried with
    other characters its AllowedPattern permits (uppercase letters, ``_``, ``.`` ...), so a bucket
    name that takes an uppercase project name is caught too. Names that cannot be evaluated are
    reported by W9111 instead.
    """

    id = "E9110"
    shortdesc = "Physical names fit their limits at the longest parameter values"
    description = (
        "Every resource name (S3 bucket, EventBridge rule, IAM role, CodeBuild project, CodePipeline, "
        "SageMaker entities ...) fits the service's length limit and pattern when every parameter "
        "takes its longest allowed value"
    )
    source_url = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html"
    tags = ["names", "limits", "sagemaker"]

    def match(self, cfn):
        return [
            RuleMatch(name.path, message)
            for name in common.physical_names(cfn)
            for message in name.violations()
        ]
