"""Publishing at scale: independent actions at once (--max-parallel), every dependency kept in order, a failure
reported exactly, throttling retried, and botocore adaptive mode's client-side rate limiter shared by the threads.

The timed double (latency, rate_limit: tests/fakes/servicecatalog.py) makes calls overlap as they would against
AWS; nothing here asserts a duration (bench/publish_bench.py measures time)."""

from __future__ import annotations

import argparse
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.retries.adaptive import ClientRateLimiter

from generator.publish import cli
from generator.publish.aws import Clients, Runtime
from generator.publish.executor import ActionFailed, Executor
from generator.publish.manifest import load_catalog
from generator.publish.model import Action, ActionOutcome, Options, RegionResult
from generator.publish.schedule import Scopes, apply_concurrently, dependencies
from tests.publish.conftest import BUCKET, build_dist, default_spec, is_ledger_write, make_session, synthetic_spec

FAILURES = (ActionFailed,)


def _action(target: str, resource: str = "x", kind: str = "create") -> Action:
    return Action(kind, resource, target, "us-east-1")


# ------------------------------------------------------------------------------------------ deciding


def test_dependencies_follow_the_scopes():
    scopes = [
        Scopes((("portfolio", "P"),)),                                         # 0 portfolio
        Scopes((("product", "X"),)),                                           # 1 product X
        Scopes((("product", "Y"),)),                                           # 2 product Y
        Scopes((("portfolio", "P", "product", "X"),), (("product", "X"),)),    # 3 association P-X
        Scopes((("portfolio", "P", "product", "Y"),), (("product", "Y"),)),    # 4 association P-Y
        Scopes((("portfolio", "P", "product", "X", "launch-constraint"),), (("product", "X"),)),  # 5
        Scopes((("portfolio", "P"),)),                                         # 6 share 1
        Scopes((("portfolio", "P"),)),                                         # 7 share 2
        Scopes((("product", "X"),)),                                           # 8 applied digest of X
    ]
    deps = dependencies(scopes)
    assert deps[1] == deps[2] == set()  # products are independent of each other and of the portfolio
    assert deps[3] == {0, 1} and deps[4] == {0, 2}  # two associations needing other products: independent
    assert deps[5] == {0, 1, 3}  # the constraint after its association
    assert deps[6] == {0, 3, 4, 5}  # a share after everything of its portfolio
    assert deps[7] == {0, 3, 4, 5, 6}  # shares of one portfolio one at a time
    assert deps[8] == {1, 3, 5}  # the product's digest after everything that needed it; not P-Y's association


def test_one_at_a_time_is_plan_order():
    writes = [_action(f"t{i}", resource=("a", "b", "c")[i % 3]) for i in range(9)]
    order: list[str] = []

    def apply(action: Action) -> ActionOutcome:
        order.append(action.target)
        return ActionOutcome(action, "applied")

    result = apply_concurrently(RegionResult("us-east-1"), writes, apply, _Quiet(), max_parallel=1,
                                scopes=lambda a: Scopes((("r", a.target),)), failures=FAILURES)
    assert order == [a.target for a in writes] and [o.action for o in result.applied] == writes


class _Quiet:
    def start(self, *_args) -> None: ...

    def finish(self, *_args) -> None: ...

    def info(self, *_args) -> None: ...


