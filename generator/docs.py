"""The docs pages: one per product (what it creates, its parameters and outputs, what to do after
creating a project from it) and an index of the products by portfolio.

What a page says about a project is read from the product's template as far as it can be: the
repositories (and their clone URL outputs), the pipelines with their stages and the rules that start
them, the model package groups, and the deploy stages. The product's `after_create` adds what the
template cannot tell (names chosen by its seed code, for instance).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from generator.diagram import catalog_diagram, product_diagram
from generator.diagram.values import refs
from generator.errors import InputError, Problem

_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
    trim_blocks=True,
    lstrip_blocks=True,
)

INDEX = "index"  # docs/index.md: no product may be called this

CONSTRAINTS = (
    ("MinLength", "min length {}"),
    ("MaxLength", "max length {}"),
    ("MinValue", "min {}"),
    ("MaxValue", "max {}"),
    ("AllowedPattern", "pattern `{}`"),
)

# How a value that CloudFormation fills in reads on the page.
PLACEHOLDERS = {
    "SageMakerProjectName": "<project name>",
    "SageMakerProjectId": "<project id>",
    "AWS::Region": "<region>",
    "AWS::AccountId": "<account>",
    "AWS::Partition": "aws",
    "AWS::StackName": "<stack name>",
    "AWS::URLSuffix": "amazonaws.com",
}

APPROVAL_EVENT = "SageMaker Model Package State Change"
# The subsections a product's `after_create` may add text to.
STUDIO_SECTIONS = ("repository", "push", "approve", "endpoint")
ADMIN_SECTIONS = ("launch",)
CLONE_ATTRIBUTES = ("CloneUrlHttp", "CloneUrlSsh")
# Properties that hold a resource's physical name.
NAME_PROPERTIES = ("Name", "RepositoryName", "ModelPackageGroupName", "BucketName", "RoleName", "FunctionName")


def _constraints(parameter: dict[str, Any]) -> str:
    parts = [text.format(parameter[key]) for key, text in CONSTRAINTS if key in parameter]
    if "AllowedValues" in parameter:
        parts.append("one of " + ", ".join(f"`{v}`" for v in parameter["AllowedValues"]))
    return "; ".join(parts).replace("|", "\\|")


def _cell(text: str) -> str:
    """Text for one Markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _placeholder(name: str, names: dict[str, str]) -> str:
    """A parameter, pseudo parameter or resource as the reader sees it."""
    return names.get(name) or PLACEHOLDERS.get(name, f"<{name}>")


def _text(value: Any, names: dict[str, str]) -> str:
    """A value as the reader would see it, with placeholders for what is filled in at launch
    (`names`: the display names of resources)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return _placeholder(argument, names)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument

            def substitute(match: re.Match) -> str:
                name = match.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                return _text(variables[name], names) if name in variables else _placeholder(name, names)

            return re.sub(r"\$\{([^}]*)\}", substitute, text)
    found = refs(value)
    return _placeholder(found[0], names) if len(found) == 1 else "<set at launch>"


def _display_names(template: dict[str, Any]) -> dict[str, str]:
    """Resource id -> its physical name as the reader sees it, for the resources that set one."""
    names: dict[str, str] = {}
    for rid, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        for key in NAME_PROPERTIES:
            if isinstance(props.get(key), str | dict):
                names[rid] = _text(props[key], {})
                break
    return names


def _gets(value: Any, resource: str, attribute: str) -> bool:
    return value == {"Fn::GetAtt": [resource, attribute]}


def _repositories(template: dict[str, Any], names: dict[str, str], seed_parameters: dict[str, str]) -> list[dict]:
    resources, outputs = template.get("Resources", {}), template.get("Outputs", {})
    seeds = {parameter: seed for seed, parameter in seed_parameters.items()}
    found = []
    for rid, resource in resources.items():
        if resource["Type"] != "AWS::CodeCommit::Repository":
            continue
        code = resource.get("Properties", {}).get("Code", {})
        key = code.get("S3", {}).get("Key")
        clone = [n for a in CLONE_ATTRIBUTES for n, o in outputs.items() if _gets(o.get("Value"), rid, a)]
        found.append({
            "name": names.get(rid, rid),
            "branch": code.get("BranchName", ""),
            "seed": seeds.get(key.get("Ref")) if isinstance(key, dict) else None,
            "clone_output": clone[0] if clone else None,
        })
    return found


def _trigger(rule: dict[str, Any], names: dict[str, str]) -> str:
    """What starts a pipeline through this EventBridge rule, in words."""
    pattern = rule.get("EventPattern", {})
    detail = pattern.get("detail", {})
    if "aws.codecommit" in pattern.get("source", []):
        repos = [_placeholder(refs(arn)[0], names) for arn in pattern.get("resources", []) if refs(arn)]
        branches = " or ".join(f"`{b}`" for b in detail.get("referenceName", [])) or "any branch"
        where = " of " + ", ".join(f"`{r}`" for r in repos) if repos else ""
        return f"a push to {branches}{where}"
    if APPROVAL_EVENT in pattern.get("detail-type", []):
        statuses = " or ".join(f"`{s}`" for s in detail.get("ModelApprovalStatus", [])) or "a new status"
        groups = ", ".join(f"`{_text(g, names)}`" for g in detail.get("ModelPackageGroupName", []))
        where = f" in the model package group {groups}" if groups else ""
        if detail.get("ModelLifeCycle"):  # generator/blocks/lifecycle.py: promotion by stage
            stages = " or ".join(f"`{s}`" for s in detail["ModelLifeCycle"].get("Stage", []))
            return f"a model version set to {statuses} and promoted to the lifecycle stage {stages}{where} " \
                   "(PromotionMode `LifecycleStage`)"
        return f"a model version set to {statuses}{where}"
    return rule.get("Description", "an EventBridge rule")


def _environment(configuration: dict[str, Any], names: dict[str, str]) -> dict[str, str]:
    """A CodeBuild action's environment variables, as far as they read as text."""
    try:
        variables = json.loads(_text(configuration.get("EnvironmentVariables", "[]"), names))
        return {v["name"]: v["value"] for v in variables}
    except (ValueError, KeyError, TypeError):
        return {}


