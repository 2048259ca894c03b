"""How plans, results and progress look to people (text) and to programs (JSON)."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from .aws import CallCounter
from .executor import Progress
from .model import KINDS, Action, Plan, PublishResult

__all__ = ["plural", "render_plan", "render_result", "plan_json", "result_json", "result_error", "failure_json",
           "TerminalProgress", "SYMBOLS"]

SYMBOLS = {"create": "+", "update": "~", "delete": "-", "share": ">", "unshare": "<", "deprecate": "!",
           "noop": "="}


def plural(count: int, noun: str) -> str:
    """'1 template', '2 templates'."""
    return f"{count} {noun}" + ("" if count == 1 else "s")


def _line(action: Action) -> str:
    return f"  {SYMBOLS[action.kind]} {action.kind:<9} {action.resource:<11} {action.target}" + (
        f"  ({action.summary})" if action.summary else "")


def _ou_path_lines(plan: Plan) -> list[str]:
    """What each OU path share target resolved to (once: the same in every region), and the shares an
    exclusion expanded it to."""
    if not plan.ou_paths:
        return []
    out = ["OU paths (resolved through AWS Organizations):"]
    for resolution in plan.ou_paths:
        out.append(f"  portfolio {resolution['portfolio']} {resolution['share']}: {resolution['summary']}")
        if resolution["exclude"]:
            out.extend(f"      {s['type']} {s['value']} ({s['where']})" for s in resolution["shares"])
        out.extend(f"      note: {note}" for note in resolution["notes"])
    return out


def render_plan(plan: Plan, *, show_noop: bool = False) -> str:
    out: list[str] = _ou_path_lines(plan)
    for region in plan.regions:
        prefix = plan.options.prefix or "(none)"
        if getattr(region, "target", None) == "s3":
            prefixes = ", ".join(p or "(whole bucket)" for p in getattr(region, "prefixes", [])) or "(none)"
            out.append(f"Plan for S3 templates in {region.region} (bucket {region.bucket}, prefix {prefixes}):")
        else:
            out.append(f"Plan for {region.region} (bucket {region.bucket}, prefix {prefix}):")
        unchanged = 0
        for action in region.actions:
            if action.kind == "noop" and not show_noop:
                unchanged += 1
                continue
            out.append(_line(action))
        if not region.writes:
            out.append("  nothing to change")
        if unchanged:
            out.append(f"  = {unchanged} up to date")
        for note in region.notes:
            out.append(f"  note: {note}")
        for problem in region.problems:
            out.append(f"  problem: {problem}")
    for warning in plan.warnings:
        out.append(f"warning: {warning}")
    counts = plan.counts()
    writes = sum(counts[k] for k in KINDS if k != "noop")
    parts = [f"{counts[k]} {k}" for k in KINDS if k != "noop" and counts[k]]
    out.append(f"Summary: {', '.join(parts) if parts else 'no changes'}; {counts['noop']} unchanged; "
               f"{plural(writes, 'write action')}.")
    return "\n".join(out)


def render_result(result: PublishResult) -> str:
    out: list[str] = []
    for region in result.regions:
        if region.failed is None:
            out.append(f"{region.region}: {plural(len(region.applied), 'action')} applied.")
            continue
        failed = region.failed
        out.append(f"{region.region}: FAILED at {failed.action.kind} {failed.action.target}")
        out.append(f"    {failed.message}")
        out.extend(_also_failed_lines(region))
        out.append(f"  Applied before the failure ({len(region.applied)}):")
        out.extend("  " + _line(o.action) for o in region.applied)
        if not region.applied:
            out.append("      (none)")
        out.append(f"  Not attempted ({len(region.remaining)}):")
        out.extend("  " + _line(a) for a in region.remaining)
        if not region.remaining:
            out.append("      (none)")
        out.append("  Run publish again to continue: it re-reads the live state and repeats nothing that was done.")
    if result.not_started:
        out.append(f"Regions not started: {', '.join(result.not_started)}")
    for warning in result.warnings:
        out.append(f"warning: {warning}")
    if result.api_calls:
        from collections import Counter

        counts = Counter({tuple(k.split(":", 1)): v for k, v in result.api_calls.items()})
        summary = CallCounter.summarize(counts)
        out.append(f"API calls while applying: {summary['total']} ({plural(summary['reads'], 'read')}, "
                   f"{plural(summary['writes'], 'write')})")
    return "\n".join(out)


def _also_failed_lines(region) -> list[str]:
    """Actions that were in flight (--max-parallel) when the first failed, and failed too."""
    if not region.also_failed:
        return []
    out = [f"  Also failed while in flight ({len(region.also_failed)}):"]
    for outcome in region.also_failed:
        out.append("  " + _line(outcome.action))
        out.append(f"        {outcome.message}")
    return out


def plan_json(plan: Plan) -> str:
    problems = plan.problems
    return json.dumps({"status": "failed" if problems else "ok", "error": "; ".join(problems) or None,
                       "plan": plan.to_dict()}, indent=2, default=str)


def result_error(result: PublishResult) -> str:
    """One message for a publish that did not fully succeed ("" when it did)."""
    parts = [f"{r.region}: {o.action.kind} {o.action.target} failed: {o.message}"
             for r in result.regions for o in ([r.failed] if r.failed is not None else []) + r.also_failed]
    if result.not_started:
        parts.append(f"regions not started: {', '.join(result.not_started)}")
    parts.extend(result.warnings)
    return "; ".join(parts)


def result_json(plan: Plan, result: PublishResult) -> str:
    """The plan and the outcome; top-level ``status``, ``error``, ``applied`` and ``remaining`` (every
    write not applied, the not-started regions' included) are the same as in a failure object."""
    failed = not result.ok or bool(result.warnings)
    remaining = [a.to_dict() for r in result.regions for a in r.remaining]
    remaining += [a.to_dict() for r in plan.regions if getattr(r, "label", r.region) in result.not_started
                  for a in r.writes]
    return json.dumps({
        "status": "failed" if failed else "ok",
        "error": result_error(result) if failed else None,
        "applied": [o.action.to_dict() for r in result.regions for o in r.applied],
        "remaining": remaining,
        "plan": plan.to_dict(),
        "result": result.to_dict(),
    }, indent=2, default=str)


def failure_json(status: str, error: str, *, plan: Plan | None = None) -> str:
    """A failure before anything was applied: nothing applied, every planned write remaining."""
    return json.dumps({
        "status": status,
        "error": error,
        "applied": [],
        "remaining": [a.to_dict() for a in plan.writes] if plan is not None else [],
        "plan": plan.to_dict() if plan is not None else None,
    }, indent=2, default=str)


class TerminalProgress(Progress):
    """A live status line on a TTY; plain, one-per-action lines otherwise (logs, CI)."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._status = False

    def _clear(self) -> None:
        if self.tty and self._status:
            self.stream.write("\r\033[K")
            self._status = False

    def start(self, index: int, total: int, action: Action) -> None:
        if self.tty:
            self._clear()
            self.stream.write(f"[{index:>{len(str(total))}}/{total}] {action.kind} {action.target} ...")
            self.stream.flush()
            self._status = True

    def finish(self, index: int, total: int, action: Action, status: str, message: str = "") -> None:
        self._clear()
        mark = {"applied": "ok", "warning": "WARNING", "failed": "FAILED"}.get(status, status)
        extra = f" - {message}" if message and status != "applied" else ""
        self.stream.write(f"[{index:>{len(str(total))}}/{total}] {action.kind} {action.target}: {mark}{extra}\n")
        self.stream.flush()

    def info(self, message: str) -> None:
        self._clear()
        self.stream.write(f"{message}\n")
        self.stream.flush()
