"""Read and check the build's ``dist/`` (manifest.json, templates, seed-code zips).

Everything that Service Catalog, S3 or IAM would refuse is refused here first, with every problem
listed at once, so that bad input never reaches AWS (the CLI answers exit code 2).
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.awsids import IAM_ARN, IAM_PATTERN_ARN, ORG_ID, PARTITION, ROLE_ARN, ROLE_NAME, SHARE_VALUE
from generator.publish import s3policy

__all__ = [
    "ManifestError",
    "Seed",
    "Product",
    "Share",
    "Principal",
    "Portfolio",
    "S3Templates",
    "Catalog",
    "load_catalog",
    "tag_text_ok",
    "OWNER_TAG_PORTFOLIO",
    "OWNER_TAG_PRODUCT",
    "SHARE_CHECK_TAG",
    "APPLIED_TAG",
    "STUDIO_TAG",
]

MANIFEST_VERSION = 1
OWNER_TAG_PORTFOLIO = "smcat:portfolio"
OWNER_TAG_PRODUCT = "smcat:product"
#: portfolio tag listing the share operations (tokens) a later run must check: those that did not
#: complete cleanly (DescribePortfolioShareStatus needs the token; no list call returns it)
SHARE_CHECK_TAG = "smcat:share-check"
#: portfolio and product tag: the digest of the desired state smcat last applied completely (publish/ledger.py)
APPLIED_TAG = "smcat:applied"
#: tags the publisher itself puts on a portfolio (they count against the 20 tags per portfolio)
PUBLISHER_TAGS = (OWNER_TAG_PORTFOLIO, SHARE_CHECK_TAG, APPLIED_TAG)
STUDIO_TAG = "sagemaker:studio-visibility"

MAX_TAGS = 20  # per portfolio / product (Service Catalog quota)
MAX_TAG_OPTIONS = 25  # per resource
MAX_IAM_PATTERNS = 10  # per portfolio
MAX_PRODUCTS_PER_PORTFOLIO = 150
MAX_TEMPLATE_BYTES = 1_000_000  # CloudFormation: template body in S3

HEX64 = re.compile(r"[0-9a-f]{64}")
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
SUPPORT_URL = re.compile(r"https?://\S+")

# ------------------------------------------------------------------ RESOURCE_UPDATE and NOTIFICATION constraints
#: TagUpdateOnProvisionedProduct's values (CreateConstraint's Parameters, RESOURCE_UPDATE: "ALLOWED or NOT_ALLOWED")
TAG_UPDATE_VALUES = ("ALLOWED", "NOT_ALLOWED")
#: topics one launch can notify: ProvisionProduct's and CloudFormation CreateStack's NotificationArns hold at
#: most 5 (botocore models); Service Catalog hands the constraint's topics to CloudFormation ("Passed to
#: CloudFormation", ProvisionProduct.NotificationArns)
MAX_NOTIFICATION_TOPICS = 5
#: an SNS topic ARN whose region may be {region} (standard names: 1-256 letters, digits, - and _; FIFO: .fifo)
SNS_TOPIC_ARN = re.compile(
    rf"^arn:({PARTITION}):sns:(?P<region>[^:]*):\d{{12}}:([A-Za-z0-9_-]{{1,256}}|[A-Za-z0-9_-]{{1,251}}\.fifo)$"
)


def topic_arn_problem(arn: str) -> str | None:
    """Why ``arn`` is not an SNS topic ARN whose region is a region name or {region} (None: it is one)."""
    match = SNS_TOPIC_ARN.match(arn)
    if match is None:
        return (f"{arn!r} is not an SNS topic ARN (arn:aws:sns:<region or {s3policy.REGION_PLACEHOLDER}>:"
                "<12-digit account>:<topic name>)")
    region = match["region"]
    if region != s3policy.REGION_PLACEHOLDER and not s3policy.REGION.match(region):
        return (f"{arn!r}: {region!r} is not a region name; use {s3policy.REGION_PLACEHOLDER} for the region "
                "each publish goes to")
    return None


def topic_in(arn: str, region: str) -> str:
    """The topic ARN in ``region`` ({region} replaced)."""
    return arn.replace(s3policy.REGION_PLACEHOLDER, region, 1)


def resource_update_parameters(tag_update: str) -> dict:
    """CreateConstraint's RESOURCE_UPDATE Parameters, as its documentation spells them:
    {"Version":"2.0","Properties":{"TagUpdateOnProvisionedProduct":"String"}}."""
    return {"Version": "2.0", "Properties": {"TagUpdateOnProvisionedProduct": tag_update}}


def notification_parameters(topic_arn: str) -> dict:
    """CreateConstraint's NOTIFICATION Parameters ({"NotificationArns" : ["arn:aws:sns:..."]}), one topic each:
    AWS's CDK makes one constraint per topic (an SNS topic "may only have a single subscription to any given
    portfolio-product association", aws-servicecatalog README)."""
    return {"NotificationArns": [topic_arn]}