def test_a_failure_stops_new_starts_and_the_report_is_exact():
    """Three independent actions in flight; one fails, one fails too, one succeeds: nothing else starts."""
    writes = [_action(f"independent/{i}") for i in range(3)] + [_action(f"later/{i}") for i in range(5)]
    in_flight = threading.Barrier(3)
    started: list[str] = []

    def apply(action: Action) -> ActionOutcome:
        started.append(action.target)
        if action.target.startswith("independent/"):
            in_flight.wait(timeout=30)  # all three are running before any ends
        if action.target in ("independent/1", "independent/2"):
            raise ActionFailed(f"{action.target} broke")
        return ActionOutcome(action, "applied")

    result = apply_concurrently(RegionResult("us-east-1"), writes, apply, _Quiet(), max_parallel=3,
                                scopes=lambda a: Scopes((tuple(a.target.split("/")),)), failures=FAILURES)
    assert sorted(started) == ["independent/0", "independent/1", "independent/2"]
    assert [o.action.target for o in result.applied] == ["independent/0"]
    failed = [result.failed.action.target] + [o.action.target for o in result.also_failed]
    assert sorted(failed) == ["independent/1", "independent/2"]
    assert "broke" in result.failed.message
    assert result.remaining == writes[3:]


def test_ctrl_c_lets_the_actions_in_flight_finish_then_reports_the_rest(monkeypatch):
    import generator.publish.schedule as schedule

    real_wait, interrupts = schedule.wait, []

    def wait_interrupted_once(*args, **kwargs):
        if not interrupts:
            interrupts.append("^C")
            raise KeyboardInterrupt
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(schedule, "wait", wait_interrupted_once)
    writes = [_action(f"independent/{i}") for i in range(6)]
    result = apply_concurrently(RegionResult("us-east-1"), writes, lambda a: ActionOutcome(a, "applied"), _Quiet(),
                                max_parallel=2, scopes=lambda a: Scopes((tuple(a.target.split("/")),)),
                                failures=FAILURES)
    assert [o.action for o in result.applied] == writes[:2]  # in flight at Ctrl-C: finished
    assert result.failed.action == writes[2] and "interrupted" in result.failed.message
    assert result.remaining == writes[3:]


# ------------------------------------------------------------------------------------------ against the double


@pytest.mark.parametrize("change", ["first publish", "new version"])
def test_versions_wait_for_their_uploads_and_deprecations_for_the_new_version(double, tmp_path, run_cli, change):
    spec = default_spec()
    if change == "new version":
        assert run_cli("publish", build_dist(tmp_path / "a", spec)).code == 0
        spec["products"]["model-build"]["seeds"]["modelbuild"] = {"pipeline.py": "v2\n"}
        spec["products"]["model-build"]["version"] = "1.1.0"
    dist = build_dist(tmp_path / "b", spec)
    plan = run_cli("plan", dist, "--format", "json", "--keep-versions", "1").json["plan"]
    writes = [Action(**a) for r in plan["regions"] for a in r["actions"] if a["kind"] != "noop"]
    executor = Executor(load_catalog(dist), Options(bucket=BUCKET), Runtime())
    deps = dependencies([executor._scopes(a) for a in writes])
    catalog = load_catalog(dist)
    checked = 0
    for index, action in enumerate(writes):
        if action.resource not in ("product", "artifact") or action.kind != "create":
            continue
        product = catalog.products[action.target.split("/")[1]]
        mine = {f"/{product.key}/", *(f"/{seed.sha256}.zip" for seed in product.seeds)}
        uploads = {i for i, a in enumerate(writes) if a.resource == "s3-object" and any(m in a.target for m in mine)}
        assert uploads and uploads <= deps[index], action.target
        checked += 1
    assert checked == (3 if change == "first publish" else 1)
    # an older version is deprecated only once the new one exists
    for index, action in enumerate(writes):
        if action.kind == "deprecate":
            created = next(i for i, a in enumerate(writes) if a.resource == "artifact" and a.kind == "create"
                           and a.target.split("/")[1] == action.target.split("/")[1])
            assert created in deps[index]
            checked += 1
    assert checked == (3 if change == "first publish" else 2)


def _publish(dist, *extra: str, runtime: Runtime | None = None) -> tuple[int, dict, str]:
    """publish --format json, without the tests' instant sleeps (the rate limit refills in real time)."""
    parser = argparse.ArgumentParser(prog="smcat")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["publish", "--dist", str(dist), "--bucket", BUCKET, "--format", "json", *extra])
    out, err = io.StringIO(), io.StringIO()
    runtime = runtime or Runtime(sleep=lambda _s: None, session_factory=make_session)
    code = args.func(args, runtime=runtime, stdout=out, stderr=err)
    return code, json.loads(out.getvalue()), err.getvalue()


