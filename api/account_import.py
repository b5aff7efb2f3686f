"""Reading a creditor's account file (CSV or JSON) into validated account snapshots, one row at a
time, with every problem named by row and field. Pure: no database, no clock.

Columns (CSV header, or keys of each JSON object, typed in api/schemas/account_rows.py as
`AccountRow`; names are case-insensitive):

* `account_id` (required): the creditor's id for the account; re-importing it updates, never duplicates.
  `debtor_id`: the creditor's id for the person (default: the account id). `debtor_name`.
  A row may create a debtor or update one whose accounts are all in this campaign; a row that
  would change the name, country, time zone, locale, addresses or consent of a debtor with an
  account in another campaign is refused (naming each such field), and the debtor stays as it is.
  No import clears a debtor's opt-out.
* `country` (required): ISO 3166 alpha-2. `currency` (required): ISO 4217, the strategy's currency.
* `balance` (required), `original_amount` (default: the balance): decimal amounts in MAJOR units
  ("1500.00" USD, "150000" CLP), converted exactly to minor units; more decimals than the currency
  has, negative or zero balances are refused. `due_date` (required): ISO date (YYYY-MM-DD), no more
  than 50 years before and 10 years after the day of the import.
* `email`, `phone`, `whatsapp` (phones are read with the country as region and stored as E.164),
  `postal_address`.
* Consent: `consent` (yes/no, true/false, 1/0, sí/no) applies to every electronic channel the row
  gives (email, SMS and WhatsApp); `email_consent`, `sms_consent`, `whatsapp_consent` override it
  per channel. A row giving an email or phone without a consent answer for it is refused; "no"
  keeps the address but the channel is never used (it starts opted out). Calls and letters need none.
* Time zone: `timezone` (IANA) if given; else from `region` (a state or region of the US, Chile or
  Mexico, by name or ISO 3166-2 code); else from the phone number when it points at one zone; else
  the country's zone when it has only one. A region that keeps two local times (Texas, Tamaulipas)
  decides nothing on its own.
* Optional: `locale`, `tags` (`;`-separated in CSV, a list in JSON), `risk_score`, `payments_count`,
  `promises_kept`, `promises_broken`.

Unknown columns are reported and ignored; a header (or JSON object) of more than 500 columns
is refused as a whole, checked in one pass. Rows are numbered from 1 (the first account) in both formats.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any
from zoneinfo import available_timezones

import phonenumbers
from babel.core import get_global
from phonenumbers import timezone as phone_timezone
from pydantic import ValidationError

from api.schemas.account_rows import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from api.schemas.dates import years_from
from db.repositories.campaigns import AccountRecord, ContactRecord
from domain.account import AccountSnapshot
from domain.countries import is_country
from domain.money import refusal as currency_refusal
from domain.money import to_minor
from domain.types import Channel
from strategies.rendering import check_locale

# The columns, in the order messages list them: the JSON row's fields (api/schemas/account_rows.py).
REQUIRED = REQUIRED_COLUMNS
OPTIONAL = OPTIONAL_COLUMNS
KNOWN = frozenset(REQUIRED + OPTIONAL)
ALIASES = {"external_id": "account_id", "name": "debtor_name", "state": "region", "time_zone": "timezone"}
# The channels consent covers, and the column holding the address each uses.
CONSENTED = {Channel.EMAIL: "email", Channel.SMS: "phone", Channel.WHATSAPP: "whatsapp"}
YES = frozenset({"yes", "y", "true", "t", "1", "si", "sí", "s"})
NO = frozenset({"no", "n", "false", "f", "0"})
MAX_ID = 100
# Far more than any export carries (the product reads 24); a file beyond it is not an account file.
MAX_COLUMNS = 500
# Names shown when a header is refused: enough to recognise the file, bounded whatever it holds.
SHOWN = 10
# Due dates an account file may hold, in years around the day of the import: older debts are
# beyond any limitation period, later ones are not debts yet (and 9999-12-31 is a typo).
DUE_YEARS_BEFORE, DUE_YEARS_AFTER = 50, 10
MAX_RISK = 1_000_000
MAX_TEXT = 500
# Far beyond any real debt, well inside a 64-bit column.
MAX_MINOR = 10**15
AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
COUNT = re.compile(r"^[0-9]+$")
# RFC 5321 limits and the common-sense shape of an address; deliverability is the bounce's job.
EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


class FileUnreadable(Exception):
    """The file as a whole cannot be read (no header, not JSON, wrong encoding): a 4xx, not a report."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class RowProblem:
    row: int
    external_id: str | None
    field: str | None
    detail: str


