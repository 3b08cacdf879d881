"""Message catalogues: every sentence, label and title openbrief generates, in the brief's language.

English is the source language: the English text in the code is the message id, and a language
other than English is one folder of gettext catalogues, ``locale/<lang>/*.po`` (one file per
domain: ``brief.po``, ``render.po``, ``notebooks.po``, ...), read with Babel. Adding a language
is adding a folder. A message missing from a catalogue falls back to English;
``missing(lang, notebook_messages(paths))`` lists every such message of the code and of the
notebooks (each markdown cell whole, and the code cells' ``tr.gettext`` calls), and a test fails
when any is missing for ``ja``.

Usage, in any stage::

    from openbrief import i18n
    tr = i18n.translator(lang)                 # lang checked: "en" or "ja"
    tr.gettext("Key findings")                 # -> "主な所見" for ja
    tr.ngettext("%(n)s model", "%(n)s models", n) % {"n": n}
    TITLE = i18n.N_("Download share")          # marked at import, translated later: tr.gettext(TITLE)

Messages are found by Babel's extractor (keywords ``gettext``, ``ngettext``, ``N_``, also as
``tr.gettext(...)``), so always pass a literal string, never a variable, to ``gettext``
except for strings marked with ``N_``.

May import: nothing from openbrief (a leaf every stage may use).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANG = "en"
KEYWORDS = {"gettext": None, "ngettext": (1, 2), "N_": None}


def N_(message: str) -> str:
    """Mark a message for the catalogues without translating it (module-level constants)."""
    return message


def languages() -> tuple[str, ...]:
    """English and every language with a catalogue folder, sorted."""
    found = sorted(p.name for p in LOCALE_DIR.iterdir() if p.is_dir() and any(p.glob("*.po")))
    return (SOURCE_LANG, *[lang for lang in found if lang != SOURCE_LANG])


def check_lang(lang: object) -> str:
    """The language code, or ValueError naming the languages there are."""
    if not isinstance(lang, str) or lang not in languages():
        raise ValueError(f"lang must be one of {', '.join(languages())}, not {lang!r}")
    return lang


class Translator:
    """gettext and ngettext for one language, falling back to the English message id."""

    def __init__(self, lang: str, messages: dict):
        self.lang = lang
        self._messages = messages

    def gettext(self, message: str) -> str:
        found = self._messages.get(message)
        if isinstance(found, (list, tuple)):
            found = found[0]
        return found or message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        found = self._messages.get(singular)
        if isinstance(found, (list, tuple)) and found and all(found):
            # Japanese has one form; a catalogue with two forms picks by English's rule
            return found[0] if len(found) == 1 or n == 1 else found[1]
        if isinstance(found, str) and found:
            return found
        return singular if n == 1 else plural

    __call__ = gettext


@lru_cache(maxsize=None)
def translator(lang: str = SOURCE_LANG) -> Translator:
    """The translator for ``lang`` (checked), its catalogues read once per process."""
    lang = check_lang(lang)
    return Translator(lang, {} if lang == SOURCE_LANG else _read_catalogues(lang))


def _read_catalogues(lang: str) -> dict:
    from babel.messages.pofile import read_po

    messages: dict = {}
    for po in sorted((LOCALE_DIR / lang).glob("*.po")):
        with po.open("rb") as fh:
            catalogue = read_po(fh, locale=lang)
        for message in catalogue:
            if message.id and message.string and not message.fuzzy:
                key = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
                messages[key] = message.string
    return messages


def source_messages() -> dict[str, list[str]]:
    """Every message id the code marks, with where it is (``file:line``), by Babel's extractor."""
    from babel.messages.extract import extract_from_dir

    package = Path(__file__).parent.parent
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(package), method_map=[("**.py", "python")], keywords=KEYWORDS):
        key = message[0] if isinstance(message, (list, tuple)) else message
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def notebook_messages(paths) -> dict[str, list[str]]:
    """The messages of notebooks (``.ipynb`` paths), with where they are (``file:cell N``).

    A markdown cell's whole source is one message (the build replaces it by its translation); in a
    code cell, Babel's Python extractor finds the literal ``tr.gettext(...)`` messages.
    """
    import io
    import json

    from babel.messages.extract import extract

    found: dict[str, list[str]] = {}
    for path in paths:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
        for n, cell in enumerate(cells):
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            where = f"{Path(path).name}:cell {n}"
            if cell["cell_type"] == "markdown" and source.strip():
                found.setdefault(source, []).append(where)
            elif cell["cell_type"] == "code":
                for _lineno, message, _comments, _context in extract(
                        "python", io.BytesIO(source.encode("utf-8")), keywords=KEYWORDS):
                    key = message[0] if isinstance(message, (list, tuple)) else message
                    found.setdefault(key, []).append(where)
    return found


def missing(lang: str, extra: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """The messages (from the code, plus ``extra`` such as notebook cells) ``lang`` lacks."""
    tr = translator(lang)
    wanted = {**source_messages(), **(extra or {})}
    return {m: where for m, where in sorted(wanted.items()) if lang != SOURCE_LANG and m not in tr._messages}
