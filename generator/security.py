"""checkov over CloudFormation templates, run from its own virtual environment.

checkov pins libraries that clash with this tool's (checkov 3.3 pins an old boto3), so it is never imported: it
runs as a program, found in SMCAT_CHECKOV, on PATH, or in ROOT/.venv-checkov.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


class CheckovMissing(Exception):
    pass


class CheckovFailed(Exception):
    pass


@dataclass(frozen=True)
class SecurityFinding:
    check: str
    title: str
    file: str
    line: int
    resource: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.check} [security] {self.title} ({self.resource})"


def checkov_command(root: Path) -> str:
    for candidate in (os.environ.get("SMCAT_CHECKOV"), shutil.which("checkov"), root / ".venv-checkov/bin/checkov"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    raise CheckovMissing(
        "checkov not found: install it in its own environment (python3 -m venv .venv-checkov && "
        ".venv-checkov/bin/pip install checkov) or set SMCAT_CHECKOV to its path"
    )


def scan(paths: list[str], root: Path) -> tuple[list[SecurityFinding], int]:
    """Failed checks over `paths` and the number of checks skipped by resource metadata."""
    command = [checkov_command(root), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for path in paths:
        command += ["-f", path]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "LOG_LEVEL": "ERROR"})
    # checkov exits 0 (passed) or 1 (failed checks); anything else, or no JSON, means it did not scan.
    try:
        reports = json.loads(result.stdout) if result.returncode in (0, 1) else None
    except ValueError:
        reports = None
    if not isinstance(reports, list | dict):
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise CheckovFailed(f"checkov did not scan (exit {result.returncode}): {detail[0][:300]}")
    findings, skipped = [], 0
    for report in reports if isinstance(reports, list) else [reports]:
        results = report.get("results", {})
        skipped += len(results.get("skipped_checks", []))
        for check in results.get("failed_checks", []):
            findings.append(
                SecurityFinding(
                    check["check_id"],
                    check["check_name"],
                    _display_path(check, paths),
                    (check.get("file_line_range") or [0])[0],
                    check["resource"],
                )
            )
    return sorted(findings, key=lambda f: (f.file, f.line, f.check)), skipped


def _display_path(check: dict, paths: list[str]) -> str:
    """checkov reports paths in its own forms; give back the one the user passed."""
    reported = check.get("file_abs_path") or check.get("file_path", "")
    for path in paths:
        if Path(path).resolve() == Path(reported).resolve() or reported.endswith(Path(path).as_posix().lstrip("./")):
            return path
    return reported
