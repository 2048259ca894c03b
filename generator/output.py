"""Writing dist/: only over an earlier build, one build at a time, swapped in whole."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import yaml

from generator.errors import InputError, Problem


def canonical_json(data: Any) -> bytes:
    """Stable bytes for a JSON document: sorted keys, fixed indentation, a final newline."""
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


# libyaml's emitter when PyYAML has it: the same bytes (checked over the bundled templates) in a sixth
# of the time, which is most of a build that is not linting.
_SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _TemplateDumper(_SafeDumper):
    """PyYAML's safe dumper with no anchors or aliases (a value used twice is written twice, as in
    the JSON) and multi-line strings as literal blocks (`|`), so inline code stays readable."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML falls back to a quoted scalar by itself when a block cannot hold the text exactly.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_TemplateDumper.add_representer(str, _str)


def canonical_yaml(data: Any) -> bytes:
    """Stable YAML bytes for the same document `canonical_json` writes: sorted keys, block style,
    no line folding, no aliases. Intrinsic functions keep their long form (`Fn::Sub: ...`), which
    CloudFormation accepts in YAML templates; `yaml.safe_load` of the result equals the JSON."""
    text = yaml.dump(
        data, Dumper=_TemplateDumper, sort_keys=True, default_flow_style=False, allow_unicode=True,
        width=1 << 30, indent=2,
    )
    return text.encode()


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


def lock_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.lock")


def check_writable(out: Path) -> None:
    """Refuses, before anything is rendered, an output directory the build could not write.

    Missing parent directories are created (like `mkdir -p`); then the lock file is created and a
    file is written and removed beside `out`, where the build stages its new tree and swaps it in.
    """
    out = out.absolute()
    step = f"cannot create its parent directory {out.parent}"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        step = f"cannot create the lock file {lock_path(out)}"
        with open(lock_path(out), "a"):
            pass
        step = f"cannot write files in {out.parent}"
        fd, probe = tempfile.mkstemp(prefix=f".{out.name}.probe-", dir=out.parent)
        try:
            os.write(fd, b"probe")
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise InputError([Problem(str(out), "--out", f"{step}: {_reason(exc)}")]) from None


def _reason(exc: OSError) -> str:
    """What went wrong, in a few words, naming the path where it is not the one already named."""
    if (isinstance(exc, FileExistsError) or exc.errno == errno.ENOTDIR) and exc.filename:
        path = Path(os.fsdecode(exc.filename))
        blocker = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        if blocker is not None:
            return f"{blocker} is a file, not a directory"
    return (exc.strerror or str(exc)).lower()


@contextlib.contextmanager
def output_lock(out: Path):
    """One build at a time per output directory (two would interleave their swaps)."""
    import fcntl

    out.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path(out), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _staging_dir(out: Path) -> Path:
    """A new directory beside `out`, with the permissions the umask gives (mkdtemp's are 0700,
    and the staging directory becomes the dist)."""
    while True:
        staging = out.with_name(f".{out.name}.new-{secrets.token_hex(4)}")
        try:
            staging.mkdir()
            return staging
        except FileExistsError:
            continue


def write_dist(out: Path, files: dict[str, bytes]) -> bool:
    """Makes `out` hold exactly `files`; returns False when it already did (nothing is written).

    The new tree is written to a new directory beside `out`, then swapped in by two renames
    (old dist aside, new dist in): an interrupted build leaves the old dist or the new one, never a
    mix; a crash between the two renames leaves the old one in `.<name>.old-*`. Files and folders
    get the permissions the umask gives. A write that fails (a full disk) leaves the old dist.
    """
    with output_lock(out):
        if existing_files(out) == files:
            return False
        staging = _staging_dir(out)
        try:
            for rel, data in sorted(files.items()):
                path = staging / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            where = f" {exc.filename}" if exc.filename else ""
            raise InputError([Problem(str(out), "--out", f"cannot write{where}: {_reason(exc)}")]) from None
        previous = out.with_name(f".{out.name}.old-{staging.name.rsplit('-', 1)[-1]}")
        if out.exists():
            out.rename(previous)
        staging.rename(out)
        shutil.rmtree(previous, ignore_errors=True)
        for leftover in out.parent.glob(f".{out.name}.old-*"):  # from builds that crashed mid-swap
            shutil.rmtree(leftover, ignore_errors=True)
        return True
