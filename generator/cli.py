"""The command line: `smcat` (or `python build.py`) with build, lint, list and schema commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from generator.catalog import Catalog
from generator.errors import InputError, Problem

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# Commands that read the catalog's sources, so need a catalog root.
CATALOG_COMMANDS = {"build", "list"}


def _add_build(sub) -> None:
    p = sub.add_parser(
        "build",
        help="render templates, zip seed code, write dist/ and lint it (the default)",
        description="Render every product template into DIST/templates, package each seed "
        "folder into DIST/seedcode, write DIST/manifest.json and DIST/docs, then lint the "
        "templates. Exits 1 on any cfn-lint error or warning, 2 on bad input.",
    )
    p.add_argument("--out", type=Path, default=None, help="output directory (default: ROOT/dist)")
    p.add_argument("--no-lint", action="store_true", help="skip cfn-lint")
    p.add_argument("--no-cache", action="store_true", help="lint every template again, ignoring cached results")
    p.add_argument("--jobs", type=int, default=None, help="lint processes (default: up to the number of cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_build)


def _add_lint(sub) -> None:
    p = sub.add_parser(
        "lint",
        help="lint built templates, or any templates you pass, with the project's rules",
        description="Run cfn-lint with the project's custom rules over PATHS (default: the "
        "templates in DIST/templates). Exits 1 on any error or warning.",
    )
    p.add_argument("paths", nargs="*", help="template files (default: the built templates)")
    p.add_argument("--format", choices=["text", "json", "sarif", "junit"], default="text")
    p.add_argument("--out", type=Path, default=None, help="dist directory whose templates to lint")
    p.add_argument(
        "--security",
        action="store_true",
        help="also run checkov (from SMCAT_CHECKOV, PATH or ROOT/.venv-checkov); any failed check fails",
    )
    p.set_defaults(func=cmd_lint)


def _add_list(sub) -> None:
    p = sub.add_parser(
        "list",
        help="list products and portfolios",
        description="List the catalog's products "
        "(name, version, seed code) and portfolios (file, products, share targets).",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(func=cmd_list)


def _add_schema(sub) -> None:
    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of portfolio files",
        description="Print (or write) the JSON Schema editors use to complete and check portfolios/*.yaml.",
    )
    p.add_argument("--write", type=Path, default=None, help="write it to this file instead of printing it")
    p.set_defaults(func=cmd_schema)


def parser(default_root: Path | None = None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="smcat",
        description="Build, lint and publish SageMaker project templates as Service Catalog products.",
    )
    p.add_argument(
        "--root",
        type=Path,
        default=default_root or Path.cwd(),
        help="catalog root holding products/, seedcode/ and portfolios/ (default: %(default)s)",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for add in (_add_build, _add_lint, _add_list, _add_schema):
        add(sub)
    try:
        from generator.publish.commands import register
    except ImportError:
        pass
    else:
        register(sub)
    for command in sub.choices.values():  # `--root` also after the command word
        command.add_argument("--root", type=Path, default=argparse.SUPPRESS, help="catalog root (see smcat --help)")
    return p


def main(argv: list[str] | None = None, default_root: Path | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = parser(default_root)
    commands = p._subparsers._group_actions[0].choices
    if not any(a in commands for a in argv) and not {"-h", "--help"} & set(argv):
        argv.insert(_first_command_position(argv), "build")  # plain `python build.py [options]` builds
    args = p.parse_args(argv)
    args.root = args.root.resolve()
    try:
        if args.command in CATALOG_COMMANDS:
            Catalog(args.root).check_layout()
        return args.func(args)
    except InputError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _first_command_position(argv: list[str]) -> int:
    """Where a command word goes: after the global `--root DIR`, if given first."""
    if argv[:1] == ["--root"]:
        return 2
    if argv and argv[0].startswith("--root="):
        return 1
    return 0


def _out(args) -> Path:
    return (args.out or args.root / "dist").resolve()


def cmd_build(args) -> int:
    from generator.output import check_output
    from generator.progress import Progress
    from generator.stamp import BuildStamp, loaded_modules

    catalog = Catalog(args.root)
    progress = Progress(quiet=args.quiet)
    out = _out(args)
    check_output(out, args.root)
    cache_dir = args.root / ".cache" / "smcat"
    stamp = BuildStamp(args.root, out)
    summary = stamp.reusable()
    changed = summary is None
    if changed:  # something changed (or the output did): render, then write only if the bytes differ
        from generator.builder import render
        from generator.output import write_dist

        before = loaded_modules()
        build = render(catalog, progress)
        progress(f"writing {catalog.rel(out)}")
        changed = write_dist(out, build.files)
        summary = build.summary()
        stamp.save(summary, build.files, before)
    results = {}
    if not args.no_lint:
        progress("linting templates")
        results = _lint_built(catalog, out, summary, cache_dir, args)
    progress.done()
    print(_table(summary, results))
    findings = [f for found in results.values() for f in found]
    for finding in findings:
        print(finding)
    state = "written" if changed else "unchanged"
    print(f"{catalog.rel(out)}: {len(summary['products'])} products, {summary['portfolios']} portfolios, {state}")
    return EXIT_FAILED if findings else EXIT_OK


def _lint_built(catalog: Catalog, out: Path, summary: dict, cache_dir: Path, args) -> dict:
    from generator.lint import LintCache

    cache = LintCache(cache_dir / "lint.json")
    if args.no_cache:
        cache.entries = {}
    templates = {p["name"]: (str(out / p["template"]), p["template_sha256"]) for p in summary["products"]}
    results = cache.lint(templates, jobs=args.jobs)
    return {name: [replace(f, file=catalog.rel(Path(f.file))) for f in found] for name, found in results.items()}


def _table(summary: dict, results: dict) -> str:
    rows = [("PRODUCT", "VERSION", "HASH", "RESOURCES", "LINT")]
    for p in summary["products"]:
        if p["name"] not in results:
            lint = "skipped"
        else:
            found = results[p["name"]]
            errors = sum(f.severity == "error" for f in found)
            lint = "ok" if not found else f"{errors} errors, {len(found) - errors} warnings"
        rows.append((p["name"], p["version"], p["content_hash"][:12], str(p["resources"]), lint))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def cmd_lint(args) -> int:
    from generator.lint import run_matches

    paths = (
        _template_paths(args.paths) if args.paths else sorted(str(p) for p in (_out(args) / "templates").glob("*.json"))
    )
    if not paths:
        print("error: nothing to lint: no templates given and none built (run `build` first)", file=sys.stderr)
        return EXIT_BAD_INPUT
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise InputError([_missing(p) for p in missing])
    matches, runner = run_matches(paths, None if args.format == "text" else args.format)
    output = runner.formatter.print_matches(matches, runner.rules, config=runner.config)
    if output:
        print(output)
    # Workflow commands go to stdout: only with text output, never into SARIF, JSON or JUnit.
    annotate = os.environ.get("GITHUB_ACTIONS") == "true" and args.format == "text"
    if annotate:  # GitHub shows these on the pull request's changed lines
        for m in matches:
            level = "error" if m.rule.severity == "error" else "warning"
            print(_annotation(level, m.filename, m.linenumber, m.columnnumber, m.rule.id, m.message))
    failed = len(matches)
    if args.security:
        from generator.security import CheckovFailed, CheckovMissing, scan

        try:
            findings, skipped = scan(paths, args.root)
        except CheckovMissing as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except CheckovFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_FAILED
        for finding in findings:
            print(finding, file=sys.stderr)
            if annotate:
                print(_annotation("error", finding.file, finding.line, 1, finding.check, finding.title))
        print(f"checkov: {len(findings)} failed checks, {skipped} skipped in resource metadata", file=sys.stderr)
        failed += len(findings)
    if args.format == "text":
        print(f"{len(paths)} templates, {failed} findings", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def _annotation(level: str, file: str, line: int, column: int, title: str, message: str) -> str:
    """A GitHub Actions workflow command; its data must escape %, CR and LF."""
    text = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::{level} file={file},line={line},col={column},title={title}::{text}"


TEMPLATE_SUFFIXES = (".json", ".yaml", ".yml", ".template")


def _template_paths(given: list[str]) -> list[str]:
    """The paths as given, with each directory replaced by the templates under it."""
    paths = []
    for item in given:
        folder = Path(item)
        if folder.is_dir():
            found = sorted(str(p) for p in folder.rglob("*") if p.suffix in TEMPLATE_SUFFIXES and p.is_file())
            if not found:
                raise InputError([Problem(item, "", "holds no templates (*.json, *.yaml, *.yml, *.template)")])
            paths += found
        else:
            paths.append(item)
    return paths


def _missing(path: str):
    return Problem(path, "", "no such file")


def cmd_list(args) -> int:
    from generator.portfolio import load_portfolios

    catalog = Catalog(args.root)
    products = catalog.products()
    portfolios = load_portfolios(catalog.portfolio_files(), set(products), catalog.rel)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "products": {
                        n: {"version": p.version, "seedcode": list(p.seedcode), "description": p.description}
                        for n, p in products.items()
                    },
                    "portfolios": {p.id: {"file": p.file, **p.config} for p in portfolios},
                },
                indent=2,
                sort_keys=True,
            )
        )
        return EXIT_OK
    for name, product in products.items():
        seeds = ", ".join(product.seedcode) or "-"
        print(f"product    {name} {product.version}  seedcode: {seeds}")
    for p in portfolios:
        targets = ", ".join(s["value"] for s in p.config["shares"]) or "not shared"
        print(f"portfolio  {p.id} ({p.file})  products: {', '.join(p.config['products'])}  shares: {targets}")
    return EXIT_OK


def cmd_schema(args) -> int:
    from generator.portfolio import SCHEMA

    text = json.dumps(SCHEMA, indent=2) + "\n"
    if args.write:
        try:
            args.write.write_text(text)
        except OSError as exc:
            raise InputError([Problem(str(args.write), "--write", f"cannot be written: {exc.strerror}")]) from None
    else:
        print(text, end="")
    return EXIT_OK
