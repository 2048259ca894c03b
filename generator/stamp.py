"""The build stamp: a digest of every input, so an unchanged catalog is not rendered again.

Inputs are every source file (products, portfolios, this package: path, bytes and executable
bit, symlinks followed), the seed code as it is zipped (the files a zip takes, and the names of
those a `.gitignore` leaves out: a local `output/` or `.venv-*/` changing never costs a render),
the catalog root's `.gitignore`, any other module the product modules imported from outside
the standard library and installed packages, and the versions of what shapes the output
(libraries, zlib). The stamp also records a digest of each file written to the output, so an
output edited or damaged since is rebuilt rather than trusted. It lives beside the output
directory (`.<name>.stamp.json`), never inside it.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
import sysconfig
import zlib
from importlib.metadata import version
from pathlib import Path
from typing import Any

LIBRARIES = ("troposphere", "jinja2", "jsonschema", "pyyaml")
PACKAGE = Path(__file__).resolve().parent
SOURCES = ("products", "portfolios", "seedcode")


def _file(digest, path: Path, label: str) -> None:
    executable = os.stat(path).st_mode & 0o111 != 0  # follows symlinks, like the build does
    digest.update(f"{label}\0{int(executable)}\0".encode())
    digest.update(hashlib.sha256(path.read_bytes()).digest())


def _tree(digest, base: Path, label: str) -> None:
    if not base.is_dir():
        return
    for path in sorted(base.rglob("*"), key=lambda p: p.as_posix()):
        rel = path.relative_to(base)
        if any(part == "__pycache__" or part.endswith(".pyc") for part in rel.parts):
            continue
        if path.is_file():  # regular files and symlinks to files
            _file(digest, path, f"{label}/{rel.as_posix()}")


def _seedcode(digest, root: Path) -> None:
    """The seed folders as the build zips them (`generator.seedcode.select`), and the files beside them."""
    from generator.seedcode import select

    base = root / "seedcode"
    if not base.is_dir():
        return
    for path in sorted(base.iterdir(), key=lambda p: p.name):
        if path.is_file():
            _file(digest, path, f"seedcode/{path.name}")
        elif path.is_dir() and not path.name.startswith("."):
            selection = select(path, root)
            for rel in selection.files:
                _file(digest, path / rel, f"seedcode/{path.name}/{rel}")
            for rel in selection.ignored:
                digest.update(f"seedcode/{path.name}/{rel}\0ignored\0".encode())


def loaded_modules() -> set[str]:
    return set(sys.modules)


def imported_modules(root: Path, before: set[str]) -> list[str]:
    """Files of modules imported since `before` from outside the stdlib, installed packages and
    the tracked trees: helpers a product module pulls in from elsewhere."""
    paths = sysconfig.get_paths()
    skip = {Path(paths[k]).resolve() for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    skip |= {PACKAGE, *(root / s for s in SOURCES)}
    found = set()
    for name in set(sys.modules) - before:
        path = getattr(sys.modules.get(name), "__file__", None)
        if not path:
            continue
        resolved = Path(path).resolve()
        if resolved.suffix == ".py" and not any(base == resolved or base in resolved.parents for base in skip):
            found.add(str(resolved))
    return sorted(found)


def inputs_digest(root: Path, extra_modules: list[str] = ()) -> str:
    digest = hashlib.sha256()
    for library in LIBRARIES:
        digest.update(f"{library} {version(library)}\n".encode())
    digest.update(f"zlib {zlib.ZLIB_RUNTIME_VERSION}\n".encode())
    for label in SOURCES:
        if label == "seedcode":
            _seedcode(digest, root)
        else:
            _tree(digest, root / label, label)
    if (root / ".gitignore").is_file():
        _file(digest, root / ".gitignore", ".gitignore")
    _tree(digest, PACKAGE, "generator")
    for module in extra_modules:
        path = Path(module)
        if path.is_file():
            _file(digest, path, f"module:{module}")
        else:
            digest.update(f"module:{module}\0missing".encode())
    return digest.hexdigest()


def _files_digest(files: dict[str, bytes]) -> dict[str, str]:
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in sorted(files.items())}


class BuildStamp:
    def __init__(self, root: Path, out: Path):
        self.root = root
        self.out = out
        self.path = out.with_name(f".{out.name}.stamp.json")

    def reusable(self) -> dict[str, Any] | None:
        """The recorded build summary, if the inputs are the same and the output still holds that build."""
        try:
            stamp = json.loads(self.path.read_text())
            modules = stamp["modules"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if stamp.get("inputs") != inputs_digest(self.root, modules) or not self.out.is_dir():
            return None
        present = {p.relative_to(self.out).as_posix(): p.read_bytes() for p in self.out.rglob("*") if p.is_file()}
        if _files_digest(present) != stamp.get("files"):
            return None
        return stamp["summary"]

    def save(self, summary: dict[str, Any], files: dict[str, bytes], before: set[str]) -> None:
        """Records a build just made; `before` are the modules loaded before rendering."""
        modules = imported_modules(self.root, before)
        stamp = {
            "inputs": inputs_digest(self.root, modules),
            "modules": modules,
            "summary": summary,
            "files": _files_digest(files),
        }
        self._write(stamp)

    def update_files(self, files: dict[str, bytes]) -> None:
        """Records that the output now holds `files` (same inputs: say, the manifest's lint result changed)."""
        try:
            stamp = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return
        stamp["files"] = _files_digest(files)
        self._write(stamp)

    def _write(self, stamp: dict[str, Any]) -> None:
        # a temporary name of its own: concurrent builds into one dist each replace the stamp whole
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
        tmp.write_text(json.dumps(stamp, indent=1))
        tmp.replace(self.path)
