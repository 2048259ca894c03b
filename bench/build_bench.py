#!/usr/bin/env python3
"""Build benchmark: prints figures, asserts nothing (targets are printed beside them).

Measures, as wall-clock time of whole commands (what a user waits for):
  1. a full build of the bundled catalog (empty lint cache, new dist),
  2. a bare `cfn-lint` over the same templates (no custom rules),
  3. a no-op rebuild (nothing changed since the last build),
  4. a full build of a synthetic 100-product catalog made in a temporary directory.

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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], **kwargs) -> float:
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 1):  # 1 = lint findings, still a completed run
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr}")
    return elapsed


def median(cmd_factory, repeat: int, before=None) -> float:
    samples = []
    for _ in range(repeat):
        if before:
            before()
        samples.append(timed(cmd_factory()))
    return statistics.median(samples)


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median is printed)")
    parser.add_argument("--products", type=int, default=100, help="size of the synthetic catalog")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        out = tmp / "dist"
        cache = ROOT / ".cache" / "smcat"

        def fresh() -> None:
            shutil.rmtree(out, ignore_errors=True)
            shutil.rmtree(cache, ignore_errors=True)

        build = [python, str(ROOT / "build.py"), "build", "-q", "--out", str(out)]
        full = median(lambda: build, args.repeat, before=fresh)
        templates = sorted(str(p) for p in (out / "templates").glob("*.json"))
        bare = median(lambda: [str(BIN / "cfn-lint"), *templates], args.repeat)
        timed(build)
        noop = median(lambda: build, max(args.repeat, 5))

        synth = synthetic_catalog(tmp, args.products)
        synth_out = tmp / "synthetic-dist"

        def fresh_synth() -> None:
            shutil.rmtree(synth_out, ignore_errors=True)
            shutil.rmtree(synth / ".cache", ignore_errors=True)

        synth_cmd = [python, str(ROOT / "build.py"), "--root", str(synth), "build", "-q", "--out", str(synth_out)]
        hundred = median(lambda: synth_cmd, max(1, args.repeat - 1), before=fresh_synth)

    rows = [
        (
            "full build, bundled catalog",
            f"{full:.2f} s",
            f"<= {1.5 * bare:.2f} s (1.5 x bare cfn-lint)",
            full <= 1.5 * bare,
        ),
        (f"bare cfn-lint, {len(templates)} templates", f"{bare:.2f} s", "", None),
        ("no-op rebuild", f"{noop:.3f} s", "<= 0.300 s", noop <= 0.3),
        (f"full build, {args.products} synthetic products", f"{hundred:.2f} s", "<= 15 s on 2 cores", hundred <= 15),
    ]
    print(f"smcat build benchmark ({os.cpu_count()} cores, median of {args.repeat})")
    for label, value, target, ok in rows:
        verdict = "" if ok is None else ("meets target" if ok else "MISSES target")
        print(f"  {label:<36} {value:>9}   {target:<34} {verdict}")
    print(f"  ratio full build / bare cfn-lint: {full / bare:.2f}")


if __name__ == "__main__":
    main()
