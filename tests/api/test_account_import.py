"""Reading account files, without a database: each column's rules, the problems named by row and
field, exact money conversion, E.164 phone numbers and the time zone chain (explicit, region,
phone, country)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from api.account_import import (
    MAX_COLUMNS,
    FileUnreadable,
    ImportedAccount,
    ParsedRows,
    RowProblem,
    parse_csv,
    parse_json,
    parse_row,
    zones,
)
from api.schemas.account_rows import AccountRow
from domain.types import Channel

# The import's day: every check relative to it is pinned, never the day the suite runs.
TODAY = date(2026, 11, 30)

BASE = {
    "account_id": "CL-1",
    "debtor_name": "Ana Pérez",
    "country": "CL",
    "currency": "CLP",
    "balance": "150000",
    "due_date": "2026-10-01",
    "email": "ana@example.com",
    "phone": "9 8765 4321",
    "consent": "sí",
}


def row(**changes: Any) -> ImportedAccount | list[RowProblem]:
    record = {**BASE, **changes}
    return parse_row(1, {k: v for k, v in record.items() if v is not None}, today=TODAY)


def ok(**changes: Any) -> ImportedAccount:
    result = row(**changes)
    assert isinstance(result, ImportedAccount), result
    return result


def problems(**changes: Any) -> dict[str | None, str]:
    result = row(**changes)
    assert isinstance(result, list), f"expected problems, got {result}"
    return {p.field: p.detail for p in result}


class TestMoney:
    @pytest.mark.parametrize(
        ("currency", "text", "minor"),
        [("CLP", "150000", 150000), ("CLP", "1500.00", 1500), ("USD", "1500.5", 150050), ("USD", "0.01", 1)],
    )
    def test_major_units_become_exact_minor_units(self, currency: str, text: str, minor: int) -> None:
        country = "CL" if currency == "CLP" else "US"
        phone = "9 8765 4321" if country == "CL" else "+1 212 555 1234"
        account = ok(currency=currency, balance=text, country=country, phone=phone).record.snapshot
        assert (account.balance, account.original_amount, account.currency) == (minor, minor, currency)

    def test_json_numbers_are_read_exactly(self) -> None:
        parsed = parse_json(json.dumps([{**BASE, "currency": "CLP", "balance": 150000}]).encode(), today=TODAY)
        assert parsed.accounts[0].record.snapshot.balance == 150000
        usd = {**BASE, "country": "US", "phone": "+12125551234", "currency": "USD"}
        parsed = parse_json(b"[%s]" % json.dumps(usd).replace('"150000"', "1234.56").encode(), today=TODAY)
        assert parsed.accounts[0].record.snapshot.balance == 123456

    def test_more_decimals_than_the_currency_has_are_refused(self) -> None:
        assert problems(balance="1500.5") == {"balance": "1500.5 has more decimals than CLP allows (no decimals)"}
        found = problems(currency="USD", country="US", phone="+12125551234", balance="10.005")
        assert found == {"balance": "10.005 has more decimals than USD allows (at most 2 decimals)"}

    def test_negative_zero_and_malformed_amounts(self) -> None:
        assert problems(balance="-5") == {"balance": "must not be negative (got -5)"}
        assert "greater than zero" in problems(balance="0")["balance"]
        assert "major units" in problems(balance="1.500,00")["balance"]
        assert "major units" in problems(balance="1e6")["balance"]
        assert problems(original_amount="-1") == {"original_amount": "must not be negative (got -1)"}

    def test_unknown_currency_and_another_strategys_currency(self) -> None:
        assert problems(currency="XYZ") == {"currency": "'XYZ' is not an ISO 4217 currency code"}
        result = parse_row(1, {**BASE, "currency": "USD", "balance": "10"}, "CLP", today=TODAY)
        assert isinstance(result, list)
        assert [(p.field, p.detail) for p in result] == [
            ("currency", "USD differs from the campaign strategy's currency CLP")
        ]


class TestContacts:
    def test_phone_numbers_are_read_in_the_country_and_stored_as_e164(self) -> None:
        account = ok(phone="(9) 8765-4321", whatsapp="+56 9 6123 4567").record
        assert account.snapshot.phone == "+56987654321"
        assert account.snapshot.whatsapp == "+56961234567"
        assert {(c.channel, c.address) for c in account.contacts} == {
            (Channel.EMAIL, "ana@example.com"),
            (Channel.SMS, "+56987654321"),
            (Channel.VOICE, "+56987654321"),
            (Channel.WHATSAPP, "+56961234567"),
        }

    def test_bad_phone_numbers_are_refused(self) -> None:
        assert problems(phone="+56912345678") == {"phone": "'+56912345678' is not a valid phone number"}
        assert "is not a phone number" in problems(phone="call me")["phone"]
        assert problems(whatsapp="12") == {"whatsapp": "'12' is not a valid phone number for CL"}

    def test_bad_emails_are_refused_and_domains_lowered(self) -> None:
        for bad in ("ana@", "ana.example.com", "ana@@example.com", "a b@example.com", "ana@example", "a..b@x.cl"):
            assert problems(email=bad) == {"email": f"{bad!r} is not a valid email address"}, bad
        assert ok(email="Ana.Perez+cobro@Example.CL").record.snapshot.email == "Ana.Perez+cobro@example.cl"

    def test_consent_is_required_for_each_electronic_channel(self) -> None:
        found = row(consent=None)
        assert isinstance(found, list)
        assert [(p.field, p.detail) for p in found] == [
            ("consent", "consent (yes or no) is required for email at ana@example.com"),
            ("consent", "consent (yes or no) is required for sms at +56987654321"),
        ]
        # A row with only a postal address needs none: letters and calls are not consented channels.
        letter = ok(consent=None, email=None, phone=None, postal_address="Av. Providencia 1234", region="RM")
        assert letter.record.snapshot.opted_out == ()
        assert problems(consent="maybe") == {"consent": "expected yes or no, got 'maybe'"}

    def test_no_consent_keeps_the_address_but_the_channel_starts_opted_out(self) -> None:
        account = ok(consent="no", email_consent="yes").record
        assert account.snapshot.opted_out == (Channel.SMS,)
        consents = {c.channel: c.consent for c in account.contacts}
        assert consents == {Channel.EMAIL: True, Channel.SMS: False, Channel.VOICE: True}


class TestTimeZone:
    def test_an_explicit_zone_wins_and_must_exist(self) -> None:
        assert ok(timezone="America/Punta_Arenas", region="RM").record.snapshot.timezone == "America/Punta_Arenas"
        assert problems(timezone="Chile/Nowhere") == {
            "timezone": "'Chile/Nowhere' is not an IANA time zone (like America/Santiago)"
        }

    @pytest.mark.parametrize(
        ("region", "zone"),
        [
            ("Magallanes", "America/Punta_Arenas"),
            ("Región de Magallanes y de la Antártica Chilena", "America/Punta_Arenas"),
            ("CL-MA", "America/Punta_Arenas"),
            ("Isla de Pascua", "Pacific/Easter"),
            ("Región Metropolitana", "America/Santiago"),
            ("Ñuble", "America/Santiago"),
            ("biobío", "America/Santiago"),
        ],
    )
    def test_chilean_regions(self, region: str, zone: str) -> None:
        assert ok(region=region, phone=None, consent="yes").record.snapshot.timezone == zone

    def test_aysen_follows_its_own_zone_where_the_database_knows_it(self) -> None:
        expected = "America/Coyhaique" if "America/Coyhaique" in zones() else "America/Santiago"
        assert ok(region="Aysén", phone=None).record.snapshot.timezone == expected

    @pytest.mark.parametrize(
        ("country", "region", "zone"),
        [
            ("US", "NY", "America/New_York"),
            ("US", "California", "America/Los_Angeles"),
            ("MX", "Quintana Roo", "America/Cancun"),
            ("MX", "SON", "America/Hermosillo"),
        ],
    )
    def test_us_and_mexican_states(self, country: str, region: str, zone: str) -> None:
        currency = "USD" if country == "US" else "MXN"
        account = ok(country=country, currency=currency, region=region, phone=None).record.snapshot
        assert account.timezone == zone

    def test_the_region_is_read_before_the_phone(self) -> None:
        # The phone numbering plan puts every Chilean mobile in Santiago; the address knows better.
        assert ok(region="Magallanes").record.snapshot.timezone == "America/Punta_Arenas"

    def test_without_a_region_the_phone_number_decides(self) -> None:
        assert ok().record.snapshot.timezone == "America/Santiago"
        us = ok(country="US", currency="USD", phone="+1 213 555 0100").record.snapshot
        assert us.timezone == "America/Los_Angeles"

    def test_a_split_state_needs_the_phone_or_an_explicit_zone(self) -> None:
        texas = {"country": "US", "currency": "USD", "region": "TX"}
        assert ok(**texas, phone="+1 214 555 0100").record.snapshot.timezone == "America/Chicago"
        found = problems(**texas, phone=None, email="ana@example.com")
        assert found == {
            "timezone": "cannot tell the debtor's time zone: region 'TX' keeps more than one local time and no "
            "phone number settles it; add a timezone column with its IANA name"
        }

    def test_a_single_zone_country_needs_nothing_more(self) -> None:
        colombian = ok(country="CO", currency="COP", phone=None).record.snapshot
        assert colombian.timezone == "America/Bogota"

    def test_unknown_region_and_a_country_of_many_zones(self) -> None:
        assert problems(region="Atlantis") == {
            "region": "'Atlantis' is not a region of CL we know; give a timezone column instead"
        }
        found = problems(phone=None)
        assert "CL has several time zones" in found["timezone"]


class TestRows:
    def test_a_good_row_becomes_the_workflow_snapshot(self) -> None:
        record = ok(debtor_id="RUT-12345678-9", tags="vip; tramo-2", risk_score="0.35", locale="es-CL").record
        snap = record.snapshot
        assert record.debtor_external_id == "RUT-12345678-9"
        assert (snap.account_id, snap.debtor_name, snap.country, snap.locale) == ("CL-1", "Ana Pérez", "CL", "es-CL")
        assert str(snap.due_date) == "2026-10-01"
        assert snap.tags == ("vip", "tramo-2")
        assert snap.risk_score == 0.35

    def test_every_problem_of_a_row_is_reported_with_its_field(self) -> None:
        found = problems(account_id=None, country="Chile", due_date="01/10/2026", locale="xx-YY-ZZ")
        assert set(found) == {"account_id", "country", "due_date", "locale"}
        assert found["account_id"] == "is required"
        assert found["country"] == "'CHILE' is not an ISO 3166 alpha-2 country code"
        assert found["due_date"] == "expected an ISO date like 2026-10-15, got '01/10/2026'"

    def test_csv_rows_are_numbered_from_the_first_account(self) -> None:
        data = (
            b"Account ID;Country;Currency;Balance;Due Date;Phone;Consent;Notes\n"
            b"A-1;CL;CLP;1000;2026-10-01;+56987654321;yes;first\n"
            b"\n"
            b"A-2;CL;CLP;-3;2026-10-01;+56987654321;yes;second\n"
        )
        parsed = parse_csv(data, today=TODAY)
        assert [a.external_id for a in parsed.accounts] == ["A-1"]
        assert parsed.problems == [RowProblem(2, "A-2", "balance", "must not be negative (got -3)")]
        assert parsed.ignored_columns == ["notes"]
        assert parsed.rows == 2

    def test_a_row_longer_than_its_header(self) -> None:
        data = b"account_id,country,currency,balance,due_date\nA-1,CO,COP,1000,2026-10-01,extra\n"
        assert parse_csv(data, today=TODAY).problems == [
            RowProblem(1, "A-1", None, "has 1 more values than the header has columns")
        ]

    @pytest.mark.parametrize(
        ("data", "status", "words"),
        [
            (b"", 422, "empty"),
            (b"account_id,country\nA,CL\n", 422, "lacks the required columns currency, balance, due_date"),
            (b"\xff\xfeaccount", 400, "not UTF-8"),
            (b"account_id,account_id,country,currency,balance,due_date\n", 422, "more than once"),
        ],
    )
    def test_unreadable_csv_files(self, data: bytes, status: int, words: str) -> None:
        with pytest.raises(FileUnreadable) as caught:
            parse_csv(data, today=TODAY)
        assert caught.value.status == status
        assert words in caught.value.detail

    def test_json_files(self) -> None:
        mixed: ParsedRows = parse_json(
            json.dumps([BASE, {**BASE, "balance": True}, {**BASE, "tags": {}}]).encode(), today=TODAY
        )
        assert [(p.row, p.field, p.detail) for p in mixed.problems] == [
            (2, "balance", "expected text, got a boolean"),
            (3, "tags", "expected text, got an object"),
        ]
        with pytest.raises(FileUnreadable, match="Item 2 of the list is a string, not an account object"):
            parse_json(json.dumps([BASE, "nope"]).encode(), today=TODAY)
        for bad in (b"{", b'{"accounts": []}', b"3", b"1" * 5000):
            with pytest.raises(FileUnreadable) as caught:
                parse_json(bad, today=TODAY)
            assert caught.value.status == 422


class TestTypedJsonRows:
    """The JSON form's declared types (AccountRow, what generated clients send) are read as the
    CSV's text is: the same account, and the same problems in the same row."""

    TYPED = AccountRow(
        account_id="CL-7",
        country="CL",
        currency="CLP",
        balance=150000,
        due_date=date(2026, 10, 1),
        debtor_id="RUT-7",
        debtor_name="Ana Pérez",
        original_amount="200000",
        email="ana@example.com",
        phone="9 8765 4321",
        whatsapp="+56 9 8765 4322",
        postal_address="Av. Providencia 1234, Santiago",
        consent=True,
        email_consent=False,
        sms_consent=None,
        whatsapp_consent=True,
        timezone="America/Santiago",
        region="Metropolitana",
        locale="es-CL",
        tags=["vip", "tramo-2"],
        risk_score=0.35,
        payments_count=3,
        promises_kept=2,
        promises_broken=1,
    )
    AS_TEXT = (
        "account_id,country,currency,balance,due_date,debtor_id,debtor_name,original_amount,email,phone,whatsapp,"
        "postal_address,consent,email_consent,sms_consent,whatsapp_consent,timezone,region,locale,tags,risk_score,"
        "payments_count,promises_kept,promises_broken\n"
        "CL-7,CL,CLP,150000,2026-10-01,RUT-7,Ana Pérez,200000,ana@example.com,9 8765 4321,+56 9 8765 4322,"
        '"Av. Providencia 1234, Santiago",sí,no,,yes,America/Santiago,Metropolitana,es-CL,vip;tramo-2,0.35,3,2,1\n'
    )

    def test_every_typed_field_reads_as_its_csv_text(self) -> None:
        as_json = parse_json(f"[{self.TYPED.model_dump_json()}]".encode(), today=TODAY)
        as_csv = parse_csv(self.AS_TEXT.encode(), today=TODAY)
        assert as_json.problems == as_csv.problems == []
        assert as_json.accounts == as_csv.accounts
        snap = as_json.accounts[0].record.snapshot
        assert (snap.balance, snap.original_amount, snap.payments_count, snap.tags) == (
            150000,
            200000,
            3,
            ("vip", "tramo-2"),
        )
        assert snap.opted_out == (Channel.EMAIL,)

    def test_the_same_mistakes_are_the_same_problems_in_the_same_row(self) -> None:
        wrong = self.TYPED.model_copy(update={"balance": "-5", "country": "Chile", "payments_count": -1})
        as_json = parse_json(f"[{wrong.model_dump_json()}]".encode(), today=TODAY)
        as_csv = parse_csv(
            self.AS_TEXT.replace(",150000,", ",-5,")
            .replace("CL-7,CL,", "CL-7,Chile,")
            .replace(",3,2,1", ",-1,2,1")
            .encode(),
            today=TODAY,
        )
        assert {p.field for p in as_json.problems} == {"balance", "country", "payments_count"}
        assert as_json.problems == as_csv.problems

    def test_unknown_keys_are_reported_and_ignored(self) -> None:
        row = AccountRow.model_validate({**self.TYPED.model_dump(mode="json"), "segmento": "A"})
        parsed = parse_json(f"[{row.model_dump_json()}]".encode(), today=TODAY)
        assert parsed.ignored_columns == ["segmento"]
        assert [a.external_id for a in parsed.accounts] == ["CL-7"]