class ManifestError(Exception):
    """The dist directory cannot be published; .problems lists every reason, .lines each one as it is
    printed (``<dist>/manifest.json: <where>: <what is wrong>``)."""

    def __init__(self, problems: list[str], source: Path | str | None = None):
        self.problems = list(problems)
        self.lines = [f"{source}: {p}" if source is not None else p for p in self.problems]
        super().__init__("\n".join(self.lines))


LINT_STATUSES = ("clean", "findings", "not-run")
ALLOW_LINT = "--allow-lint-findings"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def lint_problem(lint: Any) -> str | None:
    """Why a build with this ``lint`` record must not be published (None: it linted clean)."""
    if lint is None:
        return (f"lint: no lint result recorded (a build by an older smcat); rebuild with `smcat build`, or pass "
                f"{ALLOW_LINT}")
    if not isinstance(lint, dict) or lint.get("status") not in LINT_STATUSES:
        return f"lint: must be an object whose status is clean, findings or not-run; rebuild, or pass {ALLOW_LINT}"
    errors, warnings = lint.get("errors", 0), lint.get("warnings", 0)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (errors, warnings)):
        return f"lint: errors and warnings must be counts; rebuild, or pass {ALLOW_LINT}"
    if lint["status"] == "not-run":
        return f"lint: the build was not linted (build --no-lint); build with lint, or pass {ALLOW_LINT}"
    if lint["status"] == "findings" or errors or warnings:
        return (f"lint: the build has {_count(errors, 'error')}, {_count(warnings, 'warning')}; fix them or pass "
                f"{ALLOW_LINT}")
    return None


@dataclass(frozen=True)
class Seed:
    name: str
    path: str  # relative to dist
    sha256: str
    key_parameter: str


@dataclass(frozen=True)
class Product:
    key: str
    name: str
    owner: str
    description: str
    distributor: str
    support_email: str
    support_url: str
    support_description: str
    version: str
    template: str  # relative to dist
    template_sha256: str
    content_hash: str
    seeds: tuple[Seed, ...] = ()
    bucket_parameter: str | None = None


@dataclass(frozen=True)
class Share:
    type: str  # ORGANIZATION | ORGANIZATIONAL_UNIT | ACCOUNT; OU_PATH until oupaths.py resolves it
    value: str  # the id (for OU_PATH: the path, such as Root/Workloads/ML)
    share_principals: bool
    share_tag_options: bool
    path: str | None = None  # the OU path this share comes from (also once resolved); None: an id target
    exclude: tuple[str, ...] = ()  # OU_PATH only: OU paths under it that the share must not reach
    optional: bool = False  # OU_PATH only: a path that does not exist is a plan note, not a problem


@dataclass(frozen=True)
class Principal:
    arn: str
    type: str  # IAM | IAM_PATTERN


@dataclass(frozen=True)
class S3Templates:
    """Where an s3 portfolio's templates go; ``bucket`` may hold {region}; no regions: the --region options."""

    bucket: str
    prefix: str  # "" or ends with one "/"
    regions: tuple[str, ...]
    launch_role: str  # role name in each consuming account

    def bucket_in(self, region: str) -> str:
        return self.bucket.replace(s3policy.REGION_PLACEHOLDER, region)


