"""`smcat docs`: the built docs as one self-contained HTML page, its Markdown rendered and its Mermaid
diagrams drawn by the vendored library; checked in a real headless Chromium when one is installed."""

from __future__ import annotations

import gzip
import hashlib
import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import test_diagrams
from conftest import ROOT, main
from diagram_parse import mermaid_blocks, parse

from generator import docs_html
from generator.docs_html import MERMAID_SHA256, html_page, inline, markdown, read_pages

README = ROOT / "README.md"
dist = test_diagrams.dist  # the fixture: the bundled catalog built without lint


@pytest.fixture(scope="module")
def page(dist, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("page") / "docs.html"
    assert main(["--root", str(ROOT), "docs", "--out", str(dist), "--html", str(path), "--no-browser"]) == 0
    return path


# -- the Markdown the docs templates write -----------------------------------------------------------------


def test_markdown_blocks_become_html():
    text = ("# Title `x`\n\nA *short* para\nwith **bold** and [a link](other.md#outputs).\n\n"
            "- one `a<b>`\n- two\n  more\n\n1. **First**: x\n2. Second\n\n"
            "| A | B |\n| --- | --- |\n| `p\\|q` | [x](#outputs) |\n\n```sh\necho '<hi>'\n```\n\n"
            "```mermaid\nflowchart LR\n  a[\"x<br/>y\"]\n```\n")
    assert markdown(text, "page").splitlines() == [
        '<h1 id="page--title-x">Title <code>x</code></h1>',
        '<p>A <em>short</em> para with <strong>bold</strong> and <a href="#other--outputs">a link</a>.</p>',
        "<ul><li>one <code>a&lt;b&gt;</code></li><li>two more</li></ul>",
        "<ol><li><strong>First</strong>: x</li><li>Second</li></ol>",
        "<table>", "<tr><th>A</th><th>B</th></tr>",
        '<tr><td><code>p|q</code></td><td><a href="#page--outputs">x</a></td></tr>', "</table>",
        "<pre><code>echo '&lt;hi&gt;'</code></pre>",
        '<pre class="mermaid">flowchart LR', '  a["x&lt;br/&gt;y"]</pre>',
    ]


def test_links_between_pages_become_anchors_in_the_one_page():
    assert inline("[index](index.md) and [out](#outputs) and [aws](https://aws.amazon.com/x)", "model-build") == (
        '<a href="#page-index">index</a> and <a href="#model-build--outputs">out</a> and '
        '<a href="https://aws.amazon.com/x">aws</a>')


def test_every_link_of_the_page_has_its_anchor(page):
    text = page.read_text()
    ids = set(re.findall(r' id="([^"]+)"', text))
    targets = [html.unescape(t) for t in re.findall(r'<a href="#([^"]+)"', text)]
    assert targets and not [t for t in targets if t not in ids]


# -- the page -----------------------------------------------------------------------------------------------


def test_the_page_holds_every_page_and_needs_nothing_else(dist, page):
    text = page.read_text()
    pages = read_pages(dist / "docs")
    assert list(pages)[0] == "index" and sorted(pages) == sorted(p.stem for p in (dist / "docs").glob("*.md"))
    for name in pages:
        assert f'<section id="page-{name}">' in text
    # Self-contained: no script, style, image or frame is loaded from anywhere (the inlined library aside).
    markup = re.sub(r"<script>.*?</script>", "<script></script>", text, flags=re.S)
    assert markup.count("<script></script>") == 2
    assert not re.search(r"<(script|img|iframe|link)[^>]*\b(src|href)=", markup)
    blocks = re.findall(r'<pre class="mermaid">(.*?)</pre>', text, flags=re.S)
    expected = [b.rstrip("\n") for name in pages for b in mermaid_blocks(pages[name])]
    assert [html.unescape(b) for b in blocks] == expected and len(blocks) == len(pages)


def test_the_vendored_mermaid_is_the_pinned_file():
    data = gzip.decompress((docs_html.VENDOR / "mermaid.min.js.gz").read_bytes())
    assert hashlib.sha256(data).hexdigest() == MERMAID_SHA256
    notes = (docs_html.VENDOR / "README.md").read_text()
    assert docs_html.MERMAID_VERSION in notes and MERMAID_SHA256 in notes
    assert "MIT" in (docs_html.VENDOR / "LICENSE").read_text()


def test_a_changed_vendored_file_is_refused(tmp_path, monkeypatch):
    (tmp_path / "mermaid.min.js.gz").write_bytes(gzip.compress(b"alert(1)"))
    monkeypatch.setattr(docs_html, "VENDOR", tmp_path)
    with pytest.raises(RuntimeError, match="sha256"):
        html_page({"index": "# Products\n"})


def test_docs_without_a_build_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["--root", str(tmp_path), "docs", "--out", str(tmp_path / "dist")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [f"error: {tmp_path / 'dist' / 'docs'}: holds no built docs (run `smcat build` first)"]


def test_open_uses_the_browser_only_with_a_display(dist, tmp_path, monkeypatch, capsys):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    target = tmp_path / "d.html"
    argv = ["--root", str(ROOT), "docs", "--out", str(dist), "--html", str(target), "--open"]
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == [str(target)] and opened == []
    assert err.splitlines() == [f"no display: open {target.as_uri()} in a browser"]
    monkeypatch.setenv("DISPLAY", ":0")
    assert main(argv) == 0 and opened == [target.as_uri()]
    assert main([*argv, "--no-browser"]) == 0 and opened == [target.as_uri()]


# -- in a real browser ---------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def rendered_dom(page: Path, tmp_path: Path) -> str:
    """The page's DOM after Chromium has run its scripts (virtual time: no waiting on the clock)."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path}",
         "--virtual-time-budget=30000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (tests/run.sh installs it as root: "
                                             "apt-get install chromium)")
def test_chromium_draws_every_diagram_with_its_labels(dist, page, tmp_path):
    dom = rendered_dom(page, tmp_path)
    assert 'data-diagrams="rendered"' in dom, re.findall(r"data-diagrams=\"[^\"]*\"", dom)
    drawn = re.findall(r'<pre class="mermaid"[^>]*>(.*?)</pre>', dom, flags=re.S)
    pages = read_pages(dist / "docs")
    assert len(drawn) == len(pages)
    for markup, name in zip(drawn, pages, strict=True):
        assert markup.lstrip().startswith("<svg"), f"{name}: not drawn: {markup[:200]}"
        shown = html.unescape(re.sub(r"<[^>]+>", " ", markup))
        (block,) = mermaid_blocks(pages[name])
        for label in parse(block).nodes():  # every node's first line is in the picture
            assert label in shown, f"{name}: {label!r} not drawn"
    spoke = drawn[list(pages).index("registry-spoke")]
    assert "role sagemaker-${HubName}-sync" in html.unescape(re.sub(r"<[^>]+>", " ", spoke))


def test_the_readme_commands_as_written(catalog, monkeypatch, capsys):
    """The README's "Docs and diagrams" commands, run as written in a copy of the catalog."""
    import shlex

    text = README.read_text()
    section = text[text.index("\n### Docs and diagrams\n") + 1:]
    section = section[:min(i for i in (section.find("\n## "), section.find("\n### ")) if i != -1)]
    (block,) = re.findall(r"^```sh\n(.*?)^```$", section, flags=re.M | re.S)
    monkeypatch.chdir(catalog)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    for line in block.splitlines():
        words = shlex.split(line)
        assert words[:2] == [".venv/bin/python", "build.py"], line
        assert main(words[2:], default_root=catalog) == 0, line
    out = capsys.readouterr().out.splitlines()
    page = catalog / ".cache" / "smcat" / "docs.html"
    assert out[-1] == str(page) and "data-diagrams" in page.read_text()
