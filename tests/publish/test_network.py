"""plan and publish never hang: timeouts, bounded retries, retries shown, --max-attempts counts attempts."""

from __future__ import annotations

import re
import socket
import threading
import time

import pytest

from generator.publish.aws import Runtime
from tests.publish.conftest import make_session

SC = "Service Catalog"


@pytest.fixture
def silent_endpoint(aws_env, monkeypatch):
    """A TCP endpoint on 127.0.0.1 that accepts connections and never answers; AWS_ENDPOINT_URL points at it."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)  # keep it open, say nothing

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    yield url
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def test_plan_against_an_endpoint_that_never_answers_fails_fast_with_one_clear_line(silent_endpoint, dist, run_cli):
    started = time.monotonic()
    run = run_cli("plan", dist, "--timeout", "1", "--max-attempts", "2", "--max-wait", "30",
                  runtime=Runtime(session_factory=make_session))
    elapsed = time.monotonic() - started
    assert run.code == 1
    assert elapsed < 10
    errors = [line for line in run.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert re.fullmatch(
        rf"error: while reading the live state: S3 HeadBucket to {re.escape(silent_endpoint)}/\S* timed out "
        r"\(2 attempts over \d+(\.\d)? s\): ReadTimeoutError; check the network and proxy, AWS_ENDPOINT_URL and "
        r"the region \(or raise --timeout / --max-wait\)",
        errors[0],
    ), errors[0]
    # the retry was shown while it happened
    assert re.search(r"S3 HeadBucket: no answer within 1 s, retrying in \d+(\.\d)? s \(attempt 2 of 2\)", run.err)


def test_publish_gives_up_at_max_wait_whatever_max_attempts_says(silent_endpoint, dist, run_cli):
    started = time.monotonic()
    run = run_cli("publish", dist, "--timeout", "1", "--max-attempts", "50", "--max-wait", "2",
                  runtime=Runtime(session_factory=make_session))
    elapsed = time.monotonic() - started
    assert run.code == 1
    assert elapsed < 8  # at most --max-wait plus one --timeout, plus start-up
    assert "S3 HeadBucket to" in run.err and "timed out" in run.err and "Nothing was changed." in run.err


def test_every_client_has_timeouts_and_counts_attempts(aws_env):
    runtime = Runtime(session_factory=make_session, max_attempts=3, timeout=7)
    for service in ("servicecatalog", "s3", "sts", "organizations", "kms"):
        config = runtime.client(service, "us-east-1").meta.config
        assert (config.connect_timeout, config.read_timeout) == (7, 7), service
        assert config.retries == {"mode": "adaptive", "total_max_attempts": 3}, service


@pytest.mark.parametrize("attempts,throttles,ok", [(3, 2, True), (3, 3, False), (1, 1, False), (5, 10, False)])
def test_max_attempts_is_the_number_of_attempts(double, dist, run_cli, attempts, throttles, ok):
    double.throttle("ListPortfolios", times=throttles)
    run = run_cli("plan", dist, "--max-attempts", str(attempts))
    assert run.code == (0 if ok else 1), run.err
    assert len(double.ops("ListPortfolios")) == (throttles + 1 if ok else attempts)
    shown = re.findall(rf"{SC} ListPortfolios: throttled, retrying in \d+(?:\.\d)? s \(attempt (\d+) of {attempts}\)",
                       run.err)
    assert shown == [str(n) for n in range(2, min(throttles, attempts - 1) + 2)]
    if not ok:
        assert "ThrottlingException" in run.err


def test_retries_stop_at_max_wait(double, dist, run_cli, runtime_factory, no_sleep):
    """With a clock that advances by the backoff slept, no retry starts past --max-wait."""
    double.throttle("ListPortfolios", times=1000)
    runtime = runtime_factory(clock=lambda: sum(no_sleep))
    run = run_cli("plan", dist, "--max-attempts", "1000", "--max-wait", "10", runtime=runtime)
    assert run.code == 1
    assert 2 <= len(double.ops("ListPortfolios")) < 1000
    assert sum(no_sleep) < 10
