"""E9101: a SageMaker project template declares the parameters Studio passes, within the API's limits."""

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

names = common.names

# What the SageMaker API accepts (botocore model): (max length, pattern, whether MaxLength,
# MinLength and AllowedPattern must be declared).
_API = {
    common.PROJECT_NAME: (32, r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}", True),
    common.PROJECT_ID: (20, r"[a-zA-Z0-9](-*[a-zA-Z0-9])*", False),
}
# Strings that break the API pattern in the usual ways, tried against the template's pattern.
_BAD_SAMPLES = ("-a", "a-", "a_b", "a.b", "a b", "a/b", "a:b", "a@b", "a+b", "_a", "aé")
_PROBES = ("a", "A", "0", "-", "_", ".", " ", "/", "@", ":")


def _snippet(name: str) -> str:
    if name == common.PROJECT_NAME:
        return (f"{name}: {{Type: String, MinLength: 1, MaxLength: 32, "
                "AllowedPattern: '^[a-zA-Z](-*[a-zA-Z0-9])*$'}")
    return f"{name}: {{Type: String, MinLength: 1, MaxLength: 20}}"


def looser_example(pattern: str, min_length: int, max_length: int, api_pattern: str) -> str | None:
    """A value the template's pattern (and lengths) accept but the API pattern rejects, if any
    turns up among generated and hand-picked samples; None when the pattern looks as strict."""
    samples = list(_BAD_SAMPLES)
    for prefer in _PROBES:
        for length in sorted({max(min_length, 1), 2, 3, max_length}):
            if length <= max_length:
                sample = names.longest_matching(pattern, length, length, prefer)
                if sample is not None:
                    samples.append(sample)
    for sample in samples:
        if (min_length <= len(sample) <= max_length and re.fullmatch(pattern, sample)
                and not re.fullmatch(api_pattern, sample)):
            return sample
    return None


class SageMakerProjectParameters(CloudFormationLintRule):
    """Checks the parameters of a SageMaker project template.

    SageMaker Studio launches a project template with two parameters, ``SageMakerProjectName``
    (1-32 characters, ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}``) and ``SageMakerProjectId`` (1-20
    characters). A template that declares one of them is taken to be a project template and must
    declare both (Studio passes both, and CloudFormation rejects an undeclared parameter).
    ``SageMakerProjectName`` must say Type String, MinLength >= 1, MaxLength <= 32 and an
    AllowedPattern no looser than the API's, so that names built from it can be budgeted and a bad
    value fails fast; ``SageMakerProjectId`` must be a String with, if given, MaxLength <= 20.
    Templates declaring neither (an admin hub stack, say) are not checked.

    The same holds for templates SageMaker launches from S3 (no Service Catalog): no documentation
    sentence says so, but every AWS S3 sample template declares both parameters without a Default
    while the sample's CreateProject call passes neither (aws-samples/sagemaker-custom-project-templates
    ``s3_templates/``), so SageMaker supplies them there too. E9103 checks what differs in S3 mode.
    """

    id = "E9101"
    shortdesc = "SageMaker project template parameters"
    description = (
        "A template declaring SageMakerProjectName or SageMakerProjectId declares both, as Strings "
        "within the SageMaker API's limits (name: MinLength 1, MaxLength <= 32, AllowedPattern no "
        "looser than [a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}; id: MaxLength <= 20)"
    )
    source_url = common.DOCS
    tags = ["sagemaker", "projects", "parameters"]

    def match(self, cfn):
        params = common.parameters(cfn)
        declared = [n for n in _API if n in params]
        if not declared:
            return []
        matches = []
        for name, (api_max, api_pattern, strict) in _API.items():
            if name not in params:
                other = declared[0]
                matches.append(RuleMatch(
                    ["Parameters"],
                    f"Parameters: the template declares {other} but not {name}. SageMaker Studio passes "
                    f"both SageMakerProjectName and SageMakerProjectId to a project template, and "
                    f"CloudFormation rejects a parameter the template does not declare, so the project "
                    f"cannot be created. Add {_snippet(name)}.",
                ))
                continue
            spec = params[name]
            if isinstance(spec, dict):
                matches += self._check(name, spec, api_max, api_pattern, strict)
        return matches

    def _check(self, name, spec, api_max, api_pattern, strict):
        path = ["Parameters", name]
        where = f"Parameter {name}"
        found = []

        def add(key, message):
            found.append(RuleMatch([*path, key] if key in spec else path, f"{where}: {message}"))

        if str(spec.get("Type", "")) != "String":
            add("Type", f"Type is {spec.get('Type')!r}; SageMaker passes a string, so declare Type: String.")
        max_length = _int(spec.get("MaxLength"))
        if max_length is None:
            if strict:
                add("MaxLength", f"no MaxLength. SageMaker allows at most {api_max} characters; declare "
                                 f"MaxLength: {api_max} so the limit is visible and names built from it "
                                 "can be checked.")
        elif max_length > api_max:
            add("MaxLength", f"MaxLength {max_length} is more than the {api_max} characters SageMaker "
                             f"allows; set MaxLength: {api_max} (or less).")
        min_length = _int(spec.get("MinLength"))
        if strict and (min_length is None or min_length < 1):
            add("MinLength", f"MinLength is {'missing' if min_length is None else min_length}; SageMaker "
                             "never passes an empty value, so declare MinLength: 1.")
        pattern = spec.get("AllowedPattern")
        if pattern is None:
            if strict:
                add("AllowedPattern", f"no AllowedPattern. Declare SageMaker's own pattern "
                                      f"'^{api_pattern}$' or a stricter one (e.g. lowercase only, "
                                      "when the name goes into S3 bucket names).")
            return found
        if not isinstance(pattern, str):
            add("AllowedPattern", "AllowedPattern is not a plain string.")
            return found
        try:
            re.compile(pattern)
        except re.error as problem:
            add("AllowedPattern", f"AllowedPattern {pattern!r} is not a valid regular expression ({problem}).")
            return found
        limit = min(max_length or api_max, api_max)
        example = looser_example(pattern, max(min_length or 0, 0), limit, api_pattern)
        if example is not None:
            add("AllowedPattern", f"AllowedPattern {pattern!r} is looser than SageMaker's "
                                  f"'^{api_pattern}$': it accepts {example!r}, which SageMaker rejects. "
                                  "Use SageMaker's pattern or a stricter one.")
        return found


def _int(value):
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None
