"""A notebook's narrative in the brief's language: markdown cells replaced by their translations.

Before papermill runs, each markdown cell whose whole source is a message of the catalogues
(``locale/<lang>/notebooks.po``; msgid = the cell's source text) is replaced by its translation.
A cell with no translation stays in English (``i18n.missing`` lists it). Code cells translate
their own prose with ``tr.gettext`` at run time. English notebooks are used as they are.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from openbrief import i18n


def localized(source: Path, lang: str) -> Path | nbformat.NotebookNode:
    """The notebook to execute for ``lang``: ``source`` itself for English, else a translated copy."""
    if lang == i18n.SOURCE_LANG:
        return source
    tr = i18n.translator(lang)
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.strip():
            cell.source = tr.gettext(cell.source)
    return nb
