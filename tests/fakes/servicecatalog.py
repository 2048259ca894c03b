"""A strict, stateful test double of the AWS Service Catalog API, plugged into botocore.

Why not moto: moto 5.2 covers only portfolios, products and shares (no provisioning artifacts,
constraints, principal/product associations, TagOptions or share status) and validates little.

How it plugs in
---------------
botocore emits ``before-send.<service-id>.<Operation>`` right before an HTTP request goes on the
wire, *inside* the retry loop; a handler that returns a response short-circuits the network.  The
double registers one handler for ``before-send.service-catalog`` (more specific than moto's
catch-all ``before-send`` handler, so botocore calls it first; it coexists with ``mock_aws`` for S3,
STS, Organizations...).  Because it sits below the retry layer:

* requests arrive fully serialised (CBOR for ``smithy-rpc-v2-cbor``, JSON for ``json``): the
  double decodes them, validates them against the botocore service model (required members,
  types, enums, min/max, Java patterns matched against the whole value) and answers with a
  serialised response that botocore parses itself;
* errors come back as real ``botocore.exceptions.ClientError`` subclasses with AWS's codes;
* an injected ``ThrottlingException`` (or a 5xx) goes through botocore's real retry logic.

Every request (each HTTP attempt) is recorded in :attr:`ServiceCatalogDouble.calls`.

Usage::

    double = ServiceCatalogDouble()
    with double:                     # new boto3 sessions/clients made inside are served by it
        ...
    double.calls, double.snapshot()

Behaviour modelled (documented API behaviour and the project's verified facts; where AWS does not say, the double picks
the strict choice and says so in the method's docstring):

* quotas: 100 portfolios and 350 products per region, 150 products per portfolio, 100 versions per
  product, 20 tags per resource, 25 TagOptions per resource, 10 IAM_PATTERN principals per
  portfolio -> ``LimitExceededException`` (botocore retries that code like throttling);
* ``IdempotencyToken``: same token + same parameters -> the same response, nothing created, even
  when the resource that response names was deleted since (the token is remembered, not the
  resource: a replayed create answers with a stale id); same token + different parameters ->
  ``InvalidParametersException`` (assumption);
* share operations are asynchronous: ``NOT_STARTED`` -> ``IN_PROGRESS`` -> ``COMPLETED`` over a few
  later calls; a second share operation on a portfolio while one is running ->
  ``InvalidStateException``; org-node shares need AWS Organizations access ``ENABLED``; a share
  operation's status stays readable by its token (``DescribePortfolioShareStatus``) in later runs,
  the only way to learn it: ``DescribePortfolioShares`` tells neither the token nor the status, and a
  share that ended ``COMPLETED_WITH_ERRORS`` is listed like a clean one (``ERROR``: not listed);
* constraints: LAUNCH, RESOURCE_UPDATE and NOTIFICATION Parameters checked as CreateConstraint's documentation
  spells them (``InvalidParametersException``); one LAUNCH, one RESOURCE_UPDATE and one NOTIFICATION per topic
  per product and portfolio (``DuplicateResourceException``; see ``_check_update_or_notification``);
* optional eventual consistency: new portfolios/products invisible to list/search calls for a
  while (``visibility_lag``), constraints on a just-associated product answered with
  ``ResourceNotFoundException`` a few times (``association_lag``);
* fault injection: fail the Nth call of an operation, before or after applying it;
* optional time (off by default, see ``latency`` and ``rate_limit``): each request takes a fixed time, and each
  operation has a token bucket per region (the request-rate throttling AWS documents for EC2: per account,
  Region and API); a request that finds it empty is answered ``ThrottlingException`` ("Rate exceeded").
  A timed request reaches the double only after every ``before-send`` handler ran, botocore adaptive
  mode's client-side rate limiter included, as a real request reaches AWS after it.  Each call records
  when it started and ended, and the double how many were in flight at most.
"""

from __future__ import annotations

import base64
import copy
import datetime as _dt
import io
import json
import random
import re
import string
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import botocore.handlers
import botocore.session
from botocore.awsrequest import AWSResponse

from .shapes import validate
from .wire import cbor_dumps, cbor_loads, json_dumps, json_loads

__all__ = ["ServiceCatalogDouble", "Call", "SCError", "READ_PREFIXES", "is_read_operation"]

SERVICE_ID = "service-catalog"
EVENT = f"before-send.{SERVICE_ID}"
ERROR_NAMESPACE = "com.amazonaws.servicecatalog"
CLAIMED_HOST = "answered-by-servicecatalog-double.invalid"
UNIQUE_ID = "tests.fakes.servicecatalog"

READ_PREFIXES = ("Describe", "List", "Get", "Search", "Scan", "Head")


def is_read_operation(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


DEFAULT_LIMITS = {
    "portfolios_per_region": 100,
    "products_per_region": 350,
    "products_per_portfolio": 150,
    "versions_per_product": 100,
    "tags_per_resource": 20,
    "tag_options_per_resource": 25,
    "iam_patterns_per_portfolio": 10,
}

IAM_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(role|user|group)/[\w+=,.@/-]+")
IAM_PATTERN_ARN = re.compile(r"arn:aws[a-z-]*:iam:::(role|user|group)/[\w+=,.@/*?-]+")
LAUNCH_KEYS = {"RoleArn", "LocalRoleName"}
SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z]{2,4}(-[a-z]+)+-\d{1,2}:\d{12}:[\w.-]{1,256}")
CONSTRAINT_TYPES = {"LAUNCH", "NOTIFICATION", "RESOURCE_UPDATE", "STACKSET", "TEMPLATE"}
SHARE_FINAL = {"COMPLETED", "COMPLETED_WITH_ERRORS", "ERROR"}
NODE_TO_SHARE_TYPE = {
    "ORGANIZATION": "ORGANIZATION",
    "ORGANIZATIONAL_UNIT": "ORGANIZATIONAL_UNIT",
    "ACCOUNT": "ORGANIZATION_MEMBER_ACCOUNT",
}


def _is_resource_update(parsed: Any) -> bool:
    """Exactly {"Version":"2.0","Properties":{"TagUpdateOnProvisionedProduct":"ALLOWED"|"NOT_ALLOWED"}}."""
    if not isinstance(parsed, dict) or set(parsed) != {"Version", "Properties"} or parsed["Version"] != "2.0":
        return False
    properties = parsed["Properties"]
    return (isinstance(properties, dict) and set(properties) == {"TagUpdateOnProvisionedProduct"}
            and properties["TagUpdateOnProvisionedProduct"] in ("ALLOWED", "NOT_ALLOWED"))


def _notification_arns(parsed: Any) -> list[str] | None:
    """The topics of exactly {"NotificationArns": [1-5 SNS topic ARNs]}; None for anything else."""
    if not isinstance(parsed, dict) or set(parsed) != {"NotificationArns"}:
        return None
    arns = parsed["NotificationArns"]
    if not isinstance(arns, list) or not 1 <= len(arns) <= 5:
        return None
    return arns if all(isinstance(a, str) and SNS_TOPIC_ARN.fullmatch(a) for a in arns) else None