REQUIRED_HEADER = ["account_id", "country", "currency", "balance", "due_date"]


class TestHeaders:
    """Headers are checked in one pass and refused with a bounded message, however many columns."""

    @pytest.mark.parametrize(
        "extra",
        [
            [f"unknown_{i}" for i in range(20_000)],  # 20,000 different unknown columns
            ["notes"] * 20_000,  # one unknown column, 20,000 times
            ["account_id"] * 20_000,  # a known column, 20,000 times
        ],
        ids=["distinct", "repeated-unknown", "repeated-known"],
    )
    def test_a_header_of_twenty_thousand_columns_is_refused_with_a_bounded_report(self, extra: list[str]) -> None:
        header = ",".join(REQUIRED_HEADER + extra)
        data = f"{header}\nA-1,CL,CLP,1000,2026-10-01\n".encode()
        with pytest.raises(FileUnreadable) as caught:
            parse_csv(data, today=TODAY)
        assert caught.value.status == 422
        detail = caught.value.detail
        assert f"has {20_005} columns; an account file has at most {MAX_COLUMNS}" in detail
        assert len(detail) < 1_500  # names a few columns, never all of them
        listed = detail.split("(", 1)[1].split(")", 1)[0]
        assert len(listed.split(", ")) <= 11

    def test_json_objects_of_twenty_thousand_keys_are_refused(self) -> None:
        item = {**BASE, **{f"k{i}": "x" for i in range(20_000)}}
        with pytest.raises(FileUnreadable, match=r"Item 1 of the list has 20009 keys; an account object has at most"):
            parse_json(json.dumps([item]).encode(), today=TODAY)

    def test_many_doubled_columns_are_named_in_a_bounded_message(self) -> None:
        doubled = [f"c{i}" for i in range(200)] * 2
        data = (",".join(REQUIRED_HEADER + doubled) + "\n").encode()
        with pytest.raises(FileUnreadable) as caught:
            parse_csv(data, today=TODAY)
        assert "c0, c1, c10" in caught.value.detail
        assert "and 190 more more than once" in caught.value.detail

    def test_up_to_the_limit_unknown_columns_are_ignored_and_reported(self) -> None:
        extra = [f"x{i}" for i in range(MAX_COLUMNS - 5)]
        data = (",".join(REQUIRED_HEADER + extra) + "\nA-1,CO,COP,1000,2026-10-01\n").encode()
        parsed = parse_csv(data, today=TODAY)
        assert [a.external_id for a in parsed.accounts] == ["A-1"]
        assert len(parsed.ignored_columns) == MAX_COLUMNS - 5


