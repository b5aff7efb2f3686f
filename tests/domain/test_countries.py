"""The product's own ISO 3166-1 table: what an import accepts as a country never changes with a
library upgrade; differences from the libraries' lists are written down here."""

from __future__ import annotations

import phonenumbers
from babel.core import get_global

from domain.countries import ISO_3166_ALPHA2, is_country


def test_the_table_holds_the_249_assigned_codes() -> None:
    assert len(ISO_3166_ALPHA2) == 249
    assert all(len(code) == 2 and code.isalpha() and code.isupper() for code in ISO_3166_ALPHA2)
    for code in ("CL", "CO", "MX", "US", "PE", "AR", "BR", "UY", "ES", "AQ", "BV"):
        assert is_country(code)
    for code in ("ZZ", "XK", "UK", "EU", "AA", "QO", "XX", "cl", "CHL", ""):
        assert not is_country(code)


def test_differences_from_cldr_and_libphonenumber_are_known() -> None:
    """CLDR lists ZZ ("unknown region"); libphonenumber adds Ascension, Tristan da Cunha and Kosovo
    (not ISO 3166-1) and lacks uninhabited territories. A new difference means a library changed:
    decide, then write it here; the product's table does not move by itself."""
    cldr = {code for code in get_global("territory_zones") if len(code) == 2 and code.isalpha()}
    assert cldr - ISO_3166_ALPHA2 <= {"ZZ", "XK"}
    assert ISO_3166_ALPHA2 - cldr <= {"BV", "HM"}
    phones = set(phonenumbers.SUPPORTED_REGIONS)
    assert phones - ISO_3166_ALPHA2 <= {"AC", "TA", "XK"}
    assert ISO_3166_ALPHA2 - phones <= {"AQ", "BV", "GS", "HM", "PN", "TF", "UM"}
