"""Reads back the Mermaid flowcharts smcat writes (the subset generator/diagram/mermaid.py emits):
nodes with their labels, the subgraph each is in, and the arrows with their labels. Anything else in
a diagram is an error, so a change to what is emitted has to come here too."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LABEL = r'"((?:[^"])*)"'
NODE = re.compile(rf"^(\w+)\[{LABEL}\]$")
SUBGRAPH = re.compile(rf"^subgraph (\w+)\[{LABEL}\]$")
EDGE = re.compile(rf"^(\w+) (-->|-\.->)\|{LABEL}\| (\w+)$")


@dataclass(frozen=True)
class Arrow:
    source: str  # node label
    target: str
    label: str  # lines joined with "\n"
    dotted: bool
    source_group: str  # the subgraph the source node is in ("" outside any)
    target_group: str


@dataclass
class Diagram:
    labels: dict[str, str] = field(default_factory=dict)  # node id -> label (lines joined with "\n")
    group_of: dict[str, str] = field(default_factory=dict)  # node id -> subgraph label ("" outside any)
    arrows: list[Arrow] = field(default_factory=list)
    conditional: set[str] = field(default_factory=set)  # labels of the nodes styled conditional

    def nodes(self, group: str | None = None) -> list[str]:
        """Node labels' first lines, of one subgraph or all."""
        return [self.labels[i].split("\n")[0] for i in self.labels if group is None or self.group_of[i] == group]

    @property
    def groups(self) -> set[str]:
        return {g for g in self.group_of.values() if g}

    def arrow(self, source: str, target: str, source_group: str | None = None) -> Arrow | None:
        """The arrow between nodes whose labels' first lines are `source` and `target`."""
        found = [a for a in self.arrows if a.source.split("\n")[0] == source and a.target.split("\n")[0] == target
                 and (source_group is None or a.source_group == source_group)]
        assert len(found) <= 1, found
        return found[0] if found else None


def _text(label: str) -> str:
    return label.replace("#quot;", '"').replace("#96;", "`").replace("#35;", "#").replace("<br/>", "\n")


def parse(text: str) -> Diagram:
    lines = [line.strip() for line in text.strip().splitlines()]
    assert lines[0] == "flowchart LR", lines[0]
    diagram, group = Diagram(), ""
    for line in lines[1:]:
        if m := SUBGRAPH.match(line):
            assert not group, "nested subgraph"
            group = _text(m.group(2))
        elif line == "end":
            assert group, "end outside a subgraph"
            group = ""
        elif m := NODE.match(line):
            assert m.group(1) not in diagram.labels, f"node {m.group(1)} declared twice"
            diagram.labels[m.group(1)] = _text(m.group(2))
            diagram.group_of[m.group(1)] = group
        elif m := EDGE.match(line):
            source, link, label, target = m.groups()
            assert source in diagram.labels and target in diagram.labels, line
            diagram.arrows.append(Arrow(diagram.labels[source], diagram.labels[target], _text(label), link == "-.->",
                                        diagram.group_of[source], diagram.group_of[target]))
        elif line.startswith("classDef conditional "):
            pass
        elif m := re.match(r"^class ([\w,]+) conditional$", line):
            diagram.conditional |= {diagram.labels[i].split("\n")[0] for i in m.group(1).split(",")}
        else:
            raise AssertionError(f"not in the emitted subset: {line!r}")
    assert not group, "subgraph not closed"
    return diagram


def mermaid_blocks(markdown: str) -> list[str]:
    """The bodies of a Markdown page's ```mermaid blocks."""
    return re.findall(r"^```mermaid\n(.*?)^```$", markdown, flags=re.M | re.S)
