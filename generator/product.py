"""What a product module declares: its Service Catalog metadata and how to build its template."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # troposphere is imported only when a template is rendered
    from troposphere import Template

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$")
PRODUCT_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class Product:
    """One Service Catalog product.

    `name` is the catalog's key for it (portfolio files list products by this name); the
    Service Catalog product is created under the same name. `seedcode` names folders under
    `seedcode/` whose zips the template's repositories are seeded from. `template` builds the
    troposphere Template; it takes no arguments so that the output depends on sources only.
    """

    name: str
    description: str
    owner: str
    version: str
    template: Callable[[], Template]
    seedcode: tuple[str, ...] = ()
    distributor: str = "Platform engineering"
    support_email: str = "mlops-platform@example.com"
    support_url: str = "https://github.com/smcat/smcat"
    support_description: str = "Open an issue in the catalog repository."
    # Service Catalog product type: project templates for Studio, or admin stacks.
    studio_project: bool = True
    tags: dict[str, str] = field(default_factory=dict)
    # taskcat values for parameters without a default that generator/taskcat.py cannot guess.
    test_parameters: dict[str, str] = field(default_factory=dict)
    # Markdown the product page adds to its "After you create the project" section, for what the template
    # cannot tell (names chosen by the seed code, for instance), by subsection: "repository", "push",
    # "approve", "endpoint" (Studio projects) or "launch" (other products). See generator/docs.py.
    after_create: dict[str, str] = field(default_factory=dict)
    # Set by discovery: the module file, for error messages.
    source: str = field(default="", compare=False)

    def type_problems(self) -> list[str]:
        """Fields of the wrong type: nothing else about the declaration can be checked safely."""
        found = []
        for attr in ("name", "description", "owner", "distributor", "version", "support_email", "support_url"):
            if not isinstance(getattr(self, attr), str):
                found.append(f"{attr} must be a string, not {getattr(self, attr)!r}")
        if not callable(self.template):
            found.append("template must be a function returning a troposphere Template")
        if not isinstance(self.seedcode, tuple | list) or not all(isinstance(s, str) for s in self.seedcode):
            found.append(f"seedcode must be a tuple of folder names, not {self.seedcode!r}")
        return found

    def problems(self) -> list[str]:
        """What is wrong with the declaration itself, as readable reasons."""
        found = self.type_problems()
        if found:
            return found
        if not PRODUCT_NAME.match(self.name) or len(self.name) > 100:
            found.append(f"name {self.name!r} must be lowercase words joined by '-' (at most 100)")
        if not SEMVER.match(self.version):
            found.append(f"version {self.version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
        for attr, limit in (("description", 8191), ("owner", 8191), ("distributor", 8191)):
            value = getattr(self, attr)
            if not value or len(value) > limit:
                found.append(f"{attr} must be 1 to {limit} characters")
        if len(set(self.seedcode)) != len(self.seedcode):
            found.append("seedcode lists a folder twice")
        return found
