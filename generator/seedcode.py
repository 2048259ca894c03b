"""Deterministic zips of seed-code folders: same files in, same bytes out.

A seed zip holds what the seed repository would hold if its folder were committed with git: files
that a `.gitignore` ignores are left out. The `.gitignore` files that count are the catalog root's,
`seedcode/.gitignore`, the seed folder's own and those of its subfolders, read as git reads them
(later lines win, deeper files win, `!` re-includes, `dir/` matches folders only, a `/` at the
start or in the middle anchors a pattern to its file's folder, `**` spans folders, and nothing
inside an ignored folder is looked at). Git itself is never run: the catalog need not be a git
checkout, and a user's global excludes must not change what a build produces.
"""

from __future__ import annotations

import fnmatch
import io
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

# Never shipped to a data scientist's repository, whatever .gitignore says: caches, build output,
# local environments. (Left out without a mention: they are never meant to be shipped.)
EXCLUDED = (
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
    "*.egg-info",
    ".venv*",
    "venv",
    ".DS_Store",
    ".git",
    "build",
    "dist",
    ".ipynb_checkpoints",
)
GITIGNORE = ".gitignore"
# 1980-01-01, the earliest time a zip can hold: no build date leaks into the archive.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)

_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9a-fA-F",
}
_NEVER = "(?!)"


def _bracket(pattern: str, start: int) -> tuple[str, int]:
    """Translates the bracket expression at `start` (`[`); returns (regex, index after it).
    Like git's wildmatch, it never matches `/`, and an unclosed bracket never matches anything."""
    i = start + 1
    negated = i < len(pattern) and pattern[i] in "!^"
    if negated:
        i += 1
    items: list[str] = []
    first = True
    while i < len(pattern):
        c = pattern[i]
        if c == "]" and not first:
            body = "".join(items) or _NEVER
            return f"(?!/)[{'^' if negated else ''}{body}]", i + 1
        first = False
        if c == "[" and pattern.startswith("[:", i):
            end = pattern.find(":]", i + 2)
            name = pattern[i + 2 : end] if end != -1 else ""
            if name in _CLASSES:
                items.append(_CLASSES[name])
                i = end + 2
                continue
        if c == "\\" and i + 1 < len(pattern):
            i += 1
            c = pattern[i]
        if i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            high_at = i + 2
            if pattern[high_at] == "\\" and high_at + 1 < len(pattern):
                high_at += 1
            high = pattern[high_at]
            items.append(f"{re.escape(c)}-{re.escape(high)}" if c <= high else _NEVER)
            i = high_at + 1
            continue
        items.append(re.escape(c))
        i += 1
    return _NEVER, len(pattern)


