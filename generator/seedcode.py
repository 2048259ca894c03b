"""Deterministic zips of seed-code folders: same files in, same bytes out."""

from __future__ import annotations

import fnmatch
import io
import zipfile
from pathlib import Path

# Never shipped to a data scientist's repository: caches, build output, local environments.
EXCLUDED = (
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    "*.egg-info",
    ".venv",
    "venv",
    ".DS_Store",
    ".git",
    "build",
    "dist",
    ".ipynb_checkpoints",
)
# 1980-01-01, the earliest time a zip can hold: no build date leaks into the archive.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _excluded(parts: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in parts for pattern in EXCLUDED)


def seed_files(folder: Path) -> list[Path]:
    """The files that go into the zip, sorted by their path inside it."""
    files = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if path.is_file() and not path.is_symlink() and not _excluded(rel.parts):
            files.append(rel)
    return sorted(files, key=lambda p: p.as_posix())


def zip_bytes(folder: Path) -> bytes:
    """The folder as a zip with sorted entries, fixed timestamps, and modes 0644 (0755 if executable)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for rel in seed_files(folder):
            source = folder / rel
            info = zipfile.ZipInfo(rel.as_posix(), date_time=FIXED_TIME)
            mode = 0o755 if source.stat().st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3  # unix, so the mode bits are honoured on extraction
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return buffer.getvalue()
