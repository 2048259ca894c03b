"""Apply a region's writes as a graph: independent actions at once, dependent ones in plan order.

Deciding (:func:`dependencies`) is apart from doing (:func:`apply_concurrently`).  Each action names
the scopes it writes and those it only needs.  A scope is a path, such as
``("portfolio", "team-a", "product", "model-build", "launch-constraint")``; two scopes overlap when one
is a prefix of the other.  An action depends on every earlier action (in plan order) that

* writes a scope overlapping one it writes or needs, or
* needs a scope overlapping one it writes

(two actions that only need the same thing are independent).  So a portfolio's creation comes before
everything under it, an association before the constraints under it, a product before its versions and
the associations that need it, and an action that writes the whole portfolio (a share, the applied
digest) after everything of the portfolio planned before it and before everything planned after it:
shares of one portfolio run one at a time, last.

Running: at most ``max_parallel`` actions at once.  Among the actions ready, the next is of the kind
(resource and verb: "create constraint", "create association"...) with the fewest in flight, the lowest
plan index within it: AWS throttles each API on its own (a request rate per operation), so spreading the
work over operations keeps more of them busy than finishing one kind before the next.  With 1 that is
exactly plan order.  At the first failure (or Ctrl-C) nothing new starts; the actions in flight finish
and are reported as they ended; the rest are "not attempted".
"""

from __future__ import annotations

import heapq
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from .aws import describe_exception
from .model import Action, ActionOutcome, RegionResult

__all__ = ["Scopes", "dependencies", "apply_concurrently", "SerializedProgress"]

Scope = tuple[str, ...]


@dataclass(frozen=True)
class Scopes:
    writes: tuple[Scope, ...]
    needs: tuple[Scope, ...] = ()


class _Index:
    """Earlier actions by scope: those ending exactly at a path, and those at or below it."""

    def __init__(self) -> None:
        self.exact: dict[Scope, list[int]] = defaultdict(list)
        self.below: dict[Scope, list[int]] = defaultdict(list)

    def add(self, scope: Scope, index: int) -> None:
        self.exact[scope].append(index)
        for length in range(1, len(scope) + 1):
            self.below[scope[:length]].append(index)

    def overlapping(self, scope: Scope) -> set[int]:
        found = set(self.below.get(scope, ()))
        for length in range(1, len(scope)):
            found.update(self.exact.get(scope[:length], ()))
        return found


def dependencies(scopes: list[Scopes]) -> list[set[int]]:
    """For each action, the indices of the earlier actions it must wait for."""
    writes, needs = _Index(), _Index()
    result: list[set[int]] = []
    for index, scope in enumerate(scopes):
        depends: set[int] = set()
        for path in scope.writes:
            depends |= writes.overlapping(path) | needs.overlapping(path)
        for path in scope.needs:
            depends |= writes.overlapping(path)
        result.append(depends)
        for path in scope.writes:
            writes.add(path, index)
        for path in scope.needs:
            needs.add(path, index)
    return result


