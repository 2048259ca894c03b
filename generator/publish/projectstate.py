"""Read which provisioned products and SageMaker projects of one account and region use which product
version: what ``smcat projects`` reports and ``projects plan-upgrade`` decides from.  Reads only.

Sources (botocore models, checked):

* Service Catalog ``SearchProvisionedProducts`` with ``AccessLevelFilter {Key: Account, Value: self}`` (every
  provisioned product of the account, not only the caller's): id, name, status and message, product and
  version (ids and names), ``LastRecordId``; its ``DescribeRecord`` gives the last update (``UpdatedTime``),
  read only for provisioned products that are not SageMaker projects (a project has LastModifiedTime).
* SageMaker ``ListProjects`` + ``DescribeProject``: ``ProjectStatus``, ``LastModifiedTime``,
  ``ServiceCatalogProvisioningDetails`` (ProductId, ProvisioningArtifactId, ProvisioningParameters) and
  ``ServiceCatalogProvisionedProductDetails.ProvisionedProductId``, which links a project to its provisioned
  product; a project made from an S3 template has ``TemplateProviderDetails`` instead.
* Per product used: ``DescribeProductAsAdmin`` (name, the ``smcat:product`` tag = the catalog's product key)
  and ``ListProvisioningArtifacts`` (version names, guidance, smcat's descriptions).

A project's version is its provisioned product's ``ProvisioningArtifactId`` (Service Catalog's own record)
when the provisioned product is listed, else the one DescribeProject names (inference: SageMaker's copy
may lag behind an update made outside SageMaker).  Provisioned products launched in other accounts, from
portfolios shared with them, are not visible here: ``Account`` is the calling account.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

from botocore.exceptions import ClientError

from .aws import error_code
from .manifest import OWNER_TAG_PRODUCT
from .state import _pages, _tags, account_provisioned_products

__all__ = ["Version", "LiveProductVersions", "Usage", "ProjectsState", "read_projects", "read_version_parameters",
           "KINDS", "S3_TEMPLATE"]

SAGEMAKER_PROJECT, PROVISIONED_PRODUCT, S3_TEMPLATE = "sagemaker-project", "provisioned-product", "s3-template-project"
KINDS = (SAGEMAKER_PROJECT, PROVISIONED_PRODUCT, S3_TEMPLATE)
#: answers that mean "not yours to describe" (a product of another account, one deleted since)
UNREADABLE = ("ResourceNotFoundException", "InvalidParametersException", "AccessDeniedException")
S3_HOST = re.compile(r"(?:(?P<bucket>.+)\.)?s3(?:[.-](?P<region>[a-z]{2}(?:-[a-z]+)+-\d))?\.amazonaws\.com(?:\.cn)?")


@dataclass
class Version:
    id: str
    name: str
    description: str
    created: str  # ISO time ("" when not told)
    active: bool
    guidance: str  # DEFAULT | DEPRECATED


@dataclass
class LiveProductVersions:
    id: str
    name: str
    key: str | None  # the smcat:product tag (None: not a product smcat publishes, or unreadable)
    versions: list[Version] = field(default_factory=list)

    def version(self, version_id: str | None) -> Version | None:
        return next((v for v in self.versions if v.id == version_id), None)


@dataclass
class Usage:
    """One provisioned product or SageMaker project and the product version it runs."""

    kind: str  # sagemaker-project | provisioned-product | s3-template-project
    name: str
    status: str  # ProjectStatus, or the provisioned product's Status
    last_update: str  # ISO time
    product_id: str | None = None
    product_name: str = ""
    version_id: str | None = None
    version_name: str = ""
    provisioned_product_id: str | None = None
    provisioned_product_name: str = ""
    provisioned_product_status: str = ""
    last_record_id: str = ""
    status_message: str = ""
    #: the parameters the project was created/updated with (DescribeProject), for UpdateProject
    parameters: list[dict[str, str]] = field(default_factory=list)
    template_url: str = ""  # S3-template projects
    template_product: str | None = None  # the product key an S3 template's object names, when it can be told

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class ProjectsState:
    region: str
    products: dict[str, LiveProductVersions] = field(default_factory=dict)  # product id -> versions
    usages: list[Usage] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value or "")


def read_projects(sc, sagemaker, s3_for=None, region: str = "") -> ProjectsState:
    """Everything in one region; ``s3_for(region)`` gives an S3 client to read an S3 template's object
    version (its ``smcat-version`` metadata), or None to leave such versions untold."""
    state = ProjectsState(region=region)
    provisioned = {pp["Id"]: pp for pp in account_provisioned_products(sc)}
    linked: set[str] = set()
    for project in _read_sagemaker_projects(sagemaker):
        usage = _project_usage(project, provisioned, s3_for)
        if usage.provisioned_product_id:
            linked.add(usage.provisioned_product_id)
        state.usages.append(usage)
    for pp_id, pp in provisioned.items():
        if pp_id not in linked:
            state.usages.append(_provisioned_usage(sc, pp))
    for product_id in sorted({u.product_id for u in state.usages if u.product_id}):
        state.products[product_id] = _read_product(sc, product_id, state.usages)
    for usage in state.usages:
        product = state.products.get(usage.product_id or "")
        version = product.version(usage.version_id) if product else None
        if version is not None:
            usage.version_name = version.name
        if product is not None and not usage.product_name:
            usage.product_name = product.name
    state.usages.sort(key=lambda u: (u.product_name, u.version_name, u.name))
    return state


def _read_sagemaker_projects(sagemaker) -> list[dict]:
    names = [p["ProjectName"] for page in sagemaker.get_paginator("list_projects").paginate(
        SortBy="Name", SortOrder="Ascending") for p in page.get("ProjectSummaryList", [])]
    projects = []
    for name in names:
        try:
            projects.append(sagemaker.describe_project(ProjectName=name))
        except ClientError as exc:  # deleted between the list and the describe
            if error_code(exc) not in ("ValidationException", "ResourceNotFound"):
                raise
    return projects


def _project_usage(project: dict, provisioned: dict[str, dict], s3_for) -> Usage:
    name = project["ProjectName"]
    last = _iso(project.get("LastModifiedTime") or project.get("CreationTime"))
    details = project.get("ServiceCatalogProvisioningDetails")
    if not details:
        return _s3_template_usage(project, name, last, s3_for)
    pp_id = (project.get("ServiceCatalogProvisionedProductDetails") or {}).get("ProvisionedProductId")
    pp = provisioned.get(pp_id or "", {})
    return Usage(
        kind=SAGEMAKER_PROJECT, name=name, status=project.get("ProjectStatus", ""), last_update=last,
        product_id=pp.get("ProductId") or details.get("ProductId"),
        product_name=pp.get("ProductName", ""),
        version_id=pp.get("ProvisioningArtifactId") or details.get("ProvisioningArtifactId"),
        version_name=pp.get("ProvisioningArtifactName", ""),
        provisioned_product_id=pp_id, provisioned_product_name=pp.get("Name", ""),
        provisioned_product_status=pp.get("Status", ""), last_record_id=pp.get("LastRecordId", ""),
        status_message=pp.get("StatusMessage", ""),
        parameters=[{"Key": p["Key"], "Value": p.get("Value", "")} for p in details.get("ProvisioningParameters", [])
                    if p.get("Key")],
    )


def _s3_template_usage(project: dict, name: str, last: str, s3_for) -> Usage:
    providers = project.get("TemplateProviderDetails") or [{}]
    detail = providers[0].get("CfnTemplateProviderDetail") or {}
    url = detail.get("TemplateURL", "")
    product, version = _s3_template_version(url, s3_for)
    return Usage(kind=S3_TEMPLATE, name=name, status=project.get("ProjectStatus", ""), last_update=last,
                 product_name=product or detail.get("TemplateName", ""), version_name=version, template_url=url,
                 template_product=product)


def parse_s3_url(url: str) -> tuple[str, str, str, str | None] | None:
    """(bucket, key, region, versionId) of an S3 HTTPS URL, virtual-hosted or path style; None otherwise."""
    parsed = urlparse(url)
    match = S3_HOST.fullmatch(parsed.hostname or "")
    if parsed.scheme != "https" or match is None:
        return None
    path = unquote(parsed.path.lstrip("/"))
    bucket, key = (match["bucket"], path) if match["bucket"] else tuple(path.partition("/")[::2])
    version = (parse_qs(parsed.query).get("versionId") or [None])[0]
    return bucket, key, match["region"] or "us-east-1", version


def _s3_template_version(url: str, s3_for) -> tuple[str | None, str]:
    """(product key, version) of the S3 template a project was made from: smcat uploads each product to
    ``<prefix><product>.yaml`` with ``smcat-product``/``smcat-version`` metadata.  The version can be told
    only when the URL names an object version (the stable key's newest object may be a later upload)."""
    parsed = parse_s3_url(url)
    if parsed is None:
        return None, ""
    bucket, key, bucket_region, version_id = parsed
    product = key.rsplit("/", 1)[-1].rsplit(".", 1)[0] or None
    if version_id is None or s3_for is None:
        return product, ""
    try:
        head = s3_for(bucket_region).head_object(Bucket=bucket, Key=key, VersionId=version_id)
    except ClientError:
        return product, ""
    metadata = head.get("Metadata") or {}
    return metadata.get("smcat-product") or product, metadata.get("smcat-version", "")


def _provisioned_usage(sc, pp: dict) -> Usage:
    last = _iso(pp.get("CreatedTime"))
    if pp.get("LastRecordId"):
        try:
            record = sc.describe_record(Id=pp["LastRecordId"])["RecordDetail"]
            last = _iso(record.get("UpdatedTime") or record.get("CreatedTime")) or last
        except ClientError as exc:
            if error_code(exc) not in UNREADABLE:
                raise
    return Usage(
        kind=PROVISIONED_PRODUCT, name=pp.get("Name", pp["Id"]), status=pp.get("Status", ""), last_update=last,
        product_id=pp.get("ProductId"), product_name=pp.get("ProductName", ""),
        version_id=pp.get("ProvisioningArtifactId"), version_name=pp.get("ProvisioningArtifactName", ""),
        provisioned_product_id=pp["Id"], provisioned_product_name=pp.get("Name", ""),
        provisioned_product_status=pp.get("Status", ""), last_record_id=pp.get("LastRecordId", ""),
        status_message=pp.get("StatusMessage", ""),
    )


def _read_product(sc, product_id: str, usages: list[Usage]) -> LiveProductVersions:
    """Name, smcat key and versions of a product.  What this account cannot read as admin (a product shared
    with it, one deleted since) stays unknown: the name the provisioned products carry, no key, no versions."""
    name = next((u.product_name for u in usages if u.product_id == product_id and u.product_name), product_id)
    key = None
    try:
        described = sc.describe_product_as_admin(Id=product_id)
    except ClientError as exc:
        if error_code(exc) not in UNREADABLE:
            raise
    else:
        name = described["ProductViewDetail"]["ProductViewSummary"].get("Name", name)
        key = _tags(described.get("Tags", [])).get(OWNER_TAG_PRODUCT)
    try:
        artifacts = list(_pages(sc, "list_provisioning_artifacts", "ProvisioningArtifactDetails", ProductId=product_id))
    except ClientError as exc:
        if error_code(exc) not in UNREADABLE:
            raise
        artifacts = []
    versions = [Version(a["Id"], a.get("Name", ""), a.get("Description", ""), _iso(a.get("CreatedTime")),
                        a.get("Active", True), a.get("Guidance", "DEFAULT")) for a in artifacts]
    return LiveProductVersions(product_id, name, key, versions)


def read_version_parameters(sc, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], list[str] | None]:
    """(product id, version id) -> the parameter names its template declares (DescribeProvisioningArtifact
    with IncludeProvisioningArtifactParameters), None when the version is gone or unreadable."""
    result: dict[tuple[str, str], list[str] | None] = {}
    for product_id, version_id in sorted(set(wanted)):
        try:
            answer = sc.describe_provisioning_artifact(ProductId=product_id, ProvisioningArtifactId=version_id,
                                                       IncludeProvisioningArtifactParameters=True)
        except ClientError as exc:
            if error_code(exc) not in UNREADABLE:
                raise
            result[(product_id, version_id)] = None
            continue
        result[(product_id, version_id)] = sorted(p["ParameterKey"] for p in answer.get(
            "ProvisioningArtifactParameters", []) if p.get("ParameterKey"))
    return result
