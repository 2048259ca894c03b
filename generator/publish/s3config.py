"""The S3 templates target, as dist/manifest.json describes it: which portfolios publish their
products as S3 templates (``publish_to: [s3]``), to which buckets and prefixes, shared with whom.

The portfolios' ``publish_to``, ``s3_templates`` and ``organization_id`` come from the loaded catalog
(manifest.py checks them); here the products' YAML renderings (``template_yaml``,
``template_yaml_sha256``) are checked, and the bucket names once the --region options are known, before
any AWS call: every problem is one line naming the manifest, the portfolio or product and the key (exit 2).

A portfolio without ``publish_to`` publishes to Service Catalog only, as before.  One with both targets
is published to both (a migration).  :func:`service_catalog_view` is the catalog the Service Catalog
stages see: the portfolios that publish there and their products (plus products in no portfolio).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from .manifest import MAX_TEMPLATE_BYTES, Catalog, ManifestError, Share
from .s3policy import DEFAULT_LAUNCH_ROLE, DEFAULT_PREFIX, PUBLISH_TARGETS, bucket_name_problem
from .s3policy import S3 as S3_TARGET
from .s3policy import SERVICE_CATALOG as SC_TARGET

__all__ = [
    "TARGETS",
    "S3_TARGET",
    "SC_TARGET",
    "DEFAULT_PREFIX",
    "DEFAULT_LAUNCH_ROLE",
    "S3Portfolio",
    "S3Product",
    "S3Config",
    "load_s3_config",
    "service_catalog_view",
    "normalize_s3_prefix",
]

TARGETS = PUBLISH_TARGETS
HEX64 = re.compile(r"[0-9a-f]{64}")
#: a template's file name is its name in Studio (CreateProject's CfnTemplateName: 1-32, letters, digits, -)
TEMPLATE_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}")


def normalize_s3_prefix(prefix: str | None) -> str:
    """'a/b', '/a/b/' -> 'a/b/'; '' and '/' -> '' (the whole bucket)."""
    stripped = (prefix or "").strip("/")
    return f"{stripped}/" if stripped else ""


@dataclass(frozen=True)
class S3Portfolio:
    """What the S3 target needs of a portfolio (the attribute names of the manifest's Portfolio where
    they mean the same: key, products, studio_visibility, shares, organization_id)."""

    key: str
    products: tuple[str, ...]
    studio_visibility: bool
    shares: tuple[Share, ...]
    organization_id: str | None
    bucket: str  # may contain "{region}"
    prefix: str  # "" or ending with one "/"
    regions: tuple[str, ...]  # empty: the --region options
    launch_role: str
    publish_to: tuple[str, ...] = (S3_TARGET,)

    def bucket_for(self, region: str) -> str:
        return self.bucket.replace("{region}", region)


@dataclass(frozen=True)
class S3Product:
    key: str
    template_yaml: str  # relative to dist
    template_yaml_sha256: str
    content_hash: str
    version: str


@dataclass
class S3Config:
    dist: Path
    portfolios: dict[str, S3Portfolio] = field(default_factory=dict)
    products: dict[str, S3Product] = field(default_factory=dict)
    #: portfolio keys that publish to Service Catalog
    service_catalog: tuple[str, ...] = ()
    #: every portfolio key in the manifest
    all_portfolios: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)

    @property
    def uses_s3(self) -> bool:
        return bool(self.portfolios)

    @property
    def uses_service_catalog(self) -> bool:
        """Service Catalog is published unless every portfolio went to S3 only."""
        return bool(self.service_catalog) or not self.portfolios

    def regions_needed(self) -> bool:
        """Whether the --region options (or the default region) are needed."""
        return self.uses_service_catalog or any(not p.regions for p in self.portfolios.values())

    def read_bytes(self, relative: str) -> bytes:
        return (self.dist / relative).read_bytes()


def load_s3_config(catalog: Catalog, regions: list[str]) -> S3Config:
    """The S3 part of the loaded catalog (load_catalog has checked publish_to, s3_templates and
    organization_id), with the products' YAML renderings checked; raises ManifestError (one line per problem)."""
    config = S3Config(dist=catalog.dist, all_portfolios=tuple(catalog.portfolios))
    problems: list[str] = []
    config.service_catalog = tuple(k for k, p in catalog.portfolios.items() if SC_TARGET in p.publish_to)
    for key, portfolio in catalog.portfolios.items():
        where = f"portfolio {key}"
        s3 = portfolio.s3_templates
        if S3_TARGET not in portfolio.publish_to or s3 is None:
            continue
        start = len(problems)
        for product in portfolio.products:
            if not TEMPLATE_NAME.fullmatch(product):
                problems.append(f"{where}: products: {product!r} cannot be an S3 template name (Studio's template "
                                f"name: 1-32 letters, digits and single hyphens)")
        for region in s3.regions or regions:
            name = s3.bucket.replace("{region}", region)
            why = bucket_name_problem(name)
            if why is not None:
                problems.append(f"{where}: s3_templates.bucket: {name!r} is not a valid S3 bucket name in "
                                f"{region}: {why}")
                break
        if len(problems) > start:
            continue
        config.portfolios[key] = S3Portfolio(
            key=key, products=portfolio.products, studio_visibility=portfolio.studio_visibility,
            shares=portfolio.shares, organization_id=portfolio.organization_id, bucket=s3.bucket,
            prefix=normalize_s3_prefix(s3.prefix), regions=tuple(s3.regions),
            launch_role=s3.launch_role or DEFAULT_LAUNCH_ROLE, publish_to=tuple(portfolio.publish_to),
        )
    raw_products = json.loads((catalog.dist / "manifest.json").read_text(encoding="utf-8")).get("products") or {}
    for key in sorted({p for portfolio in config.portfolios.values() for p in portfolio.products}):
        product = _load_product(problems, catalog, key, raw_products.get(key))
        if product is not None:
            config.products[key] = product
    if problems:
        raise ManifestError(problems, source=catalog.dist / "manifest.json")
    return config


