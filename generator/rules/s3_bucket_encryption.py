"""E9140: S3 buckets are encrypted with a customer managed KMS key."""

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

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
_EXAMPLE = (
    "BucketEncryption: {ServerSideEncryptionConfiguration: [{ServerSideEncryptionByDefault: "
    "{SSEAlgorithm: aws:kms, KMSMasterKeyID: !GetAtt ArtifactKey.Arn}, BucketKeyEnabled: true}]}"
)


class S3BucketEncryption(CloudFormationLintRule):
    """Checks that every S3 bucket uses SSE-KMS with a key the template names.

    Buckets default to SSE-S3 (AES256), and ``aws:kms`` without ``KMSMasterKeyID`` uses the AWS
    managed key ``aws/s3``. Neither key's policy can be changed, so other accounts can never be
    allowed to decrypt: cross-account CodePipeline deployments and model artifacts shared with
    workload accounts then fail. Each rule in ``BucketEncryption.ServerSideEncryptionConfiguration``
    must use ``aws:kms`` or ``aws:kms:dsse`` with ``KMSMasterKeyID`` set (a customer managed key).
    """

    id = "E9140"
    shortdesc = "S3 buckets use SSE-KMS with a customer managed key"
    description = (
        "AWS::S3::Bucket has BucketEncryption whose rules use SSEAlgorithm aws:kms (or aws:kms:dsse) "
        "with a KMSMasterKeyID"
    )
    source_url = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html"
    tags = ["s3", "kms", "encryption", "security"]

    def match(self, cfn):
        matches = []
        for logical_id, rtype, props in common.resources(cfn):
            if rtype != "AWS::S3::Bucket":
                continue
            path = ["Resources", logical_id, "Properties"]
            where = f"{logical_id} (AWS::S3::Bucket)"
            if "BucketEncryption" not in props:
                matches.append(RuleMatch(path, (
                    f"{where} has no BucketEncryption, so objects get SSE-S3 keys whose policy can't let other "
                    f"accounts decrypt (cross-account deployments need that). Add {_EXAMPLE}."
                )))
                continue
            for encryption in common.branches(props["BucketEncryption"]):
                if not isinstance(encryption, dict):
                    continue
                rules = common.items(encryption.get("ServerSideEncryptionConfiguration"))
                for index, rule in enumerate(rules):
                    if not isinstance(rule, dict):
                        continue
                    rule_path = [*path, "BucketEncryption", "ServerSideEncryptionConfiguration", index]
                    for default in common.branches(rule.get("ServerSideEncryptionByDefault")):
                        if not isinstance(default, dict):
                            continue
                        algorithm = common.text(default.get("SSEAlgorithm", ""))
                        if algorithm.startswith("${"):
                            continue  # chosen by a parameter: can't tell
                        if algorithm not in KMS_ALGORITHMS:
                            matches.append(RuleMatch(rule_path, (
                                f"{where} encrypts with SSEAlgorithm {algorithm or '(none)'}; use aws:kms with a "
                                "customer managed key (KMSMasterKeyID), whose key policy can grant other "
                                f"accounts kms:Decrypt. E.g. {_EXAMPLE}."
                            )))
                        elif "KMSMasterKeyID" not in default:
                            matches.append(RuleMatch(rule_path, (
                                f"{where} uses {algorithm} without KMSMasterKeyID, i.e. the AWS managed key aws/s3, "
                                "whose policy can't be changed to let other accounts decrypt. Set KMSMasterKeyID to "
                                "a customer managed key (e.g. !GetAtt ArtifactKey.Arn)."
                            )))
        return matches
