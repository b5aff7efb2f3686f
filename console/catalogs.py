"""Keeping the console's message catalogs in step with its templates and modules.

`python -m console.catalogs` extracts every message (`_()`/`{% trans %}` in templates, `N_()`/
`_()` in console/*.py), adds the new ones to each language's messages.po (untranslated) and drops
the ones no longer used; then translate the empty entries of the Spanish catalog (the English one
needs an entry only where the message is a code, e.g. `not_launched`). tests/console/
test_catalogs.py fails while a catalog lacks a message or Spanish lacks a translation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from console.i18n import LANGUAGES, catalog_path

PACKAGE = Path(__file__).resolve().parent
METHODS = [("templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {"templates/**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}


def extracted() -> Catalog:
    """Every message the console's templates and modules use."""
    catalog = Catalog(project="collect-console")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, METHODS, options_map=OPTIONS, keywords={"_": None, "N_": None, "gettext": None}
    ):
        catalog.add(message, locations=[(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def read(lang: str) -> Catalog:
    with catalog_path(lang).open("rb") as source:
        return read_po(source, locale=lang)


def missing(lang: str) -> list[str]:
    """Messages the templates use that the language's catalog lacks."""
    have = read(lang)
    return sorted(str(m.id) for m in extracted() if m.id and have.get(m.id) is None)


def unused(lang: str) -> list[str]:
    """Messages the catalog holds that nothing uses any more."""
    used = {m.id for m in extracted() if m.id}
    return sorted(str(m.id) for m in read(lang) if m.id and m.id not in used)


def untranslated(lang: str) -> list[str]:
    return sorted(str(m.id) for m in read(lang) if m.id and not m.string)


def update() -> None:
    """Add new messages to every catalog and drop unused ones, keeping the translations."""
    template = extracted()
    for lang in LANGUAGES:
        path = catalog_path(lang)
        catalog = read(lang) if path.exists() else Catalog(locale=lang, project="collect-console")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # a fuzzy header would be left out of the compiled catalog, charset and all
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as out:
            write_po(out, catalog, width=100, no_location=True, sort_output=True, include_previous=False)
        left = untranslated(lang)
        sys.stderr.write(f"{path.relative_to(PACKAGE.parent)}: {len(catalog)} messages, {len(left)} untranslated\n")


if __name__ == "__main__":
    update()