def _load_product(problems: list[str], catalog: Catalog, key: str, raw) -> S3Product | None:
    where = f"product {key}"
    product = catalog.products.get(key)
    if product is None or not isinstance(raw, dict):
        return None
    relative, sha256 = raw.get("template_yaml"), raw.get("template_yaml_sha256")
    if not isinstance(relative, str) or not relative:
        problems.append(f"{where}: template_yaml: missing (a build before S3 templates): rebuild with `smcat build`")
        return None
    path = (catalog.dist / relative).resolve()
    try:
        path.relative_to(catalog.dist.resolve())
    except ValueError:
        problems.append(f"{where}: template_yaml: {relative} points outside the dist directory")
        return None
    if not path.is_file():
        problems.append(f"{where}: template_yaml: {relative} does not exist")
        return None
    data = path.read_bytes()
    if not isinstance(sha256, str) or not HEX64.fullmatch(sha256):
        problems.append(f"{where}: template_yaml_sha256: must be 64 lowercase hex digits")
        return None
    if hashlib.sha256(data).hexdigest() != sha256:
        problems.append(f"{where}: template_yaml: {relative} does not match its sha256 in the manifest (stale dist? "
                        f"rebuild)")
        return None
    if len(data) > MAX_TEMPLATE_BYTES:
        problems.append(f"{where}: template_yaml: {len(data)} bytes; CloudFormation reads at most "
                        f"{MAX_TEMPLATE_BYTES} from a TemplateURL")
        return None
    return S3Product(key=key, template_yaml=relative, template_yaml_sha256=sha256,
                     content_hash=product.content_hash, version=product.version)


def service_catalog_view(catalog: Catalog, config: S3Config) -> Catalog:
    """The catalog the Service Catalog stages publish: the portfolios whose publish_to has
    service-catalog, their products, and products in no portfolio at all (published, as before)."""
    if not config.portfolios or set(config.service_catalog) == set(catalog.portfolios):
        return catalog
    portfolios = {k: p for k, p in catalog.portfolios.items() if k in config.service_catalog}
    in_any = {p for portfolio in catalog.portfolios.values() for p in portfolio.products}
    in_sc = {p for portfolio in portfolios.values() for p in portfolio.products}
    products = {k: p for k, p in catalog.products.items() if k in in_sc or k not in in_any}
    return replace(catalog, portfolios=portfolios, products=products, warnings=list(catalog.warnings))
