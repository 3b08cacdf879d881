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


def __getattr__(name: str):
    """The names above come from :mod:`.publishing`, imported on first use: ``openbrief build`` imports
    :mod:`.prewarm` (standard library only) before the heavy modules, to start its interpreter."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from openbrief.render import publishing

    return getattr(publishing, name)
