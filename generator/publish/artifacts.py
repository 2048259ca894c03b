"""S3 artifacts: content-addressed keys, template rendering with the seed-code location, URLs.

The dist template stays location-independent.  At publish time the ``Default`` of the product's
``seedcode_bucket_parameter`` becomes the artifact bucket and each seed's ``key_parameter`` the
content-addressed key of its zip.  The rendered template is a pure function of (dist template,
bucket, prefix), and its key carries the product's content hash, so a key never names two
different bodies within one bucket and prefix.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from .manifest import MAX_TEMPLATE_BYTES, Catalog, Product, Seed

__all__ = ["seed_key", "template_key", "render_template", "template_url", "normalize_prefix"]


def normalize_prefix(prefix: str | None) -> str:
    return (prefix or "").strip("/")


def _join(prefix: str, *parts: str) -> str:
    prefix = normalize_prefix(prefix)
    return "/".join([prefix, *parts]) if prefix else "/".join(parts)


def seed_key(prefix: str, seed: Seed) -> str:
    return _join(prefix, "seedcode", seed.name, f"{seed.sha256}.zip")


def template_key(prefix: str, product: Product) -> str:
    return _join(prefix, "templates", product.key, f"{product.content_hash}.json")


def seed_defaults(product: Product, bucket: str, prefix: str) -> dict[str, str]:
    if not product.seeds:
        return {}
    defaults = {product.bucket_parameter: bucket} if product.bucket_parameter else {}
    for seed in product.seeds:
        defaults[seed.key_parameter] = seed_key(prefix, seed)
    return defaults


def render_template(catalog: Catalog, product: Product, bucket: str, prefix: str) -> bytes:
    """The dist template with the seed-code parameters' defaults filled in (deterministic bytes)."""
    template = json.loads(catalog.read_bytes(product.template))
    parameters = template.setdefault("Parameters", {})
    for name, value in seed_defaults(product, bucket, prefix).items():
        parameters.setdefault(name, {"Type": "String"})["Default"] = value
    body = (json.dumps(template, indent=1, ensure_ascii=False) + "\n").encode("utf-8")
    if len(body) > MAX_TEMPLATE_BYTES:  # stay under CloudFormation's limit: drop the indentation
        body = json.dumps(template, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return body


def template_url(bucket: str, region: str, key: str) -> str:
    """HTTPS URL Service Catalog's LoadTemplateFromURL accepts (virtual-hosted style when possible)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    path = quote(key, safe="/")
    if "." in bucket:  # dotted names break virtual-hosted TLS certificates
        return f"https://s3.{region}.{suffix}/{bucket}/{path}"
    return f"https://{bucket}.s3.{region}.{suffix}/{path}"