def _action(action: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """One pipeline action: what it does, and the endpoint stack it deploys, if any."""
    provider = action.get("ActionTypeId", {}).get("Provider", "")
    config = action.get("Configuration", {})
    text, deploys = provider, None
    if provider == "CodeCommit":
        text = f"CodeCommit `{_text(config.get('RepositoryName', ''), names)}` branch `{config.get('BranchName', '')}`"
    elif provider == "CodeStarSourceConnection":
        text = (f"the repository `{_text(config.get('FullRepositoryId', ''), names)}` branch "
                f"`{_text(config.get('BranchName', ''), names)}` through the connection (RepositoryProvider "
                "CodeConnections)")
    elif provider == "Manual":
        text = "manual approval in CodePipeline" + (f": {config['CustomData']}" if config.get("CustomData") else "")
    elif provider == "CloudFormation" and config.get("StackName"):
        account = re.search(r"iam::([^:]+):role/", _text(action.get("RoleArn") or config.get("RoleArn", ""), names))
        deploys = f"stack `{_text(config['StackName'], names)}`"
        deploys += f" in the account `{account.group(1)}`" if account else ""
        text = f"CloudFormation deploys the {deploys}"
    elif provider in ("CloudFormationStackSet", "CloudFormationStackInstances") and config.get("StackSetName"):
        deploys = f"StackSet `{_text(config['StackSetName'], names)}`"
        text = f"{provider} deploys the {deploys}"
    elif provider == "CodeBuild":
        environment = _environment(config, names)
        if environment.get("STACK_SET_NAME"):  # deploy_stackset.py of the modeldeploy seed
            deploys = f"StackSet `{environment['STACK_SET_NAME']}`"
            if environment.get("ORGANIZATIONAL_UNIT_IDS"):
                deploys += f" to the accounts of `{environment['ORGANIZATIONAL_UNIT_IDS']}`"
            text = f"CodeBuild deploys the {deploys}"
        else:
            text = f"CodeBuild project `{_text(config.get('ProjectName', ''), names)}`"
    return {"name": action.get("Name", ""), "text": text, "deploys": deploys}


def _alternatives(item: Any) -> list[dict[str, Any]]:
    """The actions an item of a stage may be: both branches of an Fn::If (the source action of a
    template that takes CodeCommit or CodeConnections), none for AWS::NoValue."""
    if isinstance(item, dict) and set(item) == {"Fn::If"}:
        _, yes, no = item["Fn::If"]
        return _alternatives(yes) + _alternatives(no)
    if item == {"Ref": "AWS::NoValue"}:
        return []
    return [item]


def _pipelines(template: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    resources, outputs = template.get("Resources", {}), template.get("Outputs", {})
    rules = [r.get("Properties", {}) for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    found = []
    for rid, resource in resources.items():
        if resource["Type"] != "AWS::CodePipeline::Pipeline":
            continue
        triggers = [
            _trigger(rule, names) for rule in rules
            if any(rid in refs(target.get("Arn")) for target in rule.get("Targets", []))
        ]
        stages = [
            {"name": s.get("Name", ""),
             "actions": [_action(a, names) for item in s.get("Actions", []) for a in _alternatives(item)]}
            for s in resource.get("Properties", {}).get("Stages", [])
        ]
        found.append({
            "name": names.get(rid, rid),
            "output": next((n for n, o in outputs.items() if o.get("Value") == {"Ref": rid}), None),
            "triggers": triggers,
            "stages": stages,
            "deploys": [(s["name"], a["deploys"]) for s in stages for a in s["actions"] if a["deploys"]],
        })
    return found


def _model_groups(template: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """The model package groups the project registers into, or else the one it deploys from."""
    resources, outputs = template.get("Resources", {}), template.get("Outputs", {})
    found = []
    for rid, resource in resources.items():
        if resource["Type"] == "AWS::SageMaker::ModelPackageGroup":
            name = resource.get("Properties", {}).get("ModelPackageGroupName")
            output = next((n for n, o in outputs.items() if o.get("Value") in ({"Ref": rid}, name)), None)
            found.append({"name": names.get(rid, rid), "output": output})
    if not found:  # a deploy project follows a group it is given
        for resource in resources.values():
            if resource["Type"] != "AWS::Events::Rule":
                continue
            pattern = resource.get("Properties", {}).get("EventPattern", {})
            if APPROVAL_EVENT in pattern.get("detail-type", []):
                groups = pattern.get("detail", {}).get("ModelPackageGroupName", [])
                found += [{"name": _text(group, names), "output": None} for group in groups]
    return list({g["name"]: g for g in found}.values())


def after_create(built) -> dict[str, Any]:
    """What the "After you create the project" section says, read from the template."""
    template = built.template
    names = _display_names(template)
    pipelines = _pipelines(template, names)
    return {
        "repositories": _repositories(template, names, built.seed_key_parameters),
        "pipelines": pipelines,
        "model_groups": _model_groups(template, names),
        "deploys": [d for p in pipelines for d in p["deploys"]],
        "outputs": list(template.get("Outputs", {})),
    }


def product_page(built, portfolios=()) -> str:
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
    name = built.product.name
    return _ENV.get_template("product.md.j2").render(
        product=built.product,
        description=template.get("Description", ""),
        parameters=parameters,
        resources=resources,
        outputs=outputs,
        content_hash=built.content_hash,
        portfolios=[p for p in portfolios if name in p.config.get("products", [])],
        after=after_create(built),
        notes={k: built.product.after_create.get(k, "").strip() for k in STUDIO_SECTIONS + ADMIN_SECTIONS},
        diagram=product_diagram(template),
    )


def index_page(products: dict[str, Any], portfolios) -> str:
    """Every product by portfolio (in the order the portfolio files list them), then the unlisted ones."""
    listed = {name for p in portfolios for name in p.config.get("products", [])}

    def row(name: str) -> dict[str, str]:
        product = products[name].product
        return {"name": name, "version": product.version, "description": _cell(product.description),
                "studio": "yes" if product.studio_project else "no"}

    groups = [
        {
            "id": p.id,
            "file": p.file,
            "display_name": p.config.get("display_name", p.id),
            "description": " ".join(str(p.config.get("description", "")).split()),
            "studio": bool(p.config.get("studio_visibility")),
            "products": [row(n) for n in p.config.get("products", []) if n in products],
        }
        for p in portfolios
    ]
    unlisted = [row(n) for n in sorted(products) if n not in listed]
    return _ENV.get_template("index.md.j2").render(
        portfolios=groups, unlisted=unlisted, count=len(products),
        diagram=catalog_diagram({name: built.template for name, built in products.items()}),
    )


def page_problems(product) -> list[str]:
    """What in a product's declaration keeps its page from being written."""
    found = []
    if product.name == INDEX:
        found.append(f"name '{INDEX}' is reserved: docs/{INDEX}.md is the catalog's index page")
    sections = STUDIO_SECTIONS if product.studio_project else ADMIN_SECTIONS
    notes = product.after_create
    if not isinstance(notes, dict):
        found.append(f"after_create must be a dict of section name to Markdown, not {notes!r}")
    else:
        for key, text in notes.items():
            if key not in sections:
                found.append(f"after_create: unknown section {key!r} (one of {', '.join(sections)})")
            elif not isinstance(text, str):
                found.append(f"after_create[{key!r}] must be a string, not {text!r}")
    return found


def doc_files(products: dict[str, Any], portfolios) -> dict[str, bytes]:
    """Every file under docs/: a page per product and the index. InputError, one problem per line, for a
    product named `index` or an `after_create` the page cannot use."""
    problems = [
        Problem(b.product.source or name, "PRODUCT", reason)
        for name, b in products.items()
        for reason in page_problems(b.product)
    ]
    if problems:
        raise InputError(problems)
    files = {f"docs/{name}.md": product_page(b, portfolios).encode() for name, b in products.items()}
    files[f"docs/{INDEX}.md"] = index_page(products, portfolios).encode()
    return files