@dataclass(frozen=True)
class Portfolio:
    key: str
    display_name: str
    description: str
    provider: str
    products: tuple[str, ...]
    studio_visibility: bool
    launch_constraint: tuple[tuple[str, str], ...]  # sorted items, e.g. (("LocalRoleName", "X"),)
    principals: tuple[Principal, ...]
    shares: tuple[Share, ...]
    tags: tuple[tuple[str, str], ...]
    tag_options: tuple[tuple[str, str], ...]  # (key, value) pairs
    publish_to: tuple[str, ...] = (s3policy.SERVICE_CATALOG,)
    s3_templates: S3Templates | None = None  # set exactly when publish_to has s3
    organization_id: str | None = None
    tag_update: str | None = None  # RESOURCE_UPDATE constraint: ALLOWED | NOT_ALLOWED; None: none configured
    notification_topics: tuple[str, ...] = ()  # NOTIFICATION constraints: SNS topic ARNs, may hold {region}
    file: str = ""  # the portfolio file (portfolios/<key>.yaml), for problems found at plan time

    @property
    def launch_parameters(self) -> dict[str, str]:
        return dict(self.launch_constraint)

    @property
    def service_catalog(self) -> bool:
        return s3policy.SERVICE_CATALOG in self.publish_to

    @property
    def s3(self) -> bool:
        return s3policy.S3 in self.publish_to


@dataclass
class Catalog:
    dist: Path
    products: dict[str, Product] = field(default_factory=dict)
    portfolios: dict[str, Portfolio] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def read_bytes(self, relative: str) -> bytes:
        return (self.dist / relative).read_bytes()

    def portfolios_of(self, product_key: str) -> list[Portfolio]:
        return [p for p in self.portfolios.values() if product_key in p.products]

    def studio_visible(self, product_key: str) -> bool:
        return any(p.studio_visibility for p in self.portfolios_of(product_key))


def tag_text_ok(text: str) -> bool:
    """Service Catalog tag/TagOption text: ^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$ (whole value)."""
    return all(ch in "_.:/=+-@" or unicodedata.category(ch)[0] in "LZN" for ch in text)


# ------------------------------------------------------------------------------------------ loading


class _Checker:
    def __init__(self, dist: Path):
        self.dist = dist
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def text(self, where: str, obj: dict, key: str, *, required: bool = True, min_len: int = 1,
             max_len: int = 8191, default: str = "") -> str:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(where, f"'{key}' is required")
            return default
        if not isinstance(value, str):
            self.fail(where, f"'{key}' must be a string")
            return default
        if len(value) < min_len:
            self.fail(where, f"'{key}' must not be empty" if min_len == 1 else f"'{key}' is too short")
        if len(value) > max_len:
            self.fail(where, f"'{key}' is longer than {max_len} characters")
        return value

    def boolean(self, where: str, obj: dict, key: str, default: bool = False) -> bool:
        value = obj.get(key, default)
        if not isinstance(value, bool):
            self.fail(where, f"'{key}' must be true or false")
            return default
        return value

    def file(self, where: str, relative: Any, sha256: Any) -> bytes | None:
        if not isinstance(relative, str) or not relative:
            self.fail(where, "a file path is required")
            return None
        path = (self.dist / relative).resolve()
        try:
            path.relative_to(self.dist.resolve())
        except ValueError:
            self.fail(where, f"{relative} points outside the dist directory")
            return None
        if not path.is_file():
            self.fail(where, f"{relative} does not exist")
            return None
        data = path.read_bytes()
        if not isinstance(sha256, str) or not HEX64.fullmatch(sha256):
            self.fail(where, "sha256 must be 64 lowercase hex digits")
        elif hashlib.sha256(data).hexdigest() != sha256:
            self.fail(where, f"{relative} does not match its sha256 in the manifest (stale dist? rebuild)")
        return data


