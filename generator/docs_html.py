"""`smcat docs`: the built docs (DIST/docs/*.md) as one self-contained HTML page.

The pages are turned into HTML by a small Markdown renderer that knows what the docs templates write
(headings, paragraphs, lists, tables, fenced code, code spans, links, bold and italics); links between
pages become anchors within the one page. Mermaid code blocks are drawn by the vendored Mermaid library
(generator/vendor/mermaid), inlined into the page: it needs no network and no other file.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import re
from pathlib import Path

from generator.errors import InputError, Problem

VENDOR = Path(__file__).parent / "vendor" / "mermaid"
MERMAID_VERSION = "11.17.2"
MERMAID_SHA256 = "581ed7d74bd9048d0e3a91363927d72ef22942d7722546b27f7cc29e35390eb8"
INDEX = "index"

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 0 auto; max-width: 1100px; padding: 0 1.5em 4em; color: #1f2328; }
nav { border-bottom: 1px solid #d0d7de; padding: 1em 0; }
nav a { margin-right: 1em; }
section { border-bottom: 1px solid #d0d7de; padding-bottom: 2em; }
code, pre { font: 13px/1.45 ui-monospace, monospace; background: #f6f8fa; border-radius: 4px; }
code { padding: 0.1em 0.3em; }
pre { padding: 0.8em; overflow-x: auto; }
pre.mermaid { background: none; text-align: center; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
"""
# Runs once the page is loaded: draws every diagram, then says so on <body data-diagrams="...">.
START = """
mermaid.initialize({startOnLoad: false, securityLevel: "strict", flowchart: {htmlLabels: true}});
mermaid.run({querySelector: "pre.mermaid"}).then(
  function () { document.body.setAttribute("data-diagrams", "rendered"); },
  function (error) { document.body.setAttribute("data-diagrams", "failed: " + error); });
"""


def mermaid_js() -> str:
    """The vendored Mermaid library, checked against the sha256 it was vendored with."""
    data = gzip.decompress((VENDOR / "mermaid.min.js.gz").read_bytes())
    digest = hashlib.sha256(data).hexdigest()
    if digest != MERMAID_SHA256:
        raise RuntimeError(f"{VENDOR}/mermaid.min.js.gz: sha256 {digest}, expected {MERMAID_SHA256} (Mermaid "
                           f"{MERMAID_VERSION}); see {VENDOR}/README.md")
    return data.decode()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


# -- Markdown, as far as the docs templates write it ------------------------------------------------------


def _link(target: str, page: str) -> str:
    """A link's target in the one page: `x.md` -> the page's section, `x.md#a` / `#a` -> its heading."""
    if "://" in target or target.startswith("mailto:"):
        return target
    file, _, anchor = target.partition("#")
    name = file.removesuffix(".md") if file else page
    return f"#{name}--{anchor}" if anchor else f"#page-{name}"


def inline(text: str, page: str) -> str:
    """One line's inline Markdown as HTML: code spans, links, bold, italics (the rest escaped)."""
    spans: list[str] = []

    def hold(markup: str) -> str:
        spans.append(markup)
        return f"\0{len(spans) - 1}\0"

    text = re.sub(r"`([^`]+)`", lambda m: hold(f"<code>{html.escape(m.group(1))}</code>"), text)
    text = html.escape(text, quote=False)
    text = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)",
                  lambda m: f'<a href="{html.escape(_link(html.unescape(m.group(2)), page))}">{m.group(1)}</a>', text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", text)
    return re.sub(r"\0(\d+)\0", lambda m: spans[int(m.group(1))], text)


