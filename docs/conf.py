"""Sphinx configuration of the mgcore documentation.

Build (warnings are errors, as in CI)::

    pip install -e ".[docs]"
    sphinx-build -W -b html docs docs/_build/html

The Markdown pages are read by MyST; the API reference comes from the
numpydoc docstrings (``docs/api``).
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import mgcore  # noqa: E402

project = "mgcore"
author = "the mgcore authors"
copyright = "the mgcore authors"  # noqa: A001 - Sphinx's name
release = version = mgcore.__version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**/.ipynb_checkpoints"]

# MyST: fenced ```{directive} blocks, $math$, heading anchors for [text](page.md#anchor) links
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist"]
myst_heading_anchors = 3

# autodoc + numpydoc

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # the numpydoc Parameters sections say it
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# figures drawn at build time ({plot} blocks), PNG only, no source links
plot_formats = [("png", 110)]
plot_html_show_source_link = False
plot_html_show_formats = False

html_theme = "furo"
html_title = f"mgcore {release}"
html_static_path: list[str] = []
pygments_style = "sphinx"
