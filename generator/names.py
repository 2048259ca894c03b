"""Physical-name budget: will the names a template gives its resources fit AWS's limits at the
longest values of its parameters?

The implementation is ``generator/rules/_names.py``: the lint rules use it too, and that directory
has to work on its own (``cfn-lint --append-rules generator/rules``, also from another
repository), so the code lives there and this module re-exports it. It is loaded by path under the
same ``sys.modules`` key the rules use, so the rules and the rest of the project share one copy.

Public API::

    NAME_LIMITS: dict[(resource type, property), NameLimit]
    resolve(value, template, parameters=None) -> str | None
    explain(value, template, parameters=None, prefer="a") -> Resolution
    physical_names(template, parameters=None) -> list[PhysicalName]
    name_violations(template, parameters=None) -> list[str]
    unbounded_names(template, parameters=None) -> list[PhysicalName]
    longest_parameter_value(name, template, prefer="a") -> str | None
    longest_matching(pattern, max_length, min_length=0, prefer="a") -> str | None
    to_sub_text(value) -> str
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path


def _load():
    rules_dir = Path(__file__).resolve().parent / "rules"
    key = "_smcat_rules_" + hashlib.sha1(str(rules_dir).encode()).hexdigest()[:12] + "__names"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, rules_dir / "_names.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]


_impl = _load()

NAME_LIMITS = _impl.NAME_LIMITS
PSEUDO_PARAMETERS = _impl.PSEUDO_PARAMETERS
SAGEMAKER_PARAMETER_LIMITS = _impl.SAGEMAKER_PARAMETER_LIMITS
STACK_NAME_LIMIT = _impl.STACK_NAME_LIMIT
NameLimit = _impl.NameLimit
PhysicalName = _impl.PhysicalName
Resolution = _impl.Resolution
explain = _impl.explain
longest_matching = _impl.longest_matching
longest_parameter_value = _impl.longest_parameter_value
name_violations = _impl.name_violations
physical_names = _impl.physical_names
resolve = _impl.resolve
to_sub_text = _impl.to_sub_text
unbounded_names = _impl.unbounded_names

__all__ = [
    "NAME_LIMITS",
    "PSEUDO_PARAMETERS",
    "SAGEMAKER_PARAMETER_LIMITS",
    "STACK_NAME_LIMIT",
    "NameLimit",
    "PhysicalName",
    "Resolution",
    "explain",
    "longest_matching",
    "longest_parameter_value",
    "name_violations",
    "physical_names",
    "resolve",
    "to_sub_text",
    "unbounded_names",
]
