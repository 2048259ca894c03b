"""boto3 plumbing: sessions, clients with adaptive retries, API call counting, bounded retries.

Clients are created with ``session.client(name, region_name=..., config=...)`` and nothing else, so
everything boto3 resolves by itself keeps working: credentials and profiles, ``AWS_DEFAULT_REGION``
(the variable botocore reads for the region), ``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``,
CA bundles, proxies.

Nothing waits unbounded: every HTTP request has a connect and a read timeout (``--timeout``), an API
call makes at most ``--max-attempts`` attempts (the first included: botocore's ``total_max_attempts``;
its ``max_attempts`` counts retries only) and starts no retry after ``--max-wait`` seconds.  botocore's
own retry handler (standard backoff and retry quota, built from botocore's classes) decides; a wrapper
around it on the ``needs-retry`` event says on stderr what is retried and when, and gives up at the
deadline.

Threads (the executor applies independent actions at once, ``--max-parallel``): a botocore client is
thread-safe once created, a session is not (boto3 guide, "Multithreading or multiprocessing with
clients"), so clients are created one at a time under a lock and then shared by the threads.  The
handlers installed here keep that true: per-request state lives in the request context, the retry
quota and the call counter lock.  Adaptive mode's client-side rate limiter (botocore/retries/adaptive.py)
is one token bucket per *client*: every thread publishing to a region shares its Service Catalog
client, hence one limiter.  It stays off until the client's first throttling answer; from then on each
request first takes a token from a bucket refilled at a rate that a throttle cuts to 0.7 x the measured
send rate (CUBIC: it grows back as 0.4 (t - K)^3 + W_max, never above twice the measured rate, never
below 0.5 request/s).  So a throttle on one operation slows every operation and every thread of that
client, and threads beyond what the rate allows wait for tokens instead of piling up throttles.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError, ReadTimeoutError
from botocore.retries import quota, standard

from .commands import DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_PARALLEL, DEFAULT_MAX_WAIT, DEFAULT_TIMEOUT

__all__ = [
    "Runtime",
    "Clients",
    "CallCounter",
    "error_code",
    "is_read_operation",
    "retry_call",
    "stop_retrying",
    "NOT_RETRIED",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_MAX_PARALLEL",
    "DEFAULT_TIMEOUT",
    "describe_exception",
    "install_retries",
]

READ_PREFIXES = ("Describe", "List", "Get", "Search", "Scan", "Head")


def is_read_operation(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


def error_code(exc: BaseException) -> str | None:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code")
    return None


class CallCounter:
    """Counts API calls per (service, operation): once per call, not per HTTP retry."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def __call__(self, model=None, **_kwargs) -> None:
        if model is not None:
            with self._lock:
                self.counts[(model.service_model.service_name, model.name)] += 1

    def register(self, session: boto3.Session) -> None:
        session.events.register("before-call", self)

    def snapshot(self) -> Counter:
        with self._lock:
            return Counter(self.counts)

    @staticmethod
    def summarize(counts: Counter) -> dict[str, int]:
        reads = sum(n for (_, op), n in counts.items() if is_read_operation(op))
        writes = sum(n for (_, op), n in counts.items() if not is_read_operation(op))
        return {"reads": reads, "writes": writes, "total": reads + writes}


@dataclass
class Runtime:
    """What the publisher needs from the outside world; tests swap pieces of it."""

    profile: str | None = None
    #: attempts per API call, the first included
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    #: seconds to connect, and to wait for each read, per HTTP request
    timeout: float = DEFAULT_TIMEOUT
    #: seconds after the first attempt of an API call past which no retry starts
    max_wait: float = DEFAULT_MAX_WAIT
    #: actions applied at once per region (independent products and portfolios); 1: strictly in plan order
    max_parallel: int = DEFAULT_MAX_PARALLEL
    #: where retries in progress are reported (the CLI: its progress stream, stderr)
    notify: Callable[[str], None] = lambda _message: None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    session_factory: Callable[..., boto3.Session] = boto3.Session
    counter: CallCounter = field(default_factory=CallCounter)
    _session: boto3.Session | None = None
    #: sessions are not thread-safe: clients are made one at a time (then shared, they are)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False, compare=False)

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            kwargs = {"profile_name": self.profile} if self.profile else {}
            self._session = self.session_factory(**kwargs)
            self.counter.register(self._session)
        return self._session

    def default_region(self) -> str | None:
        return self.session.region_name

    def config(self) -> Config:
        # total_max_attempts counts the first attempt; botocore's "max_attempts" key would add one
        return Config(retries={"mode": "adaptive", "total_max_attempts": self.max_attempts},
                      connect_timeout=self.timeout, read_timeout=self.timeout)

    def client(self, service: str, region: str | None = None):
        with self._lock:
            client = self.session.client(service, region_name=region, config=self.config())
        install_retries(client, self)
        if service == "servicecatalog":
            stop_retrying(client, NOT_RETRIED)
        return client


