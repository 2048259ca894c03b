"""Build a ``dist/`` the way the build does (manifest.json, templates, seed-code zips), for tests
and benchmarks that must not depend on the real build.

``build_dist(root, spec)`` writes it; ``default_spec()`` is a small catalog shaped like the bundled one
(three products, two portfolios, several share targets); ``synthetic_spec(n)`` a large one.
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import zipfile
from pathlib import Path

OU = "ou-ab12-abcdefgh"
ORG = "o-abcdefghij"
MEMBER = "210987654321"


def zip_bytes(files: dict[str, str]) -> bytes:
    """A deterministic zip (fixed timestamps and order)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            archive.writestr(info, files[name])
    return buffer.getvalue()


def _template(product: str, seeds: list[str]) -> dict:
    parameters = {
        "SageMakerProjectName": {"Type": "String"},
        "SageMakerProjectId": {"Type": "String"},
    }
    resources = {
        "ModelPackageGroup": {
            "Type": "AWS::SageMaker::ModelPackageGroup",
            "Properties": {"ModelPackageGroupName": {"Fn::Sub": "${SageMakerProjectName}-${SageMakerProjectId}"}},
        }
    }
    if seeds:
        parameters["SeedCodeBucket"] = {"Type": "String"}
    for seed in seeds:
        param = f"SeedCode{seed.capitalize()}Key"
        parameters[param] = {"Type": "String"}
        resources[f"{seed.capitalize()}Repo"] = {
            "Type": "AWS::CodeCommit::Repository",
            "Properties": {
                "RepositoryName": {"Fn::Sub": f"sagemaker-${{SageMakerProjectName}}-{seed}"},
                "Code": {"BranchName": "main", "S3": {"Bucket": {"Ref": "SeedCodeBucket"}, "Key": {"Ref": param}}},
            },
        }
    return {"AWSTemplateFormatVersion": "2010-09-09", "Description": f"{product} project",
            "Parameters": parameters, "Resources": resources}


DEFAULT_SPEC = {
    "products": {
        "model-build": {"version": "1.0.0", "seeds": {"modelbuild": {"pipeline.py": "print('build v1')\n"}}},
        "model-deploy": {"version": "1.0.0", "seeds": {"modeldeploy": {"deploy.py": "print('deploy v1')\n"}}},
        "batch-inference": {"version": "1.0.0", "seeds": {}},
    },
    "portfolios": {
        "sagemaker-projects": {
            "display_name": "SageMaker MLOps project templates",
            "description": "MLOps templates for SageMaker Studio",
            "provider": "Platform team",
            "products": ["model-build", "model-deploy", "batch-inference"],
            "studio_visibility": True,
            "launch_constraint": {"LocalRoleName": "AmazonSageMakerServiceCatalogProductsLaunchRole"},
            "principals": [
                {"arn": "arn:aws:iam:::role/service-role/AmazonSageMaker*", "type": "IAM_PATTERN"},
                {"arn": "arn:aws:iam::123456789012:role/DataScientist", "type": "IAM"},
            ],
            "shares": [
                {"type": "ORGANIZATIONAL_UNIT", "value": OU, "share_principals": True, "share_tag_options": True},
                {"type": "ACCOUNT", "value": MEMBER, "share_principals": False, "share_tag_options": False},
                {"type": "ORGANIZATION", "value": ORG, "share_principals": True, "share_tag_options": True},
            ],
            "tags": {"team": "platform"},
            "tag_options": {"cost-center": ["ml-1", "ml-2"]},
        },
        "data-science": {
            "display_name": "Data science sandbox",
            "description": "Batch inference only",
            "provider": "Platform team",
            "products": ["batch-inference"],
            "studio_visibility": False,
            "launch_constraint": {"RoleArn": "arn:aws:iam::123456789012:role/SCLaunchRole"},
            "principals": [{"arn": "arn:aws:iam:::role/service-role/AmazonSageMaker*", "type": "IAM_PATTERN"}],
            "shares": [{"type": "ORGANIZATIONAL_UNIT", "value": "ou-ab12-zzzzzzzz", "share_principals": True,
                        "share_tag_options": False}],
            "tags": {},
            "tag_options": {},
        },
    },
}


