"""API calls the publisher makes, per operation: publish to an empty account, re-publish unchanged,
re-publish after one seed file changed.  First the repository's own (bundled) catalog, built for real.

Runs offline: moto serves S3, STS and Organizations, the Service Catalog test double serves Service
Catalog (tests/fakes/servicecatalog.py).  Counts are API calls as the program makes them (one per
call, whatever botocore's retries do).  Then two made-up catalogs: a small one shaped like the bundled catalog
(3 products, 2 portfolios, 4 share targets) and a synthetic one (100 products in 2 portfolios, 5
share targets each).  A last column re-publishes the small catalog unchanged after ten more versions
to show that reads do not grow with versions.  A first publish reads each resource it creates once
more (DescribePortfolio/DescribeProductAsAdmin/DescribeProvisioningArtifact/DescribeConstraint): a
create repeated after its resource was deleted answers with the deleted id, and that check catches it.

S3 templates (portfolios with ``publish_to: [s3]``): the bundled catalog with its portfolio files switched to S3 in
a temporary copy, and the synthetic catalog; first publish and no-op, API calls and wall time (moto S3 only:
no Service Catalog call is made).

Organization scale (last): 100 products, 5 portfolios, 20 share targets, against a Service Catalog double
that takes SCALE_LATENCY per call and throttles each operation past SCALE_RATE (see ``scale_scenarios``): the
first publish strictly sequential (--max-parallel 1) and at the default --max-parallel, then a no-op, with
the targets checked (wall time, no-op reads, throttling errors reaching the user).

    python bench/publish_bench.py [--products 100] [--dist DIR]   # --dist: also measure a real dist/
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

for _name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SERVICE_CATALOG"):
    os.environ.pop(_name, None)
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1",
                  AWS_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                  AWS_EC2_METADATA_DISABLED="true")

from moto import mock_aws  # noqa: E402

from generator.publish import cli  # noqa: E402
from generator.publish.aws import Runtime, is_read_operation  # noqa: E402
from tests.fakes.aws import client, make_session, s3_template_checker  # noqa: E402
from tests.fakes.catalog import build_dist, default_spec, synthetic_spec  # noqa: E402
from tests.fakes.servicecatalog import ServiceCatalogDouble  # noqa: E402

BUCKET = "smcat-bench-artifacts"
TEMPLATES_BUCKET = "smcat-bench-templates"
ORG_ID = "o-abcdefghij"
SHORT = {"servicecatalog": "sc", "s3": "s3", "sts": "sts", "organizations": "orgs"}


def publish(dist: Path, *extra: str) -> tuple[int, Counter, float]:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["publish", "--dist", str(dist), "--bucket", BUCKET, "--format", "json", *extra])
    runtime = Runtime(sleep=lambda _s: None, session_factory=make_session)
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        code = cli.run_publish(args, runtime=runtime, stdout=sink, stderr=sink)
    return code, runtime.counter.snapshot(), time.perf_counter() - started


def publish_s3(dist: Path, *extra: str) -> tuple[int, Counter, float]:
    """publish for a catalog whose portfolios all publish to S3 templates (no --bucket needed)."""
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["publish", "--dist", str(dist), "--format", "json", *extra])
    runtime = Runtime(sleep=lambda _s: None, session_factory=make_session)
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        code = cli.run_publish(args, runtime=runtime, stdout=sink, stderr=sink)
    return code, runtime.counter.snapshot(), time.perf_counter() - started


def s3_scenarios(dist: Path, *extra: str) -> tuple[dict[str, Counter], dict[str, float]]:
    """First publish and no-op of S3 templates into an empty bucket."""
    results: dict[str, Counter] = {}
    seconds: dict[str, float] = {}
    with mock_aws():
        client("s3").create_bucket(Bucket=TEMPLATES_BUCKET)
        for name in ("first", "no-op"):
            code, results[name], seconds[name] = publish_s3(dist, *extra)
            assert code == 0, f"S3 {name}: exit {code}"
    return results, seconds


def switch_to_s3(sources: Path) -> None:
    """The bundled portfolio files, moved to S3 templates as a platform engineer would: publish_to [s3],
    the bucket, the organization of the OU shares; the Service Catalog-only keys dropped."""
    import yaml

    for path in sorted((sources / "portfolios").glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        for key in ("launch_constraint", "principals", "tags", "tag_options"):
            data.pop(key, None)
        data.update(publish_to=["s3"], organization_id=ORG_ID,
                    s3_templates={"bucket": TEMPLATES_BUCKET, "prefix": "sagemaker-templates/"})
        path.write_text(yaml.safe_dump(data, sort_keys=False))


def s3_table(title: str, results: dict[str, Counter], seconds: dict[str, float]) -> str:
    return table(title, results) + "\n" + f"{'wall time (s)':<{_width(results)}}" + "".join(
        f"{seconds[c]:>11.2f}" for c in results)


def _width(results: dict[str, Counter]) -> int:
    keys = {key for counts in results.values() for key in counts}
    return max(len(f"{SHORT.get(s, s)}:{op}") for s, op in keys) + 4


def change_one_seed(spec: dict) -> dict:
    product = next(p for p in spec["products"].values() if p["seeds"])
    seed = next(iter(product["seeds"]))
    files = dict(product["seeds"][seed])
    first = sorted(files)[0]
    files[first] += "# changed\n"
    for p in spec["products"].values():  # every product shipping that seed gets the new zip
        if seed in p["seeds"]:
            p["seeds"][seed] = files
    return spec


def scenarios(spec: dict, work: Path, *, versions_column: bool) -> dict[str, Counter]:
    results: dict[str, Counter] = {}
    with mock_aws():
        client("s3").create_bucket(Bucket=BUCKET)
        client("organizations").create_organization(FeatureSet="ALL")
        with ServiceCatalogDouble(template_checker=s3_template_checker):
            dist = build_dist(work / "v0", spec)
            for name, target in (("first", dist), ("no-op", dist)):
                code, counts, _ = publish(target)
                assert code == 0, f"{name}: exit {code}"
                results[name] = counts
            changed = build_dist(work / "v1", change_one_seed(spec))
            code, counts, _ = publish(changed)
            assert code == 0, f"1-file: exit {code}"
            results["1-file"] = counts
            if versions_column:
                for i in range(10):
                    target = build_dist(work / f"w{i}", change_one_seed(spec))
                    assert publish(target)[0] == 0
                code, counts, _ = publish(target)
                assert code == 0
                results["no-op+10v"] = counts
    return results


def _copy_sources(sources: Path) -> None:
    import shutil

    for name in ("products", "portfolios", "seedcode"):
        shutil.copytree(REPO / name, sources / name, ignore=shutil.ignore_patterns("__pycache__", ".*cache"))


def _build(sources: Path, out: Path) -> Path:
    import contextlib
    import io

    from generator.cli import main as smcat

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        assert smcat(["--root", str(sources), "build", "--out", str(out), "--no-lint", "-q"]) == 0
    return out


def bundled_s3_scenarios(work: Path) -> tuple[dict[str, Counter], dict[str, float], str]:
    """The repository's own catalog with its portfolios switched to S3 templates (a temporary copy)."""
    sources = work / "sources"
    _copy_sources(sources)
    switch_to_s3(sources)
    dist = _build(sources, work / "bundled-s3")
    manifest = json.loads((dist / "manifest.json").read_text())
    shape = f"{len(manifest['products'])} products, {len(manifest['portfolios'])} portfolios"
    results, seconds = s3_scenarios(dist, "--allow-lint-findings")  # built with --no-lint for speed
    return results, seconds, shape


