"""The graph a diagram draws: nodes (grouped by account) and the edges between them.

Edges are kept as found, one per path through the template (a statement, a target, a stage, each
with the Fn::If and resource conditions it holds under), and merged for drawing: one arrow per pair
of nodes, its verbs in a fixed order, conditional (dotted) unless some path holds unconditionally.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.diagram.accounts import Account

# The order verbs are listed in on an arrow; others follow alphabetically.
VERBS = ("assumes", "reads", "writes", "decrypts", "uses key", "registers into", "deploys from",
         "pulls images", "sends events", "forwards events")


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    account: Account | None = None  # None: drawn outside any account
    detail: str = ""  # a second line, e.g. the resource type
    conditions: tuple[str, ...] = ()  # the node exists only under these
    kind: str = ""  # what it is by name ("role", "event bus", "bucket", ...): matched across templates
    name: str = ""  # its name pattern, with ${Parameter} placeholders


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    verb: str
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Arrow:
    """Edges between the same two nodes, merged for drawing."""

    source: str
    target: str
    verbs: tuple[str, ...]
    conditions: tuple[str, ...]  # those every path holds under
    conditional: bool  # no path holds unconditionally


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    joiner: str = ", "  # between the verbs of one arrow

    def add(self, node: Node) -> str:
        self.nodes.setdefault(node.key, node)
        return node.key

    def connect(self, source: str, target: str, verb: str, conditions: tuple[str, ...] = ()) -> None:
        if source != target:
            self.edges.append(Edge(source, target, verb, tuple(dict.fromkeys(conditions))))

    def ordered_nodes(self) -> list[Node]:
        """Nodes by account (this account first), then by label."""
        def order(node: Node):
            account = node.account.sort_key if node.account else (-1, "")
            return account, node.label, node.key
        return sorted(self.nodes.values(), key=order)

    def arrows(self) -> list[Arrow]:
        position = {node.key: i for i, node in enumerate(self.ordered_nodes())}
        grouped: dict[tuple[str, str], list[Edge]] = {}
        for edge in self.edges:
            grouped.setdefault((edge.source, edge.target), []).append(edge)
        arrows = [_merge(source, target, edges) for (source, target), edges in grouped.items()]
        return sorted(arrows, key=lambda a: (position[a.source], position[a.target]))


def verb_order(verb: str) -> tuple[int, str]:
    return (VERBS.index(verb) if verb in VERBS else len(VERBS)), verb


def _merge(source: str, target: str, edges: list[Edge]) -> Arrow:
    verbs = tuple(sorted({e.verb for e in edges}, key=verb_order))
    paths = [e.conditions for e in edges]
    if any(not p for p in paths):
        return Arrow(source, target, verbs, (), False)
    common = set(paths[0]).intersection(*paths[1:])
    ordered = sorted(common, key=lambda c: (min(p.index(c) for p in paths), c))
    return Arrow(source, target, verbs, tuple(ordered), True)
