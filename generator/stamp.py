"""The build stamp: a digest of every input, so an unchanged catalog is not rendered again.

Inputs are the bytes of every source file (products, portfolios, seed code, this package) and
the versions of the libraries that shape the output. The stamp also records a digest of each
file written to dist/, so a dist/ edited or damaged since is rebuilt rather than trusted.
"""

from __future__ import annotations

import hashlib
import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

from generator.seedcode import seed_files

LIBRARIES = ("troposphere", "jinja2", "jsonschema", "pyyaml")
PACKAGE = Path(__file__).resolve().parent


def _tree(digest, base: Path, label: str) -> None:
    if not base.is_dir():
        return
    for rel in seed_files(base):  # same exclusions as the zips: caches never count
        digest.update(f"{label}/{rel.as_posix()}\0".encode())
        digest.update(hashlib.sha256((base / rel).read_bytes()).digest())


def inputs_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for library in LIBRARIES:
        digest.update(f"{library} {version(library)}\n".encode())
    for label in ("products", "portfolios", "seedcode"):
        _tree(digest, root / label, label)
    _tree(digest, PACKAGE, "generator")
    return digest.hexdigest()


def _files_digest(files: dict[str, bytes]) -> dict[str, str]:
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())}


class BuildStamp:
    def __init__(self, cache_dir: Path, out: Path):
        self.out = out
        self.path = cache_dir / f"build-{hashlib.sha256(str(out).encode()).hexdigest()[:16]}.json"

    def reusable(self, inputs: str) -> dict[str, Any] | None:
        """The recorded build summary, if the inputs are the same and dist/ still holds that build."""
        try:
            stamp = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        if stamp.get("inputs") != inputs or not self.out.is_dir():
            return None
        present = {p.relative_to(self.out).as_posix(): p.read_bytes() for p in self.out.rglob("*") if p.is_file()}
        if _files_digest(present) != stamp.get("files"):
            return None
        return stamp["summary"]

    def save(self, inputs: str, summary: dict[str, Any], files: dict[str, bytes]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"inputs": inputs, "summary": summary, "files": _files_digest(files)}, indent=1))
        tmp.replace(self.path)
