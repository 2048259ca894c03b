"""A product's graph, read from its built template: the resources by account, and arrows for what
crosses an account boundary.

- resource policies (bucket, key, model package group, event bus) and role trust: the principals
  they let in from other accounts -> the resource (`reads`, `decrypts`, `registers into`, `assumes`...);
- the permission policies of the template's roles and managed policies: this account -> what they
  reach in another account (a role to assume, a bucket, key or model package group);
- EventBridge rules whose target is an event bus of another account (`forwards events`);
- CodePipeline stages that act in another account: through a role there, or on accounts or OUs a
  parameter names (`stage <Name> ...`).

Policies attached to a resource (a bucket policy, a key alias, an event bus policy) are drawn as the
resource they belong to.
"""

from __future__ import annotations

import json
import re
from typing import Any

from generator.diagram.accounts import ACCOUNT, OF_ARN, OU, THIS, Account, Parameters
from generator.diagram.graph import Graph, Node
from generator.diagram.principals import condition_values, statement_principals
from generator.diagram.values import arn_fields, branches, items, placeholders, refs, text, texts

# Resources drawn as the resource they attach to: type -> the property that names it.
ATTACHED = {
    "AWS::S3::BucketPolicy": "Bucket",
    "AWS::KMS::Alias": "TargetKeyId",
    "AWS::Lambda::Permission": "FunctionName",
    "AWS::Events::EventBusPolicy": "EventBusName",
    "AWS::SQS::QueuePolicy": "Queues",
}
# Resource policies: type -> (the property holding the policy, the service its actions are of).
RESOURCE_POLICIES = {
    "AWS::S3::BucketPolicy": ("PolicyDocument", "s3"),
    "AWS::KMS::Key": ("KeyPolicy", "kms"),
    "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupPolicy", "sagemaker"),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument", "sts"),
}
DEFAULT_BUS = "default-event-bus"
# Services whose resources in other accounts a permission policy's arrows are drawn to. Events are
# drawn from the rules' targets instead (a role that may put events is not a rule that forwards them).
REACHED_SERVICES = ("ecr", "kms", "s3", "sagemaker", "sts", "iam")


def verb(service: str, actions: list[str]) -> str | None:
    """What a grant of `actions` on a resource of `service` lets its principal do, in one verb."""
    acts = [a.lower() for a in actions if a == "*" or a.lower().startswith(service + ":") or service == "iam"]
    if not acts:
        return None
    if service in ("sts", "iam"):
        return "assumes" if any(a.startswith("sts:assumerole") or a in ("*", "sts:*") for a in acts) else None
    if service == "s3":
        writes = any(re.match(r"s3:(\*|put|delete|abort)", a) for a in acts)
        return "writes" if writes else "reads"
    if service == "kms":
        return "decrypts" if any(re.match(r"kms:(\*|decrypt)", a) for a in acts) else "uses key"
    if service == "sagemaker":
        if any(a in ("sagemaker:createmodelpackage", "sagemaker:*") for a in acts):
            return "registers into"
        return "deploys from" if "sagemaker:createmodel" in acts else "reads"
    if service == "events":
        return "sends events" if any(a in ("events:putevents", "events:*") for a in acts) else None
    if service == "ecr":
        return "pulls images"
    return None


def product_graph(template: dict[str, Any]) -> Graph:
    """The graph of one built template."""
    parameters = Parameters(template)
    resources = template.get("Resources", {})
    resources = {rid: r for rid, r in resources.items() if isinstance(r, dict) and isinstance(r.get("Type"), str)}
    owners = {rid: _owner(r, resources) or rid for rid, r in resources.items()}
    graph = Graph()
    for rid in sorted(resources):
        if owners[rid] == rid:
            graph.add(_resource_node(rid, resources[rid]))
    if DEFAULT_BUS in owners.values():
        graph.add(Node(DEFAULT_BUS, "default event bus", THIS, kind="event bus", name="default"))
    for rid in sorted(resources):
        resource = resources[rid]
        where = (resource["Condition"],) if resource.get("Condition") else ()
        _grants(graph, owners[rid], resource, parameters, where)
        _reaches(graph, rid, resource, parameters, where)
        _forwards(graph, rid, resource, parameters, where)
        _stages(graph, rid, resource, parameters, where)
    return graph


def _resource_node(rid: str, resource: dict) -> Node:
    kind = resource.get("Type", "").removeprefix("AWS::").replace("::", " ")
    condition = resource.get("Condition")
    return Node(rid, rid, THIS, kind, (condition,) if condition else ())


