"""The applied-digest ledger: what lets a publish with nothing to do skip most of its reads.

Each portfolio and product carries the tag ``smcat:applied=<digest>``: a sha256 (first 32 hex) of
the desired state smcat derived for it when it last applied it completely.

* portfolio: its whole (resolved) manifest entry, whatever fields it has, plus the region and the
  physical ids of its products;
* product: its whole manifest entry, its desired tags and attributes, the template's location (bucket,
  prefix, the bucket's region) and URL, the --kms-key-id, and --keep-versions (with the live versions,
  which only an smcat run adds, --keep-versions decides the guidance smcat gives each of them).

Reading (:meth:`Ledger.trusts_portfolio`, :meth:`Ledger.trusts_product`): when the live tag equals
the digest recomputed now, the detail reads of that resource are skipped (portfolio: associations,
constraints, principals, shares; product: its versions; S3: the HEAD of its objects, whose encryption
the digest covers) and :meth:`Ledger.plan` turns the actions planned for those details into no-ops.
``--refresh`` trusts nothing.  A portfolio with share operations still to check is never trusted.

Writing (:meth:`Ledger.plan`, as plain actions of resource ``ledger``): a resource that changes first
loses its tag (the first write for it), so that a run that stops half-way leaves no digest and the
next run reads it in full, even after the manifest is reverted; it gets the new digest as its last
write, which the executor makes only when every action for it succeeded (none ended with a warning).
A resource left with things its configuration does not have (kept without ``--prune``) gets no digest:
the next runs read it in full and keep reporting them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace

from .artifacts import seed_key, template_key, template_url
from .manifest import APPLIED_TAG, SHARE_CHECK_TAG, Catalog, Portfolio, Product
from .model import Action, Options, RegionPlan
from .planner import desired_product_tags, live_location, plan_region, product_attributes
from .state import LivePortfolio, LiveState

__all__ = ["APPLIED_TAG", "LEDGER", "Ledger", "digest", "portfolio_digest"]

#: Action.resource of the ledger's own writes
LEDGER = "ledger"
DIGEST_HEX = 32
VOUCHED = "in place (applied digest)"


def digest(material) -> str:
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:DIGEST_HEX]


def portfolio_digest(base: str, product_ids: list[str]) -> str:
    """A portfolio's digest: ``base`` (its entry and region) with its products' physical ids, which the
    executor knows only once it created them."""
    return digest({"portfolio": base, "product_ids": list(product_ids)})


def _key_arn(live: LiveState) -> str | None:
    """The --kms-key-id's key ARN when kms:DescribeKey resolved it: an alias or id of the same key digests alike."""
    return next((n for n in sorted(live.kms_key_names) if n.startswith("arn:") and ":key/" in n), None)


def _owned_by(target: str, resource: str) -> bool:
    return target == resource or target.startswith(resource + "/")