def load_catalog(dist: str | Path, *, allow_lint_findings: bool = False) -> Catalog:
    """Load dist/manifest.json and check it against the files and AWS's limits.

    A build whose lint was not clean (``lint.status`` findings or not-run, or no ``lint`` record) is
    refused unless ``allow_lint_findings``; then it loads with a warning."""
    dist = Path(dist)
    manifest_path = dist / "manifest.json"
    if not manifest_path.is_file():
        raise ManifestError([f"{manifest_path} not found (run the build first)"])
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError([f"{manifest_path} is not valid JSON: {exc}"]) from None
    if not isinstance(manifest, dict):
        raise ManifestError([f"{manifest_path} must hold a JSON object"])
    check = _Checker(dist)
    if manifest.get("manifest_version") != MANIFEST_VERSION:
        check.fail("manifest", f"manifest_version must be {MANIFEST_VERSION}")
    lint = lint_problem(manifest.get("lint"))
    if lint is not None and not allow_lint_findings:
        check.problems.append(lint)
    raw_products = manifest.get("products")
    raw_portfolios = manifest.get("portfolios", {})
    if not isinstance(raw_products, dict):
        check.fail("manifest", "'products' must be an object")
        raw_products = {}
    if not isinstance(raw_portfolios, dict):
        check.fail("manifest", "'portfolios' must be an object")
        raw_portfolios = {}
    catalog = Catalog(dist=dist)
    for key, raw in raw_products.items():
        product = _load_product(check, key, raw)
        if product is not None:
            catalog.products[key] = product
    for key, raw in raw_portfolios.items():
        portfolio = _load_portfolio(check, key, raw, set(raw_products))
        if portfolio is not None:
            catalog.portfolios[key] = portfolio
    names: dict[str, str] = {}
    for product in catalog.products.values():
        if product.name in names:
            check.fail(f"product {product.key}", f"name '{product.name}' is also used by {names[product.name]}")
        names[product.name] = product.key
    display: dict[str, str] = {}
    for portfolio in catalog.portfolios.values():
        if portfolio.display_name in display:
            check.fail(f"portfolio {portfolio.key}",
                       f"display_name is also used by {display[portfolio.display_name]}")
        display[portfolio.display_name] = portfolio.key
    for key in catalog.products:
        if not catalog.portfolios_of(key):
            catalog.warnings.append(f"product {key} is in no portfolio: it is published but nobody can launch it")
    if check.problems:
        raise ManifestError(check.problems, source=manifest_path)
    if lint is not None:
        reason = lint.split("; ")[0].removeprefix("lint: ")
        catalog.warnings.append(f"{ALLOW_LINT}: {reason}")
    return catalog