def _owner(resource: dict, resources: dict) -> str | None:
    """The resource an attached one (a bucket policy, an alias, ...) is drawn as."""
    prop = ATTACHED.get(resource["Type"])
    if prop is None:
        return None
    value = resource.get("Properties", {}).get(prop)
    named = [r for r in refs(value) if r in resources]
    if named:
        return named[0]
    if resource["Type"] == "AWS::Events::EventBusPolicy" and value in (None, "default"):
        return DEFAULT_BUS
    return None


def external(account: Account, kind: str, name: str | None) -> Node:
    """A node in another account: a role, bucket, key, ... named `name`, or (no name) any principal."""
    label = f"{kind} {name}" if name else "any principal"
    return Node(f"{account.key}|{label}", label, account, kind=kind if name else "", name=name or "")


# -- who may use this template's resources ---------------------------------------------------------------


def _policy(resource: dict) -> tuple[Any, str] | None:
    """(policy document, service) of a resource that carries a resource policy."""
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::Events::EventBusPolicy":
        if "Statement" in props:
            return {"Statement": props["Statement"]}, "events"
        legacy = {"Effect": "Allow", "Principal": {"AWS": props.get("Principal")}, "Action": props.get("Action"),
                  "Condition": props.get("Condition")}
        return {"Statement": [legacy]}, "events"
    found = RESOURCE_POLICIES.get(resource["Type"])
    if found is None or found[0] not in props:
        return None
    return props[found[0]], found[1]


def statements(document: Any, conditions: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], dict]]:
    """A policy's statements (through Fn::If around the document and each statement)."""
    found = []
    for where, doc in branches(document, conditions):
        if isinstance(doc, dict):
            found += [(c, s) for c, s in items(doc.get("Statement", []), where) if isinstance(s, dict)]
    return found


def _actions(statement: dict) -> list[str]:
    return [text(a) for _, a in items(statement.get("Action", []))]


def _grants(graph: Graph, owner: str, resource: dict, parameters: Parameters, where: tuple) -> None:
    found = _policy(resource)
    if found is None:
        return
    document, service = found
    for conditions, statement in statements(document, where):
        doing = verb(service, _actions(statement))
        if doing is None:
            continue
        for more, principal in statement_principals(statement, parameters):
            kind = "role" if principal.role else ""
            source = graph.add(external(principal.account, kind, principal.role))
            graph.connect(source, owner, doing, conditions + more)


# -- what this template's roles reach in other accounts ----------------------------------------------------


def _permission_policies(resource: dict) -> list[Any]:
    props = resource.get("Properties", {})
    if resource["Type"] == "AWS::IAM::Role":
        return [p.get("PolicyDocument") for _, p in items(props.get("Policies", [])) if isinstance(p, dict)]
    if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
        return [props.get("PolicyDocument")]
    return []


def _reaches(graph: Graph, rid: str, resource: dict, parameters: Parameters, where: tuple) -> None:
    for document in _permission_policies(resource):
        for conditions, statement in statements(document, where):
            if statement.get("Effect") != "Allow":
                continue
            for more, item in items(statement.get("Resource", [])):
                for pattern in texts(item):
                    target = _target(pattern, statement, parameters)
                    if target is None:
                        continue
                    service, node = target
                    doing = verb(service, _actions(statement))
                    if doing is not None:
                        graph.connect(rid, graph.add(node), doing, conditions + more)


def _target(pattern: str, statement: dict, parameters: Parameters) -> tuple[str, Node] | None:
    """(service, node) of a resource pattern in another account; None for this account's or unknown."""
    fields = arn_fields(pattern)
    if fields is None:
        return _parameter_target(pattern, parameters)
    service, account_field, resource = fields[2], fields[4], fields[5]
    if service not in REACHED_SERVICES:
        return None
    kind, name = _named(service, resource)
    if service == "s3":  # bucket ARNs have no account: the bucket name or aws:ResourceAccount tells it
        account = parameters.account_in(name, (ACCOUNT,)) or next(
            (a for p in condition_values(statement, "aws:ResourceAccount") if (a := parameters.account_in(p))), None)
    else:
        account = parameters.account_in(account_field)
    if account is None or account == THIS or kind is None:
        return None
    return service, external(account, kind, name)