def _translate(pattern: str) -> str:
    """A gitignore glob as a regular expression over a `/`-separated path (git's wildmatch)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            j = i
            while j < n and pattern[j] == "*":
                j += 1
            if j - i >= 2 and (i == 0 or pattern[i - 1] == "/") and (j == n or pattern[j] == "/"):
                if j == n:  # `**` at the end: everything below
                    out.append(".*")
                else:  # `**/`: zero or more folders
                    out.append("(?:.*/)?")
                    j += 1
            else:  # `*`, or `**` not between slashes: anything within one path component
                out.append("[^/]*")
            i = j
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            regex, i = _bracket(pattern, i)
            out.append(regex)
        elif c == "\\":
            if i + 1 == n:  # a trailing backslash matches nothing (as in git)
                return _NEVER
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class IgnorePattern:
    text: str
    regex: re.Pattern
    negated: bool
    directory_only: bool
    anchored: bool  # matched against the path below the file's folder, else against the name alone

    def matches(self, rel: str, is_dir: bool) -> bool:
        if self.directory_only and not is_dir:
            return False
        return bool(self.regex.fullmatch(rel if self.anchored else rel.rsplit("/", 1)[-1]))


def _strip_trailing_spaces(line: str) -> str:
    """Trailing spaces go unless escaped with a backslash (git's trim_trailing_spaces)."""
    end = len(line)
    while end and line[end - 1] == " ":
        backslashes = len(line[: end - 1]) - len(line[: end - 1].rstrip("\\"))
        if backslashes % 2:  # `\ `: the space is part of the pattern
            break
        end -= 1
    return line[:end]


def parse_gitignore(text: str) -> list[IgnorePattern]:
    patterns = []
    for raw in text.split("\n"):
        line = _strip_trailing_spaces(raw[:-1] if raw.endswith("\r") else raw)
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        if negated:
            line = line[1:]
        directory_only = line.endswith("/")
        if directory_only:
            line = line[:-1]
        if not line:
            continue
        anchored = "/" in line
        if line.startswith("/"):
            line = line[1:]
        patterns.append(IgnorePattern(raw, re.compile(_translate(line), re.DOTALL), negated, directory_only, anchored))
    return patterns


@dataclass
class IgnoreRules:
    """The patterns in force in one folder: (folder relative to the catalog root, its patterns),
    outermost first."""

    levels: list[tuple[str, list[IgnorePattern]]] = field(default_factory=list)

    def below(self, base: str, folder: Path) -> IgnoreRules:
        """These rules plus the `.gitignore` of `folder` (whose path from the root is `base`)."""
        path = folder / GITIGNORE
        if not path.is_file():
            return self
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return self
        return IgnoreRules([*self.levels, (base, parse_gitignore(text))])

    def ignored(self, rel: str, is_dir: bool) -> bool:
        """Whether the path (from the catalog root) is ignored: the last matching pattern of the
        deepest file that has one decides."""
        for base, patterns in reversed(self.levels):
            if base and not rel.startswith(base + "/"):
                continue
            below = rel[len(base) + 1 :] if base else rel
            for pattern in reversed(patterns):
                if pattern.matches(below, is_dir):
                    return not pattern.negated
        return False


def _excluded(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED)


@dataclass
class Selection:
    files: list[str]  # paths inside the zip, sorted
    ignored: list[str]  # top-most paths a .gitignore left out (folders end in `/`), sorted


def rules_for(root: Path, folder: Path) -> IgnoreRules:
    """The `.gitignore` rules of the catalog root and of every folder down to `folder` itself."""
    root, folder = root.absolute(), folder.absolute()
    rules = IgnoreRules().below("", root)
    rel = folder.relative_to(root)
    current, base = root, ""
    for part in rel.parts:
        current, base = current / part, f"{base}/{part}" if base else part
        rules = rules.below(base, current)
    return rules


def select(folder: Path, root: Path | None = None) -> Selection:
    """The files of a seed folder that go into its zip, and what its `.gitignore` files left out.

    `root` is the catalog root (whose `.gitignore` applies too); by default the folder itself.
    Symbolic links are never followed nor shipped.
    """
    root = (root or folder).absolute()
    folder = folder.absolute()
    prefix = folder.relative_to(root).as_posix()
    prefix = "" if prefix == "." else prefix
    files: list[str] = []
    ignored: list[str] = []

    def from_root(inner: str) -> str:
        return f"{prefix}/{inner}" if prefix else inner

    def walk(directory: Path, rel: str, rules: IgnoreRules) -> None:
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                inner = f"{rel}/{entry.name}" if rel else entry.name
                if entry.is_symlink() or _excluded(entry.name):
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and not entry.is_file(follow_symlinks=False):
                    continue  # sockets, fifos and the like
                if rules.ignored(from_root(inner), is_dir):
                    ignored.append(inner + "/" if is_dir else inner)
                elif is_dir:
                    walk(Path(entry.path), inner, rules.below(from_root(inner), Path(entry.path)))
                else:
                    files.append(inner)

    walk(folder, "", rules_for(root, folder))
    return Selection(sorted(files), sorted(ignored))


def seed_files(folder: Path, root: Path | None = None) -> list[Path]:
    """The files that go into the zip, sorted by their path inside it."""
    return [Path(rel) for rel in select(folder, root).files]


def zip_bytes(folder: Path, root: Path | None = None, selection: Selection | None = None) -> bytes:
    """The folder as a zip with sorted entries, fixed timestamps, and modes 0644 (0755 if executable)."""
    selection = selection or select(folder, root)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for rel in selection.files:
            source = folder / rel
            info = zipfile.ZipInfo(rel, date_time=FIXED_TIME)
            mode = 0o755 if source.stat().st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3  # unix, so the mode bits are honoured on extraction
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, source.read_bytes())
    return buffer.getvalue()