def _load_product(check: _Checker, key: str, raw: Any) -> Product | None:
    where = f"product {key}"
    if not KEY_ID.fullmatch(key):
        check.fail(where, "product ids must match [A-Za-z0-9][A-Za-z0-9._-]{0,99}")
    if not isinstance(raw, dict):
        check.fail(where, "must be an object")
        return None
    name = check.text(where, raw, "name", max_len=8191)
    owner = check.text(where, raw, "owner", max_len=8191)
    description = check.text(where, raw, "description", required=False, min_len=0)
    distributor = check.text(where, raw, "distributor", required=False, min_len=0)
    support_email = check.text(where, raw, "support_email", required=False, min_len=0, max_len=254)
    support_url = check.text(where, raw, "support_url", required=False, min_len=0, max_len=2083)
    support_description = check.text(where, raw, "support_description", required=False, min_len=0)
    version = check.text(where, raw, "version", max_len=8192)
    if support_email and "@" not in support_email:
        check.fail(where, "support_email is not an e-mail address")
    if support_url and not SUPPORT_URL.fullmatch(support_url):
        check.fail(where, "support_url must start with http:// or https://")
    content_hash = raw.get("content_hash")
    if not isinstance(content_hash, str) or not HEX64.fullmatch(content_hash):
        check.fail(where, "content_hash must be 64 lowercase hex digits")
        content_hash = ""
    template_rel = raw.get("template")
    data = check.file(f"{where} template", template_rel, raw.get("template_sha256"))
    parameters: dict = {}
    if data is not None:
        if len(data) > MAX_TEMPLATE_BYTES:
            check.fail(where, f"template is {len(data)} bytes; CloudFormation accepts at most {MAX_TEMPLATE_BYTES}")
        try:
            template = json.loads(data)
            parameters = template.get("Parameters", {}) if isinstance(template, dict) else None
            if not isinstance(parameters, dict):
                raise ValueError("Parameters must be an object")
        except (ValueError, UnicodeDecodeError) as exc:
            check.fail(where, f"template is not a CloudFormation JSON object: {exc}")
            parameters = {}
    seeds: list[Seed] = []
    raw_seeds = raw.get("seedcode") or {}
    if not isinstance(raw_seeds, dict):
        check.fail(where, "'seedcode' must be an object")
        raw_seeds = {}
    for seed_name, seed in raw_seeds.items():
        seed_where = f"{where} seedcode {seed_name}"
        if not KEY_ID.fullmatch(seed_name):
            check.fail(seed_where, "seed names must match [A-Za-z0-9][A-Za-z0-9._-]{0,99}")
        if not isinstance(seed, dict):
            check.fail(seed_where, "must be an object")
            continue
        check.file(seed_where, seed.get("path"), seed.get("sha256"))
        key_parameter = seed.get("key_parameter")
        if not isinstance(key_parameter, str) or not key_parameter:
            check.fail(seed_where, "'key_parameter' is required")
        elif data is not None and key_parameter not in parameters:
            check.fail(seed_where, f"template has no parameter {key_parameter}")
        seeds.append(Seed(seed_name, str(seed.get("path")), str(seed.get("sha256")), str(key_parameter)))
    bucket_parameter = raw.get("seedcode_bucket_parameter")
    if seeds and not bucket_parameter:
        check.fail(where, "ships seed code but has no 'seedcode_bucket_parameter'")
    if bucket_parameter is not None:
        if not isinstance(bucket_parameter, str) or not bucket_parameter:
            check.fail(where, "'seedcode_bucket_parameter' must be a parameter name")
        elif data is not None and bucket_parameter not in parameters:
            check.fail(where, f"template has no parameter {bucket_parameter}")
    return Product(
        key=key, name=name, owner=owner, description=description, distributor=distributor,
        support_email=support_email, support_url=support_url, support_description=support_description,
        version=version, template=str(template_rel), template_sha256=str(raw.get("template_sha256")),
        content_hash=content_hash, seeds=tuple(sorted(seeds, key=lambda s: s.name)),
        bucket_parameter=bucket_parameter if isinstance(bucket_parameter, str) else None,
    )