def _ok(double, operation: str) -> list:
    return [c for c in double.ops(operation) if c.error is None and not is_ledger_write(c)]


def _pair(call) -> tuple[str, str]:
    return call.params["PortfolioId"], call.params["ProductId"]


def test_parallel_publish_keeps_every_dependency_ordered(double, tmp_path):
    double.latency = 0.01  # calls overlap as they would against AWS
    dist = build_dist(tmp_path, synthetic_spec(10, portfolios=3, seeds=3, shares_per_portfolio=2))
    code, answer, err = _publish(dist, "--max-parallel", "6")
    assert code == 0, err  # LoadTemplateFromURL was readable at every create: templates were uploaded first
    region = double.region("us-east-1")
    product_id = {p["Name"]: pid for pid, p in region.products.items()}

    created = {product_id[c.params["Name"]]: c for c in _ok(double, "CreateProduct")}
    associated = {_pair(c): c for c in _ok(double, "AssociateProductWithPortfolio")}
    assert len(associated) == 30
    for (_portfolio, product), association in associated.items():
        assert association.started >= created[product].ended
    for constraint in _ok(double, "CreateConstraint"):
        assert constraint.started >= associated[_pair(constraint)].ended

    for portfolio in region.portfolios:
        calls = [c for c in double.writes() if c.error is None and c.params.get("PortfolioId", c.params.get("Id"))
                 == portfolio]
        shares = [c for c in calls if c.operation == "CreatePortfolioShare"]
        others = [c for c in calls if c.operation != "CreatePortfolioShare" and not is_ledger_write(c)]
        assert len(shares) == 2 and min(s.started for s in shares) >= max(c.ended for c in others)
        digest = [c for c in calls if is_ledger_write(c)]
        assert len(digest) == 1 and digest[0].started >= max(c.ended for c in calls if c is not digest[0])
    # shares of one portfolio one at a time: Service Catalog never answered "another share operation is running"
    assert not [c for c in double.calls if c.error == "InvalidStateException"]
    for product, create in created.items():
        digest = [c for c in double.ops("UpdateProduct") if c.params["Id"] == product and is_ledger_write(c)]
        assert len(digest) == 1 and digest[0].started >= create.ended
    # bounded: never more calls in flight than --max-parallel (one call at a time per action), and really parallel
    assert 1 < double.max_in_flight <= 6
    assert answer["status"] == "ok"


def test_a_failure_in_a_parallel_publish_is_reported_exactly_and_a_rerun_converges(double, tmp_path):
    double.latency = 0.005
    dist = build_dist(tmp_path, synthetic_spec(8, portfolios=2, seeds=2, shares_per_portfolio=2))
    double.inject("AssociateProductWithPortfolio", "InjectedFault", on_call=3, message="connection reset")
    code, answer, _ = _publish(dist, "--max-parallel", "4")
    assert code == 1
    (region,) = answer["result"]["regions"]
    planned = [a for r in answer["plan"]["regions"] for a in r["actions"] if a["kind"] != "noop"]
    reported = ([o["action"] for o in region["applied"]] + [region["failed"]["action"]]
                + [o["action"] for o in region["also_failed"]] + region["remaining"])
    key = lambda a: (a["kind"], a["target"])  # noqa: E731
    assert sorted(map(key, reported)) == sorted(map(key, planned))  # each write exactly once
    assert region["failed"]["action"]["resource"] == "association" and "InjectedFault" in region["failed"]["message"]
    # what was not attempted made no call: no share at all, no constraint on a pair never associated
    assert region["remaining"] and not double.ops("CreatePortfolioShare")
    associated = {_pair(c) for c in _ok(double, "AssociateProductWithPortfolio")}
    assert all(_pair(c) in associated for c in double.ops("CreateConstraint"))
    assert _publish(dist)[0] == 0
    double.reset_calls()
    assert _publish(dist)[0] == 0 and double.writes() == []


