"""Do: apply a plan, action by action, and account for what was done.

The executor never decides anything the plan did not say; it only maps manifest ids to the
physical ids it read or created and turns each action into API calls.  On the first failure it
stops and reports the actions applied, the one that failed (with AWS's error) and the ones not
attempted.  Re-running the publisher afterwards re-reads live state and plans only what is missing;
the create calls it repeats carry the same deterministic IdempotencyToken, so a create whose answer
was lost returns the resource already made instead of a duplicate.  Service Catalog remembers the
token, not the resource: a create repeated after its resource was deleted answers with the deleted
id, so every create's answer is checked and a stale one re-created with a salted token
(:meth:`Executor._create_fresh`).

A region's actions run up to --max-parallel at once, in an order their scopes keep (:meth:`Executor._scopes`,
schedule.py); each action itself stays one thread's sequence of calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .artifacts import render_template
from .aws import Clients, Runtime, describe_exception, error_code, retry_call
from .ledger import LEDGER, Ledger, portfolio_digest
from .manifest import APPLIED_TAG, SHARE_CHECK_TAG, Catalog
from .model import Action, ActionOutcome, Options, Plan, PublishResult, RegionPlan, RegionResult, idempotency_token
from .schedule import Scopes, SerializedProgress, apply_concurrently
from .state import LiveState, share_errors_text

__all__ = ["Executor", "ActionFailed", "Progress"]

SHARE_FINAL = ("COMPLETED", "COMPLETED_WITH_ERRORS", "ERROR")
#: write calls that may hit "not found" right after the resource they name was created/associated
EVENTUAL = ("ResourceNotFoundException",)
BUSY = ("InvalidStateException",)
#: stale answers to a create call tolerated in a row (each one salts the next token)
MAX_STALE = 3
#: a tag value holds at most 256 characters: the newest share tokens that fit are kept
MAX_TAG_VALUE = 256


class ActionFailed(Exception):
    pass


class Progress:
    """Receives progress events; the CLI's implementation draws them (see report.py)."""

    def start(self, index: int, total: int, action: Action) -> None: ...

    def finish(self, index: int, total: int, action: Action, status: str, message: str = "") -> None: ...

    def info(self, message: str) -> None: ...


@dataclass
class _Context:
    region: str
    clients: Clients
    portfolios: dict[str, str] = field(default_factory=dict)
    products: dict[str, str] = field(default_factory=dict)
    tag_options: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)  # ids this run deleted (constraints)
    #: portfolio key -> share operations its smcat:share-check tag lists (token -> target value)
    share_checks: dict[str, dict[str, str]] = field(default_factory=dict)
    #: "portfolio/<key>", "product/<key>" with an action that ended other than "applied" (a warning):
    #: their applied digest is not recorded
    unclean: set[str] = field(default_factory=set)

    def portfolio_id(self, key: str) -> str:
        if key not in self.portfolios:
            raise ActionFailed(f"portfolio {key} has no id (its creation did not happen)")
        return self.portfolios[key]

    def product_id(self, key: str) -> str:
        if key not in self.products:
            raise ActionFailed(f"product {key} has no id (its creation did not happen)")
        return self.products[key]


