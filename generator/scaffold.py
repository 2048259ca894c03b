"""`smcat new product|portfolio`: scaffolds that build, lint clean and publish with no edits.

`new product NAME [--seed SEED] [--portfolio ID]` writes `products/<module>.py` (project
parameters, a KMS key, an encrypted bucket and, with a seed, a repository seeded from
`seedcode/<SEED>/`), the seed folder (README, example code, its test and pytest settings), and
adds NAME to `portfolios/<ID>.yaml`. `new portfolio ID` writes `portfolios/<ID>.yaml` with every
key a portfolio needs. Every check runs before anything is written: a refused command leaves the
catalog exactly as it was.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from generator.catalog import Catalog
from generator.errors import InputError, Problem
from generator.product import PRODUCT_NAME

# The names a scaffold derives, and the limits they must fit:
# - the product name: Service Catalog's product name, `products/<name with _>.py`, the docs page;
#   the catalog's own rule (lowercase words joined by '-', at most 100).
# - the seed name: the folder `seedcode/<seed>/`, the template parameter `SeedCode<Seed>Key` and the
#   repository `sagemaker-<project name>-<project id>-<seed>`, at most 100 characters (CodeCommit)
#   at the longest project name (32) and id (20): 100 - len("sagemaker-" + 32 + "-" + 20 + "-") = 36.
# - the portfolio id: the file name and the publisher's `smcat:portfolio=<id>` tag (the manifest's
#   rule: a letter or digit, then up to 99 letters, digits, '.', '_' or '-').
PRODUCT_MAX = 100
SEED_MAX = 100 - len("sagemaker-") - 32 - 1 - 20 - 1
PORTFOLIO_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
PORTFOLIO_ID_MAX = 100
# The launch role the project-roles product creates (generator.blocks.project.LAUNCH_ROLE; not
# imported here: registering the command must not import troposphere).
LAUNCH_ROLE = "SageMakerProjectsLaunchRole"


def _render(template: str, **values) -> str:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates" / "scaffold"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["yaml_string"] = json.dumps  # a JSON string is a YAML double-quoted scalar
    return env.get_template(template).render(**values)

# Seed folder: file written -> template it is rendered from.
SEED_FILES = {
    ".gitignore": "seed/gitignore.j2",
    "README.md": "seed/README.md.j2",
    "example.py": "seed/example.py.j2",
    "pytest.ini": "seed/pytest.ini.j2",
    "requirements-dev.txt": "seed/requirements-dev.txt.j2",
    "tests/test_example.py": "seed/tests/test_example.py.j2",
}


def register(sub) -> None:
    new = sub.add_parser(
        "new",
        help="scaffold a product or a portfolio that builds, lints and publishes as written",
        description="Write a new product module (and seed folder) or a new portfolio file into the catalog. "
        "Nothing is written when any check fails (exit 2).",
    )
    kinds = new.add_subparsers(dest="kind", metavar="KIND", required=True)
    product = kinds.add_parser(
        "product",
        help="products/<module>.py, with --seed a seed folder, with --portfolio listed in a portfolio",
        description="Write products/<NAME with _>.py: a SageMaker project template with the project "
        "parameters, a KMS key and an encrypted bucket; with --seed also a repository seeded from a new "
        "seedcode/SEED/ folder (README, example code and its test); with --portfolio add NAME to "
        "portfolios/ID.yaml.",
    )
    product.add_argument("name", metavar="NAME", help="product name: lowercase words joined by '-' (model-build)")
    product.add_argument("--seed", metavar="SEED", default=None, help="new seed folder seedcode/SEED/ to seed from")
    product.add_argument("--portfolio", metavar="ID", default=None, help="existing portfolio to add the product to")
    product.set_defaults(func=cmd_new_product)
    portfolio = kinds.add_parser(
        "portfolio",
        help="portfolios/<ID>.yaml for SageMaker project templates",
        description="Write portfolios/ID.yaml: a Studio portfolio with no products yet, launched with "
        f"project-roles' {LAUNCH_ROLE}, for Studio execution roles.",
    )
    portfolio.add_argument("id", metavar="ID", help="portfolio id (the file name): letters, digits, '.', '_', '-'")
    portfolio.set_defaults(func=cmd_new_portfolio)
    for command in (product, portfolio):
        command.add_argument("--root", type=Path, default=argparse.SUPPRESS, help="catalog root (see smcat --help)")


# ------------------------------------------------------------------------------------------ checks


def product_name_problems(name: str) -> list[Problem]:
    if PRODUCT_NAME.match(name) and len(name) <= PRODUCT_MAX:
        return []
    return [
        Problem(
            "NAME",
            "",
            f"{name!r} is not a product name: lowercase letters and digits, words joined by '-', "
            f"starting with a letter, at most {PRODUCT_MAX} characters (like model-build)",
        )
    ]


def seed_name_problems(seed: str) -> list[Problem]:
    if PRODUCT_NAME.match(seed) and len(seed) <= SEED_MAX:
        return []
    return [
        Problem(
            "--seed",
            "",
            f"{seed!r} is not a seed name: lowercase letters and digits, words joined by '-', starting with "
            f"a letter, at most {SEED_MAX} characters (the repository sagemaker-<project name>-<project id>-<seed> "
            "has at most 100)",
        )
    ]


def portfolio_id_problems(portfolio_id: str, flag: str = "ID") -> list[Problem]:
    if (
        0 < len(portfolio_id) <= PORTFOLIO_ID_MAX
        and portfolio_id[0].isascii()
        and portfolio_id[0].isalnum()
        and set(portfolio_id) <= PORTFOLIO_ID_CHARS
    ):
        return []
    return [
        Problem(
            flag,
            "",
            f"{portfolio_id!r} is not a portfolio id: a letter or digit, then letters, digits, '.', '_' or '-', "
            f"at most {PORTFOLIO_ID_MAX} characters (the file name and the publisher's smcat:portfolio tag)",
        )
    ]


def _exists(catalog: Catalog, path: Path) -> list[Problem]:
    if path.exists() or path.is_symlink():
        suffix = "/" if path.is_dir() else ""
        return [Problem(catalog.rel(path) + suffix, "", "already exists; nothing was written")]
    return []


def _portfolio_file(catalog: Catalog, portfolio_id: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        path = catalog.portfolios_dir / f"{portfolio_id}{suffix}"
        if path.is_file():
            return path
    return None


def _known_products(catalog: Catalog) -> dict[str, str]:
    """Product name -> module, for the modules that load (a broken one is the build's to report)."""
    try:
        return {name: product.source for name, product in catalog.products().items()}
    except InputError:
        return {}


# ------------------------------------------------------------------------------------------ portfolio edit


def add_to_portfolio(text: str, where: str, name: str) -> str:
    """`text` with `name` appended to its `products` list, comments and layout kept; raises InputError."""

    def refuse(message: str, line: int | None = None) -> InputError:
        return InputError([Problem(where, "products", message, line)])

    import yaml

    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        reason = getattr(exc, "problem", None) or exc
        raise InputError([Problem(where, "", f"is not valid YAML; fix it first ({reason})")]) from None
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        raise InputError([Problem(where, "", "must be a mapping of portfolio settings; fix it first")])
    key, node = next(((k, v) for k, v in root.value if k.value == "products"), (None, None))
    line = key.start_mark.line + 1 if key else None
    if node is None or not isinstance(data.get("products"), list):
        raise refuse("must be a list of product names; fix it first", line)
    if name in data["products"]:
        raise refuse(f"already lists {name!r}", line)
    # An alias (*name) resolves to a node written elsewhere; a tag or anchor changes what text means.
    aliased = node.start_mark.index < key.end_mark.index
    if not isinstance(node, yaml.SequenceNode) or aliased or text[node.start_mark.index] in "&!":
        raise refuse("is not a plain list; add the product by hand", line)
    if node.flow_style:
        close = node.end_mark.index - 1
        if text[close] != "]":
            raise refuse("is not a plain [...] list; add the product by hand", line)
        separator = ", " if node.value else ""
        edited = text[:close] + separator + name + text[close:]
    else:
        indent = " " * node.start_mark.column
        end = text.find("\n", node.value[-1].end_mark.index)
        if end == -1:
            edited = text + "\n" + f"{indent}- {name}\n"
        else:
            edited = text[: end + 1] + f"{indent}- {name}\n" + text[end + 1 :]
    try:
        after = yaml.safe_load(edited)
    except yaml.YAMLError:
        after = None
    if not isinstance(after, dict) or after.get("products") != [*data["products"], name] or (
        {k: v for k, v in after.items() if k != "products"} != {k: v for k, v in data.items() if k != "products"}
    ):
        raise refuse("cannot be extended automatically; add the product by hand", line)
    return edited


# ------------------------------------------------------------------------------------------ writing


def _write_all(catalog: Catalog, new_files: dict[Path, str], replaced: dict[Path, str]) -> None:
    """Writes new files, then replaces existing ones (each atomically); on failure removes what it
    wrote, so the catalog is left as it was, and raises InputError."""
    created: list[Path] = []
    try:
        for path, text in new_files.items():
            missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
            path.parent.mkdir(parents=True, exist_ok=True)
            created += reversed(missing)
            with open(path, "x", encoding="utf-8", newline="\n") as handle:
                created.append(path)
                handle.write(text)
        for path, text in replaced.items():
            fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                    handle.write(text)
                shutil.copymode(path, temp)
                os.replace(temp, path)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
    except OSError as exc:
        for path in reversed(created):
            if path.is_dir():
                path.rmdir()
            else:
                path.unlink(missing_ok=True)
        target = exc.filename or (catalog.root / "?")
        raise InputError(
            [Problem(catalog.rel(Path(target)), "", f"cannot be written: {exc.strerror or exc}; nothing was written")]
        ) from None


# ------------------------------------------------------------------------------------------ commands


def cmd_new_product(args) -> int:
    from generator.blocks.repository import seed_key_parameter_name

    catalog = Catalog(args.root)
    catalog.check_layout()
    name, seed, portfolio_id = args.name, args.seed, args.portfolio
    problems = product_name_problems(name)
    if seed is not None:
        problems += seed_name_problems(seed)
    if portfolio_id is not None:
        problems += portfolio_id_problems(portfolio_id, "--portfolio")
    if problems:
        raise InputError(problems)

    module = catalog.products_dir / f"{name.replace('-', '_')}.py"
    problems += _exists(catalog, module)
    declared = _known_products(catalog).get(name)
    if declared and declared != catalog.rel(module):
        problems.append(Problem(declared, "PRODUCT.name", f"{name!r} is already declared there; nothing was written"))
    new_files = {
        module: _render("product.py.j2", name=name, seed=seed),
    }
    if seed is not None:
        folder = catalog.seedcode_dir / seed
        problems += _exists(catalog, folder)
        parameter = seed_key_parameter_name(seed)
        for other in catalog.seed_folders():
            if other != seed and seed_key_parameter_name(other) == parameter:
                problems.append(
                    Problem(
                        "--seed",
                        "",
                        f"{seed!r} gives the template parameter {parameter}, which seedcode/{other}/ already gives; "
                        "choose another seed name",
                    )
                )
        for rel, source in SEED_FILES.items():
            new_files[folder / rel] = _render(source, seed=seed, product=name)
    replaced: dict[Path, str] = {}
    if portfolio_id is not None:
        path = _portfolio_file(catalog, portfolio_id)
        if path is None:
            known = [p.stem for p in catalog.portfolio_files()]
            close = difflib.get_close_matches(portfolio_id, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(known) or 'none'}"
            problems.append(
                Problem(
                    "--portfolio",
                    "",
                    f"no portfolio file portfolios/{portfolio_id}.yaml{hint} "
                    f"(create one with `smcat new portfolio {portfolio_id}`)",
                )
            )
        else:
            try:
                replaced[path] = add_to_portfolio(path.read_text(encoding="utf-8"), catalog.rel(path), name)
            except InputError as exc:
                problems += exc.problems
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(Problem(catalog.rel(path), "", f"cannot be read: {exc}"))
    if problems:
        raise InputError(problems)

    _write_all(catalog, new_files, replaced)
    for path in new_files:
        print(f"wrote {catalog.rel(path)}")
    for path in replaced:
        print(f"added {name} to {catalog.rel(path)}")
    sys.stdout.flush()
    return 0


def cmd_new_portfolio(args) -> int:
    import yaml

    catalog = Catalog(args.root)
    catalog.check_layout()
    portfolio_id = args.id
    problems = portfolio_id_problems(portfolio_id)
    if problems:
        raise InputError(problems)
    path = catalog.portfolios_dir / f"{portfolio_id}.yaml"
    for suffix in (".yaml", ".yml"):
        problems += _exists(catalog, catalog.portfolios_dir / f"{portfolio_id}{suffix}")
    display_name = portfolio_id
    for other in catalog.portfolio_files():
        try:
            data = yaml.safe_load(other.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # the build reports it
        if isinstance(data, dict) and data.get("display_name") == display_name:
            problems.append(
                Problem(
                    catalog.rel(other),
                    "display_name",
                    f"{display_name!r} is the display name the new portfolio would take; "
                    "choose another id or rename that one",
                )
            )
    if problems:
        raise InputError(problems)
    text = _render("portfolio.yaml.j2", id=portfolio_id, display_name=display_name, launch_role=LAUNCH_ROLE)
    _write_all(catalog, {path: text}, {})
    print(f"wrote {catalog.rel(path)}")
    sys.stdout.flush()
    return 0