def bundled_scenarios(work: Path) -> tuple[dict[str, Counter], str]:
    """The repository's own catalog: built, published, re-published, then one seed file changed."""
    sources = work / "sources"
    _copy_sources(sources)

    def build(out: Path) -> Path:
        return _build(sources, out)

    results: dict[str, Counter] = {}
    with mock_aws():
        client("s3").create_bucket(Bucket=BUCKET)
        client("organizations").create_organization(FeatureSet="ALL")
        with ServiceCatalogDouble(template_checker=s3_template_checker):
            dist = build(work / "bundled-v0")
            manifest = json.loads((dist / "manifest.json").read_text())
            shape = f"{len(manifest['products'])} products, {len(manifest['portfolios'])} portfolios"
            # built with --no-lint for speed: publish refuses an unlinted build without the flag
            for name in ("first", "no-op"):
                code, results[name], _ = publish(dist, "--allow-lint-findings")
                assert code == 0, f"{name}: exit {code}"
            readme = sources / "seedcode" / "modeldeploy" / "README.md"  # shipped by two products
            readme.write_text(readme.read_text() + "\nChanged.\n")
            code, results["1-file"], _ = publish(build(work / "bundled-v1"), "--allow-lint-findings")
            assert code == 0, f"1-file: exit {code}"
    return results, shape