class TestPlausibleValues:
    """Values that parse but cannot be true are refused, relative to the import's day (injected)."""

    @pytest.mark.parametrize(
        "due",
        ["9999-12-31", "0001-01-01", "2036-12-01", "1976-11-29", "2200-01-01"],
    )
    def test_implausible_due_dates_are_refused_with_the_window(self, due: str) -> None:
        detail = problems(due_date=due)["due_date"]
        assert detail.startswith(f"{due} is not a plausible due date")
        assert "between 1976-11-30 and 2036-11-30" in detail
        assert "2026-11-30" in detail

    @pytest.mark.parametrize("due", ["1976-11-30", "2000-02-29", "2026-11-30", "2036-11-30"])
    def test_due_dates_inside_the_window_are_read(self, due: str) -> None:
        assert ok(due_date=due).record.snapshot.due_date == date.fromisoformat(due)

    def test_the_window_moves_with_the_import_day_not_the_clock(self) -> None:
        record = {**BASE, "due_date": "2030-06-01"}
        assert isinstance(parse_row(1, record, today=date(2026, 11, 30)), ImportedAccount)
        assert isinstance(parse_row(1, record, today=date(2010, 1, 1)), list)
        # A leap day as the import's day: the window ends on 28 February.
        assert "and 2034-02-28" in problems_on(date(2024, 2, 29), due_date="2034-03-01")["due_date"]

    @pytest.mark.parametrize("country", ["ZZ", "XK", "UK", "EU", "AA", "QO", "XX"])
    def test_codes_that_are_not_assigned_iso_3166_countries_are_refused(self, country: str) -> None:
        assert problems(country=country)["country"] == f"{country!r} is not an ISO 3166 alpha-2 country code"

    @pytest.mark.parametrize("code", ["BGN", "XAU", "XTS", "DEM", "CNH"])
    def test_currencies_that_are_not_money_today_are_refused_with_why(self, code: str) -> None:
        detail = problems(currency=code)["currency"]
        assert code in detail
        assert "ISO 4217" in detail


def problems_on(today: date, **changes: Any) -> dict[str | None, str]:
    result = parse_row(1, {**BASE, **changes}, today=today)
    assert isinstance(result, list), f"expected problems, got {result}"
    return {p.field: p.detail for p in result}
