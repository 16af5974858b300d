"""Browser test of the built book: every page loads with typeset math, decoded images,
and (for chapters) an "Open in Colab" link to that chapter's notebook.

Run with ``make test-browser`` after building the book. Uses Debian's Chromium
(``/usr/bin/chromium``) through Playwright; only 127.0.0.1 is reachable: every
other request is aborted and recorded.
"""
from __future__ import annotations

import functools
import http.server
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = Path(os.environ.get("GRADNETOT_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("GRADNETOT_CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "_build" / "screenshots"
SKIP = {"genindex.html", "search.html", "py-modindex.html"}


def _pages():
    if not HTML.is_dir():
        return []
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if "_static" not in p.parts and "_sources" not in p.parts and p.name not in SKIP)


def _repo_url():
    text = (ROOT / "_config.yml").read_text()
    m = re.search(r"^\s*url:\s*(https://github\.com/\S+)", text, re.M)
    assert m, "_config.yml must define repository.url"
    return m.group(1).rstrip("/")


@pytest.fixture(scope="module")
def server():
    if not HTML.is_dir():
        pytest.fail(f"{HTML} does not exist: build the book first (make book-fast)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                              args=["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                                    "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield b
        b.close()


def _open(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if host in ("127.0.0.1", None) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    resp = page.goto(url, wait_until="load")
    return page, resp, blocked, errors


PAGES = _pages()


def test_book_was_built():
    assert PAGES, f"no HTML pages under {HTML}"
    assert "index.html" in PAGES


@pytest.mark.parametrize("rel", PAGES)
def test_page(rel, server, browser):
    page, resp, blocked, errors = _open(browser, f"{server}/{rel}")
    try:
        assert resp is not None and resp.ok, f"{rel} did not load"
        # math: wait for MathJax (served locally) to finish, then no raw TeX may remain
        has_math = page.evaluate("document.querySelectorAll('.math, span.math, div.math').length") > 0
        if has_math:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                                   timeout=20_000)
            page.evaluate("() => MathJax.startup.promise")
            n_math = page.evaluate("document.querySelectorAll('.math').length")
            n_typeset = page.evaluate("document.querySelectorAll('mjx-container').length")
            assert n_typeset >= n_math, f"{rel}: {n_math} math elements but {n_typeset} typeset"
        text = page.evaluate("document.querySelector('main') ? document.querySelector('main').innerText : ''")
        for raw in ("\\(", "\\[", "$$", "\\begin{"):
            assert raw not in text, f"{rel}: raw TeX {raw!r} left in the page"
        # images decode
        bad = page.evaluate("""() => Array.from(document.images)
              .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)""")
        assert not bad, f"{rel}: images that did not decode: {bad}"
        # no error outputs rendered from notebooks
        n_err = page.evaluate("document.querySelectorAll('.output.traceback, .output.error').length")
        assert n_err == 0, f"{rel}: shows {n_err} error output(s)"
        assert not [b for b in blocked if "mathjax" in b.lower()], f"{rel}: MathJax requested from the network"
        # a widget view needs JavaScript from a CDN and a kernel: offline it renders as an empty box,
        # so chapters hide widget outputs in the HTML and show a static figure instead
        n_widgets = page.evaluate(
            "document.querySelectorAll('script[type=\"application/vnd.jupyter.widget-view+json\"]').length")
        assert n_widgets == 0, f"{rel}: {n_widgets} widget view(s) that render as empty boxes offline"
        if re.fullmatch(r"chapters/\d\d_\w+\.html", rel):
            # The page is built from chapters/NN_name.md; its Colab button must open the paired
            # .ipynb, and that file must exist in the repository.
            hrefs = page.evaluate("""() => Array.from(document.querySelectorAll('a'))
                  .map(a => a.href).filter(h => h.includes('colab.research.google.com'))""")
            repo = _repo_url().replace("https://github.com/", "")
            prefix = f"colab.research.google.com/github/{repo}/blob/main/"
            targets = [h.split(prefix, 1)[1].split("?")[0].split("#")[0] for h in hrefs if prefix in h]
            assert targets, f"{rel}: no Open-in-Colab link; found {hrefs}"
            for t in targets:
                assert t.endswith(".ipynb"), f"{rel}: the Colab link opens {t}, not a notebook"
                assert (ROOT / t).is_file(), f"{rel}: the Colab link opens {t}, which is not in the repository"
            want = Path(rel).with_suffix(".ipynb").as_posix()
            assert want in targets, f"{rel}: the Colab link should open {want}; it opens {targets}"
        if rel in ("index.html", "chapters/01_introduction.html"):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / (Path(rel).stem + ".png")), full_page=False)
    finally:
        page.close()
