"""E9102: every taggable resource of a SageMaker project template carries the project's tags."""

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

_TAGS = {"sagemaker:project-name": common.PROJECT_NAME, "sagemaker:project-id": common.PROJECT_ID}
_UNTAGGED_TYPES_PREFIXES = ("Custom::", "AWS::CloudFormation::CustomResource", "AWS::Serverless::")


def tag_property(resource_type: str, region: str) -> str | None:
    """The property holding a resource type's tags, from its CloudFormation provider schema
    (``tagging.taggable`` and ``tagging.tagProperty``); None when the type cannot be tagged."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # unknown or module types: nothing to say
        return None
    tagging = schema.get("tagging") or {}
    if not tagging.get("taggable"):
        return None
    prop = str(tagging.get("tagProperty", "/properties/Tags")).rsplit("/", 1)[-1]
    return prop if prop in (schema.get("properties") or {}) else None


def _tags(value):
    """{key: value} of a Tags property, or None when it can't be read statically."""
    found = {}
    for option in common.branches(value):
        if isinstance(option, dict) and not any(k == "Ref" or k.startswith("Fn::") for k in option):
            found.update({str(k): v for k, v in option.items()})  # map form (e.g. AWS::SSM::Parameter)
        elif isinstance(option, list):
            for element in option:
                for tag in common.branches(element):
                    if not isinstance(tag, dict) or "Key" not in tag:
                        return None
                    found[common.text(tag["Key"])] = tag.get("Value")
        else:
            return None
    return found


class SageMakerProjectTags(CloudFormationLintRule):
    """Checks that a SageMaker project template tags what it creates with the project.

    SageMaker Studio, cost allocation and clean-up scripts find a project's resources by the tags
    ``sagemaker:project-name`` and ``sagemaker:project-id``. Every resource whose CloudFormation
    schema says it is taggable must carry both, with the values of the SageMakerProjectName and
    SageMakerProjectId parameters. Only templates that declare SageMakerProjectName are checked;
    resources whose Tags are built by an intrinsic function are skipped (they can't be read).
    """

    id = "E9102"
    shortdesc = "SageMaker project resources are tagged with the project"
    description = (
        "In a template declaring SageMakerProjectName, every taggable resource has the tags "
        "sagemaker:project-name (!Ref SageMakerProjectName) and sagemaker:project-id "
        "(!Ref SageMakerProjectId)"
    )
    source_url = common.DOCS
    tags = ["sagemaker", "projects", "tags"]

    def match(self, cfn):
        params = common.parameters(cfn)
        if common.PROJECT_NAME not in params:
            return []
        region = cfn.regions[0] if cfn.regions else "us-east-1"
        matches = []
        for logical_id, rtype, props in common.resources(cfn):
            if rtype.startswith(_UNTAGGED_TYPES_PREFIXES):
                continue
            prop = tag_property(rtype, region)
            if prop is None:
                continue
            path = ["Resources", logical_id, "Properties"]
            wanted = ", ".join(f"{{Key: {k}, Value: !Ref {p}}}" for k, p in _TAGS.items())
            if prop not in props:
                matches.append(RuleMatch(path, (
                    f"{logical_id} ({rtype}) has no {prop}: SageMaker Studio finds a project's resources "
                    f"by the tags sagemaker:project-name and sagemaker:project-id. Add {prop}: [{wanted}]."
                )))
                continue
            tags = _tags(props[prop])
            if tags is None:
                continue
            missing = [k for k in _TAGS if k not in tags]
            if missing:
                map_form = any(isinstance(o, dict) for o in common.branches(props[prop]))
                add = ", ".join(
                    f"{k}: !Ref {_TAGS[k]}" if map_form else f"{{Key: {k}, Value: !Ref {_TAGS[k]}}}"
                    for k in missing
                )
                matches.append(RuleMatch([*path, prop], (
                    f"{logical_id} ({rtype}) is not tagged {' and '.join(missing)}: SageMaker Studio "
                    "finds a project's resources by the tags sagemaker:project-name and "
                    f"sagemaker:project-id. Add {add} to {prop}."
                )))
            for key, param in _TAGS.items():
                if key in tags and param in params and common.text(tags[key]) != "${" + param + "}":
                    matches.append(RuleMatch([*path, prop], (
                        f"{logical_id} ({rtype}) tag {key} is {common.text(tags[key])!r}, not the "
                        f"{param} parameter; set Value: !Ref {param} so it names this project."
                    )))
        return matches