def _load_portfolio(check: _Checker, key: str, raw: Any, product_keys: set[str]) -> Portfolio | None:
    where = f"portfolio {key}"
    if not KEY_ID.fullmatch(key):
        check.fail(where, "portfolio ids must match [A-Za-z0-9][A-Za-z0-9._-]{0,99}")
    elif not tag_text_ok(key) or len(key) > 256:
        check.fail(where, "the id is used as a tag value and must be valid as one")
    if not isinstance(raw, dict):
        check.fail(where, "must be an object")
        return None
    display_name = check.text(where, raw, "display_name", max_len=100)
    description = check.text(where, raw, "description", required=False, min_len=0, max_len=2000)
    provider = check.text(where, raw, "provider", max_len=50)
    studio = check.boolean(where, raw, "studio_visibility")

    products = raw.get("products", [])
    if not isinstance(products, list) or not all(isinstance(p, str) for p in products):
        check.fail(where, "'products' must be a list of product ids")
        products = []
    for product in products:
        if product not in product_keys:
            check.fail(where, f"product {product} is not in the manifest's products")
    if len(set(products)) != len(products):
        check.fail(where, "'products' lists a product twice")
    if len(set(products)) > MAX_PRODUCTS_PER_PORTFOLIO:
        check.fail(where, f"more than {MAX_PRODUCTS_PER_PORTFOLIO} products (Service Catalog quota)")

    publish_to, s3_templates, organization_id = _load_s3(check, where, raw)
    launch = raw.get("launch_constraint") or {}
    if not launch and s3policy.SERVICE_CATALOG not in publish_to:
        pass  # S3 templates only (the launch role is s3_templates.launch_role), or publish_to is wrong
    elif not isinstance(launch, dict) or len(launch) != 1 or set(launch) - {"LocalRoleName", "RoleArn"}:
        check.fail(where, "launch_constraint must have exactly one of LocalRoleName or RoleArn")
        launch = {}
    elif "LocalRoleName" in launch and not (isinstance(launch["LocalRoleName"], str)
                                            and ROLE_NAME.fullmatch(launch["LocalRoleName"])):
        check.fail(where, "launch_constraint.LocalRoleName is not an IAM role name")
    elif "RoleArn" in launch and not (isinstance(launch["RoleArn"], str) and ROLE_ARN.fullmatch(launch["RoleArn"])):
        check.fail(where, "launch_constraint.RoleArn is not an IAM role ARN")
    if products and not launch and s3policy.SERVICE_CATALOG in publish_to:
        check.fail(where, "Studio needs a launch constraint on every product of the portfolio")

    principals: list[Principal] = []
    raw_principals = raw.get("principals", [])
    if not isinstance(raw_principals, list):
        check.fail(where, "'principals' must be a list")
        raw_principals = []
    for index, item in enumerate(raw_principals):
        p_where = f"{where} principals[{index}]"
        if not isinstance(item, dict):
            check.fail(p_where, "must be an object with arn and type")
            continue
        arn, kind = item.get("arn"), item.get("type")
        if kind not in ("IAM", "IAM_PATTERN"):
            check.fail(p_where, "type must be IAM or IAM_PATTERN")
            continue
        if not isinstance(arn, str) or len(arn) > 1000:
            check.fail(p_where, "arn must be a string of at most 1000 characters")
            continue
        if kind == "IAM" and not IAM_ARN.fullmatch(arn):
            check.fail(p_where, f"{arn} is not an IAM ARN with an account (arn:aws:iam::123456789012:role/Name)")
        if kind == "IAM_PATTERN" and not IAM_PATTERN_ARN.fullmatch(arn):
            check.fail(p_where, f"{arn} is not an account-less IAM pattern (arn:aws:iam:::role/path/Name*)")
        principals.append(Principal(arn, kind))
    if len({p.arn for p in principals}) != len(principals):
        check.fail(where, "a principal is listed twice")
    if sum(p.type == "IAM_PATTERN" for p in principals) > MAX_IAM_PATTERNS:
        check.fail(where, f"at most {MAX_IAM_PATTERNS} IAM_PATTERN principals per portfolio")

    shares: list[Share] = []
    raw_shares = raw.get("shares", [])
    if not isinstance(raw_shares, list):
        check.fail(where, "'shares' must be a list")
        raw_shares = []
    for index, item in enumerate(raw_shares):
        s_where = f"{where} shares[{index}]"
        if not isinstance(item, dict):
            check.fail(s_where, "must be an object")
            continue
        kind, value = item.get("type"), item.get("value")
        if kind == "OU_PATH":
            share = _load_path_share(check, s_where, item)
            shares += [share] if share is not None else []
            continue
        if "exclude" in item or "optional" in item:
            check.fail(s_where, "exclude and optional are for OU_PATH shares only")
        if kind not in SHARE_VALUE:
            check.fail(s_where, "type must be ORGANIZATION, ORGANIZATIONAL_UNIT, ACCOUNT or OU_PATH")
            continue
        if not isinstance(value, str) or not SHARE_VALUE[kind].fullmatch(value):
            check.fail(s_where, f"{value!r} is not a valid {kind} id")
            continue
        share_principals = check.boolean(s_where, item, "share_principals")
        share_tag_options = check.boolean(s_where, item, "share_tag_options")
        if kind == "ACCOUNT" and share_principals:
            check.fail(
                s_where,
                "share_principals is only supported for ORGANIZATION and ORGANIZATIONAL_UNIT shares; share the "
                "account's OU instead, or set share_principals to false and associate an IAM principal",
            )
        shares.append(Share(kind, value, share_principals, share_tag_options))
    if len({(s.type, s.value) for s in shares}) != len(shares):
        check.fail(where, "a share target is listed twice")

    tags: dict[str, str] = {}
    raw_tags = raw.get("tags", {})
    if not isinstance(raw_tags, dict):
        check.fail(where, "'tags' must be an object")
        raw_tags = {}
    for tag_key, tag_value in raw_tags.items():
        _check_tag(check, f"{where} tag {tag_key!r}", tag_key, tag_value)
        if tag_key in PUBLISHER_TAGS:
            check.fail(where, f"tag {tag_key} is reserved for the publisher")
        tags[tag_key] = tag_value if isinstance(tag_value, str) else ""
    if len(tags) + len(PUBLISHER_TAGS) > MAX_TAGS:
        check.fail(where, f"at most {MAX_TAGS - len(PUBLISHER_TAGS)} tags (the publisher adds "
                   f"{', '.join(PUBLISHER_TAGS)})")

    tag_options: list[tuple[str, str]] = []
    raw_options = raw.get("tag_options", {})
    if not isinstance(raw_options, dict):
        check.fail(where, "'tag_options' must be an object of key -> list of values")
        raw_options = {}
    for option_key, values in raw_options.items():
        if not isinstance(values, list) or not values:
            check.fail(where, f"tag_options {option_key!r} must be a non-empty list of values")
            continue
        for value in values:
            _check_tag(check, f"{where} tag_option {option_key!r}", option_key, value)
            if isinstance(value, str):
                tag_options.append((option_key, value))
    if len(set(tag_options)) != len(tag_options):
        check.fail(where, "a TagOption value is listed twice")
    if len(tag_options) > MAX_TAG_OPTIONS:
        check.fail(where, f"at most {MAX_TAG_OPTIONS} TagOptions per portfolio")
    if s3_templates is not None:
        if tag_options:
            check.fail(where, "S3 templates have no TagOptions; publish_to: [s3] cannot express them")
        if raw.get("organization_id") is None and any(s.type in ("ORGANIZATIONAL_UNIT", "OU_PATH") for s in shares):
            check.fail(where, "an OU share of S3 templates needs organization_id (aws:PrincipalOrgPaths)")

    tag_update, topics = _load_update_and_notification(check, where, raw)
    return Portfolio(
        key=key, display_name=display_name, description=description, provider=provider,
        products=tuple(products), studio_visibility=studio,
        launch_constraint=tuple(sorted((k, v) for k, v in launch.items() if isinstance(v, str))),
        principals=tuple(principals), shares=tuple(shares), tags=tuple(sorted(tags.items())),
        tag_options=tuple(sorted(set(tag_options))), publish_to=publish_to, s3_templates=s3_templates,
        organization_id=organization_id, tag_update=tag_update, notification_topics=topics,
        file=raw["file"] if isinstance(raw.get("file"), str) else f"portfolios/{key}.yaml",
    )


