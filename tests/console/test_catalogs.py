"""The console's message catalogs are in step with its templates and modules (console/catalogs.py):
every message used is in both catalogs, none is left over, Spanish translates every one, and the
labels for the product's codes cover every code the product has."""

from __future__ import annotations

import pytest

from console import catalogs, labels
from console.i18n import LANGUAGES, translations
from db.models import AGENT_TASK_STATUSES
from db.models.campaigns import CAMPAIGN_STATUSES
from db.repositories.accounts import DPD_BUCKETS
from db.repositories.timeline import _RANK as TIMELINE_KINDS
from domain.types import Resolution, Stage

FIX = "run `python -m console.catalogs` and translate what it adds"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_catalog_has_every_message_and_no_other(lang: str) -> None:
    assert catalogs.missing(lang) == [], FIX
    assert catalogs.unused(lang) == [], FIX


def test_spanish_translates_every_message() -> None:
    assert catalogs.untranslated("es") == [], FIX


def test_placeholders_survive_translation() -> None:
    for message in catalogs.read("es"):
        if message.id and message.string:
            for name in ("%(fields)s", "%(id)s", "%(first)s", "%(when)s", "%(zone)s", "%(n)s"):
                assert (name in message.id) == (name in message.string), message.id


def test_the_compiled_catalogs_translate() -> None:
    assert translations("es").gettext("Accounts per stage") == "Cuentas por etapa"
    assert translations("es").gettext("not_launched") == "sin lanzar"
    assert translations("en").gettext("not_launched") == "not launched"
    assert translations("en").gettext("Accounts per stage") == "Accounts per stage"


def test_the_labels_cover_every_code() -> None:
    shown = set(labels.STAGES) | set(labels.STATES) | set(labels.BUCKETS) | set(labels.KINDS)
    codes = (
        {str(s) for s in Stage}
        | {str(r) for r in Resolution}
        | set(CAMPAIGN_STATUSES)
        | set(AGENT_TASK_STATUSES)
        | set(DPD_BUCKETS)
        | set(TIMELINE_KINDS)
        | {"paused", "dispute", "error"}  # holds (domain.interpreter)
    )
    assert codes - shown == set()
