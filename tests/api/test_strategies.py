"""The strategists' strategy endpoints against a real database: validation with line and column,
publishing immutable versions (the same content twice is one version), listing, reading, diffing
two versions and simulating a version against a scripted scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from api_harness import Api
from sqlalchemy import func, select

from db.models import StrategyVersion
from strategies.compiler import compile_file

ROOT = Path(__file__).resolve().parents[2]
CL = ROOT / "strategies" / "cl-consumer.yaml"
CL_TEXT = CL.read_text(encoding="utf-8")
PROBLEM = "application/problem+json"
YAML = {"Content-Type": "application/yaml"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    return body


async def publish(api: Api, text: str = CL_TEXT) -> dict[str, Any]:
    response = await api.http.post("/strategies", content=text, headers=api.as_("strategist", **YAML))
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def a_second_version() -> str:
    """cl-consumer with a new step, a changed step, a removed step's replacement and a new template."""
    text = CL_TEXT.replace(
        "      - wait: 3d\n      - send: {channel: sms, template: recordatorio_sms, fallback: [email]}\n"
        "      - wait: 4d\n      - goto: llamada\n\n  # Challenger",
        "      - wait: 2d\n      - send: {channel: sms, template: recordatorio_sms, fallback: [email]}\n"
        "      - wait: 4d\n      - goto: llamada\n\n  # Challenger",
        1,
    )
    assert text != CL_TEXT
    return text.replace(
        "  volver_a_llamar:\n    stage: contact\n    do:\n      - wait: 2d\n",
        "  volver_a_llamar:\n    stage: contact\n    do:\n      - wait: 1d\n",
        1,
    )


class TestValidate:
    async def test_a_shipped_strategy_is_valid_with_its_hash_and_summary(self, api: Api) -> None:
        response = await api.http.post("/strategies/validate", content=CL_TEXT, headers=api.as_("strategist", **YAML))
        assert response.status_code == 200, response.text
        body = response.json()
        expected = compile_file(str(CL)).strategy
        assert body["valid"] is True
        assert (body["strategy_id"], body["hash"], body["currency"], body["policy"]) == (
            "cl-consumer",
            expected.hash,
            "CLP",
            "CL",
        )
        assert body["steps"] == len(expected.steps)
        assert body["segments"] == ["alto_monto", "general"]
        assert body["variants"] == ["champion", "challenger"]
        assert body["published"] is False

    async def test_plain_text_and_json_bodies_are_read_too(self, api: Api) -> None:
        as_text = await api.http.post(
            "/strategies/validate", content=CL_TEXT, headers=api.as_("strategist", **{"Content-Type": "text/plain"})
        )
        as_json = await api.http.post("/strategies/validate", json={"yaml": CL_TEXT}, headers=api.as_("admin"))
        assert as_text.status_code == as_json.status_code == 200
        assert as_text.json()["hash"] == as_json.json()["hash"]

    async def test_broken_yaml_is_a_422_at_its_line_and_column(self, api: Api) -> None:
        text = "id: broken\nname: Broken\nsteps:\n  first:\n    do: [send: {channel: email\n"
        body = problem(
            await api.http.post("/strategies/validate", content=text, headers=api.as_("strategist", **YAML)), 422
        )
        (error,) = body["errors"]
        assert error["line"] == 6
        assert error["column"] == 1
        assert "YAML syntax error" in error["detail"]

    async def test_every_semantic_error_is_placed_in_the_source(self, api: Api) -> None:
        text = CL_TEXT.replace("template: recordatorio}", "template: no_such_template}", 1)
        text = text.replace("currency: CLP", "currency: XXY", 1)
        body = problem(
            await api.http.post("/strategies/validate", content=text, headers=api.as_("strategist", **YAML)), 422
        )
        lines = text.splitlines()
        found = {(e["line"], e["column"]): e["detail"] for e in body["errors"]}
        assert len(found) == 2, body
        for (line, column), detail in found.items():
            source = lines[line - 1]
            if "no_such_template" in detail:
                assert source[column - 1 :].startswith("no_such_template")
            else:
                assert "XXY" in detail
                assert source[column - 1 :].startswith("XXY")
        assert body["detail"] == "The strategy is not valid (2 errors)."

    async def test_unknown_field_names_its_line(self, api: Api) -> None:
        text = CL_TEXT.replace("locale: es-CL", "locale: es-CL\nlocal: es-CL", 1)
        body = problem(
            await api.http.post("/strategies/validate", content=text, headers=api.as_("strategist", **YAML)), 422
        )
        line = text.splitlines().index("local: es-CL") + 1
        assert [(e["line"], e["column"]) for e in body["errors"]] == [(line, 1)]
        assert "local" in body["errors"][0]["detail"]

    async def test_bad_bodies_are_problems_not_crashes(self, api: Api) -> None:
        headers = api.as_("strategist")
        assert (
            await api.http.post("/strategies/validate", content=b"x", headers={**headers, "Content-Type": "image/png"})
        ).status_code == 415
        problem(await api.http.post("/strategies/validate", content=b"", headers={**headers, **YAML}), 422)
        problem(await api.http.post("/strategies/validate", content=b"\xff\xfe", headers={**headers, **YAML}), 400)
        problem(await api.http.post("/strategies/validate", json={"text": "id: x"}, headers=headers), 422)
        problem(await api.http.post("/strategies/validate", content=b"- a\n- b\n", headers={**headers, **YAML}), 422)

    async def test_only_strategists_and_admins_validate(self, api: Api) -> None:
        for who, status in (("supervisor", 403), ("agent", 403)):
            response = await api.http.post("/strategies/validate", content=CL_TEXT, headers=api.as_(who, **YAML))
            problem(response, status)
        problem(await api.http.post("/strategies/validate", content=CL_TEXT, headers=YAML), 401)


