"""Decide, for ``smcat projects``: the report's rows and the upgrade plan.  Pure functions of the live
state read by projectstate.py and the build (dist/manifest.json); no AWS calls, no clock.

An upgrade moves a project or provisioned product to its product's *current version*: the active, not
deprecated version whose description smcat wrote for the build's content (``sha256:<content hash>
location:<12 hex>``, parse_artifact_description); with ``--bucket`` only the one published to that artifact
location counts.  SageMaker projects go through SageMaker ``UpdateProject`` (its
``ServiceCatalogProvisioningUpdateDetails`` is SageMaker's API for a project's version; inference: an update
made behind SageMaker's back would leave its record of the project behind), other provisioned products
through Service Catalog ``UpdateProvisionedProduct``.  Neither changes tags: UpdateProject and
UpdateProvisionedProduct with Tags need a RESOURCE_UPDATE (tag update) constraint on the product.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .manifest import Catalog, Product
from .planner import parse_artifact_description
from .projectstate import PROVISIONED_PRODUCT, S3_TEMPLATE, SAGEMAKER_PROJECT, LiveProductVersions, ProjectsState, Usage

__all__ = ["ReportRow", "report_rows", "UpgradeStep", "UpgradePlan", "current_version", "plan_upgrades",
           "select", "parameter_reads", "UPDATABLE", "SelectionError"]

#: statuses from which an update may start (Service Catalog: AVAILABLE and TAINTED are stable states; SageMaker:
#: a project being created, updated or deleted must not be updated, UpdateProject's note)
UPDATABLE = {
    PROVISIONED_PRODUCT: ("AVAILABLE", "TAINTED"),
    SAGEMAKER_PROJECT: ("CreateCompleted", "UpdateCompleted", "UpdateFailed"),
}
IN_USE_NOTE = ("SageMaker's API reference: do not update a project that is in use (updating a project that is being "
               "created or updated may lose resources it already made); upgrade when its pipelines are idle")
TAGS_NOTE = ("tags are left as they are (UpdateProject and UpdateProvisionedProduct with Tags need a RESOURCE_UPDATE "
             "constraint on the product)")


class SelectionError(Exception):
    """Named projects that do not exist: bad input, one line each."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        super().__init__("; ".join(lines))


# ------------------------------------------------------------------------------------------ report


@dataclass(frozen=True)
class ReportRow:
    product: str  # the catalog's product key (smcat:product tag), else the product's name
    product_id: str
    managed: bool  # the product carries smcat's tag
    version: str
    version_id: str
    guidance: str  # DEFAULT | DEPRECATED | inactive | deleted | "" (not told)
    kind: str
    name: str
    status: str
    last_update: str

    def to_dict(self) -> dict:
        return asdict(self)


def _guidance(product: LiveProductVersions | None, version_id: str | None) -> str:
    if product is None or not product.versions:
        return ""
    version = product.version(version_id)
    if version is None:
        return "deleted"
    return version.guidance if version.active else "inactive"


def report_rows(state: ProjectsState) -> list[ReportRow]:
    rows = []
    for usage in state.usages:
        product = state.products.get(usage.product_id or "")
        key = (product.key if product else None) or usage.template_product
        rows.append(ReportRow(
            product=key or usage.product_name or usage.product_id or "?", product_id=usage.product_id or "",
            managed=bool(product and product.key), version=usage.version_name or "?",
            version_id=usage.version_id or "", guidance=_guidance(product, usage.version_id) if usage.kind != (
                S3_TEMPLATE) else "", kind=usage.kind, name=usage.name, status=usage.status,
            last_update=usage.last_update,
        ))
    return sorted(rows, key=lambda r: (not r.managed, r.product, r.version, r.name))


# ------------------------------------------------------------------------------------------ upgrades


@dataclass
class UpgradeStep:
    name: str
    kind: str
    call: str  # UpdateProject | UpdateProvisionedProduct
    product: str
    product_id: str
    provisioned_product_id: str
    from_version: str
    from_version_id: str
    to_version: str
    to_version_id: str
    #: ProvisioningParameters of the call: UpdateProject gets the project's values (those the new
    #: version still declares); UpdateProvisionedProduct keeps every previous value it can (UsePreviousValue)
    parameters: list[dict]
    last_record_id: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class UpgradePlan:
    region: str
    steps: list[UpgradeStep] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"name", "reason"}
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"region": self.region, "steps": [s.to_dict() for s in self.steps], "skipped": list(self.skipped),
                "notes": list(self.notes)}


def current_version(product: Product, live: LiveProductVersions, location: str | None = None) -> tuple[
        str | None, str]:
    """(version id, "") of the build's content published as an active, not deprecated version, or (None, why)."""
    if not live.versions:
        return None, f"the versions of product {product.key} cannot be read in this account"
    matching = []
    for version in live.versions:
        content, where = parse_artifact_description(version.description)
        if content == product.content_hash and (location is None or where == location):
            matching.append(version)
    usable = [v for v in matching if v.active and v.guidance == "DEFAULT"]
    if len(usable) == 1:
        return usable[0].id, ""
    if usable:
        names = ", ".join(sorted(v.name for v in usable))
        return None, (f"the build's content of {product.key} is published at several artifact locations (versions "
                      f"{names}); pass --bucket (and --prefix) as given to publish")
    if matching:
        return None, f"the version with the build's content of {product.key} is deprecated or inactive; publish again"
    return None, f"the build's content of {product.key} is not published in this region; run publish first"


