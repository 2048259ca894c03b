"""dist/ for the S3 templates target: ``build_dist`` plus what the build adds for it (the YAML
renderings ``templates/<product>.yaml`` with ``template_yaml`` / ``template_yaml_sha256`` in the
manifest, and per portfolio ``publish_to``, ``s3_templates`` and ``organization_id``), and a helper
that reads a bucket's whole state from moto for comparisons."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path

from generator.output import canonical_yaml
from tests.fakes.catalog import ORG, build_dist, default_spec

TEMPLATES_BUCKET = "smcat-templates"
PREFIX = "sagemaker-templates/"


def s3_spec(spec: dict | None = None, *, bucket: str = TEMPLATES_BUCKET, prefix: str = PREFIX,
            publish_to: tuple[str, ...] = ("s3",), regions: list[str] | None = None,
            organization_id: str | None = ORG) -> dict:
    """A catalog spec whose portfolios publish to S3 templates (TagOptions dropped: S3 has none)."""
    spec = copy.deepcopy(spec if spec is not None else default_spec())
    for portfolio in spec["portfolios"].values():
        portfolio["publish_to"] = list(publish_to)
        if "s3" in publish_to:
            portfolio["s3_templates"] = {"bucket": bucket, "prefix": prefix, "regions": list(regions or []),
                                         "launch_role": "SageMakerProjectsS3LaunchRole"}
            portfolio["tag_options"] = {}
        portfolio["organization_id"] = organization_id
    return spec


def build_s3_dist(root: Path, spec: dict | None = None, **kwargs) -> Path:
    """build_dist(root, spec) with the YAML renderings and the S3 keys the build writes."""
    dist = build_dist(root, spec if spec is not None else s3_spec(), **kwargs)
    manifest = json.loads((dist / "manifest.json").read_text())
    for key, product in manifest["products"].items():
        if "template_yaml" in product:
            continue
        data = canonical_yaml(json.loads((dist / product["template"]).read_bytes()))
        (dist / "templates" / f"{key}.yaml").write_bytes(data)
        product["template_yaml"] = f"templates/{key}.yaml"
        product["template_yaml_sha256"] = hashlib.sha256(data).hexdigest()
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dist


def bucket_state(s3, bucket: str) -> dict:
    """Everything the S3 publisher manages in a bucket, comparable across runs: every object's versions
    (content digests, delete markers), each current template's tags, CORS, policy and versioning."""
    versions = s3.list_object_versions(Bucket=bucket)
    objects: dict[str, list] = {}
    for item in versions.get("Versions", []):  # per key, newest first
        body = s3.get_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])["Body"].read()
        objects.setdefault(item["Key"], []).append(hashlib.sha256(body).hexdigest()[:12])
    for marker in versions.get("DeleteMarkers", []):
        objects.setdefault(marker["Key"], []).append("delete-marker")
    current = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}
    tags = {key: sorted((t["Key"], t["Value"]) for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"])
            for key in sorted(current) if key.endswith(".yaml")}
    try:
        cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
    except s3.exceptions.ClientError:
        cors = None
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = None
    return {"objects": objects, "tags": tags, "cors": cors, "policy": policy,
            "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status")}


def change_template(dist: Path, product: str, change) -> None:
    """Change one built template in place (``change(template_dict)``), as a rebuild would: its JSON and
    YAML files and their sha256 (and the content hash) in the manifest."""
    manifest = json.loads((dist / "manifest.json").read_text())
    entry = manifest["products"][product]
    template = json.loads((dist / entry["template"]).read_bytes())
    change(template)
    data = json.dumps(template, indent=1).encode()
    (dist / entry["template"]).write_bytes(data)
    yaml_data = canonical_yaml(template)
    (dist / entry["template_yaml"]).write_bytes(yaml_data)
    entry["template_sha256"] = hashlib.sha256(data).hexdigest()
    entry["template_yaml_sha256"] = hashlib.sha256(yaml_data).hexdigest()
    entry["content_hash"] = hashlib.sha256(data + entry["content_hash"].encode()).hexdigest()
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2))
