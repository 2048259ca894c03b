"""Writing dist/: only over an earlier build, one build at a time, swapped in whole."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

from generator.errors import InputError, Problem


def existing_files(out: Path) -> dict[str, bytes] | None:
    if not out.is_dir():
        return None
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def check_output(out: Path, root: Path) -> None:
    """Refuses an output directory whose replacement would destroy something that is not a dist."""
    out, root = out.resolve(), root.resolve()
    sources = [root / name for name in ("products", "portfolios", "seedcode", "generator", "tests")]
    if out == root or out in root.parents or any(out == s or s in out.parents or out in s.parents for s in sources):
        reason = "is the catalog root, one of its parents, or holds its sources"
    elif out.exists() and not out.is_dir():
        reason = "is a file"
    elif out.is_dir() and any(out.iterdir()) and not (out / "manifest.json").is_file():
        reason = "already holds files and is not an earlier build (no manifest.json)"
    else:
        return
    raise InputError([Problem(str(out), "--out", f"{reason}; the build replaces its output directory whole")])


@contextlib.contextmanager
def output_lock(out: Path):
    """One build at a time per output directory (two would interleave their swaps)."""
    import fcntl

    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_name(f".{out.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def write_dist(out: Path, files: dict[str, bytes]) -> bool:
    """Makes `out` hold exactly `files`; returns False when it already did (nothing is written).

    The new tree is written to a private directory beside `out`, then swapped in by two renames
    (old dist aside, new dist in): an interrupted build leaves the old dist or the new one, never a
    mix; a crash between the two renames leaves the old one in `.<name>.old-*`.
    """
    with output_lock(out):
        if existing_files(out) == files:
            return False
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
        for rel, data in sorted(files.items()):
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        previous = out.with_name(f".{out.name}.old-{staging.name.rsplit('-', 1)[-1]}")
        if out.exists():
            out.rename(previous)
        staging.rename(out)
        shutil.rmtree(previous, ignore_errors=True)
        for leftover in out.parent.glob(f".{out.name}.old-*"):  # from builds that crashed mid-swap
            shutil.rmtree(leftover, ignore_errors=True)
        return True
