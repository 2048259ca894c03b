"""Read the live state of one region: what the planner compares the catalog with.

Reads only, and as few as possible: paginated list calls, plus a describe call only where no list
call returns the needed field (portfolio and product tags, a constraint's parameters when its
description was not written by smcat), one HeadBucket (which also tells the bucket's region) and,
with --kms-key-id, one kms:DescribeKey.  The number of calls grows with the number of portfolios
and products in the catalog, not with versions or share targets (shares: one list per share type
per portfolio, always read so that unconfigured shares are reported).  Artifacts: one ListObjectsV2
for existence, a HEAD per object only to check its encryption under --kms-key-id.

With the applied-digest ledger (ledger.py), a portfolio or product whose ``smcat:applied`` tag matches
its digest is not read in detail: a publish with nothing to do reads one list and one describe per
portfolio and product, the bucket and the listing.  Independent reads run a few at once (--max-parallel).

Identity: a portfolio is ours when its display name matches and it carries the tag
``smcat:portfolio=<manifest id>``; a product when its name matches and it carries
``smcat:product=<manifest id>``.  Same-named resources without the tag are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from .artifacts import normalize_prefix, seed_key, template_key
from .aws import Clients, error_code
from .manifest import OWNER_TAG_PORTFOLIO, OWNER_TAG_PRODUCT, SHARE_CHECK_TAG, Catalog, Portfolio
from .model import Options

__all__ = [
    "LiveObject",
    "LiveArtifact",
    "LiveProduct",
    "LiveConstraint",
    "LiveShare",
    "LiveShareOp",
    "LivePortfolio",
    "LiveState",
    "read_state",
    "CONSTRAINT_MARKER",
    "SHARE_TYPES",
    "NODE_TYPE_OF_SHARE",
    "StateError",
    "PRODUCT_FIELDS",
    "constraint_description",
    "share_errors_text",
    "LiveUsage",
]

CONSTRAINT_MARKER = "smcat launch role "
#: description prefix smcat writes per constraint type (the LAUNCH one predates the others, so it stays as it was)
CONSTRAINT_MARKERS = {
    "LAUNCH": CONSTRAINT_MARKER,
    "RESOURCE_UPDATE": "smcat tag updates ",
    "NOTIFICATION": "smcat notifications ",
}
S3_READERS = 8
#: Service Catalog reads of one kind at once (see _parallel)
READERS = 2
#: DescribePortfolioShares types this publisher creates (all through OrganizationNode).
SHARE_TYPES = ("ORGANIZATION", "ORGANIZATIONAL_UNIT", "ORGANIZATION_MEMBER_ACCOUNT")
NODE_TYPE_OF_SHARE = {
    "ORGANIZATION": "ORGANIZATION",
    "ORGANIZATIONAL_UNIT": "ORGANIZATIONAL_UNIT",
    "ORGANIZATION_MEMBER_ACCOUNT": "ACCOUNT",
}


#: UpdateProduct/CreateProduct parameter -> ProductViewSummary member
PRODUCT_FIELDS = {
    "Owner": "Owner",
    "Description": "ShortDescription",
    "Distributor": "Distributor",
    "SupportEmail": "SupportEmail",
    "SupportUrl": "SupportUrl",
    "SupportDescription": "SupportDescription",
}


class StateError(Exception):
    """Live state cannot be read (missing bucket, access denied...)."""


@dataclass
class LiveObject:
    key: str
    exists: bool
    encryption: str | None = None
    kms_key_id: str | None = None  # SSEKMSKeyId (S3 answers with the key ARN)


@dataclass
class LiveArtifact:
    id: str
    name: str
    description: str
    created: Any
    active: bool
    guidance: str


@dataclass
class LiveProduct:
    id: str
    name: str
    tags: dict[str, str]
    artifacts: list[LiveArtifact] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)  # UpdateProduct field -> current value


@dataclass
class LiveConstraint:
    id: str
    type: str
    product_id: str
    description: str
    parameters: dict | None


@dataclass
class LiveShare:
    node_type: str  # OrganizationNode type: ORGANIZATION | ORGANIZATIONAL_UNIT | ACCOUNT
    value: str
    share_principals: bool
    share_tag_options: bool


@dataclass
class LiveShareOp:
    """A share operation an earlier run left to check (from the portfolio's smcat:share-check tag),
    as DescribePortfolioShareStatus answers now; status UNKNOWN when Service Catalog no longer knows it."""

    token: str
    value: str  # OrganizationNodeValue ("" when unknown)
    status: str
    errors: list[dict] = field(default_factory=list)


@dataclass
class LivePortfolio:
    id: str
    display_name: str
    description: str
    provider: str
    tags: dict[str, str]
    tag_options: dict[tuple[str, str], str]  # (key, value) -> TagOption id
    product_ids: set[str] = field(default_factory=set)
    constraints: list[LiveConstraint] = field(default_factory=list)
    principals: dict[str, str] = field(default_factory=dict)  # arn -> IAM | IAM_PATTERN
    shares: dict[tuple[str, str], LiveShare] | None = None  # None: not read
    share_ops: list[LiveShareOp] = field(default_factory=list)  # the smcat:share-check tag's operations


@dataclass
class LiveUsage:
    """Who uses a product's versions, as far as the publishing account can see (``--retire-after``)."""

    users: dict[str, list[str]] = field(default_factory=dict)  # version id -> provisioned products/projects on it
    changing: list[str] = field(default_factory=list)  # provisioned products under change (version not settled)
    portfolio_ids: list[str] = field(default_factory=list)  # every portfolio holding the product


@dataclass
class LiveState:
    region: str
    bucket: str
    bucket_region: str = ""  # where the bucket really is (HeadBucket); "" = the region itself
    objects: dict[str, LiveObject] = field(default_factory=dict)
    portfolios: dict[str, LivePortfolio] = field(default_factory=dict)
    products: dict[str, LiveProduct] = field(default_factory=dict)
    portfolio_count: int = 0
    product_count: int = 0
    tag_option_ids: dict[tuple[str, str], str] | None = None  # None: not read (not needed)
    #: every name of the configured --kms-key-id (as given, key ARN, key id); empty without one
    kms_key_names: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    #: "portfolio/<key>", "product/<key>" whose applied digest (ledger.py) matched: details not read
    trusted: set[str] = field(default_factory=set)
    #: product key -> who uses its versions (read only with --retire-after; None: not read)
    usage: dict[str, LiveUsage] | None = None

    def __post_init__(self) -> None:
        self.bucket_region = self.bucket_region or self.region


def _pages(client, operation: str, key: str, **params) -> Iterator[dict]:
    if client.can_paginate(operation):
        for page in client.get_paginator(operation).paginate(**params):
            yield from page.get(key, [])
        return
    token = None
    while True:  # operations without a botocore paginator (DescribePortfolioShares)
        page = getattr(client, operation)(**params, **({"PageToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextPageToken")
        if not token:
            return


def share_errors_text(errors: list[dict]) -> str:
    """ShareErrors of a share operation, on one line."""
    return "; ".join(
        f"{e.get('Error', 'error')}: {e.get('Message', '')} (accounts {', '.join(e.get('Accounts', []))})"
        for e in errors
    ) or "no details"


def _tags(items: list[dict]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in items or []}


def constraint_description(parameters: dict, kind: str = "LAUNCH") -> str:
    """The Description smcat gives a constraint of type ``kind``: it carries the parameters, so that reading them
    back takes no DescribeConstraint (ListConstraintsForPortfolio answers descriptions, not parameters)."""
    return CONSTRAINT_MARKERS[kind] + json.dumps(parameters, sort_keys=True, separators=(",", ":"))


def _parse_constraint_description(description: str, kind: str = "LAUNCH") -> dict | None:
    marker = CONSTRAINT_MARKERS.get(kind)
    if marker is None or not description.startswith(marker):
        return None
    try:
        value = json.loads(description[len(marker):])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _compared_constraint_types(desired: Portfolio) -> set[str]:
    """The constraint types whose live parameters the planner compares with the portfolio's: LAUNCH always, the
    others when configured (otherwise a live one is only reported, or pruned, and its parameters not needed)."""
    return {"LAUNCH"} | ({"RESOURCE_UPDATE"} if desired.tag_update else set()) | (
        {"NOTIFICATION"} if desired.notification_topics else set())


def _constraint_parameters(sc, detail: dict, description: str) -> dict:
    """A listed constraint's parameters: from the description smcat wrote, else one DescribeConstraint."""
    parameters = _parse_constraint_description(description, detail.get("Type", ""))
    if parameters is not None:
        return parameters
    described = sc.describe_constraint(Id=detail["ConstraintId"])
    try:
        parameters = json.loads(described.get("ConstraintParameters") or "{}")
    except ValueError:
        return {}
    return parameters if isinstance(parameters, dict) else {}


def read_state(clients: Clients, catalog: Catalog, options: Options, ledger=None) -> LiveState:
    """``ledger`` (a ledger.Ledger): portfolios and products whose applied digest matches are not read in
    detail (their versions, associations, constraints, principals, shares, object HEADs)."""
    state = LiveState(region=clients.region, bucket=options.bucket_for(clients.region))
    _read_bucket(clients, options, state)
    _read_portfolios(clients, catalog, options, state)
    _read_products(clients, catalog, state, ledger)
    _read_portfolios_in_detail(clients, catalog, options, state, ledger)
    _read_objects(clients, catalog, options, state, ledger.vouched_objects(state) if ledger else set())
    _read_tag_options(clients, catalog, state)
    if options.retire_after is not None:
        _read_version_usage(clients, state)
    return state


def _parallel(clients: Clients, fn, items: list) -> list:
    """``fn`` over ``items`` (independent reads, mostly of one operation), answers in order; at most
    READERS at once (and never more than --max-parallel).  AWS throttles each operation on its own, and
    a throttle early in a run cuts the whole client to about one request a second (botocore adaptive
    mode, see aws.py): a wider burst of one operation costs more than it saves (bench/publish_bench.py)."""
    workers = max(1, min(getattr(clients.runtime, "max_parallel", 1), READERS, len(items)))
    if workers == 1:
        return [fn(item) for item in items]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fn, items))


def _read_portfolios_in_detail(clients: Clients, catalog: Catalog, options: Options, state: LiveState,
                               ledger) -> None:
    untrusted = []
    for key, portfolio in state.portfolios.items():
        if ledger is not None and ledger.trusts_portfolio(key, portfolio, state):
            state.trusted.add(f"portfolio/{key}")
        else:
            untrusted.append(key)
    _parallel(clients, lambda key: _read_portfolio_details(clients, catalog.portfolios[key], options,
                                                           state.portfolios[key]), untrusted)


def bucket_region_of(answer: dict) -> str | None:
    """The bucket's region from a HeadBucket answer (``BucketRegion``, else the response header)."""
    headers = answer.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return answer.get("BucketRegion") or headers.get("x-amz-bucket-region") or None


def _read_bucket(clients: Clients, options: Options, state: LiveState) -> None:
    try:
        answer = clients.s3.head_bucket(Bucket=state.bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404 or error_code(exc) in ("404", "NoSuchBucket"):
            raise StateError(
                f"artifact bucket {state.bucket} does not exist (publishing to {state.region}); create it first"
            ) from None
        if status == 403 or error_code(exc) in ("403", "AccessDenied"):
            raise StateError(f"access denied to artifact bucket {state.bucket}") from None
        raise
    # template URLs must name the bucket's own region, which need not be the one published to
    state.bucket_region = bucket_region_of(answer) or state.region
    if state.bucket_region != state.region:
        state.notes.append(
            f"artifact bucket {state.bucket} is in {state.bucket_region}, not {state.region}: templates load "
            f"from there (CodeCommit seed code may need a bucket in {state.region}; '{{region}}' in --bucket "
            f"gives one bucket per region)"
        )
    _resolve_kms_key(clients, options, state)


def _listed_keys(s3, bucket: str, prefix: str) -> set[str]:
    """Every key under the prefix: one paginated ListObjectsV2 (1,000 keys a page) instead of a HEAD per
    object (S3 lists strongly consistently since December 2020: a key just written is listed)."""
    prefix = normalize_prefix(prefix)
    try:
        return {o["Key"] for o in _pages(s3, "list_objects_v2", "Contents", Bucket=bucket,
                                         Prefix=f"{prefix}/" if prefix else "")}
    except ClientError as exc:
        if error_code(exc) in ("403", "AccessDenied"):
            raise StateError(f"access denied listing s3://{bucket}/{prefix}: the publisher needs s3:ListBucket, "
                             f"s3:GetObject and s3:PutObject on the artifact bucket") from None
        raise


def _read_objects(clients: Clients, catalog: Catalog, options: Options, state: LiveState, vouched: set[str]) -> None:
    """Which artifacts exist (one listing); with --kms-key-id also how each existing one is encrypted (a HEAD),
    except those an applied digest vouches for (``vouched``: uploaded under this very key)."""
    s3 = clients.s3_in(state.bucket_region)
    keys = []
    for product in catalog.products.values():
        keys.extend(seed_key(options.prefix, seed) for seed in product.seeds)
        keys.append(template_key(options.prefix, product))

    def head(key: str) -> LiveObject:
        try:
            answer = s3.head_object(Bucket=state.bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return LiveObject(key, False)
            if error_code(exc) in ("403", "AccessDenied"):
                raise StateError(
                    f"access denied reading s3://{state.bucket}/{key}: the publisher needs s3:GetObject, "
                    f"s3:PutObject and s3:ListBucket on the artifact bucket"
                ) from None
            raise
        return LiveObject(key, True, answer.get("ServerSideEncryption"), answer.get("SSEKMSKeyId"))

    existing = _listed_keys(s3, state.bucket, options.prefix)
    kms = options.kms_key_for(state.region)
    headed = []
    for key in dict.fromkeys(keys):
        if key not in existing:
            state.objects[key] = LiveObject(key, False)
        elif kms and key not in vouched:
            headed.append(key)
        else:  # only existence matters (no --kms-key-id), or the digest vouches it was uploaded with this key
            state.objects[key] = LiveObject(key, True, "aws:kms" if kms else None)
    # HEAD requests are independent and S3 is not throttled at this rate: a few at once
    with ThreadPoolExecutor(max_workers=S3_READERS) as pool:
        for obj in pool.map(head, headed):
            state.objects[obj.key] = obj


def _resolve_kms_key(clients: Clients, options: Options, state: LiveState) -> None:
    """Every name of the configured KMS key, so that an object's SSEKMSKeyId (a key ARN) can be
    compared with an id, ARN or alias given on the command line (kms:DescribeKey resolves aliases)."""
    wanted = options.kms_key_for(state.region)
    if not wanted:
        return
    names = {wanted}
    if wanted.startswith("arn:") and ":key/" in wanted:
        names.add(wanted.rsplit("/", 1)[1])
    try:
        metadata = clients.kms_in(state.bucket_region).describe_key(KeyId=wanted)["KeyMetadata"]
    except ClientError as exc:
        if error_code(exc) == "NotFoundException":
            raise StateError(
                f"KMS key {wanted} does not exist in {state.bucket_region} (the bucket's region)"
            ) from None
        if error_code(exc) not in ("AccessDenied", "AccessDeniedException"):
            raise
        state.notes.append(
            f"cannot resolve KMS key {wanted} (kms:DescribeKey denied): objects encrypted under another name "
            f"for the same key are re-uploaded"
        )
    else:
        names.update(n for n in (metadata.get("Arn"), metadata.get("KeyId")) if n)
    state.kms_key_names = names


def _read_portfolios(clients: Clients, catalog: Catalog, options: Options, state: LiveState) -> None:
    sc = clients.sc
    wanted = {p.display_name: p for p in catalog.portfolios.values()}
    listed = list(_pages(sc, "list_portfolios", "PortfolioDetails", PageSize=100))
    state.portfolio_count = len(listed)
    for detail in listed:
        desired = wanted.get(detail["DisplayName"])
        if desired is None:
            continue
        described = sc.describe_portfolio(Id=detail["Id"])
        tags = _tags(described.get("Tags", []))
        if tags.get(OWNER_TAG_PORTFOLIO) != desired.key:
            state.notes.append(
                f"portfolio '{detail['DisplayName']}' ({detail['Id']}) exists without the tag "
                f"{OWNER_TAG_PORTFOLIO}={desired.key}; it is left alone"
            )
            continue
        if desired.key in state.portfolios:
            state.notes.append(
                f"portfolio {desired.key} exists twice ({state.portfolios[desired.key].id}, {detail['Id']}); "
                f"using the first, delete the other by hand"
            )
            continue
        state.portfolios[desired.key] = LivePortfolio(
            id=detail["Id"],
            display_name=detail["DisplayName"],
            description=detail.get("Description", ""),
            provider=detail.get("ProviderName", ""),
            tags=tags,
            tag_options={(t["Key"], t["Value"]): t["Id"] for t in described.get("TagOptions", [])},
        )


def _read_products(clients: Clients, catalog: Catalog, state: LiveState, ledger=None) -> None:
    sc = clients.sc
    wanted = {p.name: p for p in catalog.products.values()}
    listed = list(_pages(sc, "search_products_as_admin", "ProductViewDetails", ProductSource="ACCOUNT",
                         PageSize=20))
    state.product_count = len(listed)
    candidates = [v for v in listed if v["ProductViewSummary"]["Name"] in wanted]
    described_all = _parallel(clients, lambda v: sc.describe_product_as_admin(Id=v["ProductViewSummary"]["ProductId"]),
                              candidates)
    for view, described in zip(candidates, described_all, strict=True):
        summary = view["ProductViewSummary"]
        desired = wanted[summary["Name"]]
        tags = _tags(described.get("Tags", []))
        if tags.get(OWNER_TAG_PRODUCT) != desired.key:
            state.notes.append(
                f"product '{summary['Name']}' ({summary['ProductId']}) exists without the tag "
                f"{OWNER_TAG_PRODUCT}={desired.key}; it is left alone"
            )
            continue
        if desired.key in state.products:
            state.notes.append(
                f"product {desired.key} exists twice ({state.products[desired.key].id}, {summary['ProductId']}); "
                f"using the first, delete the other by hand"
            )
            continue
        attributes = {field_: summary.get(member, "") or "" for field_, member in PRODUCT_FIELDS.items()}
        state.products[desired.key] = LiveProduct(summary["ProductId"], summary["Name"], tags, [], attributes)
    _read_versions(clients, state, ledger)


def _read_versions(clients: Clients, state: LiveState, ledger) -> None:
    """Each product's versions, but for those whose applied digest vouches for them."""
    untrusted = []
    for key, product in state.products.items():
        if ledger is not None and ledger.trusts_product(key, product.tags, state):
            state.trusted.add(f"product/{key}")
        else:
            untrusted.append(product)

    def versions(product: LiveProduct) -> None:
        product.artifacts = [
            LiveArtifact(
                id=a["Id"],
                name=a.get("Name", ""),
                description=a.get("Description", ""),
                created=a.get("CreatedTime"),
                active=a.get("Active", True),
                guidance=a.get("Guidance", "DEFAULT"),
            )
            for a in _pages(clients.sc, "list_provisioning_artifacts", "ProvisioningArtifactDetails",
                            ProductId=product.id)
        ]

    _parallel(clients, versions, untrusted)


def _read_portfolio_details(clients: Clients, desired: Portfolio, options: Options, live: LivePortfolio) -> None:
    sc = clients.sc
    live.product_ids = {
        v["ProductViewSummary"]["ProductId"]
        for v in _pages(sc, "search_products_as_admin", "ProductViewDetails", PortfolioId=live.id, PageSize=20)
    }
    compared = _compared_constraint_types(desired)
    for detail in _pages(sc, "list_constraints_for_portfolio", "ConstraintDetails", PortfolioId=live.id,
                         PageSize=20):
        kind = detail.get("Type", "")
        description = detail.get("Description", "") or ""
        parameters = _constraint_parameters(sc, detail, description) if kind in compared else None
        live.constraints.append(LiveConstraint(detail["ConstraintId"], kind, detail["ProductId"], description,
                                               parameters))
    live.principals = {
        p["PrincipalARN"]: p["PrincipalType"]
        for p in _pages(sc, "list_principals_for_portfolio", "Principals", PortfolioId=live.id, PageSize=20)
    }
    # always read (one paginated list per share type, whatever the number of targets), so that a
    # share nobody configured is reported even when the portfolio has no shares configured
    live.shares = {}
    for share_type in SHARE_TYPES:
        for share in _pages(sc, "describe_portfolio_shares", "PortfolioShareDetails", PortfolioId=live.id,
                            Type=share_type, PageSize=100):
            node_type = NODE_TYPE_OF_SHARE[share_type]
            live.shares[(node_type, share["PrincipalId"])] = LiveShare(
                node_type,
                share["PrincipalId"],
                bool(share.get("SharePrincipals")),
                bool(share.get("ShareTagOptions")),
            )
    # share operations an earlier run could not see complete cleanly: one status read each, and
    # none at all (no tag) when every share operation completed
    for token in live.tags.get(SHARE_CHECK_TAG, "").split():
        try:
            status = sc.describe_portfolio_share_status(PortfolioShareToken=token)
        except ClientError as exc:
            if error_code(exc) not in ("ResourceNotFoundException", "InvalidParametersException"):
                raise
            live.share_ops.append(LiveShareOp(token, "", "UNKNOWN"))
            continue
        live.share_ops.append(LiveShareOp(
            token, status.get("OrganizationNodeValue", ""), status.get("Status", "UNKNOWN"),
            list((status.get("ShareDetails") or {}).get("ShareErrors") or []),
        ))


def _read_tag_options(clients: Clients, catalog: Catalog, state: LiveState) -> None:
    needed = False
    for key, portfolio in catalog.portfolios.items():
        live = state.portfolios.get(key)
        have = set(live.tag_options) if live else set()
        if set(portfolio.tag_options) - have:
            needed = True
            break
    if not needed:
        return
    state.tag_option_ids = {
        (t["Key"], t["Value"]): t["Id"]
        for t in _pages(clients.sc, "list_tag_options", "TagOptionDetails", PageSize=20)
    }


# ------------------------------------------------------------------------------------------ version usage

#: SearchProvisionedProducts' access level for every provisioned product of the calling account (botocore
#: model: Account "filter results based on the account"; Value: "the only supported value is self")
ACCOUNT_LEVEL = {"Key": "Account", "Value": "self"}
SETTLING = ("UNDER_CHANGE", "PLAN_IN_PROGRESS")


def _user_label(pp: dict) -> str:
    """A provisioned product's name, with the SageMaker project it belongs to (SageMaker tags the
    provisioned products of its projects sagemaker:project-name)."""
    project = _tags(pp.get("Tags", [])).get("sagemaker:project-name")
    return f"{pp.get('Name', pp.get('Id'))} (project {project})" if project else pp.get("Name", pp.get("Id", "?"))


def account_provisioned_products(sc) -> Iterator[dict]:
    """Every provisioned product of the calling account in the client's region (one paginated
    SearchProvisionedProducts; the Account access level sees no other account's)."""
    return _pages(sc, "search_provisioned_products", "ProvisionedProducts", AccessLevelFilter=ACCOUNT_LEVEL,
                  PageSize=100)


def _read_version_usage(clients: Clients, state: LiveState) -> None:
    """For --retire-after: which version each provisioned product of this account runs (one paginated
    SearchProvisionedProducts for the whole region) and which portfolios hold each product
    (ListPortfoliosForProduct), so that the planner keeps every version it cannot prove unused."""
    sc = clients.sc
    by_product: dict[str, LiveUsage] = {p.id: LiveUsage() for p in state.products.values()}
    for pp in account_provisioned_products(sc):
        usage = by_product.get(pp.get("ProductId", ""))
        if usage is None:
            continue
        usage.users.setdefault(pp.get("ProvisioningArtifactId", ""), []).append(_user_label(pp))
        if pp.get("Status") in SETTLING:
            usage.changing.append(_user_label(pp))
    for product in state.products.values():
        by_product[product.id].portfolio_ids = sorted(
            d["Id"] for d in _pages(sc, "list_portfolios_for_product", "PortfolioDetails", ProductId=product.id,
                                    PageSize=20))
    state.usage = {key: by_product[p.id] for key, p in state.products.items()}
