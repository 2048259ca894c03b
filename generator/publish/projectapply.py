"""Do: apply an upgrade plan (projectplan.UpgradePlan), at most ``max_parallel`` upgrades at once.

Each upgrade is one write (SageMaker UpdateProject or Service Catalog UpdateProvisionedProduct), then its
Service Catalog record is polled to SUCCEEDED or FAILED (DescribeRecord: the record of an operation on a
provisioned product, "Use this operation after calling a request operation", its API reference).  For a
SageMaker project the record is the provisioned product's new LastRecordId (DescribeProvisionedProduct),
and the project's ProjectStatus is read once at the end.  At the first failure no further upgrade starts;
those running are waited for; the result lists what succeeded, what failed (with the record's errors or the
provisioned product's status message) and what was not attempted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from .aws import describe_exception
from .model import idempotency_token
from .projectplan import UpgradePlan, UpgradeStep

__all__ = ["UpgradeOutcome", "UpgradeResult", "apply_upgrades", "UpgradeFailed"]

RECORD_DONE = ("SUCCEEDED", "FAILED")
FIRST_DELAY, MAX_DELAY = 2.0, 30.0


class UpgradeFailed(Exception):
    pass


@dataclass
class UpgradeOutcome:
    step: UpgradeStep
    status: str  # succeeded | failed
    message: str = ""
    record_id: str = ""
    project_status: str = ""

    def to_dict(self) -> dict:
        return {"name": self.step.name, "status": self.status, "message": self.message, "record_id": self.record_id,
                "project_status": self.project_status, "step": self.step.to_dict()}


@dataclass
class UpgradeResult:
    succeeded: list[UpgradeOutcome] = field(default_factory=list)
    failed: list[UpgradeOutcome] = field(default_factory=list)
    not_attempted: list[UpgradeStep] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_attempted

    def to_dict(self) -> dict:
        return {"ok": self.ok, "succeeded": [o.to_dict() for o in self.succeeded],
                "failed": [o.to_dict() for o in self.failed],
                "not_attempted": [s.to_dict() for s in self.not_attempted]}


class _Upgrader:
    def __init__(self, sc, sagemaker, *, sleep: Callable[[float], None], clock: Callable[[], float], timeout: float,
                 info: Callable[[str], None]):
        self.sc, self.sagemaker = sc, sagemaker
        self.sleep, self.clock, self.timeout, self.info = sleep, clock, timeout, info

    def run(self, step: UpgradeStep) -> UpgradeOutcome:
        self.info(f"upgrading {step.name} ({step.product} {step.from_version} -> {step.to_version}, {step.call})")
        try:
            record_id = self._start(step)
            record = self._wait(step, record_id)
        except UpgradeFailed as exc:
            return UpgradeOutcome(step, "failed", str(exc))
        except (ClientError, BotoCoreError) as exc:
            return UpgradeOutcome(step, "failed", describe_exception(exc))
        project_status = ""
        if step.call == "UpdateProject":
            try:
                project_status = self.sagemaker.describe_project(ProjectName=step.name).get("ProjectStatus", "")
            except (ClientError, BotoCoreError):
                project_status = ""
        if record["Status"] == "SUCCEEDED":
            self.info(f"{step.name}: upgraded to {step.to_version}")
            return UpgradeOutcome(step, "succeeded", "", record_id, project_status)
        message = self._failure_text(step, record)
        self.info(f"{step.name}: FAILED: {message}")
        return UpgradeOutcome(step, "failed", message, record_id, project_status)

    def _start(self, step: UpgradeStep) -> str:
        if step.call == "UpdateProject":
            self.sagemaker.update_project(ProjectName=step.name, ServiceCatalogProvisioningUpdateDetails={
                "ProvisioningArtifactId": step.to_version_id, "ProvisioningParameters": step.parameters})
            return ""
        answer = self.sc.update_provisioned_product(
            ProvisionedProductId=step.provisioned_product_id, ProductId=step.product_id,
            ProvisioningArtifactId=step.to_version_id, ProvisioningParameters=step.parameters,
            # the same upgrade repeated (an answer lost, the command run again) is the same request
            UpdateToken=idempotency_token("upgrade", step.provisioned_product_id, step.from_version_id,
                                          step.to_version_id, step.last_record_id))
        return answer["RecordDetail"]["RecordId"]

    def _wait(self, step: UpgradeStep, record_id: str) -> dict:
        started, slept, delay = self.clock(), 0.0, FIRST_DELAY
        while True:
            if not record_id:  # UpdateProject: the provisioned product's next record is the update's
                detail = self.sc.describe_provisioned_product(Id=step.provisioned_product_id)
                last = detail["ProvisionedProductDetail"].get("LastRecordId")
                if last and last != step.last_record_id:
                    record_id = last
            if record_id:
                record = self.sc.describe_record(Id=record_id)["RecordDetail"]
                if record.get("Status") in RECORD_DONE:
                    return record
            if max(self.clock() - started, slept) >= self.timeout:
                state = "not started" if not record_id else f"still {record.get('Status')} (record {record_id})"
                raise UpgradeFailed(f"{state} after {self.timeout:.0f}s; it continues in the background: see "
                                    f"`smcat projects`, or raise --upgrade-timeout")
            self.sleep(delay)
            slept += delay
            delay = min(delay * 1.5, MAX_DELAY)

    def _failure_text(self, step: UpgradeStep, record: dict) -> str:
        errors = "; ".join(f"{e.get('Code', 'error')}: {e.get('Description', '')}"
                           for e in record.get("RecordErrors") or [])
        try:
            detail = self.sc.describe_provisioned_product(Id=step.provisioned_product_id)["ProvisionedProductDetail"]
            status = f"provisioned product {detail.get('Status')}" + (
                f": {detail['StatusMessage']}" if detail.get("StatusMessage") else "")
        except (ClientError, BotoCoreError):
            status = ""
        return "; ".join(p for p in (f"record {record.get('RecordId')} FAILED", errors, status) if p)


def apply_upgrades(plan: UpgradePlan, sc, sagemaker, *, max_parallel: int, timeout: float,
                   sleep: Callable[[float], None], clock: Callable[[], float],
                   info: Callable[[str], None] = lambda _m: None) -> UpgradeResult:
    """Run the plan's steps in order, at most max_parallel at once; stop starting at the first failure."""
    upgrader = _Upgrader(sc, sagemaker, sleep=sleep, clock=clock, timeout=timeout, info=info)
    result = UpgradeResult()
    pending = list(plan.steps)
    running: dict[Future, UpgradeStep] = {}
    stop = threading.Event()
    outcomes: dict[str, UpgradeOutcome] = {}
    with ThreadPoolExecutor(max_workers=max_parallel) as pool:
        while pending or running:
            while pending and not stop.is_set() and len(running) < max_parallel:
                step = pending.pop(0)
                running[pool.submit(upgrader.run, step)] = step
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                step = running.pop(future)
                outcome = future.result()
                outcomes[step.name] = outcome
                if outcome.status == "failed":
                    stop.set()
    for step in plan.steps:  # in the plan's order, whatever order they finished in
        outcome = outcomes.get(step.name)
        if outcome is None:
            result.not_attempted.append(step)
        elif outcome.status == "succeeded":
            result.succeeded.append(outcome)
        else:
            result.failed.append(outcome)
    return result
