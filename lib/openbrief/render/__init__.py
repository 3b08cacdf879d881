"""Rendering a brief: parameters (:mod:`.params`), papermill execution and publishing
(:mod:`.publishing`: temporary folder, manifest, secrets, ``_failed/``), HTML and PDF (:mod:`.pdf`),
the nbconvert exporter (:mod:`.exporter`) and the template (``templates/``).

May import: openbrief.store (snapshot ids, atomic folders) and openbrief.errors; it knows no metric and no brief.
"""
from openbrief.render.publishing import (
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
