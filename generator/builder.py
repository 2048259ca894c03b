"""Turns the catalog's sources into dist/: templates, seed-code zips, docs and a manifest.

Deciding is separate from doing: `render` computes every output file in memory (nothing touches
the disk); `generator.output.write_dist` then replaces dist/, or leaves it alone when nothing changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
from dataclasses import dataclass, field
from typing import Any

from generator.blocks.repository import SEED_BUCKET, seed_key_parameter_name
from generator.catalog import Catalog, describe_failure
from generator.errors import InputError, Problem
from generator.lint import LINT_NOT_RUN
from generator.output import canonical_json, canonical_yaml
from generator.portfolio import Portfolio, load_portfolios, portfolio_warnings, unlisted_products
from generator.product import Product
from generator.seedcode import select, zip_bytes

MANIFEST_VERSION = 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class BuiltProduct:
    product: Product
    template: dict[str, Any]
    template_bytes: bytes
    seeds: dict[str, str]  # seed name -> zip sha256
    # The same template as YAML (S3 templates are YAML); content_hash stays over the JSON, so the same
    # content has the same hash on both publish targets.
    template_yaml_bytes: bytes

    @property
    def template_sha256(self) -> str:
        return sha256(self.template_bytes)

    @property
    def content_hash(self) -> str:
        """One hash over everything a launch uses: the template and each seed zip."""
        lines = [f"template {self.template_sha256}"] + [f"seed {n} {s}" for n, s in sorted(self.seeds.items())]
        return sha256("\n".join(lines).encode())

    @property
    def seed_key_parameters(self) -> dict[str, str]:
        return {seed: seed_key_parameter_name(seed) for seed in sorted(self.seeds)}

    @property
    def resource_count(self) -> int:
        return len(self.template.get("Resources", {}))


@dataclass
class Build:
    """Everything one build produces, before anything is written."""

    products: dict[str, BuiltProduct]
    portfolios: list[Portfolio]
    files: dict[str, bytes] = field(default_factory=dict)
    ignored: dict[str, list[str]] = field(default_factory=dict)  # seed -> paths its .gitignore left out

    def summary(self) -> dict[str, Any]:
        """What the build reports, kept in the build stamp so a no-op rebuild can repeat it."""
        return {
            "products": [
                {
                    "name": name,
                    "version": b.product.version,
                    "content_hash": b.content_hash,
                    "resources": b.resource_count,
                    "template": f"templates/{name}.json",
                    "template_sha256": b.template_sha256,
                    "source": b.product.source,
                }
                for name, b in self.products.items()
            ],
            "portfolios": len(self.portfolios),
            "warnings": [str(w) for w in unlisted_products(
                {name: b.product for name, b in self.products.items()}, self.portfolios)]
            + [str(w) for w in portfolio_warnings(self.portfolios)],
            "ignored": {seed: paths for seed, paths in sorted(self.ignored.items()) if paths},
        }

    def manifest(self) -> dict[str, Any]:
        products = {}
        for name, built in self.products.items():
            p = built.product
            entry = {
                "name": name,
                "description": p.description,
                "owner": p.owner,
                "distributor": p.distributor,
                "support_email": p.support_email,
                "support_url": p.support_url,
                "support_description": p.support_description,
                "version": p.version,
                "studio_project": p.studio_project,
                "template": f"templates/{name}.json",
                "template_sha256": built.template_sha256,
                "template_yaml": f"templates/{name}.yaml",
                "template_yaml_sha256": sha256(built.template_yaml_bytes),
                "seedcode": {
                    seed: {
                        "path": f"seedcode/{seed}.zip",
                        "sha256": sha,
                        "key_parameter": seed_key_parameter_name(seed),
                    }
                    for seed, sha in sorted(built.seeds.items())
                },
                "content_hash": built.content_hash,
                "resources": built.resource_count,
            }
            if built.seeds:
                entry["seedcode_bucket_parameter"] = SEED_BUCKET
            products[name] = entry
        portfolios = {p.id: {"file": p.file, **p.config} for p in self.portfolios}
        return {
            "manifest_version": MANIFEST_VERSION,
            "products": products,
            "portfolios": portfolios,
            "lint": dict(LINT_NOT_RUN),  # the build records its lint result (`with_lint`)
        }


def _silent(message: str) -> None:
    pass


def render(catalog: Catalog, progress=None) -> Build:
    """Builds every output in memory; raises InputError listing every problem in the sources."""
    progress = progress or (lambda message: None)
    problems: list[Problem] = catalog.seed_problems() + catalog.portfolio_problems()
    # Every problem in one run: the sound products are rendered (a failing template() is reported) even
    # when other modules or portfolio files are broken; a broken module's name still counts as known.
    products, names, found = catalog.load_products()
    problems += found
    try:
        portfolios = load_portfolios(catalog.portfolio_files(), names, catalog.rel)
    except InputError as exc:
        problems += exc.problems
        portfolios = []
    if problems:  # rendering now only finds failing template() calls: print nothing but the problems
        progress = _silent

    files: dict[str, bytes] = {}
    seeds: dict[str, str] = {}
    ignored: dict[str, list[str]] = {}
    for seed in catalog.seed_folders():
        progress(f"packaging seedcode/{seed}")
        folder = catalog.seedcode_dir / seed
        selection = select(folder, catalog.root)
        data = zip_bytes(folder, selection=selection)
        files[f"seedcode/{seed}.zip"] = data
        seeds[seed] = sha256(data)
        ignored[seed] = selection.ignored

    built: dict[str, BuiltProduct] = {}
    for name, product in products.items():
        progress(f"rendering {name}")
        try:
            # troposphere prints validator failures to stderr before raising; the raise says it all.
            with contextlib.redirect_stderr(io.StringIO()):
                template = product.template().to_dict()
        except Exception as exc:  # a product that cannot render is a problem in its module
            reason, line = describe_failure(exc, catalog.root / product.source)
            problems.append(Problem(product.source, "template()", f"failed: {reason}", line))
            continue
        data = canonical_json(template)
        files[f"templates/{name}.json"] = data
        # The YAML is rendered from the JSON as written, so both hold exactly the same data.
        files[f"templates/{name}.yaml"] = yaml_data = canonical_yaml(json.loads(data))
        built[name] = BuiltProduct(product, template, data, {s: seeds[s] for s in product.seedcode}, yaml_data)
    if problems:
        raise InputError(problems)

    from generator.taskcat import taskcat_config

    files[".taskcat.yml"], problems = taskcat_config(built)
    if problems:
        raise InputError(problems)
    build = Build(built, portfolios, files, ignored)
    from generator.docs import doc_files  # jinja2 only when there is something to render

    files.update(doc_files(built, portfolios))  # a page per product and docs/index.md
    files["manifest.json"] = canonical_json(build.manifest())
    return build