class Executor:
    def __init__(self, catalog: Catalog, options: Options, runtime: Runtime, progress: Progress | None = None,
                 *, eventual_attempts: int = 6):
        self.catalog = catalog
        self.options = options
        self.runtime = runtime
        # actions run in threads (--max-parallel): progress lines are drawn one at a time
        self.progress = SerializedProgress(progress or Progress())
        self.eventual_attempts = eventual_attempts
        self._ledger = Ledger(catalog, options)

    # ---------------------------------------------------------------------------------------- driver

    def apply(self, plan: Plan, states: dict[str, LiveState], clients: dict[str, Clients]) -> PublishResult:
        result = PublishResult()
        before = self.runtime.counter.snapshot()
        for index, region_plan in enumerate(plan.regions):
            region_result = self._apply_region(region_plan, states[region_plan.region],
                                               clients[region_plan.region])
            result.regions.append(region_result)
            if region_result.failed is not None:
                result.not_started = [r.region for r in plan.regions[index + 1:]]
                break
        after = self.runtime.counter.snapshot()
        after.subtract(before)
        result.api_calls = {f"{svc}:{op}": n for (svc, op), n in sorted(after.items()) if n}
        return result

    def _apply_region(self, plan: RegionPlan, live: LiveState, clients: Clients) -> RegionResult:
        ctx = _Context(plan.region, clients)
        ctx.portfolios = {k: p.id for k, p in live.portfolios.items()}
        ctx.products = {k: p.id for k, p in live.products.items()}
        ctx.tag_options = dict(live.tag_option_ids or {})
        # as the plan leaves the tags (its portfolio updates come before any share operation)
        ctx.share_checks = {k: dict(v) for k, v in plan.share_checks.items()}
        result = RegionResult(plan.region, warnings=list(plan.problems))
        notify = self.runtime.notify  # botocore's retry notices come from the worker threads too
        self.runtime.notify = self.progress.serialized(notify)
        try:
            apply_concurrently(result, plan.writes, partial(self._apply, ctx), self.progress,
                               max_parallel=self.runtime.max_parallel, scopes=self._scopes, failures=FAILURES)
        finally:
            self.runtime.notify = notify
        result.warnings.extend(ctx.warnings)
        return result

    def _apply(self, ctx: _Context, action: Action) -> ActionOutcome:
        handler: Callable[[_Context, Action], ActionOutcome] = getattr(
            self, f"_{action.resource.replace('-', '_')}_{action.kind}"
        )
        outcome = handler(ctx, action)
        if outcome.status != "applied":
            ctx.unclean.update(self._ledger.owners(action))
        return outcome

    def _scopes(self, action: Action) -> Scopes:
        """What an action writes and what it only needs (schedule.py orders actions whose scopes overlap):
        a share or an applied digest writes its whole portfolio or product; an artifact upload writes under
        each product that uses it, and a product or version needs them; an association or constraint needs
        its product; a TagOption is created once for all portfolios."""
        d = action.details
        if action.resource == "s3-object":
            leaf = "template" if d.get("render_for") else d.get("key", action.target)
            owners = sorted(self._ledger.owners(action))
            return Scopes(tuple((*o.split("/"), "s3", leaf) for o in owners) or (("s3", action.target),))
        path = tuple(action.target.split("/"))
        if action.resource in ("share", LEDGER):
            return Scopes((path[:2],))
        needs = (("product", d["product"]),) if path[0] == "portfolio" and d.get("product") else ()
        if action.resource in ("product", "artifact") and path[0] == "product":
            needs = ((*path[:2], "s3"),)  # a version loads its template (and its seed zips) from S3
        if action.resource == "artifact":  # a product's versions in plan order: deprecated after the new one exists
            return Scopes((path[:3],), needs)
        if action.resource == "tag-option":
            return Scopes((path, ("tag-option", d["key"], d["value"])), needs)
        return Scopes((path,), needs)

    # ---------------------------------------------------------------------------------------- helpers

    def _eventually(self, fn: Callable[[], Any]) -> Any:
        """Retry "not found" right after an association/creation (eventual consistency), bounded."""
        return retry_call(
            fn, codes=EVENTUAL, sleep=self.runtime.sleep, attempts=self.eventual_attempts, base=1.0, cap=8.0,
            on_retry=lambda code, n, delay: self.progress.info(f"{code}, retrying in {delay:.0f}s (attempt {n})"),
        )

    @staticmethod
    def _ok(action: Action, message: str = "", **result) -> ActionOutcome:
        return ActionOutcome(action, "applied", message, result)

    def _exists(self, describe: Callable[[], Any]) -> bool:
        """Whether a resource a create call just named exists: "not found" is retried a few times
        (a new resource may take a moment to be readable) before it counts as gone."""
        try:
            self._eventually(describe)
        except ClientError as exc:
            if error_code(exc) not in EVENTUAL:
                raise
            return False
        return True

    def _create_fresh(self, ctx: _Context, kind: str, material: list, create: Callable[[str], dict],
                      id_of: Callable[[dict], str], describe: Callable[[str], Any]) -> tuple[dict, str]:
        """Create with a deterministic IdempotencyToken, and make sure the answer is a live resource.

        Service Catalog remembers a token, not the resource it made: repeating a create whose
        resource was deleted since (by hand, or by this publisher: a pruned launch constraint)
        returns the old answer and creates nothing.  So the id answered is checked (not one this run
        deleted, and DescribeX finds it); a stale one is added to the token's material and the create
        repeated.  The chain is deterministic, so an interrupted run repeated later replays the very
        same requests and still creates no duplicates.
        """
        stale: list[str] = []
        while True:
            token = idempotency_token(kind, *material, *([{"stale": stale}] if stale else []))
            response = create(token)
            resource_id = id_of(response)
            if resource_id not in ctx.deleted and self._exists(partial(describe, resource_id)):
                return response, resource_id
            stale.append(resource_id)
            if len(stale) > MAX_STALE:
                raise ActionFailed(
                    f"create {kind} keeps answering with resources that no longer exist ({', '.join(stale)})"
                )
            self.progress.info(
                f"{kind} {resource_id} answered for a repeated create request no longer exists; creating anew"
            )

    # ---------------------------------------------------------------------------------------- S3

    def _s3_object_create(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        if d.get("render_for"):
            product = self.catalog.products[d["render_for"]]
            body = render_template(self.catalog, product, d["bucket"], self.options.prefix)
        else:
            body = self.catalog.read_bytes(d["source"])
        params: dict[str, Any] = {"Bucket": d["bucket"], "Key": d["key"], "Body": body,
                                  "ContentType": d["content_type"]}
        if d.get("kms_key_id"):
            params["ServerSideEncryption"] = "aws:kms"
            params["SSEKMSKeyId"] = d["kms_key_id"]
        ctx.clients.s3_in(d.get("bucket_region") or ctx.region).put_object(**params)
        return self._ok(action, f"{len(body)} bytes")

    _s3_object_update = _s3_object_create

    # ---------------------------------------------------------------------------------------- portfolios

    def _portfolio_create(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        params = {"DisplayName": d["DisplayName"], "ProviderName": d["ProviderName"], "Tags": d["Tags"]}
        if d.get("Description"):
            params["Description"] = d["Description"]
        sc = ctx.clients.sc
        _response, portfolio_id = self._create_fresh(
            ctx, "portfolio", [ctx.region, d["portfolio"], params],
            lambda token: sc.create_portfolio(**params, IdempotencyToken=token),
            lambda response: response["PortfolioDetail"]["Id"],
            lambda resource_id: sc.describe_portfolio(Id=resource_id),
        )
        ctx.portfolios[d["portfolio"]] = portfolio_id
        return self._ok(action, portfolio_id, id=portfolio_id)

    def _portfolio_update(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        params: dict[str, Any] = {"Id": ctx.portfolio_id(d["portfolio"]), **d["changes"]}
        if d["AddTags"]:
            params["AddTags"] = d["AddTags"]
        if d["RemoveTags"]:
            params["RemoveTags"] = d["RemoveTags"]
        ctx.clients.sc.update_portfolio(**params)
        return self._ok(action)

    # ---------------------------------------------------------------------------------------- TagOptions

    def _tag_option_create(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        sc = ctx.clients.sc
        option = (d["key"], d["value"])
        option_id = d.get("tag_option_id") or ctx.tag_options.get(option)
        if not option_id:
            try:
                option_id = sc.create_tag_option(Key=d["key"], Value=d["value"])["TagOptionDetail"]["Id"]
            except ClientError as exc:
                if error_code(exc) != "DuplicateResourceException":
                    raise
                found = sc.list_tag_options(Filters={"Key": d["key"], "Value": d["value"]})["TagOptionDetails"]
                if not found:
                    raise
                option_id = found[0]["Id"]
        ctx.tag_options[option] = option_id
        portfolio_id = ctx.portfolio_id(d["portfolio"])
        try:
            self._eventually(lambda: sc.associate_tag_option_with_resource(ResourceId=portfolio_id,
                                                                           TagOptionId=option_id))
        except ClientError as exc:
            if error_code(exc) != "DuplicateResourceException":  # already associated: the goal holds
                raise
        return self._ok(action, option_id, id=option_id)

    def _tag_option_delete(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        try:
            ctx.clients.sc.disassociate_tag_option_from_resource(
                ResourceId=ctx.portfolio_id(d["portfolio"]), TagOptionId=d["tag_option_id"])
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
        return self._ok(action)

    # ---------------------------------------------------------------------------------------- principals

    def _principal_create(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        portfolio_id = ctx.portfolio_id(d["portfolio"])
        self._eventually(lambda: ctx.clients.sc.associate_principal_with_portfolio(
            PortfolioId=portfolio_id, PrincipalARN=d["PrincipalARN"], PrincipalType=d["PrincipalType"]))
        return self._ok(action)

    def _principal_delete(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        try:
            ctx.clients.sc.disassociate_principal_from_portfolio(
                PortfolioId=ctx.portfolio_id(d["portfolio"]), PrincipalARN=d["PrincipalARN"],
                PrincipalType=d["PrincipalType"])
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
        return self._ok(action)

    # ---------------------------------------------------------------------------------------- products

    def _product_create(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = dict(action.details)
        key = d.pop("product")
        artifact = d.pop("artifact")
        params = {
            **d,
            "ProductType": "CLOUD_FORMATION_TEMPLATE",
            "ProvisioningArtifactParameters": {
                "Name": artifact["Name"],
                "Description": artifact["Description"],
                "Info": {"LoadTemplateFromURL": artifact["LoadTemplateFromURL"]},
                "Type": "CLOUD_FORMATION_TEMPLATE",
            },
        }
        sc = ctx.clients.sc
        response, product_id = self._create_fresh(
            ctx, "product", [ctx.region, key, params],
            lambda token: sc.create_product(**params, IdempotencyToken=token),
            lambda response: response["ProductViewDetail"]["ProductViewSummary"]["ProductId"],
            lambda resource_id: sc.describe_product_as_admin(Id=resource_id),
        )
        ctx.products[key] = product_id
        version_id = response.get("ProvisioningArtifactDetail", {}).get("Id")
        return self._ok(action, product_id, id=product_id, version_id=version_id)

    def _product_update(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        params: dict[str, Any] = {"Id": ctx.product_id(d["product"]), **d["changes"]}
        if d["AddTags"]:
            params["AddTags"] = d["AddTags"]
        if d["RemoveTags"]:
            params["RemoveTags"] = d["RemoveTags"]
        self._eventually(lambda: ctx.clients.sc.update_product(**params))
        return self._ok(action)

    # ---------------------------------------------------------------------------------------- versions

    def _artifact_create(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        params = {
            "ProductId": ctx.product_id(d["product"]),
            "Parameters": {
                "Name": d["Name"],
                "Description": d["Description"],
                "Info": {"LoadTemplateFromURL": d["LoadTemplateFromURL"]},
                "Type": "CLOUD_FORMATION_TEMPLATE",
            },
        }
        sc = ctx.clients.sc
        _response, version_id = self._create_fresh(
            ctx, "artifact", [ctx.region, params],
            lambda token: self._eventually(lambda: sc.create_provisioning_artifact(**params, IdempotencyToken=token)),
            lambda response: response["ProvisioningArtifactDetail"]["Id"],
            lambda resource_id: sc.describe_provisioning_artifact(ProductId=params["ProductId"],
                                                                  ProvisioningArtifactId=resource_id),
        )
        return self._ok(action, version_id, id=version_id)

    def _artifact_update(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        params = {"ProductId": ctx.product_id(d["product"]), "ProvisioningArtifactId": d["artifact_id"],
                  "Guidance": d["Guidance"]}
        if "Active" in d:
            params["Active"] = d["Active"]
        ctx.clients.sc.update_provisioning_artifact(**params)
        return self._ok(action)

    _artifact_deprecate = _artifact_update

    def _artifact_delete(self, ctx: _Context, action: Action) -> ActionOutcome:
        """--retire-after: DeleteProvisioningArtifact (the planner checked that nothing seen uses it; the
        API itself refuses only a product's last version).  A version gone already is the goal reached."""
        d = action.details
        try:
            ctx.clients.sc.delete_provisioning_artifact(ProductId=ctx.product_id(d["product"]),
                                                        ProvisioningArtifactId=d["artifact_id"])
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            return self._ok(action, "already deleted")
        return self._ok(action)

    # ---------------------------------------------------------------------------------------- associations

    def _association_create(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        portfolio_id, product_id = ctx.portfolio_id(d["portfolio"]), ctx.product_id(d["product"])
        self._eventually(lambda: ctx.clients.sc.associate_product_with_portfolio(
            ProductId=product_id, PortfolioId=portfolio_id))
        return self._ok(action)

    def _association_delete(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        sc = ctx.clients.sc
        for constraint_id in d["constraint_ids"]:
            self._delete_constraint(ctx, constraint_id)
        try:
            sc.disassociate_product_from_portfolio(ProductId=d["product_id"],
                                                   PortfolioId=ctx.portfolio_id(d["portfolio"]))
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
        return self._ok(action)

    # ---------------------------------------------------------------------------------------- constraints

    def _delete_constraint(self, ctx: _Context, constraint_id: str) -> None:
        try:
            ctx.clients.sc.delete_constraint(Id=constraint_id)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
        ctx.deleted.add(constraint_id)

    def _constraint_create(self, ctx: _Context, action: Action) -> ActionOutcome:
        d = action.details
        sc = ctx.clients.sc
        params = {
            "PortfolioId": ctx.portfolio_id(d["portfolio"]),
            "ProductId": ctx.product_id(d["product"]),
            "Type": d.get("Type", "LAUNCH"),  # plans saved before other types carry no Type
            "Parameters": d["Parameters"],
            "Description": d["Description"],
        }
        # the constraints read on this product/portfolio pair (and any this action removed) make
        # the token differ from that of an earlier create whose constraint is gone
        seen = sorted(set(d.get("live_constraint_ids", [])) | set(d.get("replace", []))
                      | ({d["constraint_id"]} if d.get("constraint_id") else set()))
        try:
            _response, constraint_id = self._create_fresh(
                ctx, "constraint", [ctx.region, params, seen],
                lambda token: self._eventually(lambda: sc.create_constraint(**params, IdempotencyToken=token)),
                lambda response: response["ConstraintDetail"]["ConstraintId"],
                lambda resource_id: sc.describe_constraint(Id=resource_id),
            )
        except ClientError as exc:
            if error_code(exc) != "DuplicateResourceException":
                raise
            # the constraint appeared since the plan was made: fine if it is the one wanted
            for page in sc.get_paginator("list_constraints_for_portfolio").paginate(
                    PortfolioId=params["PortfolioId"], ProductId=params["ProductId"]):
                for detail in page.get("ConstraintDetails", []):
                    if detail.get("Type") == params["Type"] and detail.get("Description") == params["Description"]:
                        return self._ok(action, detail["ConstraintId"], id=detail["ConstraintId"])
            raise
        return self._ok(action, constraint_id, id=constraint_id)

    def _constraint_delete(self, ctx: _Context, action: Action) -> ActionOutcome:
        """Constraints the configuration no longer has (planned only with --prune); one gone already is fine."""
        for constraint_id in action.details["constraint_ids"]:
            self._delete_constraint(ctx, constraint_id)
        return self._ok(action)

    def _constraint_update(self, ctx: _Context, action: Action) -> ActionOutcome:
        """UpdateConstraint in place (Parameters and Description; its documentation gives the Parameters of
        LAUNCH, NOTIFICATION and RESOURCE_UPDATE alike); extra constraints of the type on the pair are deleted
        first.  One deleted since it was read is created instead."""
        d = action.details
        for constraint_id in d.get("replace", []):
            self._delete_constraint(ctx, constraint_id)
        constraint_id = d.get("constraint_id")
        if not constraint_id:
            return self._constraint_create(ctx, action)
        try:
            ctx.clients.sc.update_constraint(Id=constraint_id, Parameters=d["Parameters"],
                                             Description=d["Description"])
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
            ctx.deleted.add(constraint_id)
            return self._constraint_create(ctx, action)
        return self._ok(action, constraint_id, id=constraint_id)

    # ---------------------------------------------------------------------------------------- applied digests

    def _ledger_tag(self, ctx: _Context, action: Action, **change) -> None:
        d = action.details
        if "portfolio" in d:
            ctx.clients.sc.update_portfolio(Id=ctx.portfolio_id(d["portfolio"]), **change)
        else:
            self._eventually(lambda: ctx.clients.sc.update_product(Id=ctx.product_id(d["product"]), **change))

    def _ledger_update(self, ctx: _Context, action: Action) -> ActionOutcome:
        """The applied digest, last: every action of the resource before it succeeded (else nothing
        starts any more); one that ended with a warning leaves the digest unrecorded."""
        d = action.details
        resource = action.target.rsplit("/", 1)[0]
        if resource in ctx.unclean:
            return ActionOutcome(action, "skipped", f"applied digest of {resource} not recorded: an action for it "
                                 f"ended with a warning")
        value = (portfolio_digest(d["base"], [ctx.product_id(p) for p in d["products"]]) if "portfolio" in d
                 else d["digest"])
        self._ledger_tag(ctx, action, AddTags=[{"Key": APPLIED_TAG, "Value": value}])
        return self._ok(action, value, digest=value)

    def _ledger_delete(self, ctx: _Context, action: Action) -> ActionOutcome:
        """The applied digest removed first, so that a run stopped half-way leaves none."""
        self._ledger_tag(ctx, action, RemoveTags=[APPLIED_TAG])
        return self._ok(action)

    # ---------------------------------------------------------------------------------------- shares

    def _share_call(self, fn: Callable[[], dict], deadline: Callable[[], bool],
                    sleep: Callable[[float], None]) -> dict:
        """Share operations: retry InvalidStateException (another share operation on the portfolio is
        still running, e.g. one a previous run started) until --share-timeout."""

        def attempt() -> dict:
            return retry_call(fn, codes=BUSY, sleep=sleep, attempts=1_000, base=2.0, cap=15.0, deadline=deadline,
                              on_retry=lambda c, n, s: self.progress.info(
                                  f"{c}: another share operation is running, retrying in {s:.0f}s"))

        return self._eventually(attempt)

    def _timer(self) -> tuple[Callable[[], bool], Callable[[float], None]]:
        """(expired, sleep): time spent counts real time and requested sleeps, so a test's no-op sleep
        still ends the wait."""
        started = self.runtime.clock()
        slept = [0.0]

        def expired() -> bool:
            return max(self.runtime.clock() - started, slept[0]) >= self.options.share_timeout

        def sleep(seconds: float) -> None:
            slept[0] += seconds
            self.runtime.sleep(seconds)

        return expired, sleep

    def _wait_share(self, ctx: _Context, action: Action, token: str | None, expired, sleep) -> ActionOutcome:
        if not token:
            return self._ok(action, "no status token returned")
        delay = 1.0
        while True:
            status = ctx.clients.sc.describe_portfolio_share_status(PortfolioShareToken=token)
            state = status.get("Status")
            if state == "COMPLETED":
                return self._ok(action, "completed", token=token)
            if state in ("COMPLETED_WITH_ERRORS", "ERROR"):
                errors = status.get("ShareDetails", {}).get("ShareErrors", [])
                text = share_errors_text(errors)
                if state == "ERROR":
                    raise ActionFailed(f"share {token} ended in ERROR: {text}")
                warning = f"{action.target}: share completed with errors: {text}"
                ctx.warnings.append(warning)
                return ActionOutcome(action, "warning", warning, {"token": token, "errors": errors})
            if expired():
                raise ActionFailed(
                    f"share {token} is still {state} after {self.options.share_timeout:.0f}s; it continues in "
                    f"the background, run publish again to pick it up (or raise --share-timeout)"
                )
            sleep(delay)
            delay = min(delay * 2, 10.0)

    def _share_share(self, ctx: _Context, action: Action) -> ActionOutcome:
        return self._share_operation(ctx, action, "create_portfolio_share", with_flags=True)

    def _share_update(self, ctx: _Context, action: Action) -> ActionOutcome:
        return self._share_operation(ctx, action, "update_portfolio_share", with_flags=True)

    def _share_unshare(self, ctx: _Context, action: Action) -> ActionOutcome:
        return self._share_operation(ctx, action, "delete_portfolio_share", with_flags=False)

    def _share_operation(self, ctx: _Context, action: Action, operation: str, with_flags: bool) -> ActionOutcome:
        """One share call (create, update or delete), retried while busy, then polled to completion."""
        d = action.details
        expired, sleep = self._timer()
        params = {"PortfolioId": ctx.portfolio_id(d["portfolio"]), "OrganizationNode": d["OrganizationNode"]}
        if with_flags:
            params.update(SharePrincipals=d["SharePrincipals"], ShareTagOptions=d["ShareTagOptions"])
        call = getattr(ctx.clients.sc, operation)
        response = self._share_call(lambda: call(**params), expired, sleep)
        token = response.get("PortfolioShareToken")
        try:
            outcome = self._wait_share(ctx, action, token, expired, sleep)
        except BaseException:  # ERROR, still running at --share-timeout, interrupted: the next run checks it
            self._check_share_later(ctx, d["portfolio"], d["OrganizationNode"]["Value"], token, keep=True)
            raise
        self._check_share_later(ctx, d["portfolio"], d["OrganizationNode"]["Value"], token,
                                keep=outcome.status != "applied")
        return outcome

    def _check_share_later(self, ctx: _Context, portfolio: str, value: str, token: str | None, *, keep: bool) -> None:
        """Keep the portfolio's smcat:share-check tag listing the share operations that did not
        complete cleanly (only this target's newest), so that a later run reads their status again.
        Written only when it changes: a share that completes on a clean portfolio costs nothing."""
        checks = ctx.share_checks.get(portfolio, {})
        wanted = {t: v for t, v in checks.items() if v != value}
        if keep and token:
            wanted[token] = value
        if wanted == checks:
            return
        tokens: list[str] = []
        for candidate in reversed(list(wanted)):  # newest first, as many as the tag value holds
            if len(" ".join([candidate, *tokens])) > MAX_TAG_VALUE:
                break
            tokens.insert(0, candidate)
        wanted = {t: wanted[t] for t in tokens}
        try:
            portfolio_id = ctx.portfolio_id(portfolio)
            if wanted:
                ctx.clients.sc.update_portfolio(Id=portfolio_id,
                                                AddTags=[{"Key": SHARE_CHECK_TAG, "Value": " ".join(wanted)}])
            else:
                ctx.clients.sc.update_portfolio(Id=portfolio_id, RemoveTags=[SHARE_CHECK_TAG])
        except (ClientError, BotoCoreError, ActionFailed) as exc:
            ctx.warnings.append(
                f"portfolio {portfolio}: could not record share operation {token} for the next run to check "
                f"(tag {SHARE_CHECK_TAG}): {describe_exception(exc)}"
            )
            return
        ctx.share_checks[portfolio] = wanted


#: what ends an action as "failed" (anything else is a bug and propagates)
FAILURES = (ClientError, BotoCoreError, ActionFailed, OSError)


def _describe_error(exc: BaseException) -> str:
    return describe_exception(exc)


def apply_in_order(
    result: RegionResult, writes: list[Action], apply: Callable[[Action], ActionOutcome], progress: Progress
) -> RegionResult:
    """Applies `writes` one by one (both targets: Service Catalog and S3 templates), stopping at the
    first failure or Ctrl-C, which `result` records with the writes not attempted."""
    total = len(writes)
    for index, action in enumerate(writes, start=1):
        progress.start(index, total, action)
        try:
            outcome = apply(action)
        except (ClientError, BotoCoreError, ActionFailed, OSError) as exc:
            message = _describe_error(exc)
            result.failed = ActionOutcome(action, "failed", message)
            result.remaining = writes[index:]
            progress.finish(index, total, action, "failed", message)
            break
        except KeyboardInterrupt:
            result.failed = ActionOutcome(action, "failed", "interrupted (Ctrl-C)")
            result.remaining = writes[index:]
            progress.finish(index, total, action, "failed", "interrupted")
            break
        result.applied.append(outcome)
        progress.finish(index, total, action, outcome.status, outcome.message)
    return result

