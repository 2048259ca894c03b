"""Architecture diagrams drawn from built templates, as Mermaid flowcharts.

Nothing here is drawn by hand: a product's picture is read from its template dict (the resources,
their resource policies, the roles' trust and permission policies, the EventBridge rules' targets
and the CodePipeline stages), and the catalog's picture from what the templates name of each other.

- `values`: CloudFormation values (Ref, Fn::Sub, Fn::If, ...) read as name patterns.
- `accounts`: which account a value names, from the template's parameters.
- `principals`: who a policy statement lets in.
- `edges`: a product's graph: its resources by account, and what crosses an account boundary.
- `catalog`: the links between products, through the names, accounts and events they share.
- `mermaid`: renders a graph as a Mermaid flowchart.
"""

from __future__ import annotations

from generator.diagram.catalog import catalog_graph
from generator.diagram.edges import product_graph
from generator.diagram.mermaid import render


def product_diagram(template: dict) -> str:
    """The Mermaid flowchart of one built template."""
    return render(product_graph(template))


def catalog_diagram(templates: dict[str, dict]) -> str:
    """The Mermaid flowchart of how the products (name -> built template) connect."""
    return render(catalog_graph(templates))


__all__ = ["catalog_diagram", "product_diagram"]
