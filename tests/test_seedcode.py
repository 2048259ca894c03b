"""Seed zips hold what the seed repository would hold: .gitignore read as git reads it.

Each case lays out a small catalog (root .gitignore, seedcode/<seed>/.gitignore, nested ones and
files), makes it a git repository, and compares the files the build zips with the untracked,
not-ignored files git lists (`git ls-files --others --exclude-standard`: what `git add` takes).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import zipfile

import pytest
from conftest import main

from generator.seedcode import select

SEED = "seedcode/s"

# (id, {path: content}); every path is created, `.gitignore` files hold their patterns.
CASES = [
    (
        "directory-only",
        {
            f"{SEED}/.gitignore": "output/\n",
            f"{SEED}/output/run.csv": "",
            f"{SEED}/src/output/deep.csv": "",
            f"{SEED}/lib/output": None,  # a file named output stays: `output/` matches folders only
            f"{SEED}/keep.py": "",
        },
    ),
    (
        "anchored",
        {
            f"{SEED}/.gitignore": "/output/\n/top.txt\n",
            f"{SEED}/output/a.csv": "",
            f"{SEED}/src/output/b.csv": "",
            f"{SEED}/top.txt": "",
            f"{SEED}/src/top.txt": "",
        },
    ),
    (
        "middle-slash-anchors",
        {
            f"{SEED}/.gitignore": "doc/*.txt\n",
            f"{SEED}/doc/a.txt": "",
            f"{SEED}/doc/sub/b.txt": "",
            f"{SEED}/src/doc/c.txt": "",
        },
    ),
    (
        "negation",
        {
            f"{SEED}/.gitignore": "*.log\n!keep.log\n",
            f"{SEED}/a.log": "",
            f"{SEED}/keep.log": "",
            f"{SEED}/sub/b.log": "",
            f"{SEED}/sub/keep.log": "",
        },
    ),
    (
        "negation-cannot-reinclude-under-an-ignored-directory",
        {
            f"{SEED}/.gitignore": "logs/\n!logs/keep.txt\ncache/*\n!cache/keep.txt\n",
            f"{SEED}/logs/keep.txt": "",
            f"{SEED}/logs/other.txt": "",
            f"{SEED}/cache/keep.txt": "",
            f"{SEED}/cache/other.txt": "",
        },
    ),
    (
        "double-star",
        {
            f"{SEED}/.gitignore": "**/tmp\na/**/b.txt\ndata/**\nx**y.txt\n",
            f"{SEED}/tmp/1": "",
            f"{SEED}/deep/er/tmp/2": "",
            f"{SEED}/a/b.txt": "",
            f"{SEED}/a/x/y/b.txt": "",
            f"{SEED}/c/a/b.txt": "",
            f"{SEED}/data/one/two.csv": "",
            f"{SEED}/data.csv": "",
            f"{SEED}/x-any-y.txt": "",
            f"{SEED}/xy.txt": "",
            f"{SEED}/x/y.txt": "",
        },
    ),
    (
        "wildcards-and-classes",
        {
            f"{SEED}/.gitignore": "file?.txt\n[ab].md\n[!c]x.md\n[[:digit:]]*.csv\n*.joblib\n",
            f"{SEED}/file1.txt": "",
            f"{SEED}/file10.txt": "",
            f"{SEED}/a.md": "",
            f"{SEED}/c.md": "",
            f"{SEED}/cx.md": "",
            f"{SEED}/dx.md": "",
            f"{SEED}/1data.csv": "",
            f"{SEED}/data1.csv": "",
            f"{SEED}/models/model.joblib": "",
        },
    ),
    (
        "escapes-comments-and-trailing-spaces",
        {
            f"{SEED}/.gitignore": "# a comment\n\\#hash.txt\n\\!bang.txt\nspaced.txt   \nkept\\ \n\n",
            f"{SEED}/#hash.txt": "",
            f"{SEED}/!bang.txt": "",
            f"{SEED}/spaced.txt": "",
            f"{SEED}/kept ": "",
            f"{SEED}/kept": "",
            f"{SEED}/# a comment": "",
        },
    ),
    (
        "crlf",
        {
            f"{SEED}/.gitignore": "*.bak\r\n/out/\r\n",
            f"{SEED}/a.bak": "",
            f"{SEED}/out/x": "",
        },
    ),
    (
        "root-gitignore-and-deeper-files-win",
        {
            ".gitignore": "*.csv\n/seedcode/s/anchored.txt\nsecret.txt\n",
            f"{SEED}/.gitignore": "!keep.csv\n",
            f"{SEED}/a.csv": "",
            f"{SEED}/keep.csv": "",
            f"{SEED}/anchored.txt": "",
            f"{SEED}/sub/secret.txt": "",
            f"{SEED}/sub/.gitignore": "!secret.txt\n*.tmp\n",
            f"{SEED}/sub/x.tmp": "",
            f"{SEED}/y.tmp": "",
        },
    ),
    (
        "seedcode-gitignore",
        {
            "seedcode/.gitignore": "*.pkl\n",
            f"{SEED}/model.pkl": "",
            f"{SEED}/model.py": "",
        },
    ),
    (
        "glob-folders-only-and-globbed-names",
        {
            f"{SEED}/.gitignore": ".env*/\nnotes*\n",
            f"{SEED}/.envx-old/lib.py": "",
            f"{SEED}/.envfile": "",
            f"{SEED}/notes.md": "",
            f"{SEED}/notes/a.md": "",
        },
    ),
]


def _lay_out(root, files):
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if content is not None else "a file, not a folder\n")


def _git_files(root) -> set[str]:
    """What `git add` would take under the seed folder, with no user or system configuration."""
    env = {
        **os.environ,
        "HOME": str(root),
        "XDG_CONFIG_HOME": str(root),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", "init", "-q", str(root)], check=True, env=env)
    listed = subprocess.run(
        ["git", "-c", f"core.excludesFile={os.devnull}", "ls-files", "-z", "--others", "--exclude-standard", SEED],
        cwd=root,
        check=True,
        capture_output=True,
        env=env,
    ).stdout.decode()
    return {path[len(SEED) + 1 :] for path in listed.split("\0") if path}


needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


@needs_git
@pytest.mark.parametrize("files", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_zipped_files_are_what_git_would_add(tmp_path, files):
    root = tmp_path / "catalog"
    _lay_out(root, files)
    expected = _git_files(root)
    assert set(select(root / SEED, root).files) == expected
    # The case is not vacuous: git leaves something out, and keeps something.
    laid_out = {rel[len(SEED) + 1 :] for rel in files if rel.startswith(SEED + "/")}
    assert expected and expected != laid_out


def test_left_out_paths_are_reported_topmost_first(tmp_path):
    root = tmp_path / "catalog"
    _lay_out(root, dict(CASES[0][1]))
    selection = select(root / SEED, root)
    assert selection.ignored == ["output/", "src/output/"]
    assert "lib/output" in selection.files


def test_caches_and_local_environments_are_left_out_without_a_mention(tmp_path):
    root = tmp_path / "catalog"
    _lay_out(
        root,
        {
            f"{SEED}/app.py": "",
            f"{SEED}/__pycache__/app.cpython-311.pyc": "",
            f"{SEED}/.venv-seed/bin/python": "",
            f"{SEED}/.venv/bin/python": "",
            f"{SEED}/.git/HEAD": "",
        },
    )
    selection = select(root / SEED, root)
    assert selection.files == ["app.py"]
    assert selection.ignored == []


def _catalog_with_local_leftovers(catalog):
    """The bundled catalog's modelbuild seed after a local run: outputs, a model, a log, a venv."""
    seed = catalog / "seedcode" / "modelbuild"
    with (seed / ".gitignore").open("a") as gitignore:
        gitignore.write("*.joblib\n")
    (catalog / ".gitignore").write_text("*.log\n")
    return seed