class SerializedProgress:
    """A Progress (executor.py) that threads may call: one call at a time, so lines never interleave."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self._lock = threading.RLock()

    def start(self, index: int, total: int, action: Action) -> None:
        with self._lock:
            self.inner.start(index, total, action)

    def finish(self, index: int, total: int, action: Action, status: str, message: str = "") -> None:
        with self._lock:
            self.inner.finish(index, total, action, status, message)

    def info(self, message: str) -> None:
        with self._lock:
            self.inner.info(message)

    def serialized(self, fn: Callable[[str], None]) -> Callable[[str], None]:
        def call(message: str) -> None:
            with self._lock:
                fn(message)

        return call


class _Run:
    """The state of one apply: what is ready, running, done."""

    def __init__(self, writes: list[Action], deps: list[set[int]]):
        self.writes = writes
        self.waiting = [set(d) for d in deps]
        self.dependents: list[list[int]] = [[] for _ in writes]
        for index, depends in enumerate(deps):
            for earlier in depends:
                self.dependents[earlier].append(index)
        self.ready: dict[tuple[str, str], list[int]] = defaultdict(list)  # kind -> heap of plan indices
        self.running: dict[tuple[str, str], int] = defaultdict(int)
        for index, depends in enumerate(self.waiting):
            if not depends:
                self._ready(index)
        self.started: set[int] = set()
        self.outcomes: dict[int, ActionOutcome] = {}
        self.failures: list[ActionOutcome] = []
        self.interrupted = False

    def _kind(self, index: int) -> tuple[str, str]:
        return self.writes[index].resource, self.writes[index].kind

    def _ready(self, index: int) -> None:
        heapq.heappush(self.ready[self._kind(index)], index)

    def next(self) -> int | None:
        """The next action to start: of the kind with the fewest in flight, the lowest index of that kind."""
        kinds = [k for k, heap in self.ready.items() if heap]
        if not kinds:
            return None
        kind = min(kinds, key=lambda k: (self.running[k], self.ready[k][0]))
        index = heapq.heappop(self.ready[kind])
        self.running[kind] += 1
        self.started.add(index)
        return index

    def done(self, index: int, outcome: ActionOutcome | None) -> None:
        """``outcome`` None: the action failed (nothing after it starts anyway)."""
        self.running[self._kind(index)] -= 1
        if outcome is None:
            return
        self.outcomes[index] = outcome
        for later in self.dependents[index]:
            self.waiting[later].discard(index)
            if not self.waiting[later]:
                self._ready(later)

    @property
    def stopping(self) -> bool:
        return bool(self.failures) or self.interrupted


def apply_concurrently(result: RegionResult, writes: list[Action], apply: Callable[[Action], ActionOutcome],
                       progress, *, max_parallel: int, scopes: Callable[[Action], Scopes],
                       failures: tuple[type[BaseException], ...]) -> RegionResult:
    """Apply ``writes`` (plan order) as their scopes allow; ``result`` gets applied (plan order), failed,
    also_failed (other actions in flight that failed too) and remaining (never started), exactly."""
    run = _Run(writes, dependencies([scopes(a) for a in writes]))
    total = len(writes)
    workers = max(1, max_parallel)
    running: dict[Future, int] = {}
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smcat-apply")
    try:
        while True:
            while not run.stopping and len(running) < workers:
                index = run.next()
                if index is None:
                    break
                progress.start(index + 1, total, writes[index])
                running[pool.submit(apply, writes[index])] = index
            if not running:
                break
            try:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
            except KeyboardInterrupt:
                if run.interrupted:  # a second Ctrl-C: no report (the threads still end their calls)
                    raise
                run.interrupted = True  # the calls in flight finish (each is bounded by --timeout)
                progress.info("interrupted: waiting for the actions in flight to finish, then reporting")
                continue
            for future in sorted(finished, key=running.__getitem__):
                index = running.pop(future)
                _collect(run, index, future, progress, total, failures)
    finally:
        pool.shutdown(wait=not running)
    _report(result, run)
    return result


def _collect(run: _Run, index: int, future: Future, progress, total: int,
             failures: tuple[type[BaseException], ...]) -> None:
    action = run.writes[index]
    try:
        outcome = future.result()
    except failures as exc:
        message = describe_exception(exc)
        run.done(index, None)
        run.failures.append(ActionOutcome(action, "failed", message))
        progress.finish(index + 1, total, action, "failed", message)
        return
    run.done(index, outcome)
    progress.finish(index + 1, total, action, outcome.status, outcome.message)


def _report(result: RegionResult, run: _Run) -> None:
    result.applied.extend(run.outcomes[i] for i in sorted(run.outcomes))
    not_started = [i for i in range(len(run.writes)) if i not in run.started]
    if run.failures:
        result.failed, *others = run.failures
        result.also_failed.extend(others)
    elif run.interrupted and not_started:
        first = run.writes[not_started.pop(0)]
        result.failed = ActionOutcome(first, "failed", "interrupted (Ctrl-C) before it started")
    result.remaining = [run.writes[i] for i in not_started]
