"""Serve MathJax 3 from the built book instead of a CDN.

The ``django-static-mathjax`` package (in requirements.txt) vendors MathJax 3's
``es5/`` bundle. This Sphinx extension copies the parts that ``tex-chtml.js``
loads (the CHTML fonts, TeX extensions, menu and accessibility components) into
``<html>/_static/mathjax/``, and ``_config.yml`` points ``mathjax_path`` at
``mathjax/tex-chtml.js`` (relative to ``_static``). Equations then typeset on a
machine with no network access.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

# Combined bundles that tex-chtml.js never loads; leaving them out saves ~12 MB.
_SKIP = {"tex-svg.js", "tex-svg-full.js", "tex-mml-svg.js", "mml-svg.js", "mml-chtml.js",
         "tex-mml-chtml.js", "tex-chtml-full.js", "tex-chtml-full-speech.js", "node-main.js"}


def mathjax_source() -> Path:
    """The ``es5`` folder of the vendored MathJax 3."""
    try:
        import mathjax  # the django-static-mathjax distribution
    except ImportError as exc:  # pragma: no cover - reported to the user
        raise ExtensionError("offline_mathjax needs `pip install django-static-mathjax` "
                             "(it is in requirements.txt)") from exc
    es5 = Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise ExtensionError(f"no MathJax 3 bundle at {es5}")
    return es5


def _ignore(directory, names):
    if Path(directory).name == "es5":
        return [n for n in names if n in _SKIP]
    # the SVG output fonts are only used by tex-svg.js
    return ["svg"] if Path(directory).name == "output" and "svg" in names else []


def copy_mathjax(app):
    if app.builder.format != "html":
        return
    dest = Path(app.outdir) / "_static" / "mathjax"
    shutil.copytree(mathjax_source(), dest, ignore=_ignore, dirs_exist_ok=True)


def setup(app):
    app.connect("builder-inited", copy_mathjax)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