def _cells(line: str) -> list[str]:
    """A table row's cells; `\\|` is a pipe in a cell, also inside a code span (as GitHub reads it)."""
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def _table(lines: list[str], page: str) -> str:
    head, rows = _cells(lines[0]), [_cells(line) for line in lines[2:]]
    out = ["<table>", "<tr>" + "".join(f"<th>{inline(c, page)}</th>" for c in head) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{inline(c, page)}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join(out + ["</table>"])


def _list(lines: list[str], page: str, ordered: bool) -> str:
    tag = "ol" if ordered else "ul"
    marker = r"\d+\.\s+" if ordered else r"[-*]\s+"
    entries: list[str] = []
    for line in lines:
        if re.match(marker, line):
            entries.append(re.sub("^" + marker, "", line))
        else:  # a continuation line
            entries[-1] += " " + line.strip()
    return f"<{tag}>" + "".join(f"<li>{inline(e, page)}</li>" for e in entries) + f"</{tag}>"


def markdown(text: str, page: str) -> str:
    """A docs page as HTML; heading ids are `<page>--<GitHub anchor>`."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            language, end = line[3:].strip(), i + 1
            while end < len(lines) and not lines[end].startswith("```"):
                end += 1
            out.append(_code("\n".join(lines[i + 1:end]), language))
            i = end + 1
        elif match := re.match(r"(#{1,6}) (.+)", line):
            level, title = len(match.group(1)), match.group(2).strip()
            out.append(f'<h{level} id="{page}--{slug(title)}">{inline(title, page)}</h{level}>')
            i += 1
        elif not line.strip():
            i += 1
        else:
            end = i + 1
            kind = _block_kind(line, lines[i + 1] if i + 1 < len(lines) else "")
            while end < len(lines) and lines[end].strip() and _continues(kind, lines[end]):
                end += 1
            block = lines[i:end]
            if kind == "table":
                out.append(_table(block, page))
            elif kind in ("ul", "ol"):
                out.append(_list(block, page, kind == "ol"))
            else:
                out.append("<p>" + " ".join(inline(b.strip(), page) for b in block) + "</p>")
            i = end
    return "\n".join(out)


def _code(code: str, language: str) -> str:
    """A fenced block: Mermaid's for the library to draw (it reads the text), others as code."""
    escaped = html.escape(code, quote=False)
    return f'<pre class="mermaid">{escaped}</pre>' if language == "mermaid" else f"<pre><code>{escaped}</code></pre>"


def _block_kind(line: str, following: str) -> str:
    if line.startswith("|") and re.match(r"\|\s*:?-{3,}", following):
        return "table"
    if re.match(r"[-*]\s+", line):
        return "ul"
    if re.match(r"\d+\.\s+", line):
        return "ol"
    return "p"


def _continues(kind: str, line: str) -> bool:
    if line.startswith("```") or re.match(r"#{1,6} ", line):
        return False
    if kind == "table":
        return line.startswith("|")
    if kind == "p":
        return _block_kind(line, "") == "p" and not line.startswith("|")
    return True  # list items and their continuation lines


# -- the page ----------------------------------------------------------------------------------------------


def read_pages(docs: Path) -> dict[str, str]:
    """The built pages, the index first, then the products by name."""
    if not docs.is_dir() or not (docs / f"{INDEX}.md").is_file():
        raise InputError([Problem(str(docs), "", "holds no built docs (run `smcat build` first)")])
    names = sorted(p.stem for p in docs.glob("*.md") if p.stem != INDEX)
    return {name: (docs / f"{name}.md").read_text() for name in [INDEX, *names]}


def html_page(pages: dict[str, str]) -> str:
    """One HTML document holding every page, and the Mermaid library that draws their diagrams."""
    nav = " ".join(f'<a href="#page-{name}">{html.escape(name)}</a>' for name in pages)
    sections = "\n".join(
        f'<section id="page-{name}">\n{markdown(text, name)}\n</section>' for name, text in pages.items())
    script = mermaid_js().replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>SageMaker project templates: docs</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<nav>{nav}</nav>\n{sections}\n"
        f"<script>/* Mermaid {MERMAID_VERSION}, MIT licence: generator/vendor/mermaid */\n{script}\n</script>\n"
        f"<script>{START}</script>\n</body>\n</html>\n"
    )