class TestPublish:
    async def test_publishing_twice_gives_the_same_version(self, api: Api) -> None:
        first = await api.http.post("/strategies", content=CL_TEXT, headers=api.as_("strategist", **YAML))
        assert first.status_code == 201, first.text
        again = await api.http.post("/strategies", content=CL_TEXT, headers=api.as_("admin", **YAML))
        assert again.status_code == 200, again.text
        assert first.json() == again.json()
        assert first.headers["location"] == f"/strategies/{first.json()['hash']}"
        body = first.json()
        assert body["published_by"] == "sofia"
        assert body["source_yaml"] == CL_TEXT
        with api.sessions() as session:
            assert session.scalar(select(func.count()).select_from(StrategyVersion)) == 1
        validated = await api.http.post("/strategies/validate", content=CL_TEXT, headers=api.as_("strategist", **YAML))
        assert validated.json()["published"] is True

    async def test_an_invalid_strategy_is_not_published(self, api: Api) -> None:
        text = CL_TEXT.replace("goto: llamada", "goto: nowhere", 1)
        body = problem(await api.http.post("/strategies", content=text, headers=api.as_("strategist", **YAML)), 422)
        assert any("nowhere" in e["detail"] for e in body["errors"])
        with api.sessions() as session:
            assert session.scalar(select(func.count()).select_from(StrategyVersion)) == 0

    async def test_supervisors_may_read_but_not_publish(self, api: Api) -> None:
        problem(await api.http.post("/strategies", content=CL_TEXT, headers=api.as_("supervisor", **YAML)), 403)
        published = await publish(api)
        read = await api.http.get(f"/strategies/{published['hash']}", headers=api.as_("supervisor"))
        assert read.status_code == 200
        problem(await api.http.get(f"/strategies/{published['hash']}", headers=api.as_("agent")), 403)