def select(state: ProjectsState, names: list[str], all_deprecated: bool) -> list[Usage]:
    """The usages named (each must exist) plus, with all_deprecated, every one on a DEPRECATED version."""
    by_name: dict[str, Usage] = {}
    for usage in state.usages:
        by_name.setdefault(usage.name, usage)
        if usage.provisioned_product_name:
            by_name.setdefault(usage.provisioned_product_name, usage)
    missing = [n for n in names if n not in by_name]
    if missing:
        raise SelectionError([f"--project {n}: no SageMaker project or provisioned product of that name in "
                              f"{state.region}" for n in missing])
    chosen = [by_name[n] for n in names]
    if all_deprecated:
        for usage in state.usages:
            product = state.products.get(usage.product_id or "")
            if usage.kind != S3_TEMPLATE and _guidance(product, usage.version_id) == "DEPRECATED":
                chosen.append(usage)
    unique: dict[int, Usage] = {id(u): u for u in chosen}
    return sorted(unique.values(), key=lambda u: (u.product_name, u.name))


def parameter_reads(usages: list[Usage]) -> list[tuple[str, str]]:
    """(product id, version id) whose template parameters an UpdateProvisionedProduct plan needs: the
    versions the provisioned products run now (UsePreviousValue only for keys the stack has)."""
    return sorted({(u.product_id, u.version_id) for u in usages
                   if u.kind == PROVISIONED_PRODUCT and u.product_id and u.version_id})


def _skip_reason(usage: Usage, state: ProjectsState, catalog: Catalog) -> tuple[str, Product | None]:
    if usage.kind == S3_TEMPLATE:
        return ("made from an S3 template: smcat upgrades projects of Service Catalog products only (the S3 object's "
                "newest version is what Studio offers next)"), None
    product = state.products.get(usage.product_id or "")
    key = catalog_key(product, catalog)
    if key is None:
        return f"product {usage.product_name or usage.product_id} is not in this build", None
    if usage.status not in UPDATABLE[usage.kind]:
        return f"is {usage.status}; upgrade it once it is {' or '.join(UPDATABLE[usage.kind])}", None
    return "", catalog.products[key]


def catalog_key(product: LiveProductVersions | None, catalog: Catalog) -> str | None:
    """The build's product a live one is: by its smcat:product tag, else (tags unreadable, as for a product
    shared with this account) by its name."""
    if product is None:
        return None
    if product.key is not None:
        return product.key if product.key in catalog.products else None
    return next((key for key, p in catalog.products.items() if p.name == product.name), None)


def plan_upgrades(state: ProjectsState, catalog: Catalog, usages: list[Usage], template_parameters: dict[
        str, list[str]], old_parameters: dict[tuple[str, str], list[str] | None],
        location: str | None = None) -> UpgradePlan:
    """The upgrade of each chosen usage, or why it is skipped.  template_parameters: product key -> the
    parameters of the build's template (the current version's); old_parameters: see parameter_reads."""
    plan = UpgradePlan(region=state.region)
    for usage in usages:
        reason, product = _skip_reason(usage, state, catalog)
        if product is not None:
            live = state.products[usage.product_id]
            target, why = current_version(product, live, location)
            if target is None:
                reason = why
            elif target == usage.version_id:
                reason = f"already on the current version {live.version(target).name}"
        if reason:
            plan.skipped.append({"name": usage.name, "reason": reason})
            continue
        declared = template_parameters.get(product.key, [])
        if usage.kind == SAGEMAKER_PROJECT:
            call = "UpdateProject"
            parameters = [p for p in usage.parameters if p["Key"] in declared]
        else:
            call = "UpdateProvisionedProduct"
            previous = old_parameters.get((usage.product_id, usage.version_id)) or []
            parameters = [{"Key": k, "UsePreviousValue": True} for k in declared if k in previous]
        plan.steps.append(UpgradeStep(
            name=usage.name, kind=usage.kind, call=call, product=product.key, product_id=usage.product_id,
            provisioned_product_id=usage.provisioned_product_id or "", from_version=usage.version_name,
            from_version_id=usage.version_id or "", to_version=live.version(target).name, to_version_id=target,
            parameters=parameters, last_record_id=usage.last_record_id,
        ))
    if any(s.kind == SAGEMAKER_PROJECT for s in plan.steps):
        plan.notes.append(IN_USE_NOTE)
    if plan.steps:
        plan.notes.append(TAGS_NOTE)
    missing = [s.name for s in plan.steps if s.kind == PROVISIONED_PRODUCT
               and old_parameters.get((s.product_id, s.from_version_id)) is None]
    if missing:
        plan.notes.append(f"the parameters of the version {', '.join(missing)} run now cannot be read (deleted "
                          f"version?): their parameters take the new version's defaults")
    return plan
