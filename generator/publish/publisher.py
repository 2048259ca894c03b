"""The three stages glued together: read live state -> compute the plan -> apply it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .aws import Clients, Runtime
from .executor import Executor, Progress
from .ledger import Ledger
from .manifest import Catalog
from .model import Options, Plan, PublishResult, RegionPlan
from .orgs import OrgAccess, PreflightError, resolve_share_paths
from .planner import plan_region
from .s3config import S3Config, service_catalog_view
from .state import LiveState, read_state

__all__ = ["Planned", "make_plan", "apply_plan", "plan_label"]


@dataclass
class Planned:
    plan: Plan
    states: dict[str, LiveState] = field(default_factory=dict)
    clients: dict[str, Clients] = field(default_factory=dict)
    #: pre-flight problems (organization sharing cannot work): the plan is complete and can be shown,
    #: but nothing may be applied
    preflight: list[str] = field(default_factory=list)
    #: the S3 templates target (None: Service Catalog only), the catalog Service Catalog publishes and
    #: the clients of each S3 bucket's plan (by its label)
    s3: S3Config | None = None
    sc_catalog: Catalog | None = None
    s3_clients: dict[str, Clients] = field(default_factory=dict)


def plan_label(region_plan: RegionPlan) -> str:
    """How a region's plan is named in results: the region (Service Catalog), "s3://bucket (region)" (S3)."""
    return getattr(region_plan, "label", region_plan.region)


def make_plan(catalog: Catalog, options: Options, runtime: Runtime, regions: list[str],
              progress: Progress | None = None, s3: S3Config | None = None) -> Planned:
    """Read every region and plan it; raises StateError or PlanError (nothing written).

    A failed pre-flight check for organization shares does not stop the planning: every region is
    still read and planned (so ``plan`` can show the whole plan) and the problem is recorded in
    :attr:`Planned.preflight`; ``publish`` must not apply a plan that has any.

    With ``s3`` (portfolios whose publish_to has s3), Service Catalog gets the portfolios that publish
    there (none: no Service Catalog call at all) and each S3 templates bucket is planned after the regions."""
    progress = progress or Progress()
    # OU path share targets become ids first: the planner, the executor and the bucket policy see ids only
    catalog, s3, ou_paths = resolve_share_paths(catalog, s3, runtime, regions, progress)
    planned = Planned(Plan(dist=str(catalog.dist), options=options, warnings=list(catalog.warnings),
                           ou_paths=[r.to_dict() for r in ou_paths]), s3=s3)
    sc_catalog = catalog if s3 is None else service_catalog_view(catalog, s3)
    planned.sc_catalog = sc_catalog
    org = OrgAccess()
    for region in regions if s3 is None or s3.uses_service_catalog else []:
        clients = Clients(runtime, region)
        progress.info(f"reading {region} ...")
        # the applied digests: what a run with nothing to change need not read (ledger.py)
        ledger = Ledger(sc_catalog, options)
        state = read_state(clients, sc_catalog, options, ledger)
        region_plan = plan_region(sc_catalog, options, state)
        ledger.plan(state, region_plan)
        if any(a.resource == "share" and a.is_write for a in region_plan.actions):
            try:
                region_plan.notes.extend(org.check(clients))
            except PreflightError as exc:
                if str(exc) not in planned.preflight:
                    planned.preflight.append(str(exc))
        planned.plan.regions.append(region_plan)
        planned.states[region] = state
        planned.clients[region] = clients
    if s3 is not None and s3.uses_s3:
        _plan_s3(catalog, s3, options, runtime, regions, progress, planned)
    return planned


def _plan_s3(catalog: Catalog, s3: S3Config, options: Options, runtime: Runtime, regions: list[str],
             progress: Progress, planned: Planned) -> None:
    import hashlib

    from .s3planner import expected_templates, plan_s3_target, s3_targets
    from .s3state import read_s3_state

    planned.plan.warnings.extend(s3.warnings)
    for target in s3_targets(s3, regions):
        clients = Clients(runtime, target.region)
        progress.info(f"reading {target.label} ...")
        rendered = expected_templates(catalog, s3, target)
        md5s = {key: hashlib.md5(body, usedforsecurity=False).hexdigest() for key, (body, _) in rendered.items()}
        live = read_s3_state(clients, target, md5s)
        region_plan = plan_s3_target(catalog, s3, target, live, options, rendered)
        planned.plan.regions.append(region_plan)
        planned.s3_clients[region_plan.label] = clients


def apply_plan(catalog: Catalog, options: Options, runtime: Runtime, planned: Planned,
               progress: Progress | None = None) -> PublishResult:
    executor = Executor(planned.sc_catalog or catalog, options, runtime, progress)
    if not planned.s3_clients:  # Service Catalog only
        return executor.apply(planned.plan, planned.states, planned.clients)
    from .s3executor import S3Executor

    s3_executor = S3Executor(catalog, planned.s3, runtime, progress)
    result = PublishResult()
    before = runtime.counter.snapshot()
    regions = planned.plan.regions
    for index, region_plan in enumerate(regions):
        label = plan_label(region_plan)
        if label in planned.s3_clients:
            region_result = s3_executor.apply_region(region_plan, planned.s3_clients[label])
        else:
            region_result = executor._apply_region(region_plan, planned.states[region_plan.region],
                                                   planned.clients[region_plan.region])
        result.regions.append(region_result)
        if region_result.failed is not None:
            result.not_started = [plan_label(r) for r in regions[index + 1:]]
            break
    after = runtime.counter.snapshot()
    after.subtract(before)
    result.api_calls = {f"{svc}:{op}": n for (svc, op), n in sorted(after.items()) if n}
    return result
