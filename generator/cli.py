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
from generator.progress import plural

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
    p.add_argument(
        "--jobs", type=_positive, default=None, help="lint processes, at least 1 (default: up to the number of cores)"
    )
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


def _add_docs(sub) -> None:
    p = sub.add_parser(
        "docs",
        help="write the built docs as one self-contained HTML page, with the diagrams drawn",
        description="Write DIST/docs/*.md (made by `build`) as one HTML page with the Mermaid diagrams drawn by "
        "the vendored Mermaid library, inlined: the page needs no network. Prints the page's path.",
    )
    p.add_argument("--out", type=Path, default=None, help="dist directory whose docs to use (default: ROOT/dist)")
    p.add_argument("--html", type=Path, default=None, help="page to write (default: ROOT/.cache/smcat/docs.html)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.add_argument("--no-browser", action="store_true", help="never start a browser (even with --open)")
    p.set_defaults(func=cmd_docs)


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
    for add in (_add_build, _add_lint, _add_list, _add_schema, _add_docs):
        add(sub)
    try:
        from generator.publish.commands import register
    except ImportError:
        pass
    else:
        register(sub)
    from generator.scaffold import register as register_new

    register_new(sub)
    for command in sub.choices.values():  # `--root` also after the command word
        command.add_argument("--root", type=Path, default=argparse.SUPPRESS, help="catalog root (see smcat --help)")
    return p


def main(argv: list[str] | None = None, default_root: Path | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = parser(default_root)
    commands = p._subparsers._group_actions[0].choices
    position = _first_command_position(argv)
    word = argv[position] if position < len(argv) else None
    if word is not None and not word.startswith("-") and word not in commands:
        print(f"error: {_unknown_command(word, commands)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if word not in commands and not {"-h", "--help"} & set(argv) and position <= len(argv):
        argv.insert(position, "build")  # plain `python build.py [options]` builds
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


def _unknown_command(word: str, commands) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(commands), n=1, cutoff=0.6)
    if close:
        return f"unknown command {word!r}; did you mean {close[0]!r}?"
    return f"unknown command {word!r} (commands: {', '.join(sorted(commands))})"


def _positive(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


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
    from generator.lint import lint_record, recorded_lint, with_lint
    from generator.output import check_output, check_writable, existing_files, write_dist
    from generator.progress import Progress
    from generator.stamp import BuildStamp, loaded_modules

    catalog = Catalog(args.root)
    progress = Progress(quiet=args.quiet)
    out = _out(args)
    check_output(out, args.root)
    check_writable(out)  # before anything is rendered: a build that cannot be written fails first
    cache_dir = args.root / ".cache" / "smcat"
    stamp = BuildStamp(args.root, out)
    previous = _previous_products(out)
    summary = stamp.reusable()
    files = None
    if summary is None:  # something changed (or the output did): render, then write only if the bytes differ
        from generator.builder import render

        before = loaded_modules()
        build = render(catalog, progress)
        files, summary = build.files, build.summary()
    # Lint before writing: the manifest records the result (plan and publish refuse findings).
    results = None if args.no_lint else _lint_built(catalog, out, summary, files, cache_dir, args, progress)
    record = lint_record(results)
    changed = False
    if files is not None:
        files["manifest.json"] = with_lint(files["manifest.json"], record)
        progress(f"writing {catalog.rel(out)}")
        changed = write_dist(out, files)
        stamp.save(summary, files, before)
    elif recorded_lint(out / "manifest.json") != record:  # same build, linted otherwise (or not at all)
        files = existing_files(out)
        files["manifest.json"] = with_lint(files["manifest.json"], record)
        progress(f"writing {catalog.rel(out)}")
        changed = write_dist(out, files)
        stamp.update_files(files)
    results = results or {}
    progress.done()
    for warning in summary.get("warnings", []):  # e.g. a product in no portfolio: reported, not fatal
        print(f"warning: {warning}", file=sys.stderr)
    stale = _stale_versions(summary, previous)
    print(_table(summary, results, stale))
    findings = [f for found in results.values() for f in found]
    for finding in findings:
        print(finding)
    for product in summary["products"]:
        if product["name"] in stale:
            print(_stale_note(product))
    for seed, paths in summary.get("ignored", {}).items():
        shown = ", ".join(paths[:5]) + (", ..." if len(paths) > 5 else "")
        print(f"seedcode/{seed}: left out {plural(len(paths), 'ignored path')} ({shown})")
    state = "written" if changed else "unchanged"
    counts = f"{plural(len(summary['products']), 'product')}, {plural(summary['portfolios'], 'portfolio')}"
    print(f"{catalog.rel(out)}: {counts}, {state}")
    return EXIT_FAILED if findings else EXIT_OK


def _lint_built(
    catalog: Catalog, out: Path, summary: dict, files: dict | None, cache_dir: Path, args, progress
) -> dict:
    """Each product's findings, shown at its path in the dist. `files` is a build not written yet
    (None: `out` holds the build)."""
    from generator.lint import LintCache

    progress("linting templates")
    cache = LintCache(cache_dir / "lint.json")
    if args.no_cache:
        cache.entries = {}
    counter = _counter(progress)
    products = summary["products"]
    if files is None:
        templates = {p["name"]: (str(out / p["template"]), p["template_sha256"]) for p in products}
        results = cache.lint(templates, jobs=args.jobs, counter=counter)
    else:
        shown = {p["name"]: (str(out / p["template"]), files[p["template"]]) for p in products}
        results = cache.lint_contents(shown, jobs=args.jobs, counter=counter)
    return {name: [replace(f, file=catalog.rel(Path(f.file))) for f in found] for name, found in results.items()}


def _counter(progress):
    """Counts templates linted on a terminal; None elsewhere (cfn-lint then takes them in one pass)."""
    if not progress.tty or progress.quiet:
        return None
    return lambda done, total: progress.count("linting templates", done, total)


def _previous_products(out: Path) -> dict[str, dict]:
    """The products of the build `out` holds now (from its manifest), before this build replaces it."""
    try:
        products = json.loads((out / "manifest.json").read_bytes())["products"]
        return {name: p for name, p in products.items() if isinstance(p, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _stale_versions(summary: dict, previous: dict[str, dict]) -> set[str]:
    """Products whose content changed since the last build while their version did not."""
    stale = set()
    for p in summary["products"]:
        before = previous.get(p["name"], {})
        if before.get("version") == p["version"] and before.get("content_hash") not in (None, p["content_hash"]):
            stale.add(p["name"])
    return stale


def _stale_note(product: dict) -> str:
    where = f" in {product['source']}" if product.get("source") else ""
    return (
        f"* {product['name']}: content changed since the last build but version {product['version']} did not; "
        f"publish would add it as version {product['version']}+{product['content_hash'][:12]}: "
        f"bump the version{where} to name it"
    )


def _table(summary: dict, results: dict, stale: set[str] = frozenset()) -> str:
    """One row per product; `*` after a version that did not change with the content."""
    rows = [("PRODUCT", "VERSION", "HASH", "RESOURCES", "LINT")]
    for p in summary["products"]:
        if p["name"] not in results:
            lint = "skipped"
        else:
            found = results[p["name"]]
            errors = sum(f.severity == "error" for f in found)
            lint = "ok" if not found else f"{plural(errors, 'error')}, {plural(len(found) - errors, 'warning')}"
        version = p["version"] + ("*" if p["name"] in stale else "")
        rows.append((p["name"], version, p["content_hash"][:12], str(p["resources"]), lint))
    return _columns(rows)


def _columns(rows: list[tuple[str, ...]]) -> str:
    """Rows as left-aligned columns, two spaces apart."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def cmd_lint(args) -> int:
    from generator.lint import run_matches, to_findings

    paths = (
        _template_paths(args.paths) if args.paths else sorted(str(p) for p in (_out(args) / "templates").glob("*.json"))
    )
    if not paths:
        print("error: nothing to lint: no templates given and none built (run `build` first)", file=sys.stderr)
        return EXIT_BAD_INPUT
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise InputError([_missing(p) for p in missing])
    from generator.progress import Progress

    # Built templates are shown as `build` shows them (from the catalog root); given ones as given.
    catalog = Catalog(args.root)

    def shown(path: str) -> str:
        return path if args.paths else catalog.rel(Path(path))

    progress = Progress()
    matches, runner = run_matches(
        paths,
        None if args.format == "text" else args.format,
        counter=_counter(progress),
    )
    progress.done()
    if args.format == "text":  # one line per finding, exactly as `build` prints it
        for finding in to_findings(matches):
            print(replace(finding, file=shown(finding.file)))
    else:
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
            print(replace(finding, file=shown(finding.file)), file=sys.stderr)
            if annotate:
                print(_annotation("error", finding.file, finding.line, 1, finding.check, finding.title))
        counts = f"{plural(len(findings), 'failed check')}, {skipped} skipped in resource metadata"
        print(f"checkov: {counts}", file=sys.stderr)
        failed += len(findings)
    if args.format == "text":
        print(f"{plural(len(paths), 'template')}, {plural(failed, 'finding')}", file=sys.stderr)
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
    rows = [("PRODUCT", "VERSION", "SEEDCODE")]
    rows += [(name, p.version, ", ".join(p.seedcode) or "-") for name, p in products.items()]
    print(_columns(rows))
    rows = [("PORTFOLIO", "FILE", "PRODUCTS", "SHARES")]
    for p in portfolios:
        targets = ", ".join(s["value"] for s in p.config["shares"]) or "not shared"
        rows.append((p.id, p.file, ", ".join(p.config["products"]) or "-", targets))
    print()
    print(_columns(rows))
    return EXIT_OK


def cmd_docs(args) -> int:
    from generator.docs_html import html_page, read_pages

    page = (args.html or args.root / ".cache" / "smcat" / "docs.html").resolve()
    text = html_page(read_pages(_out(args) / "docs"))
    try:
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(text)
    except OSError as exc:
        raise InputError([Problem(str(page), "--html", f"cannot be written: {exc.strerror}")]) from None
    print(page)
    if args.open and not args.no_browser:
        _open_in_browser(page)
    return EXIT_OK


def _open_in_browser(page: Path) -> None:
    """Opens the page with the webbrowser module; on Linux with no display, only says so."""
    import webbrowser

    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        print(f"no display: open {page.as_uri()} in a browser", file=sys.stderr)
    elif not webbrowser.open(page.as_uri()):
        print(f"no browser found: open {page.as_uri()} in one", file=sys.stderr)


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
