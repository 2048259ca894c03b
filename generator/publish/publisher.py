"""The three stages glued together: read live state -> compute the plan -> apply it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .aws import Clients, Runtime
from .executor import Executor, Progress
from .manifest import Catalog
from .model import Options, Plan, PublishResult
from .orgs import OrgAccess
from .planner import plan_region
from .state import LiveState, read_state

__all__ = ["Planned", "make_plan", "apply_plan"]


@dataclass
class Planned:
    plan: Plan
    states: dict[str, LiveState] = field(default_factory=dict)
    clients: dict[str, Clients] = field(default_factory=dict)


def make_plan(catalog: Catalog, options: Options, runtime: Runtime, regions: list[str],
              progress: Progress | None = None) -> Planned:
    """Read every region and plan it; raises StateError, PlanError or PreflightError (nothing written)."""
    progress = progress or Progress()
    planned = Planned(Plan(dist=str(catalog.dist), options=options, warnings=list(catalog.warnings)))
    org = OrgAccess()
    for region in regions:
        clients = Clients(runtime, region)
        progress.info(f"reading {region} ...")
        state = read_state(clients, catalog, options)
        region_plan = plan_region(catalog, options, state)
        if any(a.resource == "share" and a.is_write for a in region_plan.actions):
            region_plan.notes.extend(org.check(clients))
        planned.plan.regions.append(region_plan)
        planned.states[region] = state
        planned.clients[region] = clients
    return planned


def apply_plan(catalog: Catalog, options: Options, runtime: Runtime, planned: Planned,
               progress: Progress | None = None) -> PublishResult:
    executor = Executor(catalog, options, runtime, progress)
    return executor.apply(planned.plan, planned.states, planned.clients)