def _load_path_share(check: _Checker, where: str, item: dict) -> Share | None:
    """An OU path share (resolved at plan time by oupaths.py): the path, its excludes and optional."""
    from .oupaths import exclude_problems, path_problem  # oupaths imports this module

    value = item.get("value")
    reason = path_problem(value) if isinstance(value, str) else f"{value!r} is not an OU path"
    if reason is not None:
        check.fail(where, reason)
        return None
    exclude = item.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(e, str) for e in exclude):
        check.fail(where, "exclude must be a list of OU paths")
        return None
    for index, why in exclude_problems(value, list(enumerate(exclude))):
        check.fail(where, f"exclude[{index}]: {why}")
    share_principals = check.boolean(where, item, "share_principals")
    share_tag_options = check.boolean(where, item, "share_tag_options")
    optional = check.boolean(where, item, "optional")
    return Share("OU_PATH", value, share_principals, share_tag_options, value, tuple(exclude), optional)


def _load_update_and_notification(check: _Checker, where: str, raw: dict) -> tuple[str | None, tuple[str, ...]]:
    """tag_update_constraint and notification_constraints (manifests from before them have neither)."""
    tag_update = raw.get("tag_update_constraint")
    if tag_update is not None and tag_update not in TAG_UPDATE_VALUES:
        check.fail(where, f"tag_update_constraint must be {' or '.join(TAG_UPDATE_VALUES)}")
        tag_update = None
    topics = raw.get("notification_constraints") or []
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        check.fail(where, "'notification_constraints' must be a list of SNS topic ARNs")
        return tag_update, ()
    for topic in topics:
        reason = topic_arn_problem(topic)
        if reason:
            check.fail(where, f"notification_constraints: {reason}")
    if len(set(topics)) != len(topics):
        check.fail(where, "notification_constraints lists a topic twice")
    if len(topics) > MAX_NOTIFICATION_TOPICS:
        check.fail(where, f"notification_constraints: at most {MAX_NOTIFICATION_TOPICS} topics (a stack notifies "
                          f"at most {MAX_NOTIFICATION_TOPICS})")
    return tag_update, tuple(topics)