class TestRead:
    async def test_versions_are_listed_in_publication_order_by_page(self, api: Api) -> None:
        first = await publish(api)
        second = await publish(api, a_second_version())
        other = await publish(api, (ROOT / "strategies" / "co-consumer.yaml").read_text(encoding="utf-8"))
        page = await api.http.get("/strategies", params={"limit": 2}, headers=api.as_("strategist"))
        assert page.status_code == 200
        body = page.json()
        assert [v["hash"] for v in body["items"]] == [first["hash"], second["hash"]]
        assert "source_yaml" not in body["items"][0]
        rest = await api.http.get(
            "/strategies", params={"limit": 2, "cursor": body["next_cursor"]}, headers=api.as_("strategist")
        )
        assert [v["hash"] for v in rest.json()["items"]] == [other["hash"]]
        assert rest.json()["next_cursor"] is None
        only = await api.http.get("/strategies", params={"strategy_id": "cl-consumer"}, headers=api.as_("supervisor"))
        assert [v["hash"] for v in only.json()["items"]] == [first["hash"], second["hash"]]

    async def test_one_version_has_its_source_and_unknown_hashes_are_404(self, api: Api) -> None:
        published = await publish(api)
        response = await api.http.get(f"/strategies/{published['hash']}", headers=api.as_("strategist"))
        assert response.json()["source_yaml"] == CL_TEXT
        assert response.json()["policy"] == "CL"
        problem(await api.http.get("/strategies/" + "0" * 64, headers=api.as_("strategist")), 404)
        problem(await api.http.get("/strategies", params={"cursor": "nonsense"}, headers=api.as_("strategist")), 400)


class TestDiff:
    async def test_changed_steps_and_the_source_lines_are_shown(self, api: Api) -> None:
        old = await publish(api)
        new = await publish(api, a_second_version())
        response = await api.http.get(f"/strategies/{old['hash']}/diff/{new['hash']}", headers=api.as_("supervisor"))
        assert response.status_code == 200, response.text
        diff = response.json()
        assert diff["identical"] is False
        assert diff["steps"] == {"added": [], "removed": [], "changed": ["aviso_email", "volver_a_llamar"]}
        assert diff["templates"] == {"added": [], "removed": [], "changed": []}
        assert diff["settings_changed"] == []
        assert "-      - wait: 3d\n+      - wait: 2d\n" in diff["unified_diff"]
        assert diff["unified_diff"].startswith(
            f"--- cl-consumer@{old['hash'][:12]}\n+++ cl-consumer@{new['hash'][:12]}"
        )

    async def test_added_and_removed_steps_and_settings(self, api: Api) -> None:
        old = await publish(api)
        text = CL_TEXT.replace("  volver_a_llamar:\n", "  rellamar:\n", 1).replace(
            "callback_requested: volver_a_llamar", "callback_requested: rellamar", 1
        )
        new = await publish(api, text.replace("grace_days: 2\n", "grace_days: 3\n", 1))
        diff = (
            await api.http.get(f"/strategies/{old['hash']}/diff/{new['hash']}", headers=api.as_("strategist"))
        ).json()
        assert diff["steps"]["added"] == ["rellamar"]
        assert diff["steps"]["removed"] == ["volver_a_llamar"]
        assert "llamada" in diff["steps"]["changed"]  # its outcome now routes to the renamed step
        assert diff["settings_changed"] == ["promises"]

    async def test_a_version_against_itself_is_identical_and_unknown_is_404(self, api: Api) -> None:
        old = await publish(api)
        same = await api.http.get(f"/strategies/{old['hash']}/diff/{old['hash']}", headers=api.as_("strategist"))
        assert same.json()["identical"] is True
        assert same.json()["unified_diff"] == ""
        problem(await api.http.get(f"/strategies/{old['hash']}/diff/{'f' * 64}", headers=api.as_("strategist")), 404)


