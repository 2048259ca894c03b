"""cfn-lint over many templates in one pass, with the project's own rules, and a result cache.

cfn-lint's start-up (loading rules and schemas) costs more than linting one template, so every
template goes through one Runner. Results are cached by template hash, cfn-lint version and
rules hash: an unchanged template is not linted again, and cfn-lint is not even imported.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from importlib.metadata import version
from pathlib import Path
from typing import Any

# Called with (templates done, templates in all) as linting goes.
Counter = Callable[[int, int], None]

RULES_DIR = Path(__file__).parent / "rules"
# What dist/manifest.json records when lint did not run (`build --no-lint`).
LINT_NOT_RUN = {"status": "not-run", "errors": 0, "warnings": 0}
SEVERITY_ORDER = {"error": 0, "warning": 1, "informational": 2}
# Below this many templates a second process costs more than it saves.
PARALLEL_FROM = 12
CHUNKS_PER_JOB = 8


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    message: str
    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.rule} [{self.severity}] {self.message}"


def rules_dirs() -> list[str]:
    """The project's custom rule directory, when it has rules."""
    return [str(RULES_DIR)] if RULES_DIR.is_dir() and any(RULES_DIR.glob("*.py")) else []


def _config(paths: list[str], fmt: str | None = None):
    from cfnlint.config import ConfigMixIn

    args = ["--non-zero-exit-code", "warning"]
    for rules in rules_dirs():
        args += ["--append-rules", rules]
    if fmt:
        args += ["--format", fmt]
    return ConfigMixIn([*args, "--", *paths])


# This process's Runner for plain (unformatted) lint runs: building one loads every rule (about half a
# second), so it is built once and given each run's paths; forked lint workers inherit it with its rules.
_RUNNER = None


def _runner(paths: list[str], fmt: str | None):
    global _RUNNER
    from cfnlint.runner import Runner

    if fmt is not None:
        return Runner(_config(paths, fmt))
    if _RUNNER is None:
        _RUNNER = Runner(_config(paths))
    else:
        _RUNNER.config = _config(paths)
    return _RUNNER


def run_matches(paths: list[str], fmt: str | None = None, counter: Counter | None = None):
    """Lints `paths` with one cfn-lint Runner (rules and schemas loaded once); returns
    (matches, runner) so callers can format them. With `counter`, templates go one at a time
    and each one done is counted."""
    runner = _runner(paths, fmt)
    if counter is None:
        matches = list(runner.run())
    else:
        whole, matches = runner.config, []
        try:
            for done, path in enumerate(paths, start=1):
                runner.config = _config([path], fmt)
                matches += runner.run()
                counter(done, len(paths))
        finally:
            runner.config = whole  # the formatters read the whole run's configuration
    matches.sort(key=lambda m: (m.filename or "", m.linenumber, m.rule.id))
    return matches, runner


def to_findings(matches) -> list[Finding]:
    return [_to_finding(m) for m in matches]


def _to_finding(match) -> Finding:
    return Finding(
        match.rule.id, match.rule.severity, match.message, match.filename or "", match.linenumber, match.columnnumber
    )


def _lint_chunk(paths: list[str]) -> list[Finding]:
    matches, _ = run_matches(paths)
    return [_to_finding(m) for m in matches]


def lint_paths(paths: list[str], jobs: int | None = None, counter: Counter | None = None) -> list[Finding]:
    """Every finding for `paths`; splits large sets over the machine's cores."""
    if not paths:
        return []
    jobs = jobs or min(os.cpu_count() or 1, 4)
    if jobs < 2 or len(paths) < PARALLEL_FROM:
        matches, _ = run_matches(paths, counter=counter)
        return to_findings(matches)
    # Lint the first template here: that loads cfn-lint, its rules and the resource schemas once,
    # and the forked workers inherit them warm instead of each paying for it again.
    first = _lint_chunk(paths[:1])
    rest = paths[1:]
    # Many small chunks (each worker reuses its inherited Runner, so a chunk costs nothing to start): a
    # worker that gets more of the CPU takes more of them, and a count moves as chunks finish.
    count = min(len(rest), jobs * CHUNKS_PER_JOB)
    chunks = [rest[i::count] for i in range(count)]
    results = [first]
    done = 1
    if counter:
        counter(done, len(paths))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pool.submit(_lint_chunk, chunk): len(chunk) for chunk in chunks}
        for future in as_completed(futures):
            results.append(future.result())
            done += futures[future]
            if counter:
                counter(done, len(paths))
    return sorted((f for chunk in results for f in chunk), key=lambda f: (f.file, f.line, f.rule))