class Ledger:
    """Decides which live resources the applied digests vouch for, and plans the digests' writes."""

    def __init__(self, catalog: Catalog, options: Options):
        self.catalog = catalog
        self.options = options
        self._seed_users: dict[str, list[str]] = {}
        for product in catalog.products.values():
            for seed in product.seeds:
                self._seed_users.setdefault(seed_key(options.prefix, seed), []).append(product.key)

    # ------------------------------------------------------------------------------------ digests

    def portfolio_base(self, portfolio: Portfolio, region: str) -> str:
        return digest({"entry": asdict(portfolio), "region": region})

    def product_digest(self, product: Product, live: LiveState) -> str:
        key = template_key(self.options.prefix, product)
        return digest({
            "entry": asdict(product),
            "region": live.region,
            "tags": desired_product_tags(self.catalog, product),
            "attributes": product_attributes(product),
            "location": live_location(self.options, live),
            "url": template_url(live.bucket, live.bucket_region, key),
            "kms_key": _key_arn(live) or self.options.kms_key_for(live.region),
            "keep_versions": self.options.keep_versions,
        })

    def _portfolio_digest_now(self, key: str, live: LiveState) -> str | None:
        """The digest of portfolio ``key`` from the live product ids (None while a product is missing)."""
        portfolio = self.catalog.portfolios[key]
        if any(p not in live.products for p in portfolio.products):
            return None
        return portfolio_digest(self.portfolio_base(portfolio, live.region),
                                [live.products[p].id for p in portfolio.products])

    # ------------------------------------------------------------------------------------ reading

    def _reads_everything(self) -> bool:
        # --retire-after (helper C) decides from who uses each version now: versions are always read then
        return self.options.refresh or getattr(self.options, "retire_after", None) is not None

    def trusts_product(self, key: str, tags: dict[str, str], live: LiveState) -> bool:
        """Whether product ``key`` (its live tags given) may skip its version listing and object HEADs.
        ``live.bucket_region`` must be known (HeadBucket)."""
        if self._reads_everything() or key not in self.catalog.products:
            return False
        return tags.get(APPLIED_TAG) == self.product_digest(self.catalog.products[key], live)

    def trusts_portfolio(self, key: str, portfolio: LivePortfolio, live: LiveState) -> bool:
        """Whether portfolio ``key`` may skip its detail reads; ``live.products`` must be read."""
        if self.options.refresh or key not in self.catalog.portfolios or SHARE_CHECK_TAG in portfolio.tags:
            return False
        wanted = self._portfolio_digest_now(key, live)
        return wanted is not None and portfolio.tags.get(APPLIED_TAG) == wanted

    def vouched_objects(self, live: LiveState) -> set[str]:
        """S3 keys whose encryption a trusted product's digest covers (its template and seed zips)."""
        keys: set[str] = set()
        for key in self._trusted(live, "product"):
            product = self.catalog.products[key]
            keys.add(template_key(self.options.prefix, product))
            keys.update(seed_key(self.options.prefix, seed) for seed in product.seeds)
        return keys

    @staticmethod
    def _trusted(live: LiveState, kind: str) -> list[str]:
        return sorted(t.split("/", 1)[1] for t in live.trusted if t.startswith(kind + "/"))

    # ------------------------------------------------------------------------------------ planning

    def plan(self, live: LiveState, plan: RegionPlan) -> None:
        """Complete a region's plan: no-ops for what the digests vouch for, the ledger's own writes, a note."""
        self._vouch(live, plan)
        leftovers = self._leftovers(live, plan)
        first: list[Action] = []
        last: list[Action] = []
        for key in self.catalog.portfolios:
            current = live.portfolios.get(key)
            clean = f"portfolio/{key}" not in leftovers and self._no_share_left_to_check(key, plan)
            self._record(f"portfolio/{key}", current.tags if current else None, self._portfolio_digest_now(key, live),
                         {"portfolio": key, "base": self.portfolio_base(self.catalog.portfolios[key], live.region),
                          "products": list(self.catalog.portfolios[key].products)},
                         clean, live, plan, first, last)
        for key, product in self.catalog.products.items():
            current = live.products.get(key)
            wanted = self.product_digest(product, live)
            self._record(f"product/{key}", current.tags if current else None, wanted,
                         {"product": key, "digest": wanted}, f"product/{key}" not in leftovers, live, plan, first, last)
        plan.actions[:0] = first
        plan.actions.extend(last)
        self._note(live, plan)

    def _vouch(self, live: LiveState, plan: RegionPlan) -> None:
        """Actions decided from details that were not read (a trusted resource's) become no-ops.  TagOptions
        come with DescribePortfolio, read anyway: those actions stand."""
        for index, action in enumerate(plan.actions):
            if action.resource in ("tag-option", "s3-object", "portfolio", "product"):
                continue
            if any(_owned_by(action.target, t) for t in live.trusted):
                plan.actions[index] = Action("noop", action.resource, action.target, action.region, VOUCHED)

    def _leftovers(self, live: LiveState, plan: RegionPlan) -> set[str]:
        """Resources that keep something their configuration does not have: what --prune would remove."""
        if self.options.prune:
            return set()
        pruned = plan_region(self.catalog, replace(self.options, prune=True), live)
        planned = {(a.kind, a.target) for a in plan.writes}
        return {owner for a in pruned.writes if (a.kind, a.target) not in planned for owner in self.owners(a)}

    def owners(self, action: Action) -> set[str]:
        """The ledger resources ("portfolio/<key>", "product/<key>") an action changes."""
        if action.resource == "s3-object":
            d = action.details
            products = [d["render_for"]] if d.get("render_for") else self._seed_users.get(d.get("key", ""), [])
            return {f"product/{p}" for p in products}
        parts = action.target.split("/")
        return {"/".join(parts[:2])} if len(parts) >= 2 and parts[0] in ("portfolio", "product") else set()

    @staticmethod
    def _no_share_left_to_check(key: str, plan: RegionPlan) -> bool:
        """Whether the portfolio's smcat:share-check tag is empty once the plan is applied: every share operation
        it still lists is replaced by one of this plan's (forgotten when that one completes cleanly)."""
        shared = {a.target.rsplit("/", 1)[1] for a in plan.actions
                  if a.resource == "share" and a.is_write and a.target.startswith(f"portfolio/{key}/")}
        return all(value in shared for value in plan.share_checks.get(key, {}).values())

    def _record(self, resource: str, tags: dict[str, str] | None, wanted: str | None, details: dict, clean: bool,
                live: LiveState, plan: RegionPlan, first: list[Action], last: list[Action]) -> None:
        if resource in live.trusted:
            return
        current = (tags or {}).get(APPLIED_TAG)
        changes = any(a.is_write and resource in self.owners(a) for a in plan.actions)
        if current and (changes or (not clean and current == wanted)):
            first.append(Action("delete", LEDGER, f"{resource}/ledger", live.region,
                                "forget the applied digest until this run has applied every change", details))
        if clean and (changes or current != wanted):
            last.append(Action("update", LEDGER, f"{resource}/ledger", live.region,
                               "record the applied digest (tag smcat:applied)", details))

    def _note(self, live: LiveState, plan: RegionPlan) -> None:
        if self.options.refresh:
            plan.notes.append("--refresh: every portfolio and product read in full (applied digests not trusted)")
            return
        portfolios, products = self._trusted(live, "portfolio"), self._trusted(live, "product")
        if live.portfolios or live.products:
            plan.notes.append(
                f"applied digests: {len(portfolios)} of {len(live.portfolios)} portfolios and {len(products)} of "
                f"{len(live.products)} products unchanged since smcat applied them: their details were not read "
                f"(--refresh reads them)"
            )