class TestSimulate:
    async def test_a_scripted_account_gets_a_timeline_in_utc_and_local_time(self, api: Api) -> None:
        published = await publish(api)
        scenario = {
            "account": {"balance": 200000, "email": "ana@example.com", "phone": "+56987654321"},
            "start": "2026-11-02 09:00",
            "days": 30,
            "calls": [{"code": "promise_to_pay", "amount": 200000, "in_days": 5}],
            "events": [{"day": 12, "at": "11:00", "payment": 200000}],
        }
        response = await api.http.post(
            f"/strategies/{published['hash']}/simulate", json=scenario, headers=api.as_("strategist")
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["timezone"] == "America/Santiago"
        assert body["start"] == "2026-11-02T12:00:00Z"  # 09:00 in Santiago's summer time (UTC-3)
        first = body["timeline"][0]
        assert first["at"] == "2026-11-02T12:00:00Z"
        assert first["at_local"] == "2026-11-02T09:00:00-03:00"
        assert (first["kind"], first["step"], first["channel"]) in {
            ("send", "aviso_email", "email"),
            ("send", "aviso_sms", "sms"),
        }
        kinds = [e["kind"] for e in body["timeline"]]
        assert "task" in kinds
        assert "call" in kinds
        assert body["resolution"] == "paid"
        assert (body["balance"], body["paid_total"], body["currency"]) == (0, 200000, "CLP")
        assert body["timeline"][-1]["kind"] == "closed"

    async def test_a_scenario_is_bounded_in_every_part(self, api: Api) -> None:
        """Each list, number and date of a scenario has a bound, so no request holds a thread for
        minutes (100,000 scripted calls ran for more than seven minutes after the client left)."""
        published = await publish(api)
        url = f"/strategies/{published['hash']}/simulate"
        strategist = api.as_("strategist")
        oversized = {
            "/body/calls": {"calls": ["no_answer"] * 501},
            "/body/events": {"events": [{"day": 1, "payment": 1}] * 1_001},
            "/body/days": {"days": 3_651},
            "/body/events/0/day": {"events": [{"day": 100_000, "payment": 1}]},
            "/body/calls/0/function-after[_exactly_one(), CallDoc]/installments": {
                "calls": [{"code": "payment_plan", "installments": 10_000}]
            },
            "/start": {"start": "9999-12-30 09:00"},
        }
        for pointer, scenario in oversized.items():
            body = problem(await api.http.post(url, json=scenario, headers=strategist), 422)
            pointers = [e["pointer"] for e in body["errors"]]
            assert any(p.startswith(pointer.split("/function")[0]) for p in pointers), (pointer, body)

    async def test_a_strategy_that_wakes_every_minute_stops_at_the_turn_budget(self, api: Api) -> None:
        text = """id: every-minute
name: Every minute
locale: es-CL
currency: CLP
timezone: America/Santiago
policy: {preset: NONE}
segments:
  - {name: all, start: tick}
steps:
  tick:
    stage: outreach
    do:
      - wait: 1min
      - goto: tick
"""
        published = await publish(api, text)
        url = f"/strategies/{published['hash']}/simulate"
        answer = await api.http.post(url, json={"days": 3650}, headers=api.as_("strategist"))
        assert answer.status_code == 200, answer.text[:300]
        body = answer.json()
        assert body["stopped"].startswith("stopped after 5,000 turns")
        assert body["timeline"][-1]["kind"] == "stopped"

    async def test_bad_scenarios_are_422_with_where(self, api: Api) -> None:
        published = await publish(api)
        url = f"/strategies/{published['hash']}/simulate"
        body = problem(await api.http.post(url, json={"account": {"balance": -5}}, headers=api.as_("strategist")), 422)
        assert body["errors"][0]["pointer"] == "/account/balance"
        body = problem(await api.http.post(url, json={"start": "tomorrow"}, headers=api.as_("strategist")), 422)
        assert body["errors"][0]["pointer"] == "/start"
        body = problem(await api.http.post(url, json={"days": 0}, headers=api.as_("strategist")), 422)
        assert body["errors"][0]["pointer"] == "/body/days"
        body = problem(
            await api.http.post(
                url, json={"events": [{"day": 1, "payment": 5, "pause": True}]}, headers=api.as_("admin")
            ),
            422,
        )
        problem(
            await api.http.post(url, json={"account": {"timezone": "Mars/Olympus"}}, headers=api.as_("strategist")), 422
        )
        problem(await api.http.post(f"/strategies/{'a' * 64}/simulate", json={}, headers=api.as_("strategist")), 404)


class TestWhatIf:
    """The strategist's what-if analysis (issue 13): many accounts through a published version."""

    async def test_split_by_variant_and_segment_beside_the_baseline_and_another_version(self, api: Api) -> None:
        published = await publish(api)
        other = await publish(api, a_second_version())
        asked = {
            "accounts": 60,
            "days": 60,
            "seed": 5,
            "start": "2026-11-02 09:00",
            "compare_with": other["hash"],
            "portfolio": {"balance": {"min": "50,000", "max": "9,000,000"}, "behaviour": {"self_cure": 0.2}},
        }
        url = f"/strategies/{published['hash']}/what-if"
        response = await api.http.post(url, json=asked, headers=api.as_("strategist"))
        assert response.status_code == 200, response.text
        body = response.json()
        overall = body["strategy"]["overall"]
        assert overall["accounts"] == 60
        assert [p["day"] for p in overall["recovery_curve"]] == [7, 30, 60]
        assert overall["placed"]["shown"].startswith("$")
        assert {f["name"] for f in body["strategy"]["by_segment"]} == {"alto_monto", "general"}
        assert sum(f["accounts"] for f in body["strategy"]["by_variant"]) == 60
        assert sum(overall["outcomes"].values()) == overall["calls"]  # calls by outcome code
        assert body["baseline"]["overall"]["cost"]["minor"] == 0
        assert body["other"]["hash"] == other["hash"]
        assert "paired" in body["comparison"]["method"]
        again = await api.http.post(url, json=asked, headers=api.as_("strategist"))
        assert again.json() == body  # the same seed, the same report

    async def test_an_import_file_runs_as_it_is(self, api: Api) -> None:
        published = await publish(api)
        csv = (
            "account_id,country,currency,balance,due_date,email,timezone,consent\n"
            "CL-1,CL,CLP,150000,2026-10-01,ana@example.com,America/Santiago,yes\n"
            "CL-2,CL,CLP,90000,2026-10-11,luis@example.com,America/Santiago,yes\n"
        )
        url = f"/strategies/{published['hash']}/what-if"
        asked = {"accounts_csv": csv, "start": "2026-11-02 09:00", "days": 30}
        response = await api.http.post(url, json=asked, headers=api.as_("strategist"))
        assert response.status_code == 200, response.text
        body = response.json()
        assert (body["portfolio"], body["accounts"]) == ("import file", 2)
        assert body["strategy"]["overall"]["placed"]["minor"] == 240000
        bad = {"accounts_csv": csv.replace("90000", "ninety"), "start": "2026-11-02 09:00"}
        body = problem(await api.http.post(url, json=bad, headers=api.as_("strategist")), 422)
        assert body["errors"][0]["pointer"] == "/rows/2/balance"

    async def test_bounded_and_refused_with_where(self, api: Api) -> None:
        published = await publish(api)
        url = f"/strategies/{published['hash']}/what-if"
        strategist = api.as_("strategist")
        refused = {
            "/body/accounts": {"accounts": 5_001},
            "/body/days": {"days": 731},
            "/body/portfolio/behaviour/answer": {"portfolio": {"behaviour": {"answer": 2}}},
            "/body/portfolio/chanels": {"portfolio": {"chanels": {}}},
            "/body/compare_with": {"compare_with": "nope"},
            "/portfolio/balance/min": {"portfolio": {"balance": {"min": "10.5"}}},  # CLP has no decimals
            # A code of the strategy's own that no agent task of this one allows.
            "/portfolio/behaviour/outcomes/deceased": {"portfolio": {"behaviour": {"outcomes": {"deceased": 0.1}}}},
            "/start": {"start": "tomorrow"},
        }
        for pointer, asked in refused.items():
            body = problem(await api.http.post(url, json=asked, headers=strategist), 422)
            assert any(e["pointer"].startswith(pointer) for e in body["errors"]), (pointer, body)
        problem(await api.http.post(url, json={"compare_with": "b" * 64}, headers=strategist), 404)
        problem(await api.http.post(f"/strategies/{'a' * 64}/what-if", json={}, headers=strategist), 404)
        problem(await api.http.post(url, json={}, headers=api.as_("agent")), 403)
