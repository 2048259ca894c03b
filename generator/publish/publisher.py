"""The three stages glued together: read live state -> compute the plan -> apply it."""

from __future__ import annotations

from dataclasses import dataclass, field

from .aws import Clients, Runtime
from .executor import Executor, Progress
from .manifest import Catalog
from .model import Options, Plan, PublishResult
from .orgs import OrgAccess, PreflightError
from .planner import plan_region
from .state import LiveState, read_state

__all__ = ["Planned", "make_plan", "apply_plan"]


@dataclass
class Planned:
    plan: Plan
    states: dict[str, LiveState] = field(default_factory=dict)
    clients: dict[str, Clients] = field(default_factory=dict)
    #: pre-flight problems (organization sharing cannot work): the plan is complete and can be shown,
    #: but nothing may be applied
    preflight: list[str] = field(default_factory=list)


def make_plan(catalog: Catalog, options: Options, runtime: Runtime, regions: list[str],
              progress: Progress | None = None) -> Planned:
    """Read every region and plan it; raises StateError or PlanError (nothing written).

    A failed pre-flight check for organization shares does not stop the planning: every region is
    still read and planned (so ``plan`` can show the whole plan) and the problem is recorded in
    :attr:`Planned.preflight`; ``publish`` must not apply a plan that has any."""
    progress = progress or Progress()
    planned = Planned(Plan(dist=str(catalog.dist), options=options, warnings=list(catalog.warnings)))
    org = OrgAccess()
    for region in regions:
        clients = Clients(runtime, region)
        progress.info(f"reading {region} ...")
        state = read_state(clients, catalog, options)
        region_plan = plan_region(catalog, options, state)
        if any(a.resource == "share" and a.is_write for a in region_plan.actions):
            try:
                region_plan.notes.extend(org.check(clients))
            except PreflightError as exc:
                if str(exc) not in planned.preflight:
                    planned.preflight.append(str(exc))
        planned.plan.regions.append(region_plan)
        planned.states[region] = state
        planned.clients[region] = clients
    return planned


def apply_plan(catalog: Catalog, options: Options, runtime: Runtime, planned: Planned,
               progress: Progress | None = None) -> PublishResult:
    executor = Executor(catalog, options, runtime, progress)
    return executor.apply(planned.plan, planned.states, planned.clients)