def _load_s3(check: _Checker, where: str, raw: dict) -> tuple[tuple[str, ...], S3Templates | None, str | None]:
    """publish_to, s3_templates and organization_id (manifests from before S3 templates have none of them).
    A wrong publish_to is one problem, read as no target so that nothing depending on it adds more."""
    publish_to = raw.get("publish_to", [s3policy.SERVICE_CATALOG])
    if (not isinstance(publish_to, list) or not publish_to or len(set(publish_to)) != len(publish_to)
            or not set(publish_to) <= set(s3policy.PUBLISH_TARGETS)):
        check.fail(where, f"publish_to must list {' and/or '.join(s3policy.PUBLISH_TARGETS)}, each once")
        publish_to = []
    organization_id = raw.get("organization_id")
    if organization_id is not None and not (isinstance(organization_id, str) and ORG_ID.fullmatch(organization_id)):
        check.fail(where, "organization_id is not an organization id (o-...)")
        organization_id = None
    s3 = raw.get("s3_templates")
    if s3policy.S3 not in publish_to:
        if s3 is not None and publish_to:
            check.fail(where, "s3_templates is given but publish_to has no s3")
        return tuple(publish_to), None, organization_id
    if not isinstance(s3, dict):
        check.fail(where, "publish_to has s3 but s3_templates is not an object")
        return tuple(publish_to), None, organization_id
    s_where = f"{where} s3_templates"
    regions = s3.get("regions") or []
    if not isinstance(regions, list) or not all(isinstance(r, str) and s3policy.REGION.match(r) for r in regions):
        check.fail(s_where, "regions must be a list of region names")
        regions = []
    bucket = check.text(s_where, s3, "bucket", max_len=1000)
    for reason in s3policy.bucket_template_problems(bucket, regions) if bucket else []:
        check.fail(s_where, reason)
    prefix = check.text(s_where, s3, "prefix", min_len=0, max_len=1000)
    reason = s3policy.prefix_problem(prefix)
    if reason or prefix != s3policy.normalise_prefix(prefix):
        check.fail(s_where, reason or f"prefix {prefix!r} must end with one '/'")
    launch_role = check.text(s_where, s3, "launch_role", max_len=64)
    if launch_role and not ROLE_NAME.fullmatch(launch_role):
        check.fail(s_where, "launch_role is not an IAM role name")
    return tuple(publish_to), S3Templates(bucket, prefix, tuple(regions), launch_role), organization_id


def _check_tag(check: _Checker, where: str, key: Any, value: Any) -> None:
    if not isinstance(key, str) or not 1 <= len(key) <= 128 or not tag_text_ok(key):
        check.fail(where, "keys must be 1-128 characters of letters, digits, spaces and _ . : / = + - @")
    elif key.lower().startswith("aws:"):
        check.fail(where, "keys starting with aws: are reserved by AWS")
    if not isinstance(value, str) or not 1 <= len(value) <= 256 or not tag_text_ok(value):
        check.fail(where, "values must be 1-256 characters of letters, digits, spaces and _ . : / = + - @")