def test_build_leaves_out_ignored_files_and_says_which(catalog, tmp_path, capsys):
    seed = _catalog_with_local_leftovers(catalog)
    clean = tmp_path / "clean"
    assert main(["--root", str(catalog), "build", "--out", str(clean), "--no-lint", "-q"]) == 0
    assert "left out" not in capsys.readouterr().out

    (seed / "output" / "run1").mkdir(parents=True)
    (seed / "output" / "run1" / "metrics.json").write_text("{}")
    (seed / "model.joblib").write_bytes(b"\x80model")
    (seed / "debug.log").write_text("local run\n")
    (seed / ".venv-local" / "bin").mkdir(parents=True)
    (seed / ".venv-local" / "bin" / "python").write_text("")
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "seedcode/modelbuild: left out 3 ignored paths (debug.log, model.joblib, output/)" in lines
    assert not [line for line in lines if line.startswith("seedcode/modeldeploy:")]
    # Same zip, same content hash as without the leftovers.
    assert (out / "seedcode" / "modelbuild.zip").read_bytes() == (clean / "seedcode" / "modelbuild.zip").read_bytes()
    hashes = [
        json.loads((d / "manifest.json").read_text())["products"]["model-build"]["content_hash"] for d in (clean, out)
    ]
    assert hashes[0] == hashes[1]
    with zipfile.ZipFile(io.BytesIO((out / "seedcode" / "modelbuild.zip").read_bytes())) as archive:
        names = archive.namelist()
    assert ".gitignore" in names
    assert not [n for n in names if n.startswith(("output/", ".venv")) or n.endswith((".joblib", ".log"))]

    # A no-op rebuild says it again, and a new leftover alone renders nothing new.
    (seed / "output" / "run2.csv").write_text("x\n")
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "seedcode/modelbuild: left out 3 ignored paths (debug.log, model.joblib, output/)" in lines
    assert lines[-1].endswith("unchanged")


def test_a_new_ignored_path_is_reported_by_the_next_build(catalog, tmp_path, capsys):
    seed = _catalog_with_local_leftovers(catalog)
    out = tmp_path / "dist"
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    capsys.readouterr()
    (seed / "a.joblib").write_text("")
    assert main(["--root", str(catalog), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "seedcode/modelbuild: left out 1 ignored path (a.joblib)" in lines
    assert lines[-1].endswith("unchanged")  # rendered again, same bytes
