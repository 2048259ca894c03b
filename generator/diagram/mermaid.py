"""A graph as a Mermaid flowchart (https://mermaid.js.org/syntax/flowchart.html).

What is emitted, and all that tests/diagram_parse.py reads back:

    flowchart LR
      subgraph <id>["<account>"]
        <id>["<label>"]
      end
      <id>["<label>"]              (a node in no account)
      <id> -->|"<label>"| <id>     (-.-> when the arrow is conditional)
      classDef conditional ...
      class <id>,<id> conditional

Labels are quoted; in one, # is written #35;, a quote #quot; and a backtick #96; (Mermaid's entity codes),
and lines are joined with <br/>.
Node ids are made from the resource's logical id (r_...) or the node's key (x_...); same graph, same text.
"""

from __future__ import annotations

import re

from generator.diagram.graph import Arrow, Graph, Node

CONDITIONAL_STYLE = "stroke-dasharray: 5 4"


def _quote(*lines: str) -> str:
    escaped = (line.replace("#", "#35;").replace('"', "#quot;").replace("`", "#96;") for line in lines if line)
    return '"' + "<br/>".join(escaped) + '"'


def _ids(nodes: list[Node]) -> dict[str, str]:
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for node in nodes:
        if node.account is not None and node.key == node.label and re.fullmatch(r"[A-Za-z0-9]+", node.key):
            base = "r_" + node.key  # a template resource: its logical id
        else:
            base = "x_" + (re.sub(r"[^A-Za-z0-9]+", "_", node.key).strip("_")[:48] or "node")
        chosen, n = base, 2
        while chosen in taken:
            chosen, n = f"{base}_{n}", n + 1
        taken.add(chosen)
        ids[node.key] = chosen
    return ids


def _node_line(node_id: str, node: Node) -> str:
    condition = "if " + " and ".join(node.conditions) if node.conditions else ""
    return f"{node_id}[{_quote(node.label, node.detail, condition)}]"


def _arrow_line(ids: dict[str, str], arrow: Arrow, joiner: str) -> str:
    condition = "if " + " and ".join(arrow.conditions) if arrow.conditions else ""
    link = "-.->" if arrow.conditional else "-->"
    return f"{ids[arrow.source]} {link}|{_quote(joiner.join(arrow.verbs), condition)}| {ids[arrow.target]}"


def render(graph: Graph) -> str:
    """The flowchart's text (no code fence), ending with a newline."""
    nodes = graph.ordered_nodes()
    ids = _ids(nodes)
    lines = ["flowchart LR"]
    groups: dict[str, list[Node]] = {}
    for node in nodes:
        groups.setdefault(node.account.key if node.account else "", []).append(node)
    for key, members in groups.items():
        if not key:
            lines += [f"  {_node_line(ids[n.key], n)}" for n in members]
            continue
        account = members[0].account
        group_id = "a_" + re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_")
        lines.append(f"  subgraph {group_id}[{_quote(account.label)}]")
        lines += [f"    {_node_line(ids[n.key], n)}" for n in members]
        lines.append("  end")
    lines += [f"  {_arrow_line(ids, a, graph.joiner)}" for a in graph.arrows()]
    conditional = [ids[n.key] for n in nodes if n.conditions]
    if conditional:
        lines.append(f"  classDef conditional {CONDITIONAL_STYLE}")
        lines.append(f"  class {','.join(conditional)} conditional")
    return "\n".join(lines) + "\n"
