"""Sphinx configuration for the managedjob documentation.

Build it (warnings are errors, as in CI) from the repository root with::

    python -m sphinx -E -W --keep-going -b html docs docs/_build/html
    python -m sphinx -E -W --keep-going -b doctest docs docs/_build/doctest
"""

from __future__ import annotations

import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

# The examples run real job sets: journal them in a temporary file, never in
# the reader's data directory.
os.environ.setdefault(
    "MANAGEDJOB_JOURNAL", str(Path(tempfile.mkdtemp(prefix="managedjob-docs-")) / "journal.db")
)

# Document the checkout this file belongs to, installed or not.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

project = "managedjob"
author = "The managedjob developers"
copyright = "2026, The managedjob developers"
try:
    release = metadata.version("managedjob")
except metadata.PackageNotFoundError:
    release = "0+unknown"
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.doctest",
    "sphinx.ext.viewcode",
]

# The build runs without network access: no intersphinx, nothing fetched.
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
nitpicky = False

# autodoc
autodoc_typehints = "signature"
autodoc_member_order = "bysource"

# napoleon: Google style only.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_include_init_with_doc = False
# "Attributes:" sections become :ivar: fields rather than attribute entries,
# so a documented attribute never clashes with a property of the same name.
napoleon_use_ivar = True

html_theme = "alabaster"
html_title = f"managedjob {release}"
html_theme_options = {
    "description": "Managed sets of Qiskit jobs; a drop-in replacement for IBMQJobManager.",
    "fixed_sidebar": True,
}