def table(title: str, results: dict[str, Counter]) -> str:
    columns = list(results)
    operations = sorted({key for counts in results.values() for key in counts},
                        key=lambda k: (not is_read_operation(k[1]), k[0] != "servicecatalog", k))
    width = max(len(f"{SHORT.get(s, s)}:{op}") for s, op in operations) + 4
    lines = [title, f"{'operation':<{width}}" + "".join(f"{c:>11}" for c in columns)]
    for service, op in operations:
        label = f"{'R' if is_read_operation(op) else 'W'} {SHORT.get(service, service)}:{op}"
        lines.append(f"{label:<{width}}" + "".join(f"{results[c].get((service, op), 0):>11}" for c in columns))
    for kind, test in (("reads", True), ("writes", False)):
        totals = [sum(n for (_, op), n in results[c].items() if is_read_operation(op) == test) for c in columns]
        lines.append(f"{'TOTAL ' + kind:<{width}}" + "".join(f"{t:>11}" for t in totals))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ organization scale

#: Seconds each Service Catalog call takes.  AWS publishes no latency for Service Catalog; a regional control-plane
#: call takes tens to hundreds of milliseconds.  A low value is the conservative choice here: local work (botocore,
#: moto, the double's validation, under one GIL) then weighs more, and it does not overlap as waits do.
SCALE_LATENCY = 0.04
#: (requests per second, bucket size) of each operation's token bucket per region.  AWS publishes no request rate
#: for Service Catalog (its quotas page lists resource quotas only); the shape is the one AWS documents for EC2
#: ("each API is evaluated individually", per account and Region, e.g. DescribeHosts: bucket 100, refill 20/s).
#: The rate is 1/SCALE_LATENCY, what one caller waiting for each answer can send: a sequential publish is never
#: throttled, a parallel one is as soon as it sends one operation faster than that.
SCALE_RATE = (1 / SCALE_LATENCY, 1 / SCALE_LATENCY)
SCALE_PORTFOLIOS = 5
SCALE_SHARES_PER_PORTFOLIO = 4
#: the targets of issue 13 point 7
TARGET_RATIO = 0.35


def org_scale_spec(products: int) -> dict:
    """Four team portfolios of a quarter of the products each and one organization-wide portfolio with all of
    them (every product in two portfolios); each portfolio shared with 3 OUs and 1 account: 20 share targets."""
    spec = synthetic_spec(products, portfolios=SCALE_PORTFOLIOS, shares_per_portfolio=SCALE_SHARES_PER_PORTFOLIO)
    keys = list(spec["products"])
    teams = SCALE_PORTFOLIOS - 1
    for index, portfolio in enumerate(spec["portfolios"].values()):
        if index < teams:
            portfolio["products"] = keys[index::teams]
    return spec


