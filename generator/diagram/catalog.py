"""How the catalog's products connect, read from what their templates name of each other.

Two products are linked when
- one names a role, event bus, bucket or model package group in another account (a principal its
  policies let in, a role it assumes, a bus its rules forward to) and the other creates one whose name
  can be the same: the names are compared as patterns, each parameter read as its default when it
  has one and as a wildcard otherwise (so `sagemaker-${HubName}-sync` meets `sagemaker-${HubName}-sync`,
  and `sagemaker-*-deployer` meets `sagemaker-${RoleSuffix}-deployer`);
- one emits events (its model package groups, its rules forwarding to another account's default bus)
  that a rule of the other listens for on its default event bus.

A name that is all wildcards links nothing, and neither does a wildcard name a template's own
permissions reach (a bucket `sagemaker-*`): only a principal or a role to assume is matched that loosely.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from generator.diagram.accounts import THIS, Parameters
from generator.diagram.edges import product_graph
from generator.diagram.graph import Graph, Node, verb_order
from generator.diagram.values import PLACEHOLDER, arn_fields, items, text

# What a resource emits on its account's default event bus: SageMaker sends model package state changes
# to EventBridge with source aws.sagemaker and this detail-type
# (https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html).
EMITTED = {"AWS::SageMaker::ModelPackageGroup": [("aws.sagemaker", "SageMaker Model Package State Change")]}
# Resources created with a name other templates may use: type -> (kind, name property).
NAMED = {
    "AWS::IAM::Role": ("role", "RoleName"),
    "AWS::Events::EventBus": ("event bus", "Name"),
    "AWS::S3::Bucket": ("bucket", "BucketName"),
    "AWS::SageMaker::ModelPackageGroup": ("model package group", "ModelPackageGroupName"),
}
LOOSE_KINDS = ("role", "event bus")
MIN_LITERAL = 4  # a pattern with fewer fixed characters names nothing in particular


def resolved(pattern: str, parameters: Parameters) -> str:
    """A name pattern with each parameter read as its default (a wildcard when it has none)."""
    def value(match: re.Match) -> str:
        names = match.group(1).split(",")
        default = parameters.default(names[0]) if len(names) == 1 else None
        return default if default is not None else "*"
    return PLACEHOLDER.sub(value, pattern)


def specific(pattern: str) -> bool:
    return len(re.sub(r"[*?]", "", pattern)) >= MIN_LITERAL


def can_match(a: str, b: str) -> bool:
    """Whether some name fits both glob patterns (`*` any text, `?` one character)."""
    @cache
    def fits(i: int, j: int) -> bool:
        if i == len(a) or j == len(b):
            rest = a[i:] + b[j:]
            return set(rest) <= {"*"}
        if a[i] == "*":
            return fits(i + 1, j) or fits(i, j + 1)
        if b[j] == "*":
            return fits(i, j + 1) or fits(i + 1, j)
        return (a[i] == b[j] or "?" in (a[i], b[j])) and fits(i + 1, j + 1)
    return fits(0, 0)


class _Product:
    """What one template creates by name, emits and listens for, and its graph."""

    def __init__(self, template: dict[str, Any]):
        self.parameters = Parameters(template)
        self.graph = product_graph(template)
        resources = {rid: r for rid, r in template.get("Resources", {}).items()
                     if isinstance(r, dict) and isinstance(r.get("Type"), str)}
        self.provides = [
            (kind, resolved(text(r["Properties"][prop]), self.parameters))
            for r in resources.values()
            if (found := NAMED.get(r["Type"])) and (kind := found[0]) and (prop := found[1]) in r.get("Properties", {})
        ]
        self.emits = {e for r in resources.values() for e in EMITTED.get(r["Type"], [])}
        self.groups = {text(r.get("Properties", {}).get("ModelPackageGroupName")) for r in resources.values()
                       if r["Type"] == "AWS::SageMaker::ModelPackageGroup"}
        self.listens: set[tuple[str, str]] = set()
        for r in resources.values():
            if r["Type"] == "AWS::Events::Rule":
                self._rule(r.get("Properties", {}))

    def _rule(self, props: dict) -> None:
        pattern = props.get("EventPattern")
        pattern = pattern if isinstance(pattern, dict) else {}
        events = {(s, d) for s in pattern.get("source", []) for d in pattern.get("detail-type", [])
                  if isinstance(s, str) and isinstance(d, str)}
        if props.get("EventBusName") in (None, "default") and not self._own_groups_only(pattern):
            self.listens |= events
        for _, target in items(props.get("Targets", [])):
            fields = arn_fields(text(target.get("Arn"))) if isinstance(target, dict) else None
            if fields and fields[5] == "event-bus/default" and self.parameters.account_in(fields[4]) != THIS:
                self.emits |= events  # forwarded to another account's default bus

    def _own_groups_only(self, pattern: dict) -> bool:
        """Whether a rule matches only model package groups this template creates (it forwards its
        own groups' events, and listens for no other product's)."""
        detail = pattern.get("detail")
        names = detail.get("ModelPackageGroupName") if isinstance(detail, dict) else None
        own = isinstance(names, list) and all(isinstance(n, dict) and text(n) in self.groups for n in names)
        return bool(names) and own

    def named_ends(self):
        """(edge, node, principal side) for each edge end that is a named thing in another account."""
        for edge in self.graph.edges:
            for end, principal in ((edge.source, True), (edge.target, False)):
                node = self.graph.nodes[end]
                if node.account not in (None, THIS) and node.kind and node.name:
                    yield edge, node, principal


def catalog_graph(templates: dict[str, dict[str, Any]]) -> Graph:
    """Products as nodes, linked as the module docstring says; labels name the parameters involved."""
    products = {name: _Product(t) for name, t in sorted(templates.items())}
    graph = Graph(joiner="<br/>")
    for name in products:
        graph.add(Node(name, name))
    links: dict[tuple, tuple[set, set, set]] = {}
    for a, product in products.items():
        for edge, node, principal in product.named_ends():
            for b in _providers(products, a, node, principal):
                source, target = (b, a) if principal else (a, b)
                verbs, names, accounts = links.setdefault((source, target, principal, node.kind), (set(), set(), set()))
                verbs.add(edge.verb)
                names.add(node.name)
                accounts.add(node.account.name)
        for b, other in products.items():
            for _, detail in sorted(product.emits & other.listens) if b != a else []:
                links.setdefault((a, b, None, f"{detail} events"), (set(), set(), set()))[0].add("sends")
    for (source, target, principal, kind), (verbs, names, accounts) in sorted(links.items(), key=str):
        graph.connect(source, target, _phrase(verbs, principal, kind, names, accounts))
    return graph


def _phrase(verbs: set, principal: bool | None, kind: str, names: set, accounts: set) -> str:
    """An arrow's line: `reads, decrypts as role X in HubAccountId`, `assumes: role Y`, `sends ... events`."""
    doing = ", ".join(sorted(verbs, key=verb_order))
    if principal is None:
        return f"{doing} {kind}"
    where = ", ".join(sorted(a for a in accounts if a))
    what = f"{kind} {', '.join(sorted(names))}" + (f" in {where}" if where else "")
    return f"{doing} as {what}" if principal else f"{doing}: {what}"


def _providers(products: dict[str, _Product], user: str, node: Node, principal: bool) -> list[str]:
    """The other products that create something `node` (named in product `user`) can be."""
    pattern = resolved(node.name, products[user].parameters)
    loose = principal or node.kind in LOOSE_KINDS
    if not specific(pattern) or (not loose and re.search(r"[*?]", pattern)):
        return []
    return [
        b for b, other in products.items()
        if b != user and any(kind == node.kind and can_match(pattern, name) for kind, name in other.provides)
    ]
