"""nbconvert exporter: ``jupyter nbconvert --to openbrief-pdf NOTEBOOK`` → NOTEBOOK.pdf.

Registered in pyproject.toml as the ``nbconvert.exporters`` entry point
``openbrief-pdf``. It renders through the same code as
:func:`openbrief.render.pdf.notebook_to_pdf` (openbrief template → WeasyPrint), so
the CLI, JupyterLab's "Save and Export As" menu and the Python API give the
same bytes for the same notebook.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from nbconvert.exporters import Exporter
from traitlets import default

from . import pdf as _pdf

__all__ = ["OpenbriefPDFExporter"]


class OpenbriefPDFExporter(Exporter):
    """Export an (executed) notebook as an openbrief PDF brief."""

    export_from_notebook = "PDF brief (openbrief)"
    output_mimetype = "application/pdf"

    @default("file_extension")
    def _file_extension_default(self) -> str:
        return ".pdf"

    def from_notebook_node(self, nb, resources: dict[str, Any] | None = None, **kw: Any):
        nb_copy, resources = super().from_notebook_node(nb, resources, **kw)
        meta = dict(resources.get("metadata") or {})
        html = _pdf.exported_html(nb_copy, resources={"metadata": meta})  # post-processed once, below
        folder = meta.get("path") or "."
        base_url = Path(folder).resolve().as_uri() + "/"
        output = _pdf.html_to_pdf_bytes(html, base_url=base_url)
        resources["output_extension"] = ".pdf"
        return output, resources