class StandardRetries(Runtime):
    """The publisher's runtime with botocore's standard retry mode: no client-side rate limiter (comparison only)."""

    def config(self):
        config = super().config()
        return config.merge(type(config)(retries={"mode": "standard", "total_max_attempts": self.max_attempts}))


def publish_json(dist: Path, *extra: str, runtime: Runtime | None = None) -> tuple[int, Counter, float, dict]:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers())
    args = parser.parse_args(["publish", "--dist", str(dist), "--bucket", BUCKET, "--format", "json", *extra])
    runtime = runtime or Runtime(sleep=lambda _s: None, session_factory=make_session)
    out = io.StringIO()
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        code = cli.run_publish(args, runtime=runtime, stdout=out, stderr=sink)
    return code, runtime.counter.snapshot(), time.perf_counter() - started, json.loads(out.getvalue() or "{}")


def _throttles_reaching_user(result: dict) -> int:
    regions = result.get("result", {}).get("regions", [])
    failed = [o for r in regions for o in [r.get("failed"), *r.get("also_failed", [])] if o]
    return sum("Throttling" in o["message"] or "Rate exceeded" in o["message"] for o in failed)


def _scale_run(dist: Path, *extra: str, runtime: Runtime | None = None, noop: bool = False) -> dict:
    """A first publish (and a no-op after it) into an empty account served by a timed double."""
    figures: dict = {}
    with mock_aws():
        client("s3").create_bucket(Bucket=BUCKET)
        client("organizations").create_organization(FeatureSet="ALL")
        with ServiceCatalogDouble(template_checker=s3_template_checker, latency=SCALE_LATENCY,
                                  rate_limit=SCALE_RATE) as double:
            code, counts, seconds, result = publish_json(dist, *extra, runtime=runtime)
            figures["first"] = {"code": code, "counts": counts, "seconds": seconds, "throttled": double.throttled,
                                "to_user": _throttles_reaching_user(result), "max_in_flight": double.max_in_flight}
            if noop:
                before = double.throttled
                code, counts, seconds, result = publish_json(dist, *extra)
                figures["no-op"] = {"code": code, "counts": counts, "seconds": seconds,
                                    "throttled": double.throttled - before, "to_user": _throttles_reaching_user(result)}
    return figures


