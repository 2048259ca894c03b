"""W9111: a physical name whose length cannot be worked out before deployment."""

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


class NameUnbounded(CloudFormationLintRule):
    """Warns about resource names whose longest value cannot be worked out from the template.

    E9110 checks names at the longest parameter values. A name that uses Fn::GetAtt,
    Fn::ImportValue, a Ref to a resource, or a parameter with neither MaxLength nor AllowedValues
    (nor a bounded AllowedPattern) has no such bound, so it may break its service's length limit
    for some input and nothing here can tell. Bound the parameter, or build the name from parts
    whose length is known.
    """

    id = "W9111"
    shortdesc = "Physical name cannot be bounded"
    description = (
        "A resource name's longest value cannot be computed (Fn::GetAtt, Fn::ImportValue, Ref to a "
        "resource, or a parameter without MaxLength/AllowedValues), so its length limit can't be checked"
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html"
    tags = ["names", "limits"]

    def match(self, cfn):
        matches = []
        for name in common.physical_names(cfn):
            if name.value is not None:
                continue
            limit = name.limit
            matches.append(RuleMatch(name.path, (
                f"{name.logical_id} {name.property} '{name.expression}' cannot be bounded before deployment: "
                f"{name.reason}. Its length can't be checked against the {limit.max_length}-character limit "
                f"of {limit.label}s. Give the parameter a MaxLength (or AllowedValues), or build the name "
                "from parts of known length."
            )))
        return matches
