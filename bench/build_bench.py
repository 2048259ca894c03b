#!/usr/bin/env python3
"""Build benchmark, judged by ratios: each figure is a build command's wall-clock time over that of a
bare `cfn-lint` (no custom rules) over the same templates, measured in the same run. Seconds differ from
machine to machine and with the load on it; the ratio to a bare cfn-lint run beside it much less.

Each build run is paired with a bare cfn-lint run right after it, and the median of the pair-by-pair
ratios is printed with a verdict against its target:
  1. a full build of the bundled catalog (empty lint cache, new dist)             <= 1.5
  2. a no-op rebuild of it (nothing changed since the last build)                  <= 0.05
  3. a full build of a synthetic 100-product catalog made in a temporary directory <= 0.6 (2 cores)
and, to show where the build's time goes, the synthetic catalog built without lint (rendering, docs,
seed-code zips) over the same bare cfn-lint, with no target. The header says how many cores were free to
the run (other sessions' work takes cores from the parallel build, not from the one-core cfn-lint): the
targets hold for an idle machine.

Usage: python bench/build_bench.py [--repeat N] [--products N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TARGET_CORES = 2  # the 100-product target is set for this many cores


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):  # 1 = lint findings, still a completed run
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def paired_ratio(build: list[str], bare: list[str], repeat: int, before: Callable[[], None] | None = None) -> float:
    """The median over `repeat` pairs of (build time / bare cfn-lint time), each pair run back to back."""
    ratios = []
    for _ in range(repeat):
        if before:
            before()
        ratios.append(timed(build) / timed(bare))
    return statistics.median(ratios)


def synthetic_catalog(where: Path, count: int) -> Path:
    """`count` products made from the model-build module, each with its own name and description."""
    root = where / "synthetic"
    shutil.copytree(ROOT / "seedcode", root / "seedcode", ignore=shutil.ignore_patterns("__pycache__", ".venv*"))
    (root / "products").mkdir(parents=True)
    (root / "portfolios").mkdir()
    source = (ROOT / "products" / "model_build.py").read_text()
    names = []
    for i in range(count):
        name = f"synthetic-{i:03d}"
        text = source.replace('name="model-build"', f'name="{name}"')
        text = re.sub(r"\(smcat model-build\)", f"(smcat {name})", text)
        (root / "products" / f"synthetic_{i:03d}.py").write_text(text)
        names.append(name)
    (root / "portfolios" / "synthetic.yaml").write_text(
        "display_name: Synthetic\nprovider: Bench\nlaunch_constraint:\n  local_role_name: SageMakerProjectsLaunchRole\n"
        "products:\n" + "".join(f"  - {n}\n" for n in names)
    )
    return root


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(1000))


def free_cores(cores: int, seconds: float = 1.0) -> float:
    """How many cores this run gets now: `cores` CPU-bound processes spin for `seconds` of wall time, and
    their CPU time over it is the answer. Other sessions' work (which Linux shares the cores with by
    session, not by process) leaves fewer than `cores` to a build that lints in parallel."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    before = os.times()
    workers = [context.Process(target=_spin, args=(seconds,)) for _ in range(cores)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    after = os.times()
    return (after.children_user - before.children_user + after.children_system - before.children_system) / seconds


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return "meets target" if ratio <= target else "MISSES target"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="pairs per ratio (the median is printed)")
    parser.add_argument("--products", type=int, default=100, help="size of the synthetic catalog")
    args = parser.parse_args()
    python = sys.executable
    cfn_lint = str(BIN / "cfn-lint")
    cores = os.cpu_count() or 1
    free_before = free_cores(cores)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "dist"
        cache = ROOT / ".cache" / "smcat"

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)

        build = [python, str(ROOT / "build.py"), "build", "-q", "--out", str(out)]
        fresh()
        timed(build)  # warm the file cache; also gives the templates bare cfn-lint runs over
        bare = [cfn_lint, *sorted(str(p) for p in (out / "templates").glob("*.json"))]
        count = len(bare) - 1
        rows.append((f"full build / bare cfn-lint, {count} bundled templates",
                     paired_ratio(build, bare, args.repeat, before=fresh), 1.5))
        timed(build)
        rows.append(("no-op rebuild / bare cfn-lint, same templates", paired_ratio(build, bare, max(args.repeat, 5)),
                     0.05))

        synth = synthetic_catalog(tmp, args.products)
        synth_out = tmp / "synthetic-dist"

        def fresh_synth() -> None:
            shutil.rmtree(synth_out, ignore_errors=True)
            shutil.rmtree(synth / ".cache", ignore_errors=True)

        synth_build = [python, str(ROOT / "build.py"), "--root", str(synth), "build", "-q", "--out", str(synth_out)]
        fresh_synth()
        timed(synth_build)
        synth_bare = [cfn_lint, *sorted(str(p) for p in (synth_out / "templates").glob("*.json"))]
        pairs = max(1, args.repeat - 1)
        rows.append((f"full build / bare cfn-lint, {args.products} synthetic products",
                     paired_ratio(synth_build, synth_bare, pairs, before=fresh_synth), 0.6))
        rows.append(("  of which without lint (render, docs, zips)",
                     paired_ratio([*synth_build, "--no-lint"], synth_bare, pairs, before=fresh_synth), None))

    free = min(free_before, free_cores(cores))
    print(f"smcat build benchmark: ratios of wall-clock time to a bare cfn-lint over the same templates "
          f"({cores} cores, {free:.1f} free to this run; median of {args.repeat} pairs, "
          f"{max(1, args.repeat - 1)} for the synthetic catalog)")
    for label, ratio, target in rows:
        goal = "" if target is None else f"<= {target:g}"
        print(f"  {label:<58} {ratio:>6.2f}   {goal:<8} {verdict(ratio, target)}")
    if cores != TARGET_CORES:
        print(f"  (the {args.products}-product target is set for {TARGET_CORES} cores; this machine has {cores})")
    if free < cores - 0.3:
        print(f"  (only {free:.1f} of {cores} cores were free: the build lints on every core, the bare cfn-lint on "
              "one, so with cores taken by other work the ratios read high; run it again on an idle machine)")


if __name__ == "__main__":
    main()