class _RecordingRuntime(Runtime):
    """Remembers every client it made (one per service and region is expected, shared by all threads)."""

    def client(self, service: str, region: str | None = None):
        made = super().client(service, region)
        self.__dict__.setdefault("made", []).append((service, region, made))
        return made


def _limiters(client) -> list[ClientRateLimiter]:
    handlers = client.meta.events._emitter._handlers.prefix_search("before-send.service-catalog.ListPortfolios")
    return [h.__self__ for h in handlers if isinstance(getattr(h, "__self__", None), ClientRateLimiter)]


def test_adaptive_mode_has_one_rate_limiter_per_client_shared_by_every_thread(double, no_sleep):
    runtime = _RecordingRuntime(session_factory=make_session)
    clients = Clients(runtime, "us-east-1")
    with ThreadPoolExecutor(max_workers=8) as pool:
        seen = list(pool.map(lambda _: clients.sc, range(32)))
    assert len({id(c) for c in seen}) == 1 and [m[0] for m in runtime.made] == ["servicecatalog"]
    (limiter,) = _limiters(seen[0])
    assert limiter._enabled is False  # off until the client's first throttling answer
    double.throttle("ListPortfolios")
    clients.sc.list_portfolios()
    assert limiter._enabled is True  # from now on every request of this client, any operation, takes a token
    # the rate becomes 0.7 x the send rate measured so far (0.5 s windows): a fresh client has sent next to
    # nothing, so one early throttle holds every thread to about one request a second (at least 0.5/s) until
    # CUBIC grows it back (0.4 t^3 requests/s after t seconds)
    assert 0.5 <= limiter._token_bucket.max_rate <= 1.2


def test_throttling_under_a_rate_limit_is_retried_and_never_reaches_the_user(double, tmp_path):
    """Each operation may be called 20 times a second (bucket of 1): concurrent calls of one operation are
    throttled; botocore retries them (real backoff) and its client-side limiter slows the whole client."""
    double.rate_limit = (20.0, 1.0)
    runtime = _RecordingRuntime(sleep=lambda _s: None, session_factory=make_session, max_attempts=10)
    code, answer, err = _publish(build_dist(tmp_path, default_spec()), runtime=runtime)
    assert code == 0, err
    assert answer["status"] == "ok" and double.throttled >= 1
    throttled = [c for c in double.calls if c.error == "ThrottlingException"]
    for call in throttled:  # each throttled request was sent again, and went through
        assert any(c.error is None and c.operation == call.operation and c.params == call.params
                   for c in double.calls)
    # one Service Catalog client for the region, used by every thread: one limiter, which the throttles engaged
    clients = [made for service, region, made in runtime.made if service == "servicecatalog"]
    assert len(clients) == 1
    (limiter,) = _limiters(clients[0])
    assert limiter._enabled is True


def test_the_double_rate_limit_is_a_token_bucket_per_operation(double):
    double.rate_limit = (10.0, 2.0)  # 10 per second, bucket of 2
    take = [double._token("us-east-1", "CreateProduct", now) for now in (0.0, 0.0, 0.0, 0.05, 0.1, 0.1)]
    assert take == [True, True, False, False, True, False]
    assert double._token("us-east-1", "CreateConstraint", 0.1) is True  # another operation: its own bucket
    assert double._token("eu-west-1", "CreateProduct", 0.1) is True  # another region: its own bucket


@pytest.mark.parametrize("value", ["0", "-2"])
def test_max_parallel_must_be_positive(double, dist, run_cli, value):
    run = run_cli("publish", dist, "--max-parallel", value)
    assert run.code == 2 and "--max-parallel must be at least 1" in run.err
