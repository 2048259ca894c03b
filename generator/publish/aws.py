"""boto3 plumbing: sessions, clients with adaptive retries, API call counting, bounded retries.

Clients are created with ``session.client(name, region_name=..., config=...)`` and nothing else, so
everything boto3 resolves by itself keeps working: credentials and profiles, ``AWS_REGION``,
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_<SERVICE>``, CA bundles, proxies.
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
from botocore.exceptions import ClientError

from .commands import DEFAULT_MAX_ATTEMPTS

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
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    session_factory: Callable[..., boto3.Session] = boto3.Session
    counter: CallCounter = field(default_factory=CallCounter)
    _session: boto3.Session | None = None

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
        return Config(retries={"mode": "adaptive", "max_attempts": self.max_attempts})

    def client(self, service: str, region: str | None = None):
        client = self.session.client(service, region_name=region, config=self.config())
        if service == "servicecatalog":
            stop_retrying(client, NOT_RETRIED)
        return client


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

    def _get(self, service: str, region: str | None):
        key = f"{service}@{region}"
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
