"""checkov over CloudFormation templates, run from its own virtual environment.

checkov pins libraries that clash with this tool's (checkov 3.3 pins an old boto3), so it is never imported: it
runs as a program, found in SMCAT_CHECKOV, on PATH, or in ROOT/.venv-checkov.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
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
    """Failed checks over `paths` and the number of checks skipped by resource metadata.

    checkov reads each template as YAML and records, in every mapping, the file's path as it was
    given (`__file__`); some checks then read that path as a value. CKV_AWS_45 (hard-coded secrets
    in a Lambda function's `Environment.Variables`) tests every value of the mapping, the path
    included, against a secret-key pattern (40 characters of `[A-Za-z0-9/+=]`), so it failed
    whenever `<dist>/templates/model` had exactly 40 characters (checkov issue #7310). So checkov
    scans copies named `t<n><suffix>`, given relative to their own temporary directory: what it
    finds depends on the templates' content only, never on where they are.
    """
    command = [checkov_command(root), "--framework", "cloudformation", "--skip-download", "--output", "json"]
    for config in (Path.cwd() / ".checkov.yaml", Path.cwd() / ".checkov.yml"):
        if config.is_file():  # the one checkov would have read from the working directory
            command += ["--config-file", str(config)]
            break
    with tempfile.TemporaryDirectory(prefix="smcat-checkov-") as tmp:
        copies = {}
        for n, path in enumerate(paths):
            name = f"t{n}{Path(path).suffix}"
            shutil.copyfile(path, Path(tmp) / name)
            copies[name] = path
            command += ["-f", name]
        result = subprocess.run(
            command, capture_output=True, text=True, cwd=tmp, env={**os.environ, "LOG_LEVEL": "ERROR"}
        )
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
                    _display_path(check, copies),
                    (check.get("file_line_range") or [0])[0],
                    check["resource"],
                )
            )
    return sorted(findings, key=lambda f: (f.file, f.line, f.check)), skipped


def _display_path(check: dict, copies: dict[str, str]) -> str:
    """checkov reports the copy's name in its own forms (`t0.json`, `/t0.json`); give back the
    path the user passed."""
    reported = check.get("file_path") or check.get("file_abs_path") or ""
    return copies.get(Path(reported).name, reported)