def _seconds(value: float) -> str:
    """'2 s', '0.4 s' (never '0.0 s' for a short wait)."""
    return f"{value:.0f} s" if value >= 1 else f"{max(value, 0.1):.1f} s"


def _label(operation) -> str:
    return f"{operation.service_model.service_id} {operation.name}"


def install_retries(client, runtime: Runtime) -> None:
    """Replace the client's ``needs-retry`` handler with botocore's standard one (the same classes
    and settings ``botocore.retries.standard.register_retry_handler`` uses) wrapped so that

    * each retry is announced through ``runtime.notify`` (operation, reason, delay, attempt);
    * no retry starts past ``runtime.max_wait`` seconds after the call's first attempt;
    * a connection error that ends the call carries the operation, attempts and time spent
      (``smcat_operation``, ``smcat_attempts``, ``smcat_elapsed``) for :func:`describe_exception`.
    """
    service = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    adapter = standard.RetryEventAdapter()
    detector = standard.ThrottlingErrorDetector(adapter)
    retry_quota = standard.RetryQuotaChecker(quota.RetryQuota(), detector)
    handler = standard.RetryHandler(
        retry_policy=standard.RetryPolicy(
            retry_checker=standard.StandardRetryConditions(max_attempts=runtime.max_attempts),
            retry_backoff=standard.ExponentialBackoff(service_name=service, throttling_detector=detector),
        ),
        retry_event_adapter=adapter,
        retry_quota=retry_quota,
        service_name=service,
    )
    clock = runtime.clock

    def started(context=None, **_kwargs) -> None:
        if context is not None:
            context["smcat_started"] = clock()

    def needs_retry(attempts=None, operation=None, response=None, caught_exception=None, request_dict=None,
                    **kwargs):
        delay = handler.needs_retry(attempts=attempts, operation=operation, response=response,
                                    caught_exception=caught_exception, request_dict=request_dict, **kwargs)
        context = (request_dict or {}).get("context") or {}
        elapsed = clock() - context.get("smcat_started", clock())
        if delay and elapsed + delay >= runtime.max_wait:
            delay = None  # past the deadline: give up now rather than after the sleep
        if caught_exception is not None and operation is not None:
            caught_exception.smcat_operation = _label(operation)
            caught_exception.smcat_attempts = attempts
            caught_exception.smcat_elapsed = elapsed
        if delay and operation is not None:
            runtime.notify(f"{_label(operation)}: {_retry_reason(response, caught_exception, runtime)}, retrying in "
                           f"{_seconds(delay)} (attempt {attempts + 1} of {runtime.max_attempts})")
        return delay

    events.unregister(f"needs-retry.{service}", unique_id=f"retry-config-{service}")
    events.register(f"needs-retry.{service}", needs_retry, unique_id=f"smcat-retry-{service}")
    events.register(f"after-call.{service}", retry_quota.release_retry_quota,
                    unique_id=f"smcat-retry-quota-{service}")
    events.register_first(f"before-call.{service}", started, unique_id=f"smcat-retry-start-{service}")


