"""E9103: a SageMaker project template works when launched from S3 too, not only from Service Catalog."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

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

S3_DOCS = common.DOCS + "#sagemaker-projects-templates-s3"
# Service Catalog's stack prefix, at the start of a name or after "stack/" in a stack ARN.
_SC_PREFIX = re.compile(r"(?:^|/)SC-")
_AUTOTAG = re.compile(r"aws:servicecatalog:", re.IGNORECASE)
_STACK_NAME = "${AWS::StackName}"
# Values are read in these sections; Metadata and parameter descriptions are prose for people.
_SECTIONS = ("Resources", "Outputs", "Conditions")


def _walk(value: Any, path: list) -> Iterator[tuple[str, list, Any]]:
    """("key", path, key) for every mapping key and ("value", path, value) for every string or
    Fn::Sub/Fn::Join (read as one text, not descended into), plus ("split", path, args) for
    every Fn::Split."""
    if isinstance(value, str):
        yield "value", path, value
    elif isinstance(value, list):
        for index, element in enumerate(value):
            yield from _walk(element, [*path, index])
    elif isinstance(value, Mapping):
        if len(value) == 1:
            (fn, args), = value.items()
            if fn in ("Fn::Sub", "Fn::Join"):
                yield "value", path, value
                yield from (item for item in _walk(args, [*path, fn]) if item[0] == "split")
                return
            if fn == "Fn::Split" and isinstance(args, list) and len(args) == 2:
                yield "split", [*path, fn], args
        for key, element in value.items():
            yield "key", [*path, key], key
            yield from _walk(element, [*path, key])


def _where(path: list, cfn) -> str:
    section, name = path[0], path[1] if len(path) > 1 else ""
    if section == "Resources":
        resource = cfn.template.get("Resources", {}).get(name)
        rtype = resource.get("Type") if isinstance(resource, Mapping) else None
        return f"{name} ({rtype})" if rtype else str(name)
    return f"{section[:-1]} {name}"


class SageMakerProjectS3Templates(CloudFormationLintRule):
    """Checks that a SageMaker project template does not depend on being launched by Service Catalog.

    Since late 2025 SageMaker creates projects from CloudFormation templates kept in S3 as well
    (CreateProject with TemplateProviders.CfnTemplateProvider, no Service Catalog): SageMaker
    Developer Guide, "Using a template from an Amazon S3 bucket". smcat publishes the same
    template to either target, so a project template must work under both. Three things in a
    template only hold under Service Catalog, and each is an error here:

    - a name or stack ARN with Service Catalog's stack prefix ``SC-`` (``stack/SC-*``). Projects
      from S3 templates run as stacks named ``SP-*`` (AWS's sample IAM policies for S3 templates,
      aws-samples/sagemaker-custom-project-templates ``s3_templates/``), so such a value does not
      match them. Accepted when the template also has the same value with ``SP-``;
    - ``Fn::Split`` of ``AWS::StackName``, which assumes Service Catalog's stack name format
      (``SC-<account>-pp-<provisioned product id>``); AWS documents nothing of the SP-* format
      beyond its prefix;
    - Service Catalog's AutoTags (``aws:servicecatalog:provisionedProductArn`` and the other
      ``aws:servicecatalog:*`` keys), which only a Service Catalog launch adds (Service Catalog
      Administrator Guide, "AWS Service Catalog AutoTags"); a condition on them never matches
      a project from S3.

    SageMakerProjectName and SageMakerProjectId stay required in S3 mode (E9101, E9102 apply
    unchanged). No documentation sentence says SageMaker passes them to S3 templates, but every
    AWS S3 sample template declares both without a Default and the sample's CreateProject call
    does not pass them (aws-samples/sagemaker-custom-project-templates ``s3_templates/``,
    ``mlops-github-actions/README.md``), so SageMaker supplies them; their migration guide lists
    "Add required SageMaker AI parameters". Two S3 requirements need no check here: S3 templates
    must be YAML, and the build renders every template as YAML from the JSON (equal when read
    back); the ``sagemaker:studio-visibility`` tag goes on the S3 object when publishing, not in
    the template. Only templates declaring SageMakerProjectName or SageMakerProjectId are checked
    (admin templates such as project-roles name ``SC-*`` stacks on purpose).
    """

    id = "E9103"
    shortdesc = "SageMaker project template works from S3 templates too"
    description = (
        "A template declaring SageMakerProjectName or SageMakerProjectId does not assume a Service Catalog "
        "launch: no SC- stack names or stack/SC-* ARNs without the SP- counterpart (S3 template projects run "
        "as SP-* stacks), no Fn::Split of AWS::StackName, no aws:servicecatalog:* AutoTags"
    )
    source_url = S3_DOCS
    tags = ["sagemaker", "projects", "s3"]

    def match(self, cfn):
        params = common.parameters(cfn)
        if common.PROJECT_NAME not in params and common.PROJECT_ID not in params:
            return []
        found = []
        for section in _SECTIONS:
            body = cfn.template.get(section)
            if not isinstance(body, Mapping):
                continue
            for name, element in body.items():
                if section == "Resources" and isinstance(element, Mapping):
                    element = {k: v for k, v in element.items() if k != "Metadata"}
                found += _walk(element, [section, name])
        texts = {common.text(v) for kind, _, v in found if kind == "value"}
        matches = []
        for kind, path, value in found:
            where = _where(path, cfn)
            if kind == "split":
                if _STACK_NAME in common.text(value[1]):
                    matches.append(RuleMatch(path, (
                        f"{where}: Fn::Split of AWS::StackName assumes Service Catalog's stack names "
                        "(SC-<account>-pp-<provisioned product id>); a project created from an S3 template runs "
                        "as an SP-* stack whose name format AWS does not document. Use SageMakerProjectId, or "
                        "the stack id's last part (Fn::Select [2, Fn::Split ['/', Ref AWS::StackId]])."
                    )))
                continue
            text = common.text(value)
            if _AUTOTAG.search(text):
                matches.append(RuleMatch(path, (
                    f"{where}: {text!r} uses Service Catalog's AutoTags (aws:servicecatalog:*), which only a "
                    "Service Catalog launch adds; a project created from an S3 template has none, so this never "
                    "matches there. Use the project's tags sagemaker:project-name / sagemaker:project-id."
                )))
            elif kind == "value" and _SC_PREFIX.search(text) and _SC_PREFIX.sub(_sp, text) not in texts:
                matches.append(RuleMatch(path, (
                    f"{where}: {text!r} assumes Service Catalog's stack names (SC-*); a project created from an "
                    "S3 template runs as a stack named SP-*, which this does not match. Add the same value "
                    f"with SP- ({_SC_PREFIX.sub(_sp, text)!r}) or use the stack's own ARN (Ref AWS::StackId)."
                )))
        return matches


def _sp(match: re.Match) -> str:
    return match.group(0)[:-3] + "SP-"