def lint_key() -> str:
    """What, besides a template's bytes, decides its lint result: cfn-lint, its configuration
    (config files and the region it defaults to) and our rules."""
    digest = hashlib.sha256(f"cfn-lint {version('cfn-lint')}".encode())
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        digest.update(f"{name}={os.environ.get(name, '')}\n".encode())
    for config in (Path.cwd() / ".cfnlintrc", Path.home() / ".cfnlintrc"):
        if config.is_file():
            digest.update(b"config\0" + config.read_bytes())
    for rules in rules_dirs():
        for path in sorted(Path(rules).glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class LintCache:
    """Lint results by template sha256, valid for one cfn-lint version and rule set."""

    def __init__(self, path: Path):
        self.path = path
        self.key = lint_key()
        self.entries: dict[str, list[dict]] = {}
        try:
            data = json.loads(path.read_text())
            if data.get("key") == self.key:
                self.entries = data["results"]
        except (OSError, ValueError, KeyError, AttributeError):
            pass  # no cache, or an unreadable one: lint everything again

    def lint_contents(
        self, templates: dict[str, tuple[str, bytes]], jobs: int | None = None, counter: Counter | None = None
    ) -> dict[str, list[Finding]]:
        """`templates` maps a name to (the path to show, its bytes), for templates not written yet:
        those not cached are linted from a temporary copy; findings name the path to show."""
        shas = {name: hashlib.sha256(data).hexdigest() for name, (_, data) in templates.items()}
        with tempfile.TemporaryDirectory(prefix="smcat-lint-") as tmp:
            paths = {}
            for name, (shown, data) in templates.items():
                if shas[name] in self.entries:
                    paths[name] = shown  # cached: the file is not read
                else:
                    paths[name] = str(Path(tmp) / f"{name}.json")
                    Path(paths[name]).write_bytes(data)
            found = self.lint({name: (paths[name], shas[name]) for name in templates}, jobs, counter)
        return {name: [replace(f, file=templates[name][0]) for f in found[name]] for name in templates}

    def lint(
        self, templates: dict[str, tuple[str, str]], jobs: int | None = None, counter: Counter | None = None
    ) -> dict[str, list[Finding]]:
        """`templates` maps a name to (path, sha256); returns each name's findings.

        Paths are resolved before cfn-lint sees them, so the working directory never decides
        which file is linted (and so which result is cached under a template's hash).
        """
        resolved = {name: (str(Path(path).resolve()), sha) for name, (path, sha) in templates.items()}
        todo = {name: path for name, (path, sha) in resolved.items() if sha not in self.entries}
        if todo:
            by_file: dict[str, list[Finding]] = {}
            for finding in lint_paths(sorted(todo.values()), jobs, counter):
                by_file.setdefault(str(Path(finding.file).resolve()), []).append(finding)
            for name, path in todo.items():
                sha = resolved[name][1]
                self.entries[sha] = [{k: v for k, v in asdict(f).items() if k != "file"} for f in by_file.get(path, [])]
            self._save(keep={sha for _, sha in resolved.values()})
        return {
            name: [Finding(file=path, **entry) for entry in self.entries[sha]]
            for name, (path, sha) in templates.items()
        }

    def _save(self, keep: set[str]) -> None:
        """Best effort: a catalog on a read-only file system is linted every time instead."""
        results = {sha: found for sha, found in self.entries.items() if sha in keep}
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps({"key": self.key, "results": results}, sort_keys=True))
            tmp.replace(self.path)
        except OSError:
            pass



def lint_record(results: dict[str, list[Finding]] | None) -> dict[str, Any]:
    """What the manifest records of the lint of a build's templates (`results`: each product's
    findings; None when lint did not run). Informational findings count as warnings."""
    if results is None:
        return dict(LINT_NOT_RUN)
    found = [f for findings in results.values() for f in findings]
    errors = sum(f.severity == "error" for f in found)
    return {"status": "findings" if found else "clean", "errors": errors, "warnings": len(found) - errors}


def with_lint(manifest: bytes, record: dict[str, Any]) -> bytes:
    """The manifest with the build's lint result under `lint`: {"status": "clean" | "findings" |
    "not-run", "errors": N, "warnings": N}. `plan` and `publish` refuse a dist that is not clean."""
    from generator.output import canonical_json

    data = json.loads(manifest)
    data["lint"] = record
    return canonical_json(data)


def recorded_lint(manifest: Path) -> Any:
    """The lint result a dist's manifest records (None if it cannot be read)."""
    try:
        return json.loads(manifest.read_bytes()).get("lint")
    except (OSError, ValueError, AttributeError):
        return None