def _parameter_target(pattern: str, parameters: Parameters) -> tuple[str, Node] | None:
    """A resource given as a parameter holding ARNs (e.g. KmsKeyArn): in the account of that ARN."""
    names = placeholders(pattern)
    if len(names) != 1 or pattern != "${" + names[0] + "}":
        return None
    account = parameters.account(names[0])
    if account is None or account.kind != OF_ARN:
        return None
    allowed = parameters.declared[names[0]].get("AllowedPattern", "")
    match = re.search(r"arn:aws\[a-z-\]\*:\(?([a-z0-9-]+)", allowed)
    service = match.group(1) if match else ""
    if service not in REACHED_SERVICES:
        return None
    kind = {"kms": "key", "s3": "bucket", "iam": "role"}.get(service, service)
    return service, external(account, kind, pattern)


def _named(service: str, resource: str) -> tuple[str | None, str]:
    """(kind, name) of an ARN's resource field, for the kinds drawn."""
    if service == "s3":
        return "bucket", resource.split("/")[0]
    kind, _, rest = resource.partition("/")
    if service == "iam":
        return ("role", rest) if kind == "role" else (None, rest)
    if service == "kms":
        return "key", rest or resource
    if service == "sagemaker" and kind in ("model-package-group", "model-package"):
        return "model package group", rest.split("/")[0]
    if service == "ecr" and kind == "repository":
        return "repository", rest
    return None, rest


# -- events forwarded to other accounts -------------------------------------------------------------------


def _forwards(graph: Graph, rid: str, resource: dict, parameters: Parameters, where: tuple) -> None:
    if resource["Type"] != "AWS::Events::Rule":
        return
    for conditions, target in items(resource.get("Properties", {}).get("Targets", []), where):
        fields = arn_fields(text(target.get("Arn"))) if isinstance(target, dict) else None
        if not fields or fields[2] != "events" or not fields[5].startswith("event-bus/"):
            continue
        account = parameters.account_in(fields[4])
        if account is not None and account != THIS:
            bus = graph.add(external(account, "event bus", fields[5].removeprefix("event-bus/")))
            graph.connect(rid, bus, "forwards events", conditions)


# -- pipeline stages that act in other accounts -----------------------------------------------------------


def _stages(graph: Graph, rid: str, resource: dict, parameters: Parameters, where: tuple) -> None:
    if resource["Type"] != "AWS::CodePipeline::Pipeline":
        return
    for conditions, stage in items(resource.get("Properties", {}).get("Stages", []), where):
        actions = items(stage.get("Actions", []), conditions) if isinstance(stage, dict) else []
        for more, action in [(c, a) for c, a in actions if isinstance(a, dict)]:
            for node, doing in _stage_targets(text(stage.get("Name", "")), action, parameters):
                graph.connect(rid, graph.add(node), doing, more)


def _stage_targets(stage: str, action: dict, parameters: Parameters) -> list[tuple[Node, str]]:
    """Where a pipeline action acts outside this account: the role it assumes there, or else the
    accounts and OUs its configuration names (with what it deploys to them)."""
    config = action.get("Configuration")
    config = config if isinstance(config, dict) else {}
    role = action.get("RoleArn") or config.get("RoleArn")
    for _, value in branches(role) if role else []:
        fields = arn_fields(text(value))
        if fields and fields[5].startswith("role/"):
            account = parameters.account_in(fields[4])
            if account is not None and account != THIS:
                return [(external(account, "role", fields[5].removeprefix("role/")), f"stage {stage} assumes")]
    accounts = [a for n in refs(config) if (a := parameters.account(n)) and a.kind in (ACCOUNT, OU)]
    kind, name = _deployed(config)
    return [(external(a, kind, name), f"stage {stage} deploys") for a in dict.fromkeys(accounts)]


def _deployed(config: dict) -> tuple[str, str]:
    """What an action deploys, by name: its StackSetName or StackName, or a CodeBuild action's
    STACK_SET_NAME / STACK_NAME environment variable."""
    for key, kind in (("StackSetName", "StackSet"), ("StackName", "stack")):
        if key in config:
            return kind, text(config[key])
    try:
        variables = json.loads(text(config.get("EnvironmentVariables", "[]")))
        named = {v["name"]: str(v["value"]) for v in variables}
    except (ValueError, KeyError, TypeError, AttributeError):
        named = {}
    for key, kind in (("STACK_SET_NAME", "StackSet"), ("STACK_NAME", "stack")):
        if key in named:
            return kind, named[key]
    return "deployment", "by the stage"