@dataclass(frozen=True)
class ImportedAccount:
    """One valid row: what to write (the workflow's starting snapshot, its debtor and contact points)."""

    row: int
    record: AccountRecord

    @property
    def external_id(self) -> str:
        return self.record.snapshot.account_id


@dataclass
class ParsedRows:
    """What a file yielded: valid rows, problems, and the columns nobody reads."""

    accounts: list[ImportedAccount] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    rows: int = 0


# ---- files -------------------------------------------------------------------------------------


def _column(name: str) -> str:
    key = name.strip().lstrip("\ufeff").strip().lower().replace(" ", "_").replace("-", "_")
    return ALIASES.get(key, key)


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileUnreadable(400, f"The file is not UTF-8 text (byte {exc.start} cannot be read).") from None


def read_csv(data: bytes) -> tuple[list[str], Iterator[tuple[dict[str, Any], int]]]:
    """The header's column names, and each record (keyed by them) with its count of surplus values."""
    text = _text(data)
    if not text.strip():
        raise FileUnreadable(422, "The file is empty: expected a header row and one row per account.")
    # Spreadsheets in Chile and Mexico export with ";" (the comma is their decimal mark): the
    # header line, which holds no amounts, tells the separator. (csv.Sniffer guesses from data
    # and can take an apostrophe, as in O'Higgins, for a quote character.)
    first = text.splitlines()[0]
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        header = [_column(name) for name in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise FileUnreadable(422, f"The header row cannot be read: {exc}") from None
    check_columns(header, "The header row")

    def records() -> Iterator[tuple[dict[str, Any], int]]:
        try:
            for values in reader:
                if not any(value.strip() for value in values):
                    continue  # blank lines, common at the end of exported files
                yield dict(zip(header, values, strict=False)), max(0, len(values) - len(header))
        except csv.Error as exc:
            raise FileUnreadable(422, f"The CSV breaks at line {reader.line_num}: {exc}") from None

    return header, records()


def _names(names: list[str]) -> str:
    shown = ", ".join(name[:40] for name in names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")


def check_columns(names: list[str], where: str) -> None:
    """Refuse a header with too many columns, without a required one, or naming one twice; in one
    pass over the names (a header of 20,000 columns must not cost 20,000 scans of itself)."""
    if len(names) > MAX_COLUMNS:
        unknown = [name for name in names if name not in KNOWN]
        raise FileUnreadable(
            422,
            f"{where} has {len(names)} columns; an account file has at most {MAX_COLUMNS}. "
            f"{len(unknown)} of them are not account columns ({_names(unknown)}). "
            f"Known columns: {', '.join(REQUIRED + OPTIONAL)}.",
        )
    counts = Counter(names)
    missing = [name for name in REQUIRED if name not in counts]
    if missing:
        raise FileUnreadable(
            422,
            f"{where} lacks the required columns {', '.join(missing)} "
            f"(found: {_names([h for h in names if h]) or 'none'}).",
        )
    doubled = sorted(name for name, n in counts.items() if name and n > 1)
    if doubled:
        raise FileUnreadable(422, f"{where} names {_names(doubled)} more than once.")


def read_json(data: bytes) -> list[Any]:
    """The list of account objects; amounts keep their exact decimal value."""
    text = _text(data)
    try:
        parsed = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise FileUnreadable(
            422, f"The body is not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer beyond Python's digit limit
        raise FileUnreadable(422, f"The body cannot be read as JSON: {exc}") from None
    if not isinstance(parsed, list):
        raise FileUnreadable(422, "Expected a JSON list of account objects.")
    return parsed


def parse_csv(data: bytes, currency: str | None = None, *, today: date) -> ParsedRows:
    """Every row of a CSV file, validated; `today` (the import's day) bounds the due dates."""
    header, records = read_csv(data)
    out = ParsedRows(ignored_columns=sorted({h for h in header if h and h not in KNOWN}))
    for number, (record, surplus) in enumerate(records, start=1):
        out.rows = number
        _add(out, number, record, currency, today, surplus)
    return out


def parse_json(data: bytes, currency: str | None = None, *, today: date) -> ParsedRows:
    """Every object of a JSON list, validated; `today` (the import's day) bounds the due dates."""
    out = ParsedRows()
    ignored: set[str] = set()
    for number, item in enumerate(read_json(data), start=1):
        out.rows = number
        if not isinstance(item, dict):  # not a row at all: the file is malformed, as its schema says
            raise FileUnreadable(422, f"Item {number} of the list is {_kind(item)}, not an account object.")
        if len(item) > MAX_COLUMNS:
            raise FileUnreadable(
                422, f"Item {number} of the list has {len(item)} keys; an account object has at most {MAX_COLUMNS}."
            )
        record = {_column(str(key)): value for key, value in item.items()}
        ignored.update(key for key in record if key not in KNOWN)
        _add(out, number, record, currency, today)
    out.ignored_columns = sorted(ignored)
    return out


def _add(
    out: ParsedRows, number: int, record: Mapping[str, Any], currency: str | None, today: date, surplus: int = 0
) -> None:
    result = parse_row(number, record, currency, surplus, today=today)
    if isinstance(result, ImportedAccount):
        out.accounts.append(result)
    else:
        out.problems.extend(result)


def _kind(value: object) -> str:
    kinds = {list: "a list", dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


# ---- one row -----------------------------------------------------------------------------------


class _Row:
    """Reads fields of one record, collecting problems instead of stopping at the first."""

    def __init__(self, number: int, record: Mapping[str, Any]) -> None:
        self.number = number
        self.record = record
        self.problems: list[RowProblem] = []
        self.external_id: str | None = None

    def fail(self, name: str | None, detail: str) -> None:
        self.problems.append(RowProblem(self.number, self.external_id, name, detail))

    def text(self, name: str, *, limit: int = MAX_TEXT) -> str | None:
        """The field as stripped text; None when absent or blank."""
        value = self.record.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            self.fail(name, f"expected text, got {_kind(value)}")
            return None
        text = str(value).strip()
        if not text:
            return None
        if len(text) > limit:
            self.fail(name, f"longer than {limit} characters")
            return None
        if any(unicodedata.category(ch) == "Cc" for ch in text):
            self.fail(name, "contains control characters")
            return None
        return text

    def required(self, name: str, *, limit: int = MAX_TEXT) -> str | None:
        value = self.text(name, limit=limit)
        if value is None and not any(p.field == name for p in self.problems):
            self.fail(name, "is required")
        return value

    def flag(self, name: str) -> bool | None:
        value = self.record.get(name)
        if value is None or isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if not text:
            return None
        if text in YES:
            return True
        if text in NO:
            return False
        self.fail(name, f"expected yes or no, got {str(value)[:40]!r}")
        return None

    def count(self, name: str) -> int:
        text = self.text(name, limit=12)
        if text is None:
            return 0
        if not COUNT.match(text):
            self.fail(name, f"expected a whole number of zero or more, got {text!r}")
            return 0
        return int(text)


def parse_row(
    number: int, record: Mapping[str, Any], currency: str | None = None, surplus: int = 0, *, today: date
) -> ImportedAccount | list[RowProblem]:
    """One account from one record, or every problem found in it. `currency`: the only one allowed;
    `surplus`: values beyond the CSV header's columns; `today`: the import's day (never read from
    a clock here), which bounds the due date."""
    row = _Row(number, record)
    external_id = row.required("account_id", limit=MAX_ID)
    row.external_id = external_id
    if surplus:
        row.fail(None, f"has {surplus} more values than the header has columns")
    debtor_id = row.text("debtor_id", limit=MAX_ID) or external_id
    name = row.text("debtor_name") or ""

    country = row.required("country")
    if country is not None:
        country = country.upper()
        if not is_country(country):
            row.fail("country", f"{country!r} is not an ISO 3166 alpha-2 country code")
            country = None

    code = row.required("currency")
    if code is not None:
        code = code.upper()
        if (why := currency_refusal(code)) is not None:
            row.fail("currency", why)
            code = None
        elif currency is not None and code != currency:
            row.fail("currency", f"{code} differs from the campaign strategy's currency {currency}")
            code = None
    balance = original = None
    if code is not None:
        balance = minor_units(row, "balance", code, required=True)
        if balance == 0:
            row.fail("balance", "must be greater than zero: there is nothing to collect")
        original = minor_units(row, "original_amount", code, required=False)
    else:
        row.required("balance")
    due = _due_date(row, today)

    email = _email(row)
    phone = _phone(row, "phone", country)
    whatsapp = _phone(row, "whatsapp", country)
    postal = row.text("postal_address")
    addresses = {Channel.EMAIL: email, Channel.SMS: phone, Channel.WHATSAPP: whatsapp}
    consent = _consent(row, addresses)

    zone = resolve_timezone(row, country, [p for p in (phone, whatsapp) if p is not None])
    locale = row.text("locale", limit=20)
    if locale is not None and (problem := check_locale(locale)) is not None:
        row.fail("locale", f"unknown locale {locale!r}: {problem}")
    tags = _tags(row)
    risk = _risk(row)
    counts = {name: row.count(name) for name in ("payments_count", "promises_kept", "promises_broken")}

    if row.problems:
        return row.problems
    # Every one of these was checked above; the asserts tell the type checker.
    assert external_id is not None
    assert debtor_id is not None
    assert country is not None
    assert code is not None
    assert zone is not None
    assert due is not None
    assert balance is not None
    try:
        snapshot = AccountSnapshot(
            account_id=external_id,
            debtor_name=name,
            country=country,
            timezone=zone,
            locale=locale,
            currency=code,
            balance=balance,
            original_amount=original if original is not None else balance,
            due_date=due,
            tags=tags,
            risk_score=risk,
            email=email,
            phone=phone,
            whatsapp=whatsapp,
            postal_address=postal,
            opted_out=tuple(channel for channel, given in consent.items() if not given),
            **counts,
        )
    except ValidationError as exc:  # a rule of the snapshot this module does not check itself
        return [RowProblem(number, external_id, _loc(e["loc"]), e["msg"]) for e in exc.errors()]
    contacts = [ContactRecord(c, a, consent[c], "import") for c, a in addresses.items() if a is not None]
    if phone is not None:
        contacts.append(ContactRecord(Channel.VOICE, phone, True, "not required"))
    if postal is not None:
        contacts.append(ContactRecord(Channel.LETTER, postal, True, "not required"))
    return ImportedAccount(number, AccountRecord(snapshot, debtor_id, tuple(contacts)))


def _loc(loc: tuple[int | str, ...]) -> str | None:
    return str(loc[0]) if loc else None


def minor_units(row: _Row, name: str, currency: str, *, required: bool) -> int | None:
    """A major-unit decimal amount as exact integer minor units of `currency`."""
    text = row.required(name, limit=40) if required else row.text(name, limit=40)
    if text is None:
        return None
    if not AMOUNT.match(text):
        row.fail(name, f"expected a decimal amount in major units like 1500.00, got {text!r}")
        return None
    amount = Decimal(text)
    if amount < 0:
        row.fail(name, f"must not be negative (got {text})")
        return None
    try:
        minor = to_minor(amount, currency)  # the product's ISO 4217 table, never a library's
    except ValueError as exc:
        row.fail(name, str(exc))
        return None
    if minor > MAX_MINOR:
        row.fail(name, f"{text} {currency} is beyond any plausible debt")
        return None
    return minor


def _due_date(row: _Row, today: date) -> date | None:
    text = row.required("due_date", limit=40)
    if text is None:
        return None
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
            raise ValueError
        due = date.fromisoformat(text)
    except ValueError:
        row.fail("due_date", f"expected an ISO date like 2026-10-15, got {text!r}")
        return None
    earliest, latest = years_from(today, -DUE_YEARS_BEFORE), years_from(today, DUE_YEARS_AFTER)
    if not earliest <= due <= latest:
        row.fail(
            "due_date",
            f"{text} is not a plausible due date: it must fall between {earliest.isoformat()} and "
            f"{latest.isoformat()} ({DUE_YEARS_BEFORE} years before to {DUE_YEARS_AFTER} years after "
            f"the import on {today.isoformat()})",
        )
        return None
    return due


def normalize_email(text: str) -> str | None:
    """The address with its domain in lower case, or None when its syntax is wrong."""
    local, _, domain = text.rpartition("@")
    if not EMAIL.match(text) or len(local) > 64 or ".." in text:
        return None
    return f"{local}@{domain.lower()}"


def normalize_phone(text: str, region: str | None) -> str:
    """The number in E.164; `region` reads national numbers. ValueError says what is wrong."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"{text!r} is not a phone number: {exc._msg}") from None
    if not phonenumbers.is_valid_number(number):
        where = f" for {region}" if region and not text.startswith("+") else ""
        raise ValueError(f"{text!r} is not a valid phone number{where}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _email(row: _Row) -> str | None:
    text = row.text("email", limit=254)
    if text is None:
        return None
    address = normalize_email(text)
    if address is None:
        row.fail("email", f"{text!r} is not a valid email address")
    return address


def _phone(row: _Row, name: str, country: str | None) -> str | None:
    text = row.text(name, limit=40)
    if text is None or (country is None and not text.startswith("+")):
        return None  # a national number is read in the row's country, already reported as wrong
    try:
        return normalize_phone(text, country)
    except ValueError as exc:
        row.fail(name, str(exc))
        return None


def _consent(row: _Row, addresses: Mapping[Channel, str | None]) -> dict[Channel, bool]:
    before = len(row.problems)
    general = row.flag("consent")
    own = {channel: row.flag(f"{channel.value}_consent") for channel in addresses}
    unreadable = len(row.problems) > before  # "maybe": reported once, not again as missing
    out: dict[Channel, bool] = {}
    for channel, address in addresses.items():
        answer = own[channel] if own[channel] is not None else general
        if address is None:
            continue
        if answer is not None:
            out[channel] = answer
        elif not unreadable:
            row.fail("consent", f"consent (yes or no) is required for {channel.value} at {address}")
    return out


def _tags(row: _Row) -> tuple[str, ...]:
    value = row.record.get("tags")
    if value is None:
        return ()
    if isinstance(value, list):
        if not all(isinstance(tag, str) and len(tag) <= 100 and tag.isprintable() for tag in value):
            row.fail("tags", "expected a list of short texts")
            return ()
        items = value
    else:
        text = row.text("tags")
        items = text.split(";") if text else []
    return tuple(tag.strip() for tag in items if tag.strip())


def _risk(row: _Row) -> float:
    text = row.text("risk_score", limit=20)
    if text is None:
        return 0.0
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or abs(value) > MAX_RISK:
        row.fail("risk_score", f"expected a number between -{MAX_RISK} and {MAX_RISK}, got {text!r}")
        return 0.0
    return float(value)  # a model score, not money


# ---- time zones --------------------------------------------------------------------------------


def resolve_timezone(row: _Row, country: str | None, phones: list[str]) -> str | None:
    """The debtor's IANA zone: explicit, else by region, else by phone, else the country's only zone."""
    explicit = row.text("timezone", limit=60)
    if explicit is not None:
        if explicit not in zones():
            row.fail("timezone", f"{explicit!r} is not an IANA time zone (like America/Santiago)")
            return None
        return explicit
    if country is None:
        return None  # already reported
    region = row.text("region", limit=80)
    ambiguous = None
    if region is not None and country in REGIONS:
        known, found = region_zone(country, region)
        if not known:
            row.fail("region", f"{region!r} is not a region of {country} we know; give a timezone column instead")
            return None
        if found is not None:
            return found
        ambiguous = f"region {region!r} keeps more than one local time"
    for phone in phones:
        candidates = {z for z in phone_timezone.time_zones_for_number(phonenumbers.parse(phone)) if z != "Etc/Unknown"}
        if len(candidates) == 1:
            return candidates.pop()
    if ambiguous is None:
        only = country_zones().get(country, ())
        if len(only) == 1:
            return only[0]
    if any(p.field in ("phone", "whatsapp") for p in row.problems):
        return None  # a corrected number may settle it: report the number, not the zone
    why = ambiguous or f"{country} has several time zones"
    row.fail(
        "timezone",
        f"cannot tell the debtor's time zone: {why}"
        + (" and the phone number does not settle it" if phones else " and no phone number settles it")
        + "; add a timezone column with its IANA name",
    )
    return None


def _key(text: str) -> str:
    """Case, accents, punctuation and the words "región de" do not matter when naming a region."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c)).lower()
    plain = re.sub(r"[^a-z0-9]+", " ", plain).strip()
    return re.sub(r"^(region|estado|state)( (de|del|of))? ", "", plain)


def region_zone(country: str, region: str) -> tuple[bool, str | None]:
    """(known, zone) of a region of `country`; a known region with zone None keeps two local times."""
    table = REGIONS[country]
    key = _key(region)
    code = key.upper().removeprefix(f"{country} ")
    for names, zone in table:
        if code in names or key in names:
            if zone is not None and zone not in zones():
                zone = OLDER_ZONES.get(zone, zone)
            return True, zone
    return False, None


# Aysén left Santiago's summer-time changes in 2025 (tzdata 2025b added America/Coyhaique); a
# system with an older time zone database knows only the zone it used before.
OLDER_ZONES = {"America/Coyhaique": "America/Santiago"}


_S = "America/Santiago"
# Entries: ({ISO 3166-2 code, name keys...}, zone or None for a region split between local times).
REGIONS: dict[str, list[tuple[frozenset[str], str | None]]] = {
    "CL": [
        (frozenset({"AP", "arica y parinacota", "arica"}), _S),
        (frozenset({"TA", "tarapaca"}), _S),
        (frozenset({"AN", "antofagasta"}), _S),
        (frozenset({"AT", "atacama"}), _S),
        (frozenset({"CO", "coquimbo"}), _S),
        (frozenset({"VS", "valparaiso"}), _S),  # Easter Island addresses name "Isla de Pascua"
        (frozenset({"RM", "metropolitana", "metropolitana de santiago", "santiago"}), _S),
        (frozenset({"LI", "o higgins", "libertador general bernardo o higgins", "libertador bernardo o higgins"}), _S),
        (frozenset({"ML", "maule"}), _S),
        (frozenset({"NB", "nuble"}), _S),
        (frozenset({"BI", "biobio", "bio bio"}), _S),
        (frozenset({"AR", "araucania", "la araucania"}), _S),
        (frozenset({"LR", "los rios"}), _S),
        (frozenset({"LL", "los lagos"}), _S),
        (frozenset({"AI", "aysen", "aisen", "aysen del general carlos ibanez del campo"}), "America/Coyhaique"),
        (
            frozenset({"MA", "magallanes", "magallanes y de la antartica chilena", "magallanes y antartica chilena"}),
            "America/Punta_Arenas",
        ),
        (frozenset({"isla de pascua", "rapa nui"}), "Pacific/Easter"),
    ],
    "MX": [
        (frozenset({"AGU", "aguascalientes"}), "America/Mexico_City"),
        (frozenset({"BCN", "baja california"}), "America/Tijuana"),
        (frozenset({"BCS", "baja california sur"}), "America/Mazatlan"),
        (frozenset({"CAM", "campeche"}), "America/Merida"),
        (frozenset({"CHP", "chiapas"}), "America/Mexico_City"),
        (frozenset({"CHH", "chihuahua"}), None),  # Ciudad Juárez and Ojinaga follow US summer time
        (frozenset({"COA", "coahuila", "coahuila de zaragoza"}), None),  # its US border strip too
        (frozenset({"CMX", "DIF", "ciudad de mexico", "cdmx", "distrito federal"}), "America/Mexico_City"),
        (frozenset({"COL", "colima"}), "America/Mexico_City"),
        (frozenset({"DUR", "durango"}), "America/Monterrey"),
        (frozenset({"GUA", "guanajuato"}), "America/Mexico_City"),
        (frozenset({"GRO", "guerrero"}), "America/Mexico_City"),
        (frozenset({"HID", "hidalgo"}), "America/Mexico_City"),
        (frozenset({"JAL", "jalisco"}), "America/Mexico_City"),
        (frozenset({"MEX", "mexico", "estado de mexico"}), "America/Mexico_City"),
        (frozenset({"MIC", "michoacan", "michoacan de ocampo"}), "America/Mexico_City"),
        (frozenset({"MOR", "morelos"}), "America/Mexico_City"),
        (frozenset({"NAY", "nayarit"}), None),  # Bahía de Banderas keeps central time
        (frozenset({"NLE", "nuevo leon"}), None),  # its US border strip follows US summer time
        (frozenset({"OAX", "oaxaca"}), "America/Mexico_City"),
        (frozenset({"PUE", "puebla"}), "America/Mexico_City"),
        (frozenset({"QUE", "queretaro"}), "America/Mexico_City"),
        (frozenset({"ROO", "quintana roo"}), "America/Cancun"),
        (frozenset({"SLP", "san luis potosi"}), "America/Mexico_City"),
        (frozenset({"SIN", "sinaloa"}), "America/Mazatlan"),
        (frozenset({"SON", "sonora"}), "America/Hermosillo"),
        (frozenset({"TAB", "tabasco"}), "America/Mexico_City"),
        (frozenset({"TAM", "tamaulipas"}), None),  # Matamoros, Reynosa, Nuevo Laredo follow US summer time
        (frozenset({"TLA", "tlaxcala"}), "America/Mexico_City"),
        (frozenset({"VER", "veracruz", "veracruz de ignacio de la llave"}), "America/Mexico_City"),
        (frozenset({"YUC", "yucatan"}), "America/Merida"),
        (frozenset({"ZAC", "zacatecas"}), "America/Mexico_City"),
    ],
}

_E, _C, _M, _P = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"
# US states and territories; None where a populated part of the state keeps another local time
# (El Paso in Texas, the Florida panhandle, East Tennessee, the Navajo Nation in Arizona...).
_US = {
    "AL": ("alabama", _C),
    "AK": ("alaska", "America/Anchorage"),
    "AZ": ("arizona", None),
    "AR": ("arkansas", _C),
    "CA": ("california", _P),
    "CO": ("colorado", _M),
    "CT": ("connecticut", _E),
    "DE": ("delaware", _E),
    "DC": ("district of columbia", _E),
    "FL": ("florida", None),
    "GA": ("georgia", _E),
    "HI": ("hawaii", "Pacific/Honolulu"),
    "ID": ("idaho", None),
    "IL": ("illinois", _C),
    "IN": ("indiana", None),
    "IA": ("iowa", _C),
    "KS": ("kansas", _C),
    "KY": ("kentucky", None),
    "LA": ("louisiana", _C),
    "ME": ("maine", _E),
    "MD": ("maryland", _E),
    "MA": ("massachusetts", _E),
    "MI": ("michigan", "America/Detroit"),
    "MN": ("minnesota", _C),
    "MS": ("mississippi", _C),
    "MO": ("missouri", _C),
    "MT": ("montana", _M),
    "NE": ("nebraska", None),
    "NV": ("nevada", _P),
    "NH": ("new hampshire", _E),
    "NJ": ("new jersey", _E),
    "NM": ("new mexico", _M),
    "NY": ("new york", _E),
    "NC": ("north carolina", _E),
    "ND": ("north dakota", None),
    "OH": ("ohio", _E),
    "OK": ("oklahoma", _C),
    "OR": ("oregon", _P),
    "PA": ("pennsylvania", _E),
    "RI": ("rhode island", _E),
    "SC": ("south carolina", _E),
    "SD": ("south dakota", None),
    "TN": ("tennessee", None),
    "TX": ("texas", None),
    "UT": ("utah", _M),
    "VT": ("vermont", _E),
    "VA": ("virginia", _E),
    "WA": ("washington", _P),
    "WV": ("west virginia", _E),
    "WI": ("wisconsin", _C),
    "WY": ("wyoming", _M),
    "PR": ("puerto rico", "America/Puerto_Rico"),
    "GU": ("guam", "Pacific/Guam"),
    "VI": ("virgin islands", "America/St_Thomas"),
    "AS": ("american samoa", "Pacific/Pago_Pago"),
    "MP": ("northern mariana islands", "Pacific/Saipan"),
}
REGIONS["US"] = [(frozenset({code, name}), zone) for code, (name, zone) in _US.items()]


@lru_cache(maxsize=1)
def zones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=1)
def country_zones() -> dict[str, tuple[str, ...]]:
    """Each country's current IANA zones (CLDR's list, as Babel ships it)."""
    table: Mapping[str, list[str]] = get_global("territory_zones")
    return {code: tuple(found) for code, found in table.items() if len(code) == 2 and code.isalpha()}