def default_spec() -> dict:
    return copy.deepcopy(DEFAULT_SPEC)


CLEAN_LINT = {"status": "clean", "errors": 0, "warnings": 0}
NO_LINT = object()  # build_dist(..., lint=NO_LINT): a manifest without the "lint" record (an older build)


def build_dist(root: Path, spec: dict | None = None, *, lint=CLEAN_LINT) -> Path:
    """Write dist/ as the build does: manifest.json, templates/<product>.json, seedcode/<seed>.zip.

    ``lint`` is the build's lint record (top-level "lint" of the manifest); clean by default."""
    spec = default_spec() if spec is None else spec
    dist = root / "dist"
    (dist / "templates").mkdir(parents=True, exist_ok=True)
    (dist / "seedcode").mkdir(parents=True, exist_ok=True)
    products = {}
    for key, p in spec["products"].items():
        template = json.dumps(_template(key, list(p["seeds"])), indent=1).encode()
        (dist / "templates" / f"{key}.json").write_bytes(template)
        seedcode = {}
        digest = hashlib.sha256(template)
        for seed, files in sorted(p["seeds"].items()):
            data = zip_bytes(files)
            (dist / "seedcode" / f"{seed}.zip").write_bytes(data)
            digest.update(data)
            seedcode[seed] = {"path": f"seedcode/{seed}.zip", "sha256": hashlib.sha256(data).hexdigest(),
                              "key_parameter": f"SeedCode{seed.capitalize()}Key"}
        entry = {
            "name": p.get("name", key),
            "description": f"{key} SageMaker project",
            "owner": "Platform team",
            "distributor": "Platform team",
            "support_email": "ml-platform@example.com",
            "support_url": "https://wiki.example.com/ml",
            "support_description": "Ask in #ml-platform",
            "version": p["version"],
            "template": f"templates/{key}.json",
            "template_sha256": hashlib.sha256(template).hexdigest(),
            "seedcode": seedcode,
            "content_hash": digest.hexdigest(),
            "resources": 1 + len(seedcode),
        }
        if seedcode:
            entry["seedcode_bucket_parameter"] = "SeedCodeBucket"
        products[key] = entry
    portfolios = {}
    for key, p in spec["portfolios"].items():
        portfolios[key] = {"file": f"portfolios/{key}.yaml", **p}
    manifest = {"manifest_version": 1, "products": products, "portfolios": portfolios}
    if lint is not NO_LINT:
        manifest["lint"] = copy.deepcopy(lint)
    (dist / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return dist


def synthetic_spec(products: int = 100, portfolios: int = 2, seeds: int = 10, shares_per_portfolio: int = 5) -> dict:
    """A large catalog: every product in every portfolio, seeds shared by several products."""
    spec: dict = {"products": {}, "portfolios": {}}
    for i in range(products):
        seed = f"seed{i % seeds:02d}" if seeds else None
        spec["products"][f"product-{i:03d}"] = {
            "version": "1.0.0",
            "seeds": {seed: {"main.py": f"print('{seed}')\n"}} if seed else {},
        }
    for j in range(portfolios):
        shares = [{"type": "ORGANIZATIONAL_UNIT", "value": f"ou-ab12-{j:02d}{k:06d}", "share_principals": True,
                   "share_tag_options": True} for k in range(shares_per_portfolio - 1)]
        shares.append({"type": "ACCOUNT", "value": f"{j:012d}", "share_principals": False,
                       "share_tag_options": False})
        spec["portfolios"][f"portfolio-{j}"] = {
            "display_name": f"Synthetic portfolio {j}",
            "description": "benchmark",
            "provider": "Platform team",
            "products": list(spec["products"]),
            "studio_visibility": j == 0,
            "launch_constraint": {"LocalRoleName": "AmazonSageMakerServiceCatalogProductsLaunchRole"},
            "principals": [{"arn": "arn:aws:iam:::role/service-role/AmazonSageMaker*", "type": "IAM_PATTERN"}],
            "shares": shares,
            "tags": {"team": "platform"},
            "tag_options": {"cost-center": ["ml-1", "ml-2"]},
        }
    return spec