def scale_scenarios(work: Path, products: int) -> tuple[str, bool]:
    spec = org_scale_spec(products)
    dist = build_dist(work / "scale", spec)
    shares = sum(len(p["shares"]) for p in spec["portfolios"].values())
    budget = products + SCALE_PORTFOLIOS + shares
    sequential = _scale_run(dist, "--max-parallel", "1")["first"]
    parallel = _scale_run(dist, noop=True)
    standard = _scale_run(dist, runtime=StandardRetries(sleep=lambda _s: None, session_factory=make_session))["first"]
    first, noop = parallel["first"], parallel["no-op"]
    ratio = first["seconds"] / sequential["seconds"]
    reads = sum(n for (_, op), n in noop["counts"].items() if is_read_operation(op))
    writes = sum(n for (_, op), n in noop["counts"].items() if not is_read_operation(op))
    to_user = sum(r["to_user"] for r in (sequential, first, noop))
    codes = [r["code"] for r in (sequential, first, noop)]
    ok = ratio <= TARGET_RATIO and reads <= budget and writes == 0 and to_user == 0 and codes == [0, 0, 0]
    lines = [
        f"== organization scale: {products} products, {SCALE_PORTFOLIOS} portfolios (4 team portfolios of "
        f"{products // 4} + 1 with all), {shares} share targets ==",
        f"double: {SCALE_LATENCY * 1000:.0f} ms per Service Catalog call; each operation throttled past "
        f"{SCALE_RATE[0]:.0f} requests/s (bucket {SCALE_RATE[1]:.0f}) per region",
        f"first publish, sequential (--max-parallel 1): {sequential['seconds']:6.1f} s, "
        f"{sum(sequential['counts'].values())} API calls, {sequential['throttled']} throttled",
        f"first publish, parallel (--max-parallel 8):   {first['seconds']:6.1f} s, "
        f"{sum(first['counts'].values())} API calls, {first['throttled']} throttled and retried, at most "
        f"{first['max_in_flight']} Service Catalog calls in flight",
        f"  wall time parallel / sequential: {ratio:.2f} (target <= {TARGET_RATIO}): "
        f"{'PASS' if ratio <= TARGET_RATIO else 'FAIL'}",
        f"  same, botocore standard retries (no client-side rate limiter): {standard['seconds']:.1f} s "
        f"({standard['seconds'] / sequential['seconds']:.2f}), {sum(standard['counts'].values())} API calls, "
        f"{standard['throttled']} throttled, {standard['to_user']} reaching the user (exit {standard['code']})",
        f"no-op publish: {noop['seconds']:.1f} s, {reads} reads (budget products + portfolios + share targets = "
        f"{budget}): {'PASS' if reads <= budget else 'FAIL'}; {writes} writes",
        "  reads: " + ", ".join(f"{SHORT.get(svc, svc)}:{op} {n}" for (svc, op), n in sorted(noop["counts"].items())
                                 if is_read_operation(op)),
        f"throttling errors reaching the user: {to_user} (exit codes {codes}): {'PASS' if to_user == 0 else 'FAIL'}",
    ]
    return "\n".join(lines), ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=100, help="products in the synthetic catalog")
    parser.add_argument("--dist", type=Path, default=None, help="also measure an existing dist/ (first + no-op)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        bundled, shape = bundled_scenarios(work / "bundled")
        print(table(f"== bundled catalog (this repository): {shape} ==", bundled))
        print()
        small = scenarios(default_spec(), work / "small", versions_column=True)
        print(table("== small catalog: 3 products, 2 portfolios, 4 share targets ==", small))
        print()
        large = scenarios(synthetic_spec(args.products), work / "large", versions_column=False)
        print(table(f"== synthetic catalog: {args.products} products, 2 portfolios, 10 share targets ==", large))
        print()
        s3_bundled, s3_bundled_seconds, s3_shape = bundled_s3_scenarios(work / "bundled-s3")
        print(s3_table(f"== S3 templates, bundled catalog switched to publish_to [s3]: {s3_shape} ==", s3_bundled,
                       s3_bundled_seconds))
        print()
        from tests.fakes.s3templates import build_s3_dist, s3_spec

        s3_large, s3_large_seconds = s3_scenarios(build_s3_dist(
            work / "large-s3", s3_spec(synthetic_spec(args.products), bucket=TEMPLATES_BUCKET, organization_id=ORG_ID)))
        print(s3_table(f"== S3 templates, synthetic catalog: {args.products} products, 2 portfolios ==", s3_large,
                       s3_large_seconds))
        if args.dist is not None:
            with mock_aws():
                client("s3").create_bucket(Bucket=BUCKET)
                client("organizations").create_organization(FeatureSet="ALL")
                with ServiceCatalogDouble(template_checker=s3_template_checker):
                    real = {name: publish(args.dist)[1] for name in ("first", "no-op")}
            print()
            print(table(f"== {args.dist} ==", real))
        print()
        scale, scale_ok = scale_scenarios(work / "scale", args.products)
        print(scale)
        print(f"\n(R = read, W = write; {time.perf_counter() - started:.1f}s in total)")
    noop = [bundled["no-op"], large["no-op"], small["no-op"], small["no-op+10v"], s3_bundled["no-op"],
            s3_large["no-op"]]
    writes = sum(n for counts in noop for (_, op), n in counts.items() if not is_read_operation(op))
    same_reads = sum(small["no-op"].values()) == sum(small["no-op+10v"].values())
    print(f"no-op publishes: {writes} writes; reads unchanged after 10 more versions: {same_reads}")
    return 0 if writes == 0 and same_reads and scale_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
