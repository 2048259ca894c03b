"""Finds the catalog's sources: product modules, seed-code folders and portfolio files.

Adding a product is adding one module to `products/` that defines `PRODUCT`.
"""

from __future__ import annotations

import importlib.util
import sys
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from generator.errors import InputError, Problem
from generator.product import PRODUCT_NAME as SEED_NAME
from generator.product import Product


@dataclass(frozen=True)
class Catalog:
    """The sources of one catalog, rooted at a directory laid out like this repository."""

    root: Path

    @property
    def products_dir(self) -> Path:
        return self.root / "products"

    @property
    def seedcode_dir(self) -> Path:
        return self.root / "seedcode"

    @property
    def portfolios_dir(self) -> Path:
        return self.root / "portfolios"

    def rel(self, path: Path) -> str:
        """A path as shown to users: relative to the catalog root when inside it."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def check_layout(self) -> None:
        """A catalog root has products/ and portfolios/; anything else is a mistyped --root."""
        missing = [name for name in ("products", "portfolios") if not (self.root / name).is_dir()]
        if missing:
            raise InputError(
                [
                    Problem(
                        str(self.root),
                        "",
                        f"is not a catalog root: no {' or '.join(m + '/' for m in missing)} "
                        "(run from the catalog's directory or pass --root)",
                    )
                ]
            )

    def product_files(self) -> list[Path]:
        return sorted(p for p in self.products_dir.glob("*.py") if not p.name.startswith("_"))

    def portfolio_files(self) -> list[Path]:
        return sorted(self.portfolios_dir.glob("*.yaml")) + sorted(self.portfolios_dir.glob("*.yml"))

    def seed_folders(self) -> list[str]:
        if not self.seedcode_dir.is_dir():
            return []
        return sorted(p.name for p in self.seedcode_dir.iterdir() if p.is_dir() and not p.name.startswith("."))

    def seed_problems(self) -> list[Problem]:
        """Seed folder names become template parameter names: lowercase words joined by '-' only,
        so that two folders can never map to the same `SeedCode<Name>Key`."""
        return [
            Problem(f"seedcode/{name}/", "", "folder names must be lowercase letters and digits, words joined by '-'")
            for name in self.seed_folders()
            if not SEED_NAME.match(name)
        ]

    def portfolio_problems(self) -> list[Problem]:
        """Two files with one stem (x.yml and x.yaml) would be one portfolio id."""
        stems: dict[str, Path] = {}
        problems = []
        for path in self.portfolio_files():
            if path.stem in stems:
                problems.append(
                    Problem(self.rel(path), "", f"has the same portfolio id as {self.rel(stems[path.stem])}")
                )
            stems.setdefault(path.stem, path)
        return problems

    def products(self) -> dict[str, Product]:
        """Imports every product module and returns the products by name, or raises InputError."""
        products, _, problems = self.load_products()
        if problems:
            raise InputError(problems)
        return products

    def load_products(self) -> tuple[dict[str, Product], set[str], list[Problem]]:
        """Imports every product module: the sound products by name, the names every module declares
        (a broken module's too, so that a portfolio naming it is not told the product is unknown), and
        every problem found."""
        problems: list[Problem] = []
        found: dict[str, Product] = {}
        names: set[str] = set()
        declared: dict[str, str] = {}  # name -> the first module declaring it
        seeds = set(self.seed_folders())
        for path in self.product_files():
            where = self.rel(path)
            # A module that cannot say its name is named like its file, as `smcat new product` writes it.
            guess = path.stem.replace("_", "-")
            try:
                module = _import(path)
            except (Exception, SystemExit) as exc:  # a broken module is the user's input: no traceback
                reason, line = describe_failure(exc, path)
                problems.append(Problem(where, "", f"cannot be imported: {reason}", line))
                names.add(guess)
                continue
            product = getattr(module, "PRODUCT", None)
            if not isinstance(product, Product):
                problems.append(Problem(where, "PRODUCT", "must be a generator.product.Product"))
                names.add(guess)
                continue
            product = replace(product, source=where)
            reasons = product.problems()
            problems += [Problem(where, "PRODUCT", reason) for reason in reasons]
            name = product.name if isinstance(product.name, str) else guess
            names.add(name)
            if isinstance(product.name, str):
                if name in declared:  # the first module's line is on this one: both files are named
                    problems.append(Problem(where, "PRODUCT.name", f"{name!r} is also declared in {declared[name]}"))
                    reasons.append("declared twice")
                declared.setdefault(name, where)
            if product.type_problems():
                continue
            for seed in product.seedcode:
                if seed not in seeds:
                    problems.append(Problem(where, "PRODUCT.seedcode", f"no folder seedcode/{seed}/"))
                    reasons.append("seed")
            if not reasons:
                found[name] = product
        return dict(sorted(found.items())), names, problems


def _import(path: Path):
    name = f"smcat_products.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def describe_failure(exc: BaseException, path: Path) -> tuple[str, int | None]:
    """An exception raised by a product module as one line, and the module's line it came from."""
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename) == path:  # no frame of its own
        return f"{type(exc).__name__}: {exc.msg}", exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}", (frames[-1].lineno if frames else None)
