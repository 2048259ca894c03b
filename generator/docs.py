"""A short Markdown page per product: what it creates, its parameters and outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

CONSTRAINTS = (
    ("MinLength", "min length {}"),
    ("MaxLength", "max length {}"),
    ("MinValue", "min {}"),
    ("MaxValue", "max {}"),
    ("AllowedPattern", "pattern `{}`"),
)


def _constraints(parameter: dict[str, Any]) -> str:
    parts = [text.format(parameter[key]) for key, text in CONSTRAINTS if key in parameter]
    if "AllowedValues" in parameter:
        parts.append("one of " + ", ".join(f"`{v}`" for v in parameter["AllowedValues"]))
    return "; ".join(parts).replace("|", "\\|")


def product_page(built) -> str:
    template = built.template
    optional = set(template.get("Metadata", {}).get("SagemakerTemplateParameterRules", {}))
    parameters = [
        {
            "name": name,
            "type": p.get("Type", ""),
            "default": p.get("Default"),
            "description": p.get("Description", ""),
            "constraints": _constraints(p),
            "optional": name in optional or "Default" in p,
        }
        for name, p in template.get("Parameters", {}).items()
    ]
    resources = [
        {"id": rid, "type": r["Type"], "condition": r.get("Condition", "")}
        for rid, r in template.get("Resources", {}).items()
    ]
    outputs = [{"name": n, "description": o.get("Description", "")} for n, o in template.get("Outputs", {}).items()]
    return _ENV.get_template("product.md.j2").render(
        product=built.product,
        description=template.get("Description", ""),
        parameters=parameters,
        resources=resources,
        outputs=outputs,
        content_hash=built.content_hash,
    )