def _retry_reason(response, exc: BaseException | None, runtime: Runtime) -> str:
    if exc is not None:
        if isinstance(exc, ReadTimeoutError):
            return f"no answer within {_seconds(runtime.timeout)}"
        return f"no connection ({type(exc).__name__})"
    parsed = response[1] if response else {}
    code = (parsed.get("Error") or {}).get("Code") or ""
    status = (parsed.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    if "throttl" in code.lower() or code in ("RequestLimitExceeded", "SlowDown", "TooManyRequestsException"):
        return "throttled"
    return f"{code or 'error'} (HTTP {status})" if status else code or "transient error"


def describe_exception(exc: BaseException) -> str:
    """One line for an error that ended an API call; for a connection error: the endpoint, the
    operation, how long it tried and what to check."""
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "")
        return f"{err.get('Code')} from {op}: {err.get('Message', '')}".strip()
    if isinstance(exc, (ConnectionError, HTTPClientError)):
        endpoint = getattr(exc, "kwargs", {}).get("endpoint_url", "the endpoint")
        operation = getattr(exc, "smcat_operation", None)
        attempts = getattr(exc, "smcat_attempts", None)
        elapsed = getattr(exc, "smcat_elapsed", None)
        what = "timed out" if "timeout" in type(exc).__name__.lower() else "failed"
        tried = (f" ({attempts} attempt{'s' if attempts != 1 else ''} over {_seconds(elapsed)})"
                 if attempts is not None and elapsed is not None else "")
        return (f"{operation or 'a request'} to {endpoint} {what}{tried}: {type(exc).__name__}; check the network "
                f"and proxy, AWS_ENDPOINT_URL and the region (or raise --timeout / --max-wait)")
    return f"{type(exc).__name__}: {exc}"


#: Error codes botocore's standard/adaptive retry modes treat as throttling but that Service Catalog
#: uses for quotas ("The current limits of the service would have been exceeded"): retrying them
#: only waits (up to --max-attempts with backoff) for the same answer.
NOT_RETRIED = ("LimitExceededException",)


def stop_retrying(client, codes: tuple[str, ...]) -> None:
    """Make botocore give up at once on the given error codes.

    botocore asks ``needs-retry.<service>`` handlers whether to retry and takes the first answer that
    is not None; "no" cannot be answered, so this handler, registered first, raises the error as
    the client itself would (its modeled exception class) before the retry handler is asked.
    """
    event = f"needs-retry.{client.meta.service_model.service_id.hyphenize()}"

    def give_up(response=None, operation=None, **_kwargs):
        if response is None or operation is None:
            return None
        parsed = response[1]
        code = (parsed.get("Error") or {}).get("Code")
        if code in codes:
            raise client.exceptions.from_code(code)(parsed, operation.name)
        return None

    client.meta.events.register_first(event, give_up, unique_id=f"smcat-no-retry-{event}")


class Clients:
    """The clients for one region (created lazily, so a plan only creates what it reads)."""

    def __init__(self, runtime: Runtime, region: str):
        self.runtime = runtime
        self.region = region
        self._cache: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _get(self, service: str, region: str | None):
        key = f"{service}@{region}"
        with self._lock:  # one client per service and region, whichever thread asks first
            if key not in self._cache:
                self._cache[key] = self.runtime.client(service, region)
            return self._cache[key]

    @property
    def sc(self):
        return self._get("servicecatalog", self.region)

    @property
    def s3(self):
        return self._get("s3", self.region)

    def s3_in(self, region: str):
        """S3 client for the artifact bucket's own region (no cross-region redirects)."""
        return self._get("s3", region)

    def kms_in(self, region: str):
        return self._get("kms", region)

    @property
    def sts(self):
        return self._get("sts", self.region)

    @property
    def organizations(self):
        # Organizations is a global service with a single endpoint; boto3 resolves it from any region.
        return self._get("organizations", self.region)


def retry_call(
    fn: Callable[[], Any],
    *,
    codes: tuple[str, ...],
    sleep: Callable[[float], None],
    attempts: int = 6,
    base: float = 1.0,
    cap: float = 20.0,
    deadline: Callable[[], bool] | None = None,
    on_retry: Callable[[str, int, float], None] | None = None,
) -> Any:
    """Call fn, retrying the given error codes with capped exponential backoff.

    Used on top of botocore's own retries for errors botocore does not consider transient:
    ``InvalidStateException`` (another share operation on the portfolio is still running) and
    ``ResourceNotFoundException`` right after an association (eventual consistency).
    """
    attempt = 0
    while True:
        try:
            return fn()
        except ClientError as exc:
            code = error_code(exc)
            attempt += 1
            if code not in codes or attempt >= attempts or (deadline is not None and deadline()):
                raise
            delay = min(cap, base * (2 ** (attempt - 1)))
            if on_retry is not None:
                on_retry(code, attempt, delay)
            sleep(delay)
