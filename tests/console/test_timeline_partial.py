"""The account timeline's partial renders every kind of entry the repository writes, with any of
its optional details missing: the console's templates fail on an undefined name (StrictUndefined),
so a detail some entries lack (a message's preview, a step's stage) must be asked for as optional."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from console.i18n import LANGUAGES, Formats
from console.templating import environment
from db.repositories.timeline import _RANK as TIMELINE_KINDS
from db.repositories.timeline import Entry

AT = datetime(2026, 11, 2, 13, tzinfo=UTC)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_kind_renders_with_and_without_its_optional_details(lang: str) -> None:
    bare = [Entry(at=AT, kind=kind, who=None, summary=f"{kind} happened") for kind in TIMELINE_KINDS]
    full = [
        Entry(at=AT, kind=kind, who="ana", summary=f"{kind} again", details={"preview": "Hola — 1", "stage": "contact"})
        for kind in TIMELINE_KINDS
    ]
    html = (
        environment(lang)
        .get_template("partials/timeline.html")
        .render(timeline=bare + full, debtor=SimpleNamespace(timezone="America/Santiago"), fmt=Formats(lang))
    )
    assert html.count("<li data-kind=") == 2 * len(TIMELINE_KINDS)
    assert html.count('<q class="preview">Hola — 1</q>') == len(TIMELINE_KINDS)
