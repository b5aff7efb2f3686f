"""The console's languages (Spanish and English) and how money and dates read in them.

Messages are Babel gettext catalogs, console/translations/<lang>/LC_MESSAGES/messages.po, compiled
in memory when the app starts (no .mo files to fall out of step); tests/console/test_catalogs.py
fails when a template or module has a message a catalog lacks. `python -m console.catalogs`
adds the missing ones. The language is the visitor's switch (a cookie), else the first one
`Accept-Language` names that we speak, else English.

Money is formatted as the product formats it in messages (strategies/rendering.py: the ISO 4217
exponent of domain.money, the locale's symbols), in the account's locale (the debtor's) or, for a
whole campaign, its strategy's locale; times in the debtor's zone where one account is shown, else
in UTC (the KPI days are UTC days).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from strategies.rendering import babel_locale
from strategies.rendering import money as product_money

LANGUAGES = ("es", "en")
DEFAULT = "en"
LANG_COOKIE = "collect_lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def catalog_path(lang: str) -> Path:
    return TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"


@lru_cache(maxsize=len(LANGUAGES))
def translations(lang: str) -> Translations:
    """The language's catalog, compiled from its .po file."""
    with catalog_path(lang).open("rb") as source:
        catalog = read_po(source, locale=lang)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def choose(cookie: str | None, accept_language: str | None) -> str:
    """The visitor's language: their switch, else their browser's preference, else English."""
    if cookie in LANGUAGES:
        return cookie
    preferences: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        preferences.append((-quality, position, tag.split("-")[0].strip().lower()))
    for negative_quality, _, lang in sorted(preferences):
        if negative_quality < 0 and lang in LANGUAGES:
            return lang
    return DEFAULT


def zone(name: str | None) -> ZoneInfo:
    """The debtor's zone; UTC when the name is missing or unknown (old rows)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ValueError, ZoneInfoNotFoundError):
        return ZoneInfo("UTC")


class Formats:
    """Formatting for one page: the reader's language for words and numbers, the account's (or
    campaign's) locale for money, the debtor's zone for times."""

    def __init__(self, lang: str, money_locale: str | None = None, zone_name: str | None = None) -> None:
        self.lang = lang
        self.money_locale = money_locale or lang
        self.tz = zone(zone_name)

    def money(self, amount: int | None, currency: str | None, locale: str | None = None) -> str:
        """`locale`: a row's own (an account's, in a list of many); else the page's money locale."""
        if amount is None or currency is None:
            return "—"
        return product_money(amount, currency, locale or self.money_locale)

    def when(self, value: datetime | None) -> str:
        if value is None:
            return "—"
        return str(format_datetime(value.astimezone(self.tz), "medium", tzinfo=self.tz, locale=babel_locale(self.lang)))

    def day(self, value: date | None) -> str:
        return "—" if value is None else str(format_date(value, "medium", locale=babel_locale(self.lang)))

    def number(self, value: int | None) -> str:
        return "—" if value is None else str(format_decimal(value, locale=self.lang))

    def percent(self, value: str | None) -> str:
        """A ratio's decimal string (services/kpis.Ratio.value) as a percentage; — when undefined."""
        return "—" if value is None else str(format_percent(Decimal(value), "#,##0.0%", locale=self.lang))


def N_(message: str) -> str:  # gettext's name for "translate later"
    """Marks a message for the catalogs where it is defined; templates translate it when shown."""
    return message
