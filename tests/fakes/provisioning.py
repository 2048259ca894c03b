"""Helpers for tests that launch products in the Service Catalog double (provisioned products, SageMaker
projects): a template reader backed by moto's S3, and launching/settling provisioned products."""

from __future__ import annotations

from .aws import client, parse_s3_url
from .servicecatalog import ServiceCatalogDouble

__all__ = ["s3_template_reader", "settle", "product_ids", "versions_of", "launch"]


def s3_template_reader(url: str) -> bytes | None:
    """What Service Catalog reads at LoadTemplateFromURL: the object in moto's S3 (None: unreadable)."""
    parsed = parse_s3_url(url)
    if parsed is None:
        return None
    bucket, key, _region = parsed
    try:
        return client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception:  # noqa: BLE001 - any failure to read is "unreadable", as for the real service
        return None


def settle(double: ServiceCatalogDouble, region: str = "us-east-1", rounds: int = 200) -> None:
    """Advance the double's clock until no provisioning record is running."""
    for _ in range(rounds):
        if all(r["Status"] in ("SUCCEEDED", "FAILED") for r in double.region(region).records.values()):
            return
        double.advance(region)
    raise AssertionError("provisioning records still running")


def product_ids(double: ServiceCatalogDouble, region: str = "us-east-1") -> dict[str, str]:
    """product name -> id."""
    return {p["Name"]: pid for pid, p in double.region(region).products.items()}


def versions_of(double: ServiceCatalogDouble, product: str, region: str = "us-east-1") -> dict[str, dict]:
    """version name -> the double's artifact record, in creation order."""
    pid = product_ids(double, region)[product]
    return {a["Name"]: a for a in double.region(region).products[pid]["Artifacts"]}


def launch(double: ServiceCatalogDouble, product: str, version: str, name: str, parameters: dict[str, str]) -> str:
    """ProvisionProduct through the API (as a user in the account would), settled; the provisioned product id."""
    sc = client("servicecatalog")
    record = sc.provision_product(
        ProductId=product_ids(double)[product], ProvisioningArtifactId=versions_of(double, product)[version]["Id"],
        ProvisionedProductName=name, ProvisionToken=f"launch-{name}",
        ProvisioningParameters=[{"Key": k, "Value": v} for k, v in parameters.items()])["RecordDetail"]
    settle(double)
    return record["ProvisionedProductId"]