class SCError(Exception):
    """An AWS error answer: code, message, HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Call:
    operation: str
    params: dict
    region: str
    error: str | None = None
    #: time.monotonic() when the request reached the double and when its answer left (timed doubles only)
    started: float | None = None
    ended: float | None = None

    @property
    def is_write(self) -> bool:
        return not is_read_operation(self.operation)


@dataclass
class _Fault:
    operation: str
    code: str
    message: str
    status: int
    on_call: int | None
    times: int
    after: bool
    fired: int = 0


@dataclass
class _ShareOp:
    token: str
    portfolio_id: str
    kind: str  # create | update | delete
    share_type: str
    value: str
    flags: dict
    started: int
    status: str = "NOT_STARTED"
    outcome: tuple[str, list] | None = None
    applied: bool = False


@dataclass
class _Region:
    name: str
    portfolios: dict = field(default_factory=dict)
    products: dict = field(default_factory=dict)
    portfolio_products: dict = field(default_factory=dict)  # portfolio id -> [product ids]
    constraints: dict = field(default_factory=dict)
    principals: dict = field(default_factory=dict)  # portfolio id -> {arn: type}
    tag_options: dict = field(default_factory=dict)
    tag_option_links: dict = field(default_factory=dict)  # resource id -> [tag option ids]
    shares: dict = field(default_factory=dict)  # portfolio id -> {(type, value): flags}
    share_ops: dict = field(default_factory=dict)  # token -> _ShareOp
    idempotency: dict = field(default_factory=dict)  # (op, token) -> (params, response)
    association_lag: dict = field(default_factory=dict)  # (portfolio, product) -> remaining failures
    org_access: str = "ENABLED"
    provisioned: dict = field(default_factory=dict)  # provisioned product id -> record (helper C's section)
    records: dict = field(default_factory=dict)  # record id -> record (RecordDetail members + progress)


class _Deferred(AWSResponse):
    """An answer computed when botocore first reads it: after every ``before-send`` handler ran (botocore
    calls them all, then uses the first answer), so that adaptive retry mode's client-side rate limiter
    (a ``before-send`` handler less specific than the double's, hence called after it) delays the request
    before it reaches the double, as it delays a real request before it reaches AWS."""

    def __init__(self, produce: Callable[[], AWSResponse]):  # not super().__init__: that needs the answer
        self._produce = produce
        self._answer: AWSResponse | None = None
        self._content = None

    def _resolved(self) -> AWSResponse:
        if self._answer is None:
            self._answer = self._produce()
        return self._answer

    url = property(lambda self: self._resolved().url)
    status_code = property(lambda self: self._resolved().status_code)
    headers = property(lambda self: self._resolved().headers)
    raw = property(lambda self: self._resolved().raw)


class _Raw(io.BytesIO):
    def stream(self, **_kwargs) -> Iterator[bytes]:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


# ------------------------------------------------------------------------------------ botocore plumbing

_ACTIVE: list[ServiceCatalogDouble] = []
_LOCK = threading.RLock()
_BUILTIN_ENTRY = None


def _dispatch(request, **kwargs):
    with _LOCK:
        double = _ACTIVE[-1] if _ACTIVE else None
    if double is None:
        return None
    return double.handle_request(request, **kwargs)


def _ensure_builtin_handler() -> None:
    """Route Service Catalog to the active double for every botocore session created from now on,
    and for boto3's default session if it already exists (``boto3.client(...)``)."""
    global _BUILTIN_ENTRY
    with _LOCK:
        if _BUILTIN_ENTRY is None:
            _BUILTIN_ENTRY = (EVENT, _dispatch)
        if _BUILTIN_ENTRY not in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.append(_BUILTIN_ENTRY)
        default = getattr(sys.modules.get("boto3"), "DEFAULT_SESSION", None)
        if default is not None:
            default.events.register_first(EVENT, _dispatch, unique_id=UNIQUE_ID)


_MODEL_CACHE: list = []


def _service_model():
    if not _MODEL_CACHE:
        _MODEL_CACHE.append(botocore.session.get_session().get_service_model("servicecatalog"))
    return _MODEL_CACHE[0]


class ServiceCatalogDouble:
    """Stateful fake of the Service Catalog operations smcat's publisher uses.

    Parameters
    ----------
    account_id: the caller's account (owner of created resources).
    org_access: initial ``GetAWSOrganizationsAccessStatus`` answer for every region.
    share_steps: (a, b): a share operation reports NOT_STARTED for its first ``a`` calls made to
        the double, IN_PROGRESS until ``b``, then its final status.
    visibility_lag: calls during which a new portfolio/product is missing from list/search answers.
    association_lag: CreateConstraint attempts answered ResourceNotFoundException right after the
        product was associated with the portfolio.
    template_checker: callable(url) -> bool; when given, LoadTemplateFromURL must be readable.
    limits: override quotas (see DEFAULT_LIMITS).
    latency: seconds each request takes (off: 0); timed requests run outside the double's lock, so
        requests sent at once overlap as they would against AWS.
    rate_limit: (requests per second, bucket size) of each operation's token bucket per region (off: None);
        a request finding it empty is answered ThrottlingException and changes nothing.
    """

    def __init__(
        self,
        account_id: str = "123456789012",
        *,
        org_access: str = "ENABLED",
        share_steps: tuple[int, int] = (1, 3),
        visibility_lag: int = 0,
        association_lag: int = 0,
        template_checker: Callable[[str], bool] | None = None,
        limits: dict | None = None,
        seed: int = 0,
        latency: float = 0.0,
        rate_limit: tuple[float, float] | None = None,
    ):
        self.account_id = account_id
        self.latency = latency
        self.rate_limit = rate_limit
        self.throttled = 0  # requests answered ThrottlingException by the rate limit
        self.in_flight = 0
        self.max_in_flight = 0
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # (region, operation) -> (tokens, when)
        self.default_org_access = org_access
        self.share_steps = share_steps
        self.visibility_lag = visibility_lag
        self.association_lag = association_lag
        self.template_checker = template_checker
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.calls: list[Call] = []
        self.share_outcomes: dict[str, tuple[str, list]] = {}
        self._faults: list[_Fault] = []
        self._regions: dict[str, _Region] = {}
        self._rng = random.Random(seed)
        self._tick = 0
        self._epoch = _dt.datetime(2025, 1, 1, tzinfo=_dt.timezone.utc)
        self._visible_from: dict[str, int] = {}
        self._op_counts: dict[str, int] = {}
        self._lock = threading.RLock()
        self.service_model = _service_model()
        self._init_provisioning()

    # --------------------------------------------------------------------------------- installation

    def install(self) -> ServiceCatalogDouble:
        _ensure_builtin_handler()
        with _LOCK:
            _ACTIVE.append(self)
        return self

    def uninstall(self) -> None:
        with _LOCK:
            if self in _ACTIVE:
                _ACTIVE.remove(self)

    def __enter__(self) -> ServiceCatalogDouble:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()

    def attach(self, emitter_owner) -> None:
        """Route an already created client or botocore/boto3 session to the active double too."""
        events = getattr(getattr(emitter_owner, "meta", None), "events", None)
        if events is None:
            inner = getattr(emitter_owner, "_session", emitter_owner)
            events = inner.get_component("event_emitter")
        events.register_first(EVENT, _dispatch, unique_id=UNIQUE_ID)

    # --------------------------------------------------------------------------------- test controls

    def region(self, name: str) -> _Region:
        if name not in self._regions:
            self._regions[name] = _Region(name, org_access=self.default_org_access)
        return self._regions[name]

    def set_org_access(self, status: str, region: str | None = None) -> None:
        self.default_org_access = status
        for reg in [self.region(region)] if region else self._regions.values():
            reg.org_access = status

    def inject(
        self,
        operation: str,
        code: str = "InternalFailure",
        *,
        on_call: int | None = None,
        times: int = 1,
        message: str = "injected fault",
        status: int | None = None,
        after: bool = False,
    ) -> None:
        """Answer an operation with an error.

        on_call: fail the Nth call of the operation (1-based, counting every call the double ever
        received for it); None means the next call.  times: how many consecutive calls fail.
        after: apply the operation first, then answer with the error (the response is "lost").
        status defaults to 500 for InternalFailure/ServiceUnavailable, else 400.
        """
        if status is None:
            status = 500 if code in ("InternalFailure", "ServiceUnavailable") else 400
        if on_call is None:
            on_call = self._op_counts.get(operation, 0) + 1
        self._faults.append(_Fault(operation, code, message, status, on_call, times, after))

    def throttle(self, operation: str, times: int = 1, on_call: int | None = None) -> None:
        self.inject(operation, "ThrottlingException", times=times, on_call=on_call, message="Rate exceeded")

    def clear_faults(self) -> None:
        self._faults.clear()

    def writes(self) -> list[Call]:
        return [c for c in self.calls if c.is_write]

    def reads(self) -> list[Call]:
        return [c for c in self.calls if not c.is_write]

    def ops(self, operation: str, *, ok_only: bool = False) -> list[Call]:
        return [c for c in self.calls if c.operation == operation and (not ok_only or c.error is None)]

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for c in self.calls:
            result[c.operation] = result.get(c.operation, 0) + 1
        return result

    def reset_calls(self) -> None:
        self.calls.clear()

    # --------------------------------------------------------------------------------- the hook

    def handle_request(self, request, **_kwargs) -> AWSResponse | None:
        if urlparse(request.url).hostname == CLAIMED_HOST:
            return None  # already answered by this handler registered a second way
        operation, protocol = self._operation_of(request)
        if operation is None:
            return None
        region = self._region_of(request)
        try:
            params = cbor_loads(request.body or b"") if protocol == "cbor" else json_loads(request.body or b"")
        except ValueError as exc:
            return self._respond(request, protocol, error=SCError("SerializationException", str(exc)))
        if self.latency or self.rate_limit:
            self._claim(request)
            return _Deferred(lambda: self._timed_answer(request, protocol, operation, params, region))
        with self._lock:
            status, body = self._process(operation, params, region)
        if status >= 300:
            response = self._respond(request, protocol, error=body)
        else:
            response = self._respond(request, protocol, body=body)
        self._claim(request)
        return response

    @staticmethod
    def _claim(request) -> None:
        """Keep catch-all ``before-send`` handlers off this request.

        botocore calls *every* before-send handler (``emit``, not ``emit_until_response``) and uses
        the first answer.  moto's handler, registered for all of ``before-send`` when ``mock_aws`` is
        active, would still run for Service Catalog after us (and raise NotImplementedError for the
        operations moto lacks).  Pointing the already-answered request at a non-AWS host makes moto
        (and any URL-matching stub) ignore it.  botocore builds a fresh request for every retry.
        """
        parsed = urlparse(request.url)
        request.url = f"https://{CLAIMED_HOST}{parsed.path}"

    # --------------------------------------------------------------------------------- time

    def _timed_answer(self, request, protocol: str, operation: str, params: dict, region: str) -> AWSResponse:
        """A request that takes ``latency`` seconds and may be throttled by ``rate_limit``."""
        with self._lock:
            started = time.monotonic()
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self._token(region, operation, started):
                status, body = self._process(operation, params, region)
            else:
                self.throttled += 1
                self.calls.append(Call(operation, copy.deepcopy(params), region, "ThrottlingException"))
                status, body = 400, SCError("ThrottlingException", "Rate exceeded")
            call = self.calls[-1]
            call.started = started
        try:
            time.sleep(self.latency)
        finally:
            with self._lock:
                self.in_flight -= 1
                call.ended = time.monotonic()
        if status >= 300:
            return self._respond(request, protocol, error=body)
        return self._respond(request, protocol, body=body)

    def _token(self, region: str, operation: str, now: float) -> bool:
        """Take one token from the operation's bucket (refilled continuously, at most its size)."""
        if self.rate_limit is None:
            return True
        rate, size = self.rate_limit
        tokens, when = self._buckets.get((region, operation), (size, now))
        tokens = min(size, tokens + (now - when) * rate)
        taken = tokens >= 1
        self._buckets[(region, operation)] = (tokens - 1 if taken else tokens, now)
        return taken

    def call(self, operation: str, params: dict, region: str = "us-east-1") -> dict:
        """Invoke the double directly (no botocore): returns the response or raises SCError."""
        with self._lock:
            status, body = self._process(operation, params, region)
        if status >= 300:
            raise body
        return body

    def _operation_of(self, request) -> tuple[str | None, str]:
        headers = request.headers
        target = headers.get("X-Amz-Target")
        if target:
            target = target.decode() if isinstance(target, bytes) else target
            return target.split(".", 1)[1], "json"
        path = urlparse(request.url).path
        if "/operation/" in path:
            return path.rsplit("/operation/", 1)[1], "cbor"
        return None, ""

    @staticmethod
    def _region_of(request) -> str:
        auth = request.headers.get("Authorization") or b""
        auth = auth.decode() if isinstance(auth, bytes) else auth
        if "Credential=" in auth:
            scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
            if len(scope) >= 3:
                return scope[2]
        host = urlparse(request.url).hostname or ""
        parts = host.split(".")
        return parts[1] if len(parts) > 2 else "us-east-1"

    def _respond(self, request, protocol: str, body: dict | None = None, error: SCError | None = None):
        headers = {"x-amzn-requestid": f"req-{len(self.calls):08d}"}
        if error is not None:
            payload = {"__type": f"{ERROR_NAMESPACE}#{error.code}", "message": error.message}
            status = error.status
        else:
            payload, status = body, 200
        if protocol == "cbor":
            headers["content-type"] = "application/cbor"
            headers["smithy-protocol"] = "rpc-v2-cbor"
            raw = cbor_dumps(payload)
        else:
            headers["content-type"] = "application/x-amz-json-1.1"
            raw = json_dumps(payload)
        headers["content-length"] = str(len(raw))
        return AWSResponse(request.url, status, headers, _Raw(raw))

    # --------------------------------------------------------------------------------- processing

    def _process(self, operation: str, params: dict, region_name: str) -> tuple[int, Any]:
        self._tick += 1
        self._op_counts[operation] = self._op_counts.get(operation, 0) + 1
        nth = self._op_counts[operation]
        call = Call(operation, copy.deepcopy(params), region_name)
        self.calls.append(call)
        region = self.region(region_name)
        self._advance_shares(region)
        self._advance_records(region)

        fault = self._fault_for(operation, nth, after=False)
        if fault is not None:
            call.error = fault.code
            return fault.status, SCError(fault.code, fault.message, fault.status)
        try:
            op_model = self.service_model.operation_model(operation)
        except Exception:
            call.error = "UnknownOperationException"
            return 400, SCError("UnknownOperationException", f"unknown operation {operation}")
        problems = validate(params, op_model.input_shape) if op_model.input_shape else []
        if problems:
            serialization = [p for p in problems if p.kind == "serialization"]
            if serialization:
                error = SCError("SerializationException", "; ".join(str(p) for p in serialization))
            else:
                count = len(problems)
                noun = "error" if count == 1 else "errors"
                error = SCError(
                    "ValidationException",
                    f"{count} validation {noun} detected: " + "; ".join(str(p) for p in problems),
                )
            call.error = error.code
            return error.status, error
        handler = getattr(self, f"_op_{operation}", None)
        if handler is None:
            raise NotImplementedError(f"ServiceCatalogDouble does not implement {operation}")
        try:
            response = handler(region, params)
        except SCError as error:
            call.error = error.code
            return error.status, error
        fault = self._fault_for(operation, nth, after=True)
        if op_model.output_shape is not None:
            problems = validate(response, op_model.output_shape)
            if problems:  # a bug in the double itself: fail the test loudly
                raise AssertionError(f"double produced an invalid {operation} response: {problems}")
        if fault is not None:
            call.error = fault.code
            return fault.status, SCError(fault.code, fault.message, fault.status)
        return 200, response

    def _fault_for(self, operation: str, nth: int, *, after: bool) -> _Fault | None:
        for fault in self._faults:
            if fault.operation != operation or fault.after != after or fault.fired >= fault.times:
                continue
            if fault.on_call is not None and nth < fault.on_call:
                continue
            fault.fired += 1
            return fault
        return None

    # --------------------------------------------------------------------------------- helpers

    def _now(self) -> _dt.datetime:
        return self._epoch + _dt.timedelta(seconds=self._tick)

    def _new_id(self, prefix: str) -> str:
        alphabet = string.ascii_lowercase + string.digits
        return prefix + "".join(self._rng.choice(alphabet) for _ in range(13))

    def _visible(self, resource_id: str) -> bool:
        return self._tick >= self._visible_from.get(resource_id, 0)

    def _created(self, resource_id: str) -> None:
        if self.visibility_lag:
            self._visible_from[resource_id] = self._tick + self.visibility_lag + 1

    def _idempotent(self, region: _Region, operation: str, params: dict, create: Callable[[], dict]) -> dict:
        token = params.get("IdempotencyToken")
        key_params = {k: v for k, v in params.items() if k not in ("IdempotencyToken", "AcceptLanguage")}
        if token is not None:
            seen = region.idempotency.get((operation, token))
            if seen is not None:
                if seen[0] != key_params:
                    raise SCError(
                        "InvalidParametersException",
                        f"IdempotencyToken {token} was already used with different parameters",
                    )
                return copy.deepcopy(seen[1])
        response = create()
        if token is not None:
            region.idempotency[(operation, token)] = (copy.deepcopy(key_params), copy.deepcopy(response))
        return response

    def _page(self, items: list, params: dict, operation: str, *, default_size: int = 20) -> tuple[list, str | None]:
        size = params.get("PageSize") or default_size
        start = 0
        token = params.get("PageToken")
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()).decode())
                if decoded["op"] != operation:
                    raise ValueError
                start = int(decoded["o"])
            except Exception as exc:
                raise SCError("InvalidParametersException", "The page token is not valid") from exc
        chunk = items[start : start + size]
        next_token = None
        if start + size < len(items):
            next_token = base64.urlsafe_b64encode(
                json.dumps({"op": operation, "o": start + size}).encode()
            ).decode()
        return chunk, next_token

    @staticmethod
    def _tags_out(tags: dict) -> list[dict]:
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def _check_tags(self, tags: list[dict]) -> dict:
        result: dict[str, str] = {}
        for tag in tags:
            if tag["Key"] in result:
                raise SCError("InvalidParametersException", f"Duplicate tag key {tag['Key']}")
            if tag["Key"].lower().startswith("aws:"):
                raise SCError("InvalidParametersException", "Tag keys starting with aws: are reserved")
            result[tag["Key"]] = tag["Value"]
        if len(result) > self.limits["tags_per_resource"]:
            raise SCError("LimitExceededException", "Too many tags on the resource")
        return result

    def _update_tags(self, current: dict, add: list[dict], remove: list[str]) -> dict:
        add_keys = [t["Key"] for t in add]
        if set(add_keys) & set(remove):
            raise SCError("InvalidParametersException", "A tag key cannot be both added and removed")
        if len(set(add_keys)) != len(add_keys):
            raise SCError("InvalidParametersException", "Duplicate tag key in AddTags")
        updated = {k: v for k, v in current.items() if k not in remove}
        for tag in add:
            if tag["Key"].lower().startswith("aws:"):
                raise SCError("InvalidParametersException", "Tag keys starting with aws: are reserved")
            updated[tag["Key"]] = tag["Value"]
        if len(updated) > self.limits["tags_per_resource"]:
            raise SCError("LimitExceededException", "Too many tags on the resource")
        return updated

    def _portfolio(self, region: _Region, portfolio_id: str) -> dict:
        portfolio = region.portfolios.get(portfolio_id)
        if portfolio is None:
            raise SCError("ResourceNotFoundException", f"Portfolio {portfolio_id} not found")
        return portfolio

    def _product(self, region: _Region, product_id: str) -> dict:
        product = region.products.get(product_id)
        if product is None:
            raise SCError("ResourceNotFoundException", f"Product {product_id} not found")
        return product

    @staticmethod
    def _portfolio_detail(p: dict) -> dict:
        detail = {k: p[k] for k in ("Id", "ARN", "DisplayName", "CreatedTime", "ProviderName")}
        if p.get("Description") is not None:
            detail["Description"] = p["Description"]
        return detail

    @staticmethod
    def _product_view(p: dict) -> dict:
        summary = {
            "Id": p["ViewId"],
            "ProductId": p["ProductId"],
            "Name": p["Name"],
            "Owner": p["Owner"],
            "Type": p["Type"],
            "HasDefaultPath": False,
        }
        for src, dst in (
            ("Description", "ShortDescription"),
            ("Distributor", "Distributor"),
            ("SupportEmail", "SupportEmail"),
            ("SupportUrl", "SupportUrl"),
            ("SupportDescription", "SupportDescription"),
        ):
            if p.get(src) is not None:
                summary[dst] = p[src]
        return {
            "ProductViewSummary": summary,
            "Status": "AVAILABLE",
            "ProductARN": p["ARN"],
            "CreatedTime": p["CreatedTime"],
        }

    @staticmethod
    def _artifact_detail(a: dict) -> dict:
        detail = {k: a[k] for k in ("Id", "Name", "Type", "CreatedTime", "Active", "Guidance")}
        if a.get("Description") is not None:
            detail["Description"] = a["Description"]
        return detail

    def _check_template(self, info: dict | None) -> None:
        if not info:
            raise SCError("InvalidParametersException", "ProvisioningArtifactParameters.Info is required")
        unknown = set(info) - {"LoadTemplateFromURL"}
        if unknown:
            raise SCError("InvalidParametersException", f"Unsupported Info keys {sorted(unknown)} (double)")
        url = info.get("LoadTemplateFromURL", "")
        if not url.startswith("https://"):
            raise SCError("InvalidParametersException", f"Invalid template URL {url}")
        if self.template_checker is not None and not self.template_checker(url):
            raise SCError("InvalidParametersException", f"Unable to retrieve template from {url}")

    def _new_artifact(self, props: dict) -> dict:
        return {
            "Id": self._new_id("pa-"),
            "Name": props.get("Name", ""),
            "Description": props.get("Description"),
            "Type": props.get("Type", "CLOUD_FORMATION_TEMPLATE"),
            "CreatedTime": self._now(),
            "Active": True,
            "Guidance": "DEFAULT",
            "Info": dict(props.get("Info") or {}),
        }

    # --------------------------------------------------------------------------------- portfolios

    def _op_ListPortfolios(self, region: _Region, params: dict) -> dict:
        items = [self._portfolio_detail(p) for p in region.portfolios.values() if self._visible(p["Id"])]
        page, token = self._page(items, params, "ListPortfolios")
        return {"PortfolioDetails": page, "NextPageToken": token}

    def _op_DescribePortfolio(self, region: _Region, params: dict) -> dict:
        p = self._portfolio(region, params["Id"])
        tag_options = [region.tag_options[t] for t in region.tag_option_links.get(p["Id"], [])]
        return {
            "PortfolioDetail": self._portfolio_detail(p),
            "Tags": self._tags_out(p["Tags"]),
            "TagOptions": [dict(t) for t in tag_options],
            "Budgets": [],
        }

    def _op_CreatePortfolio(self, region: _Region, params: dict) -> dict:
        def create() -> dict:
            if len(region.portfolios) >= self.limits["portfolios_per_region"]:
                raise SCError("LimitExceededException", "Portfolio limit reached for this region")
            tags = self._check_tags(params.get("Tags", []))
            pid = self._new_id("port-")
            region.portfolios[pid] = {
                "Id": pid,
                "ARN": f"arn:aws:catalog:{region.name}:{self.account_id}:portfolio/{pid}",
                "DisplayName": params["DisplayName"],
                "Description": params.get("Description"),
                "ProviderName": params["ProviderName"],
                "CreatedTime": self._now(),
                "Tags": tags,
            }
            self._created(pid)
            p = region.portfolios[pid]
            return {"PortfolioDetail": self._portfolio_detail(p), "Tags": self._tags_out(p["Tags"])}

        return self._idempotent(region, "CreatePortfolio", params, create)

    def _op_DeletePortfolio(self, region: _Region, params: dict) -> dict:
        """Refused while it has products, principals, constraints or shares (documented); its
        creation token is kept."""
        pid = params["Id"]
        self._portfolio(region, pid)
        if (region.portfolio_products.get(pid) or region.principals.get(pid) or region.shares.get(pid)
                or any(c["PortfolioId"] == pid for c in region.constraints.values())):
            raise SCError("ResourceInUseException",
                          "The portfolio has associated products, users, constraints or shares")
        del region.portfolios[pid]
        region.tag_option_links.pop(pid, None)
        return {}

    def _op_UpdatePortfolio(self, region: _Region, params: dict) -> dict:
        p = self._portfolio(region, params["Id"])
        tags = self._update_tags(p["Tags"], params.get("AddTags", []), params.get("RemoveTags", []))
        for key in ("DisplayName", "Description", "ProviderName"):
            if params.get(key) is not None:
                p[key] = params[key]
        p["Tags"] = tags
        return {"PortfolioDetail": self._portfolio_detail(p), "Tags": self._tags_out(p["Tags"])}

    # --------------------------------------------------------------------------------- products

    def _op_SearchProductsAsAdmin(self, region: _Region, params: dict) -> dict:
        if params.get("PortfolioId"):
            self._portfolio(region, params["PortfolioId"])
            ids = region.portfolio_products.get(params["PortfolioId"], [])
            products = [region.products[i] for i in ids if i in region.products]
        else:
            products = list(region.products.values())
        products = [p for p in products if self._visible(p["ProductId"])]
        for key, values in (params.get("Filters") or {}).items():
            if key == "FullTextSearch":
                products = [p for p in products if any(v.lower() in p["Name"].lower() for v in values)]
            elif key == "Owner":
                products = [p for p in products if p["Owner"] in values]
            elif key == "ProductType":
                products = [p for p in products if p["Type"] in values]
            else:
                raise SCError("InvalidParametersException", f"Unsupported filter {key}")
        sort_by = params.get("SortBy")
        if sort_by == "Title":
            products.sort(key=lambda p: p["Name"])
        elif sort_by == "CreationDate":
            products.sort(key=lambda p: p["CreatedTime"])
        elif sort_by == "VersionCount":
            products.sort(key=lambda p: len(p["Artifacts"]))
        if params.get("SortOrder") == "DESCENDING":
            products.reverse()
        page, token = self._page([self._product_view(p) for p in products], params, "SearchProductsAsAdmin")
        return {"ProductViewDetails": page, "NextPageToken": token}

    def _op_DescribeProductAsAdmin(self, region: _Region, params: dict) -> dict:
        if params.get("Id"):
            p = self._product(region, params["Id"])
        elif params.get("Name"):
            matches = [p for p in region.products.values() if p["Name"] == params["Name"]]
            if not matches:
                raise SCError("ResourceNotFoundException", f"Product {params['Name']} not found")
            p = matches[0]
        else:
            raise SCError("InvalidParametersException", "Id or Name is required")
        summaries = []
        for a in p["Artifacts"]:
            summary = {"Id": a["Id"], "Name": a["Name"], "CreatedTime": a["CreatedTime"]}
            if a.get("Description") is not None:
                summary["Description"] = a["Description"]
            if a.get("Info"):
                summary["ProvisioningArtifactMetadata"] = dict(a["Info"])
            summaries.append(summary)
        tag_options = [region.tag_options[t] for t in region.tag_option_links.get(p["ProductId"], [])]
        return {
            "ProductViewDetail": self._product_view(p),
            "ProvisioningArtifactSummaries": summaries,
            "Tags": self._tags_out(p["Tags"]),
            "TagOptions": [dict(t) for t in tag_options],
            "Budgets": [],
        }

    def _op_CreateProduct(self, region: _Region, params: dict) -> dict:
        def create() -> dict:
            if len(region.products) >= self.limits["products_per_region"]:
                raise SCError("LimitExceededException", "Product limit reached for this region")
            if params["ProductType"] != "CLOUD_FORMATION_TEMPLATE":
                raise SCError("InvalidParametersException", "The double only supports CLOUD_FORMATION_TEMPLATE")
            support_url = params.get("SupportUrl")
            if support_url and not (support_url.startswith("http://") or support_url.startswith("https://")):
                raise SCError("InvalidParametersException", "SupportUrl must match ^https?:\\/\\/")
            props = params.get("ProvisioningArtifactParameters")
            if not props:
                raise SCError("InvalidParametersException", "ProvisioningArtifactParameters is required")
            self._check_template(props.get("Info"))
            tags = self._check_tags(params.get("Tags", []))
            product_id = self._new_id("prod-")
            artifact = self._new_artifact(props)
            region.products[product_id] = {
                "ProductId": product_id,
                "ViewId": self._new_id("prodview-"),
                "ARN": f"arn:aws:catalog:{region.name}:{self.account_id}:product/{product_id}",
                "Name": params["Name"],
                "Owner": params["Owner"],
                "Description": params.get("Description"),
                "Distributor": params.get("Distributor"),
                "SupportEmail": params.get("SupportEmail"),
                "SupportUrl": support_url,
                "SupportDescription": params.get("SupportDescription"),
                "Type": params["ProductType"],
                "CreatedTime": self._now(),
                "Tags": tags,
                "Artifacts": [artifact],
            }
            self._created(product_id)
            p = region.products[product_id]
            return {
                "ProductViewDetail": self._product_view(p),
                "ProvisioningArtifactDetail": self._artifact_detail(artifact),
                "Tags": self._tags_out(p["Tags"]),
            }

        return self._idempotent(region, "CreateProduct", params, create)

    def _op_DeleteProduct(self, region: _Region, params: dict) -> dict:
        """Refused while the product is in a portfolio (documented); its creation token is kept."""
        self._product(region, params["Id"])
        if any(params["Id"] in members for members in region.portfolio_products.values()):
            raise SCError("ResourceInUseException", "The product is associated with a portfolio")
        del region.products[params["Id"]]
        region.tag_option_links.pop(params["Id"], None)
        return {}

    def _op_UpdateProduct(self, region: _Region, params: dict) -> dict:
        p = self._product(region, params["Id"])
        tags = self._update_tags(p["Tags"], params.get("AddTags", []), params.get("RemoveTags", []))
        for key in ("Name", "Owner", "Description", "Distributor", "SupportEmail", "SupportUrl",
                    "SupportDescription"):
            if params.get(key) is not None:
                p[key] = params[key]
        p["Tags"] = tags
        return {"ProductViewDetail": self._product_view(p), "Tags": self._tags_out(p["Tags"])}

    # --------------------------------------------------------------------------------- versions

    def _op_ListProvisioningArtifacts(self, region: _Region, params: dict) -> dict:
        p = self._product(region, params["ProductId"])
        return {"ProvisioningArtifactDetails": [self._artifact_detail(a) for a in p["Artifacts"]]}

    def _op_CreateProvisioningArtifact(self, region: _Region, params: dict) -> dict:
        def create() -> dict:
            p = self._product(region, params["ProductId"])
            if len(p["Artifacts"]) >= self.limits["versions_per_product"]:
                raise SCError("LimitExceededException", "Provisioning artifact limit reached for this product")
            self._check_template(params["Parameters"].get("Info"))
            artifact = self._new_artifact(params["Parameters"])
            p["Artifacts"].append(artifact)
            return {
                "ProvisioningArtifactDetail": self._artifact_detail(artifact),
                "Info": dict(artifact["Info"]),
                "Status": "AVAILABLE",
            }

        return self._idempotent(region, "CreateProvisioningArtifact", params, create)

    def _op_DescribeProvisioningArtifact(self, region: _Region, params: dict) -> dict:
        """By ids only (the publisher's use); names are not supported by the double."""
        if not params.get("ProductId") or not params.get("ProvisioningArtifactId"):
            raise SCError("InvalidParametersException", "The double needs ProductId and ProvisioningArtifactId")
        p = self._product(region, params["ProductId"])
        matches = [a for a in p["Artifacts"] if a["Id"] == params["ProvisioningArtifactId"]]
        if not matches:
            raise SCError("ResourceNotFoundException", f"Provisioning artifact {params['ProvisioningArtifactId']}")
        response = {
            "ProvisioningArtifactDetail": self._artifact_detail(matches[0]),
            "Info": dict(matches[0]["Info"]),
            "Status": "AVAILABLE",
        }
        if params.get("IncludeProvisioningArtifactParameters"):
            response["ProvisioningArtifactParameters"] = self._artifact_parameter_list(matches[0])
        return response

    def _op_DeleteProvisioningArtifact(self, region: _Region, params: dict) -> dict:
        """The last version of a product cannot be deleted (ResourceInUseException).  A version that
        provisioned products still use is deleted all the same: the API reference names only the last
        version and products shared with the caller as refusals, so the caller must check usage itself."""
        p = self._product(region, params["ProductId"])
        matches = [a for a in p["Artifacts"] if a["Id"] == params["ProvisioningArtifactId"]]
        if not matches:
            raise SCError("ResourceNotFoundException", f"Provisioning artifact {params['ProvisioningArtifactId']}")
        if len(p["Artifacts"]) == 1:
            raise SCError("ResourceInUseException", "Cannot delete the last provisioning artifact of a product")
        p["Artifacts"].remove(matches[0])
        return {}

    def _op_UpdateProvisioningArtifact(self, region: _Region, params: dict) -> dict:
        p = self._product(region, params["ProductId"])
        matches = [a for a in p["Artifacts"] if a["Id"] == params["ProvisioningArtifactId"]]
        if not matches:
            raise SCError("ResourceNotFoundException", f"Provisioning artifact {params['ProvisioningArtifactId']}")
        artifact = matches[0]
        for key in ("Name", "Description", "Active", "Guidance"):
            if params.get(key) is not None:
                artifact[key] = params[key]
        return {
            "ProvisioningArtifactDetail": self._artifact_detail(artifact),
            "Info": dict(artifact["Info"]),
            "Status": "AVAILABLE",
        }

    # --------------------------------------------------------------------------------- associations

    def _op_AssociateProductWithPortfolio(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        self._product(region, params["ProductId"])
        members = region.portfolio_products.setdefault(params["PortfolioId"], [])
        if params["ProductId"] not in members:
            if len(members) >= self.limits["products_per_portfolio"]:
                raise SCError("LimitExceededException", "Product limit reached for this portfolio")
            members.append(params["ProductId"])
            if self.association_lag:
                region.association_lag[(params["PortfolioId"], params["ProductId"])] = self.association_lag
        return {}

    def _op_DisassociateProductFromPortfolio(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        self._product(region, params["ProductId"])
        members = region.portfolio_products.get(params["PortfolioId"], [])
        if params["ProductId"] not in members:
            raise SCError("ResourceNotFoundException", "Product is not associated with the portfolio")
        in_use = [
            c for c in region.constraints.values()
            if c["PortfolioId"] == params["PortfolioId"] and c["ProductId"] == params["ProductId"]
        ]
        if in_use:
            raise SCError("ResourceInUseException", "Delete the constraints on the product first")
        members.remove(params["ProductId"])
        return {}

    # --------------------------------------------------------------------------------- constraints

    @staticmethod
    def _constraint_detail(c: dict) -> dict:
        detail = {k: c[k] for k in ("ConstraintId", "Type", "Owner", "ProductId", "PortfolioId")}
        if c.get("Description") is not None:
            detail["Description"] = c["Description"]
        return detail

    def _op_ListConstraintsForPortfolio(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        items = [
            self._constraint_detail(c)
            for c in region.constraints.values()
            if c["PortfolioId"] == params["PortfolioId"]
            and (not params.get("ProductId") or c["ProductId"] == params["ProductId"])
        ]
        page, token = self._page(items, params, "ListConstraintsForPortfolio")
        return {"ConstraintDetails": page, "NextPageToken": token}

    def _op_DescribeConstraint(self, region: _Region, params: dict) -> dict:
        c = region.constraints.get(params["Id"])
        if c is None:
            raise SCError("ResourceNotFoundException", f"Constraint {params['Id']} not found")
        return {"ConstraintDetail": self._constraint_detail(c), "ConstraintParameters": c["Parameters"],
                "Status": "AVAILABLE"}

    def _op_CreateConstraint(self, region: _Region, params: dict) -> dict:
        def create() -> dict:
            self._portfolio(region, params["PortfolioId"])
            self._product(region, params["ProductId"])
            pair = (params["PortfolioId"], params["ProductId"])
            if params["ProductId"] not in region.portfolio_products.get(params["PortfolioId"], []):
                raise SCError("ResourceNotFoundException", "Product is not associated with the portfolio")
            if region.association_lag.get(pair, 0) > 0:
                region.association_lag[pair] -= 1
                raise SCError("ResourceNotFoundException", "Product is not associated with the portfolio")
            if params["Type"] not in CONSTRAINT_TYPES:
                raise SCError("InvalidParametersException", f"Unknown constraint type {params['Type']}")
            try:
                parsed = json.loads(params["Parameters"])
            except ValueError as exc:
                raise SCError("InvalidParametersException", "Parameters must be JSON") from exc
            if params["Type"] == "LAUNCH":
                self._check_launch(parsed)
                for c in region.constraints.values():
                    if (c["PortfolioId"], c["ProductId"]) == pair and c["Type"] in ("LAUNCH", "STACKSET"):
                        raise SCError(
                            "DuplicateResourceException",
                            "A launch constraint already exists for this product and portfolio",
                        )
            self._check_update_or_notification(region, params["Type"], parsed, pair, None, "DuplicateResourceException")
            cid = self._new_id("cons-")
            region.constraints[cid] = {
                "ConstraintId": cid,
                "Type": params["Type"],
                "Description": params.get("Description"),
                "Owner": self.account_id,
                "ProductId": params["ProductId"],
                "PortfolioId": params["PortfolioId"],
                "Parameters": params["Parameters"],
            }
            c = region.constraints[cid]
            return {"ConstraintDetail": self._constraint_detail(c), "ConstraintParameters": c["Parameters"],
                    "Status": "AVAILABLE"}

        return self._idempotent(region, "CreateConstraint", params, create)

    def _op_DeleteConstraint(self, region: _Region, params: dict) -> dict:
        """Deleting does not forget the IdempotencyToken that created the constraint: a later create
        with that token gets the original (now stale) answer, as Service Catalog does."""
        if params["Id"] not in region.constraints:
            raise SCError("ResourceNotFoundException", f"Constraint {params['Id']} not found")
        del region.constraints[params["Id"]]
        return {}

    @staticmethod
    def _check_launch(parsed: Any) -> None:
        if not isinstance(parsed, dict) or len(set(parsed) & LAUNCH_KEYS) != 1 or set(parsed) - LAUNCH_KEYS:
            raise SCError(
                "InvalidParametersException",
                "A LAUNCH constraint needs exactly one of RoleArn or LocalRoleName",
            )

    def _check_update_or_notification(self, region: _Region, kind: str, parsed: Any, pair: tuple, own_id: str | None,
                                      duplicate_code: str) -> None:
        """RESOURCE_UPDATE and NOTIFICATION Parameters exactly as CreateConstraint's documentation spells them:
        {"Version":"2.0","Properties":{"TagUpdateOnProvisionedProduct":"ALLOWED|NOT_ALLOWED"}} and
        {"NotificationArns":["arn:aws:sns:..."]} (at most 5: ProvisionProduct.NotificationArns); anything else ->
        InvalidParametersException.  Strict choices where AWS does not say: a second RESOURCE_UPDATE constraint on
        a product and portfolio, or a topic another NOTIFICATION constraint there already names, is refused
        (AWS's CDK refuses both at synth); a topic of another region is refused here, where AWS lets the stack
        fail at launch (CloudFormation: "Invalid parameter: TopicArn")."""
        if kind == "RESOURCE_UPDATE":
            if not _is_resource_update(parsed):
                raise SCError("InvalidParametersException", "A RESOURCE_UPDATE constraint needs "
                              '{"Version":"2.0","Properties":{"TagUpdateOnProvisionedProduct":"ALLOWED|NOT_ALLOWED"}}')
            if any(c["Type"] == "RESOURCE_UPDATE" for c in self._on_pair(region, pair, own_id)):
                raise SCError(duplicate_code, "A RESOURCE_UPDATE constraint already exists for this product and "
                              "portfolio")
        if kind == "NOTIFICATION":
            arns = _notification_arns(parsed)
            if arns is None:
                raise SCError("InvalidParametersException",
                              'A NOTIFICATION constraint needs {"NotificationArns": ["arn:aws:sns:..."]} (1-5 topics)')
            elsewhere = [a for a in arns if a.split(":")[3] != region.name]
            if elsewhere:
                raise SCError("InvalidParametersException", f"Topic {elsewhere[0]} is not in {region.name}")
            named = {a for c in self._on_pair(region, pair, own_id) if c["Type"] == "NOTIFICATION"
                     for a in json.loads(c["Parameters"]).get("NotificationArns", [])}
            if named & set(arns) or len(set(arns)) != len(arns):
                raise SCError(duplicate_code, "A NOTIFICATION constraint for this topic already exists for this "
                              "product and portfolio")

    @staticmethod
    def _on_pair(region: _Region, pair: tuple, own_id: str | None) -> list[dict]:
        return [c for c in region.constraints.values()
                if (c["PortfolioId"], c["ProductId"]) == pair and c["ConstraintId"] != own_id]

    def _op_UpdateConstraint(self, region: _Region, params: dict) -> dict:
        """Description and Parameters (the documented syntax per type, LAUNCH included) in place."""
        c = region.constraints.get(params["Id"])
        if c is None:
            raise SCError("ResourceNotFoundException", f"Constraint {params['Id']} not found")
        if params.get("Parameters") is not None:
            try:
                parsed = json.loads(params["Parameters"])
            except ValueError as exc:
                raise SCError("InvalidParametersException", "Parameters must be JSON") from exc
            if c["Type"] == "LAUNCH":
                self._check_launch(parsed)
            # UpdateConstraint's errors are ResourceNotFoundException and InvalidParametersException only
            self._check_update_or_notification(region, c["Type"], parsed, (c["PortfolioId"], c["ProductId"]),
                                               c["ConstraintId"], "InvalidParametersException")
            c["Parameters"] = params["Parameters"]
        if params.get("Description") is not None:
            c["Description"] = params["Description"]
        return {"ConstraintDetail": self._constraint_detail(c), "ConstraintParameters": c["Parameters"],
                "Status": "AVAILABLE"}

    # --------------------------------------------------------------------------------- principals

    def _op_ListPrincipalsForPortfolio(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        items = [
            {"PrincipalARN": arn, "PrincipalType": kind}
            for arn, kind in region.principals.get(params["PortfolioId"], {}).items()
        ]
        page, token = self._page(items, params, "ListPrincipalsForPortfolio")
        return {"Principals": page, "NextPageToken": token}

    def _op_AssociatePrincipalWithPortfolio(self, region: _Region, params: dict) -> dict:
        """IAM needs a full ARN with an account; IAM_PATTERN an account-less ARN (wildcards allowed)."""
        self._portfolio(region, params["PortfolioId"])
        arn, kind = params["PrincipalARN"], params["PrincipalType"]
        pattern = IAM_ARN if kind == "IAM" else IAM_PATTERN_ARN
        if not pattern.fullmatch(arn):
            raise SCError("InvalidParametersException", f"{arn} is not a valid {kind} principal ARN")
        principals = region.principals.setdefault(params["PortfolioId"], {})
        if arn not in principals:
            patterns = [a for a, t in principals.items() if t == "IAM_PATTERN"]
            if kind == "IAM_PATTERN" and len(patterns) >= self.limits["iam_patterns_per_portfolio"]:
                raise SCError("LimitExceededException", "At most 10 IAM_PATTERN principals per portfolio")
            principals[arn] = kind
        return {}

    def _op_DisassociatePrincipalFromPortfolio(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        principals = region.principals.get(params["PortfolioId"], {})
        if params["PrincipalARN"] not in principals:
            raise SCError("ResourceNotFoundException", "Principal is not associated with the portfolio")
        del principals[params["PrincipalARN"]]
        return {}

    # --------------------------------------------------------------------------------- tag options

    def _op_ListTagOptions(self, region: _Region, params: dict) -> dict:
        filters = params.get("Filters") or {}
        items = [
            dict(t)
            for t in region.tag_options.values()
            if ("Key" not in filters or t["Key"] == filters["Key"])
            and ("Value" not in filters or t["Value"] == filters["Value"])
            and ("Active" not in filters or t["Active"] == filters["Active"])
        ]
        page, token = self._page(items, params, "ListTagOptions")
        return {"TagOptionDetails": page, "PageToken": token}

    def _op_CreateTagOption(self, region: _Region, params: dict) -> dict:
        for t in region.tag_options.values():
            if t["Key"] == params["Key"] and t["Value"] == params["Value"]:
                raise SCError("DuplicateResourceException", "TagOption already exists")
        tid = self._new_id("tag-")
        region.tag_options[tid] = {
            "Key": params["Key"],
            "Value": params["Value"],
            "Active": True,
            "Id": tid,
            "Owner": self.account_id,
        }
        return {"TagOptionDetail": dict(region.tag_options[tid])}

    def _resource_exists(self, region: _Region, resource_id: str) -> bool:
        return resource_id in region.portfolios or resource_id in region.products

    def _op_AssociateTagOptionWithResource(self, region: _Region, params: dict) -> dict:
        if not self._resource_exists(region, params["ResourceId"]):
            raise SCError("ResourceNotFoundException", f"Resource {params['ResourceId']} not found")
        if params["TagOptionId"] not in region.tag_options:
            raise SCError("ResourceNotFoundException", f"TagOption {params['TagOptionId']} not found")
        links = region.tag_option_links.setdefault(params["ResourceId"], [])
        if params["TagOptionId"] in links:
            raise SCError("DuplicateResourceException", "TagOption already associated with the resource")
        if len(links) >= self.limits["tag_options_per_resource"]:
            raise SCError("LimitExceededException", "TagOption limit reached for the resource")
        links.append(params["TagOptionId"])
        return {}

    def _op_DisassociateTagOptionFromResource(self, region: _Region, params: dict) -> dict:
        links = region.tag_option_links.get(params["ResourceId"], [])
        if params["TagOptionId"] not in links:
            raise SCError("ResourceNotFoundException", "TagOption is not associated with the resource")
        links.remove(params["TagOptionId"])
        return {}

    # --------------------------------------------------------------------------------- sharing

    def _op_GetAWSOrganizationsAccessStatus(self, region: _Region, params: dict) -> dict:
        return {"AccessStatus": region.org_access}

    @staticmethod
    def _node_value(value: str) -> str:
        # ARN forms name the same node as the bare ids
        if value.startswith("arn:"):
            return value.rsplit("/", 1)[1]
        return value

    def _share_target(self, region: _Region, params: dict, *, for_update: bool = False) -> tuple[str, str]:
        account = params.get("AccountId")
        node = params.get("OrganizationNode")
        if bool(account) == bool(node):
            raise SCError("InvalidParametersException", "Specify exactly one of AccountId or OrganizationNode")
        if account:
            if params.get("SharePrincipals"):
                raise SCError(
                    "InvalidParametersException",
                    "SharePrincipals is only supported for ORGANIZATION or ORGANIZATIONAL_UNIT shares",
                )
            return "ACCOUNT", account
        if not node.get("Type") or not node.get("Value"):
            raise SCError("InvalidParametersException", "OrganizationNode needs Type and Value")
        if region.org_access != "ENABLED":
            raise SCError(
                "OperationNotSupportedException",
                "AWS Organizations access is not enabled for Service Catalog (EnableAWSOrganizationsAccess)",
            )
        if node["Type"] == "ACCOUNT" and params.get("SharePrincipals"):
            raise SCError(
                "InvalidParametersException",
                "SharePrincipals is only supported for ORGANIZATION or ORGANIZATIONAL_UNIT shares",
            )
        value = self._node_value(node["Value"])
        expected = {"ORGANIZATION": "o-", "ORGANIZATIONAL_UNIT": "ou-", "ACCOUNT": ""}[node["Type"]]
        if not value.startswith(expected) or (node["Type"] == "ACCOUNT" and not value.isdigit()):
            raise SCError("InvalidParametersException", f"{value} is not a valid {node['Type']} value")
        return NODE_TO_SHARE_TYPE[node["Type"]], value

    def _busy(self, region: _Region, portfolio_id: str) -> bool:
        return any(
            op.portfolio_id == portfolio_id and op.status not in SHARE_FINAL for op in region.share_ops.values()
        )

    def _start_share_op(self, region: _Region, portfolio_id: str, kind: str, share_type: str, value: str,
                        flags: dict, immediate: bool = False) -> _ShareOp:
        token = self._new_id("share-")
        op = _ShareOp(token, portfolio_id, kind, share_type, value, flags, self._tick)
        op.outcome = self.share_outcomes.get(value)
        if immediate:
            op.status = "COMPLETED"
            op.applied = True
        region.share_ops[token] = op
        return op

    def _advance_shares(self, region: _Region) -> None:
        first, second = self.share_steps
        for op in region.share_ops.values():
            if op.status in SHARE_FINAL:
                continue
            elapsed = self._tick - op.started
            if elapsed <= first:
                op.status = "NOT_STARTED"
            elif elapsed <= second:
                op.status = "IN_PROGRESS"
            else:
                final, _errors = op.outcome or ("COMPLETED", [])
                op.status = final
                if final != "ERROR":
                    self._apply_share(region, op)

    def _apply_share(self, region: _Region, op: _ShareOp) -> None:
        if op.applied:
            return
        op.applied = True
        shares = region.shares.setdefault(op.portfolio_id, {})
        key = (op.share_type, op.value)
        if op.kind == "delete":
            shares.pop(key, None)
        elif op.kind == "create":
            shares.setdefault(key, dict(op.flags))
        else:
            shares.setdefault(key, {"SharePrincipals": False, "ShareTagOptions": False}).update(op.flags)

    def _op_CreatePortfolioShare(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        share_type, value = self._share_target(region, params)
        if self._busy(region, params["PortfolioId"]):
            raise SCError("InvalidStateException", "Another share operation is in progress for this portfolio")
        flags = {
            "SharePrincipals": bool(params.get("SharePrincipals", False)),
            "ShareTagOptions": bool(params.get("ShareTagOptions", False)),
        }
        existing = region.shares.get(params["PortfolioId"], {}).get((share_type, value))
        if share_type == "ACCOUNT":  # account-to-account shares are synchronous and return no token
            if existing is None:
                region.shares.setdefault(params["PortfolioId"], {})[(share_type, value)] = {
                    **flags, "Accepted": False}
            return {}
        # "If the portfolio share ... already exists, this action will have no effect"
        op = self._start_share_op(region, params["PortfolioId"], "create", share_type, value, flags,
                                  immediate=existing is not None)
        return {"PortfolioShareToken": op.token}

    def _op_UpdatePortfolioShare(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        share_type, value = self._share_target(region, params, for_update=True)
        if self._busy(region, params["PortfolioId"]):
            raise SCError("InvalidStateException", "Another share operation is in progress for this portfolio")
        if (share_type, value) not in region.shares.get(params["PortfolioId"], {}):
            raise SCError("ResourceNotFoundException", f"The portfolio is not shared with {value}")
        flags = {k: params[k] for k in ("SharePrincipals", "ShareTagOptions") if params.get(k) is not None}
        op = self._start_share_op(region, params["PortfolioId"], "update", share_type, value, flags)
        return {"PortfolioShareToken": op.token, "Status": op.status}

    def _op_DeletePortfolioShare(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        share_type, value = self._share_target(region, params)
        if self._busy(region, params["PortfolioId"]):
            raise SCError("InvalidStateException", "Another share operation is in progress for this portfolio")
        if (share_type, value) not in region.shares.get(params["PortfolioId"], {}):
            raise SCError("ResourceNotFoundException", f"The portfolio is not shared with {value}")
        if share_type == "ACCOUNT":
            del region.shares[params["PortfolioId"]][(share_type, value)]
            return {}
        op = self._start_share_op(region, params["PortfolioId"], "delete", share_type, value, {})
        return {"PortfolioShareToken": op.token}

    def _op_DescribePortfolioShareStatus(self, region: _Region, params: dict) -> dict:
        op = region.share_ops.get(params["PortfolioShareToken"])
        if op is None:
            raise SCError("ResourceNotFoundException", "Unknown PortfolioShareToken")
        response = {
            "PortfolioShareToken": op.token,
            "PortfolioId": op.portfolio_id,
            "OrganizationNodeValue": op.value,
            "Status": op.status,
        }
        if op.status in SHARE_FINAL:
            errors = (op.outcome or ("COMPLETED", []))[1] if op.status != "COMPLETED" else []
            response["ShareDetails"] = {"SuccessfulShares": [], "ShareErrors": copy.deepcopy(errors)}
        return response

    def _op_DescribePortfolioShares(self, region: _Region, params: dict) -> dict:
        self._portfolio(region, params["PortfolioId"])
        items = [
            {
                "PrincipalId": value,
                "Type": share_type,
                "Accepted": bool(flags.get("Accepted", True)),
                "ShareTagOptions": bool(flags.get("ShareTagOptions")),
                "SharePrincipals": bool(flags.get("SharePrincipals")),
            }
            for (share_type, value), flags in region.shares.get(params["PortfolioId"], {}).items()
            if share_type == params["Type"]
        ]
        page, token = self._page(items, params, "DescribePortfolioShares", default_size=50)
        return {"PortfolioShareDetails": page, "NextPageToken": token}

    # --------------------------------------------------------------------------------- provisioned products
    #
    # Provisioned products and their records.  A record goes CREATED -> IN_PROGRESS -> SUCCEEDED | FAILED
    # over later calls to the double (record_steps, as share_steps); meanwhile its provisioned product is
    # UNDER_CHANGE.  A failed update leaves the product TAINTED on its old version ("a request to update to
    # a new version failed and the stack rolled back to the current version": the ProvisionedProduct
    # Status documentation), a failed launch ERROR.  Parameters are checked against the version's template
    # when template_reader can read it: a key the template does not declare, UsePreviousValue for a key the
    # stack does not have, and a parameter without a default left out are InvalidParametersException
    # (strict choice: a parameter left out takes the template's default, as in a CloudFormation stack
    # update without UsePreviousValue).  Tags on UpdateProvisionedProduct need a RESOURCE_UPDATE
    # constraint with TagUpdateOnProvisionedProduct ALLOWED (UpdateProvisionedProduct's Tags documentation).
    # One caller: the Account, Role and User access levels all see every provisioned product of the region.

    RECORD_FINAL = ("SUCCEEDED", "FAILED")

    def _init_provisioning(self) -> None:
        self.record_steps: tuple[int, int] = (1, 3)
        #: callable(url) -> template bytes (None: unreadable); without it parameters are not checked
        self.template_reader: Callable[[str], bytes | None] | None = None
        #: the most UpdateProvisionedProduct records that were running at once
        self.max_updates_in_progress = 0
        self._failing: dict[str, str] = {}  # provisioned product id or name -> its next update's failure
        self.caller_arn = f"arn:aws:iam::{self.account_id}:role/Admin"

    def fail_next_update(self, provisioned_product: str, message: str = "Resource handler returned a failure") -> None:
        """The next UpdateProvisionedProduct of this provisioned product (name or id) fails: its record
        ends FAILED with the message, the provisioned product TAINTED on its old version."""
        self._failing[provisioned_product] = message

    def provisioned_products(self, region: str = "us-east-1") -> list[dict]:
        return [copy.deepcopy(pp) for pp in self.region(region).provisioned.values()]

    def advance(self, region: str = "us-east-1") -> None:
        """One tick of the double's clock, as a call makes: for another double (SageMaker projects) whose
        calls are answered from this one's records."""
        with self._lock:
            self._tick += 1
            self._advance_shares(self.region(region))
            self._advance_records(self.region(region))

    @staticmethod
    def _parse_template(body: bytes) -> dict:
        try:
            return json.loads(body)
        except ValueError:
            import yaml

            loaded = yaml.safe_load(body)
            return loaded if isinstance(loaded, dict) else {}

    def _template_parameters(self, artifact: dict) -> dict | None:
        """{name: definition} of a version's template; None when the double cannot read it."""
        if "_parameters" not in artifact:
            url = (artifact.get("Info") or {}).get("LoadTemplateFromURL")
            body = self.template_reader(url) if self.template_reader is not None and url else None
            artifact["_parameters"] = (None if body is None
                                       else dict(self._parse_template(body).get("Parameters") or {}))
        return artifact["_parameters"]

    def _artifact_parameter_list(self, artifact: dict) -> list[dict]:
        result = []
        for key, definition in (self._template_parameters(artifact) or {}).items():
            item = {"ParameterKey": key, "ParameterType": definition.get("Type", "String"),
                    "IsNoEcho": bool(definition.get("NoEcho")), "Description": definition.get("Description", "")}
            if "Default" in definition:
                item["DefaultValue"] = str(definition["Default"])
            result.append(item)
        return result

    def _parameter_values(self, artifact: dict, given: list[dict], previous: dict | None) -> dict:
        declared = self._template_parameters(artifact)
        values: dict[str, str] = {}
        for parameter in given:
            key = parameter.get("Key")
            if not key:
                raise SCError("InvalidParametersException", "A provisioning parameter needs a Key")
            if declared is not None and key not in declared:
                raise SCError("InvalidParametersException", f"Parameters: [{key}] do not exist in the template")
            if parameter.get("UsePreviousValue"):
                if previous is None or key not in previous:
                    raise SCError("InvalidParametersException",
                                  f"Invalid input for parameter key {key}. Cannot specify usePreviousValue as "
                                  f"true for a parameter key not in the previous template")
                values[key] = previous[key]
            else:
                values[key] = parameter.get("Value", "")
        if declared is None:
            return {**(previous or {}), **values}
        for key, definition in declared.items():
            if key not in values:
                if "Default" not in definition:
                    raise SCError("InvalidParametersException", f"Parameters: [{key}] must have values")
                values[key] = str(definition["Default"])
        return values

    @staticmethod
    def _find_artifact(product: dict, artifact_id: str | None, name: str | None) -> dict:
        for artifact in product["Artifacts"]:
            if (artifact_id and artifact["Id"] == artifact_id) or (not artifact_id and artifact["Name"] == name):
                return artifact
        raise SCError("ResourceNotFoundException", f"Provisioning artifact {artifact_id or name} not found")

    def _product_by(self, region: _Region, product_id: str | None, name: str | None) -> dict:
        if bool(product_id) == bool(name):
            raise SCError("InvalidParametersException", "Specify exactly one of ProductId or ProductName")
        if product_id:
            return self._product(region, product_id)
        for product in region.products.values():
            if product["Name"] == name:
                return product
        raise SCError("ResourceNotFoundException", f"Product {name} not found")

    def _provisioned_by(self, region: _Region, pp_id: str | None, name: str | None) -> dict:
        if bool(pp_id) == bool(name):
            raise SCError("InvalidParametersException",
                          "Specify exactly one of ProvisionedProductId or ProvisionedProductName")
        for pp in region.provisioned.values():
            if pp["Id"] == pp_id or pp["Name"] == name or pp["Arn"] == name:
                return pp
        raise SCError("ResourceNotFoundException", f"Provisioned product {pp_id or name} not found")

    def _replayed(self, region: _Region, operation: str, token_key: str, params: dict) -> tuple[tuple, dict, Any]:
        """(idempotency key, request without token, the earlier response or None) for a provisioning call."""
        key = (operation, params[token_key])
        request = {k: v for k, v in params.items() if k not in (token_key, "AcceptLanguage")}
        seen = region.idempotency.get(key)
        if seen is not None and seen[0] != request:
            raise SCError("InvalidParametersException",
                          f"{token_key} {params[token_key]} was already used with different parameters")
        return key, request, copy.deepcopy(seen[1]) if seen is not None else None

    def _tag_updates_allowed(self, region: _Region, product_id: str) -> bool:
        for constraint in region.constraints.values():
            if constraint["ProductId"] != product_id or constraint["Type"] != "RESOURCE_UPDATE":
                continue
            properties = (json.loads(constraint["Parameters"]) or {}).get("Properties") or {}
            if properties.get("TagUpdateOnProvisionedProduct") == "ALLOWED":
                return True
        return False

    def _start_record(self, region: _Region, pp: dict, record_type: str, artifact_id: str, target: dict,
                      failure: str | None = None) -> dict:
        record_id = self._new_id("rec-")
        record = {
            "RecordId": record_id, "ProvisionedProductName": pp["Name"], "Status": "CREATED",
            "CreatedTime": self._now(), "UpdatedTime": self._now(), "ProvisionedProductType": "CFN_STACK",
            "RecordType": record_type, "ProvisionedProductId": pp["Id"], "ProductId": pp["ProductId"],
            "ProvisioningArtifactId": artifact_id, "RecordErrors": [],
            "RecordTags": self._tags_out(pp["Tags"]), "_started": self._tick, "_target": target, "_failure": failure,
        }
        region.records[record_id] = record
        pp["Status"] = "UNDER_CHANGE"
        pp.pop("StatusMessage", None)
        pp["LastRecordId"] = record_id
        if record_type != "TERMINATE_PROVISIONED_PRODUCT":
            pp["LastProvisioningRecordId"] = record_id
        if record_type == "UPDATE_PROVISIONED_PRODUCT":
            running = sum(r["RecordType"] == record_type and r["Status"] not in self.RECORD_FINAL
                          for r in region.records.values())
            self.max_updates_in_progress = max(self.max_updates_in_progress, running)
        return record

    def _advance_records(self, region: _Region) -> None:
        first, second = self.record_steps
        for record in region.records.values():
            if record["Status"] in self.RECORD_FINAL:
                continue
            elapsed = self._tick - record["_started"]
            if elapsed <= first:
                record["Status"] = "CREATED"
            elif elapsed <= second and not record["_failure"]:  # a stack set to fail fails early
                record["Status"] = "IN_PROGRESS"
            else:
                self._finish_record(region, record)

    def _finish_record(self, region: _Region, record: dict) -> None:
        record["UpdatedTime"] = self._now()
        pp = region.provisioned.get(record["ProvisionedProductId"])
        if record["_failure"]:
            record["Status"] = "FAILED"
            record["RecordErrors"] = [{"Code": "StackOperationFailed", "Description": record["_failure"]}]
            if pp is not None:
                pp["Status"] = "TAINTED" if record["RecordType"] == "UPDATE_PROVISIONED_PRODUCT" else "ERROR"
                pp["StatusMessage"] = record["_failure"]
            return
        record["Status"] = "SUCCEEDED"
        if pp is None:
            return
        if record["RecordType"] == "TERMINATE_PROVISIONED_PRODUCT":
            del region.provisioned[pp["Id"]]
            return
        target = record["_target"]
        pp.update(Status="AVAILABLE", ProvisioningArtifactId=target["artifact"], Parameters=target["parameters"],
                  LastSuccessfulProvisioningRecordId=record["RecordId"])
        if target.get("tags") is not None:
            pp["Tags"] = target["tags"]

    @staticmethod
    def _record_detail(record: dict) -> dict:
        return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}

    @staticmethod
    def _pp_detail(pp: dict) -> dict:
        keys = ("Name", "Arn", "Type", "Id", "Status", "StatusMessage", "CreatedTime", "IdempotencyToken",
                "LastRecordId", "LastProvisioningRecordId", "LastSuccessfulProvisioningRecordId", "ProductId",
                "ProvisioningArtifactId")
        return {k: pp[k] for k in keys if pp.get(k) is not None}

    def _pp_attributes(self, region: _Region, pp: dict) -> dict:
        attributes = {k: v for k, v in self._pp_detail(pp).items()}
        attributes.update(Tags=self._tags_out(pp["Tags"]), UserArn=pp["UserArn"], UserArnSession=pp["UserArn"])
        product = region.products.get(pp["ProductId"])
        if product is not None:
            attributes["ProductName"] = product["Name"]
            artifact = next((a for a in product["Artifacts"] if a["Id"] == pp["ProvisioningArtifactId"]), None)
            if artifact is not None:
                attributes["ProvisioningArtifactName"] = artifact["Name"]
        return attributes

    @staticmethod
    def _access_level(params: dict) -> None:
        level = params.get("AccessLevelFilter") or {}
        if level.get("Value") is not None and level["Value"].lower() != "self":
            raise SCError("InvalidParametersException", "AccessLevelFilter Value: the only supported value is self")

    def _op_ProvisionProduct(self, region: _Region, params: dict) -> dict:
        """Launch: the version must be active and not DEPRECATED (the admin guide: users cannot launch a
        deprecated version) and the product in a portfolio (its launch path); names are unique."""
        key, request, replay = self._replayed(region, "ProvisionProduct", "ProvisionToken", params)
        if replay is not None:
            return replay
        product = self._product_by(region, params.get("ProductId"), params.get("ProductName"))
        artifact = self._find_artifact(product, params.get("ProvisioningArtifactId"),
                                       params.get("ProvisioningArtifactName"))
        if not artifact["Active"] or artifact["Guidance"] == "DEPRECATED":
            raise SCError("InvalidParametersException",
                          f"Provisioning artifact {artifact['Id']} is inactive or deprecated and cannot be launched")
        if not any(product["ProductId"] in members for members in region.portfolio_products.values()):
            raise SCError("ResourceNotFoundException", f"No launch paths found for product {product['ProductId']}")
        name = params["ProvisionedProductName"]
        if any(pp["Name"] == name for pp in region.provisioned.values()):
            raise SCError("DuplicateResourceException", f"A provisioned product named {name} already exists")
        values = self._parameter_values(artifact, params.get("ProvisioningParameters", []), None)
        pp_id = self._new_id("pp-")
        pp = {
            "Id": pp_id, "Name": name, "Type": "CFN_STACK", "Status": "UNDER_CHANGE", "CreatedTime": self._now(),
            "Arn": f"arn:aws:servicecatalog:{region.name}:{self.account_id}:stack/{name}/{pp_id}",
            "IdempotencyToken": params["ProvisionToken"], "ProductId": product["ProductId"],
            "ProvisioningArtifactId": artifact["Id"], "Tags": self._check_tags(params.get("Tags", [])),
            "Parameters": {}, "UserArn": self.caller_arn,
        }
        region.provisioned[pp_id] = pp
        record = self._start_record(region, pp, "PROVISION_PRODUCT", artifact["Id"],
                                    {"artifact": artifact["Id"], "parameters": values})
        response = {"RecordDetail": self._record_detail(record)}
        region.idempotency[key] = (copy.deepcopy(request), copy.deepcopy(response))
        return response

    def _op_UpdateProvisionedProduct(self, region: _Region, params: dict) -> dict:
        """To the product's same or another version: a DEPRECATED or inactive version only when it is
        the one the provisioned product already has (admin guide, version guidance); refused while the
        provisioned product is under change (strict choice: InvalidParametersException, the error the
        operation models)."""
        key, request, replay = self._replayed(region, "UpdateProvisionedProduct", "UpdateToken", params)
        if replay is not None:
            return replay
        pp = self._provisioned_by(region, params.get("ProvisionedProductId"), params.get("ProvisionedProductName"))
        if pp["Status"] in ("UNDER_CHANGE", "PLAN_IN_PROGRESS"):
            raise SCError("InvalidParametersException",
                          f"Provisioned product {pp['Id']} is {pp['Status']}; wait for a stable status")
        if params.get("ProductId") or params.get("ProductName"):
            product = self._product_by(region, params.get("ProductId"), params.get("ProductName"))
            if product["ProductId"] != pp["ProductId"]:
                raise SCError("InvalidParametersException", "A provisioned product cannot change its product")
        product = self._product(region, pp["ProductId"])
        artifact_id, artifact_name = params.get("ProvisioningArtifactId"), params.get("ProvisioningArtifactName")
        if not artifact_id and not artifact_name:
            artifact_id = pp["ProvisioningArtifactId"]
        artifact = self._find_artifact(product, artifact_id, artifact_name)
        if artifact["Id"] != pp["ProvisioningArtifactId"] and (
                not artifact["Active"] or artifact["Guidance"] == "DEPRECATED"):
            raise SCError("InvalidParametersException",
                          f"Provisioning artifact {artifact['Id']} is inactive or deprecated: update to the current "
                          f"version or a newer one")
        tags = None
        if params.get("Tags") is not None:
            if not self._tag_updates_allowed(region, product["ProductId"]):
                raise SCError("InvalidParametersException",
                              "Tag updates are not allowed: the product has no RESOURCE_UPDATE constraint with "
                              "TagUpdateOnProvisionedProduct ALLOWED")
            tags = self._check_tags(params["Tags"])
        values = self._parameter_values(artifact, params.get("ProvisioningParameters", []), pp["Parameters"])
        failure = self._failing.pop(pp["Id"], None) or self._failing.pop(pp["Name"], None)
        record = self._start_record(region, pp, "UPDATE_PROVISIONED_PRODUCT", artifact["Id"],
                                    {"artifact": artifact["Id"], "parameters": values, "tags": tags}, failure)
        response = {"RecordDetail": self._record_detail(record)}
        region.idempotency[key] = (copy.deepcopy(request), copy.deepcopy(response))
        return response

    def _op_TerminateProvisionedProduct(self, region: _Region, params: dict) -> dict:
        key, request, replay = self._replayed(region, "TerminateProvisionedProduct", "TerminateToken", params)
        if replay is not None:
            return replay
        pp = self._provisioned_by(region, params.get("ProvisionedProductId"), params.get("ProvisionedProductName"))
        if pp["Status"] in ("UNDER_CHANGE", "PLAN_IN_PROGRESS"):
            raise SCError("InvalidParametersException", f"Provisioned product {pp['Id']} is {pp['Status']}")
        record = self._start_record(region, pp, "TERMINATE_PROVISIONED_PRODUCT", pp["ProvisioningArtifactId"],
                                    {"artifact": pp["ProvisioningArtifactId"], "parameters": pp["Parameters"]})
        response = {"RecordDetail": self._record_detail(record)}
        region.idempotency[key] = (copy.deepcopy(request), copy.deepcopy(response))
        return response

    def _op_DescribeProvisionedProduct(self, region: _Region, params: dict) -> dict:
        pp = self._provisioned_by(region, params.get("Id"), params.get("Name"))
        return {"ProvisionedProductDetail": self._pp_detail(pp), "CloudWatchDashboards": []}

    SEARCH_FIELDS = {"name": "Name", "id": "Id", "productId": "ProductId", "status": "Status", "type": "Type",
                     "provisioningArtifactId": "ProvisioningArtifactId", "productName": "ProductName",
                     "provisioningArtifactName": "ProvisioningArtifactName"}

    def _op_SearchProvisionedProducts(self, region: _Region, params: dict) -> dict:
        """SearchQuery terms ``field:value`` (the fields in SEARCH_FIELDS; others are refused by the
        double) or free text matched against the name; every term must match."""
        self._access_level(params)
        items = [self._pp_attributes(region, pp) for pp in region.provisioned.values()]
        for values in (params.get("Filters") or {}).values():  # SearchQuery, the only key the model allows
            for term in values:
                field_name, _, value = term.partition(":") if ":" in term else ("", "", term)
                if field_name and field_name not in self.SEARCH_FIELDS:
                    raise SCError("InvalidParametersException", f"Unsupported search field {field_name} (double)")
                member = self.SEARCH_FIELDS.get(field_name, "Name")
                items = [i for i in items if (i.get(member) == value if field_name else value in i["Name"])]
        if params.get("SortBy") in ("name", "id", "arn", "lastRecordId"):
            member = {"name": "Name", "id": "Id", "arn": "Arn", "lastRecordId": "LastRecordId"}[params["SortBy"]]
            items.sort(key=lambda i: i.get(member) or "", reverse=params.get("SortOrder") == "DESCENDING")
        page, token = self._page(items, params, "SearchProvisionedProducts")
        return {"ProvisionedProducts": page, "TotalResultsCount": len(items), "NextPageToken": token}

    def _op_ScanProvisionedProducts(self, region: _Region, params: dict) -> dict:
        self._access_level(params)
        items = [self._pp_detail(pp) for pp in region.provisioned.values()]
        page, token = self._page(items, params, "ScanProvisionedProducts")
        return {"ProvisionedProducts": page, "NextPageToken": token}

    def _op_DescribeRecord(self, region: _Region, params: dict) -> dict:
        record = region.records.get(params["Id"])
        if record is None:
            raise SCError("ResourceNotFoundException", f"Record {params['Id']} not found")
        return {"RecordDetail": self._record_detail(record), "RecordOutputs": []}

    def _op_ListPortfoliosForProduct(self, region: _Region, params: dict) -> dict:
        self._product(region, params["ProductId"])
        items = [self._portfolio_detail(region.portfolios[pid]) for pid, members in region.portfolio_products.items()
                 if params["ProductId"] in members and pid in region.portfolios]
        page, token = self._page(items, params, "ListPortfoliosForProduct")
        return {"PortfolioDetails": page, "NextPageToken": token}

    # --------------------------------------------------------------------------------- inspection

    def snapshot(self) -> dict:
        """Canonical state without generated ids or times, for comparing two runs."""
        result = {}
        for name in sorted(self._regions):
            region = self._regions[name]
            product_names = {pid: p["Name"] for pid, p in region.products.items()}
            portfolios = []
            for pid, p in region.portfolios.items():
                portfolios.append({
                    "DisplayName": p["DisplayName"],
                    "Description": p.get("Description"),
                    "ProviderName": p["ProviderName"],
                    "Tags": dict(sorted(p["Tags"].items())),
                    "TagOptions": sorted(
                        (region.tag_options[t]["Key"], region.tag_options[t]["Value"])
                        for t in region.tag_option_links.get(pid, [])
                    ),
                    "Principals": sorted(region.principals.get(pid, {}).items()),
                    "Products": sorted(product_names[i] for i in region.portfolio_products.get(pid, [])),
                    "Constraints": sorted(
                        (product_names[c["ProductId"]], c["Type"], json.dumps(json.loads(c["Parameters"]),
                                                                                sort_keys=True),
                         c.get("Description") or "")
                        for c in region.constraints.values() if c["PortfolioId"] == pid
                    ),
                    "Shares": sorted(
                        (t, v, bool(f.get("SharePrincipals")), bool(f.get("ShareTagOptions")))
                        for (t, v), f in region.shares.get(pid, {}).items()
                    ),
                })
            products = []
            for p in region.products.values():
                products.append({
                    **{k: p.get(k) for k in ("Name", "Owner", "Description", "Distributor", "SupportEmail",
                                             "SupportUrl", "SupportDescription", "Type")},
                    "Tags": dict(sorted(p["Tags"].items())),
                    "Artifacts": [
                        (a["Name"], a.get("Description"), a["Active"], a["Guidance"], json.dumps(a["Info"]))
                        for a in p["Artifacts"]
                    ],
                })
            result[name] = {
                "portfolios": sorted(portfolios, key=lambda x: json.dumps(x, sort_keys=True, default=str)),
                "products": sorted(products, key=lambda x: json.dumps(x, sort_keys=True, default=str)),
                "tag_options": sorted((t["Key"], t["Value"], t["Active"]) for t in region.tag_options.values()),
            }
        return result
