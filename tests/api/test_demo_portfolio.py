"""The demo portfolio through the API's own import, as `collect up` sends it: a strategist
publishes the demo strategy, creates a campaign and imports a generated Chilean file; every row
is accepted, with the RUT as the debtor's id, the phone in E.164 and the consent as given."""

from __future__ import annotations

from pathlib import Path

from api_harness import Api
from clock import TEST_TODAY
from sqlalchemy import select

from db.models import Account, ContactPoint, Debtor
from stack import portfolio

DEMO = Path(__file__).resolve().parents[2] / "strategies" / "demo.yaml"


async def test_a_generated_portfolio_is_imported_whole(api: Api) -> None:
    yaml = {"Content-Type": "application/yaml"}
    published = await api.http.post("/strategies", content=DEMO.read_bytes(), headers=api.as_("strategist", **yaml))
    assert published.status_code == 201, published.text
    created = await api.http.post(
        "/campaigns",
        json={"id": "demo", "name": "Demo", "strategy_hash": published.json()["hash"], "creditor_name": "Tienda"},
        headers=api.as_("strategist"),
    )
    assert created.status_code == 201, created.text
    rows = portfolio.generate(120, "CL", 11, TEST_TODAY)

    answer = await api.http.post(
        "/campaigns/demo/accounts",
        content=portfolio.to_csv(rows).encode(),
        headers=api.as_("strategist", **{"Content-Type": "text/csv"}),
    )

    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert (report["rows"], report["accepted"], report["rejected"], report["ignored_columns"]) == (120, 120, [], [])
    with api.sessions() as session:
        first = rows[0]
        account = session.scalars(select(Account).where(Account.external_id == first["account_id"])).one()
        debtor = session.get(Debtor, account.debtor_id)
        assert debtor is not None
        assert (debtor.external_id, debtor.name) == (first["debtor_id"], first["debtor_name"])
        assert account.balance == int(first["balance"])  # CLP: the file's pesos are the minor units
        sms = session.scalars(
            select(ContactPoint).where(ContactPoint.debtor_id == debtor.id, ContactPoint.channel == "sms")
        ).one()
        assert sms.address == "+56" + first["phone"].removeprefix("+56").replace(" ", "")
        refused = [r for r in rows if r["consent"] == "no"]
        assert refused, "the seed gives a few debtors who refused consent"
        opted = session.scalars(
            select(Account.snapshot_json).where(Account.external_id.in_([r["account_id"] for r in refused]))
        ).all()
        assert all(snap["opted_out"] for snap in opted)
