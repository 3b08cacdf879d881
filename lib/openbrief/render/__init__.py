"""Rendering a brief: parameters (:mod:`.params`), papermill execution and publishing
(:mod:`.publishing`: temporary folder, manifest, secrets, ``_failed/``), the notebook's narrative in
the brief's language (:mod:`.translate`), HTML and PDF (:mod:`.pdf`), the nbconvert exporter
(:mod:`.exporter`) and the template (``templates/``).

May import: openbrief.store (snapshot ids, atomic folders), openbrief.i18n (catalogues) and
openbrief.errors; it knows no metric and no brief.
"""
import sys

# nbformat imports jsonschema, whose format checkers import rfc3987_syntax when it is installed
# (Jupyter's event schemas pull it in): building its grammar costs 2 s of CPU at every start. No
# notebook schema checks an "iri" format, so this process does without it (jsonschema then skips
# that one check). Measured in bench/bench_build.py.
sys.modules.setdefault("rfc3987_syntax", None)

from openbrief.render.publishing import (  # noqa: E402 - after the import guard above
    KERNEL_NAME,
    NOTEBOOKS_DIR,
    assert_no_secrets,
    default_briefs_dir,
    ensure_kernel,
    execute,
    holds_secret,
    notebook_path,
    publish,
)

__all__ = [
    "KERNEL_NAME",
    "NOTEBOOKS_DIR",
    "assert_no_secrets",
    "default_briefs_dir",
    "ensure_kernel",
    "execute",
    "holds_secret",
    "notebook_path",
    "publish",
]
