"""Contact policy: the compliance rules that decide whether a debtor may be contacted on a channel
at a given moment, and when the next allowed moment is.

This module owns the policy model (windows, holiday calendar, caps, minimum gaps, cooldowns and the
weekly channel lock), its evaluation against a contact history (`check_contact`, `next_allowed`)
and the comparison of two policies (`loosenings`). Jurisdiction presets live in
`domain.policy_presets`.

Holidays are data, not code: the compiler freezes the dates a policy needs into a
`HolidayCalendar` (whole years up to three after the compile year, see `calendar_years`), and evaluation
reads only that. So an upgrade of the `holidays` package never changes a decision a running
account already took, nor the replay of its history: a new calendar arrives as a new strategy
version (its hash covers the dates). Days outside the frozen years are unknown, and a contact
that the holiday rule would judge on such a day is blocked for good (skipped, with a reason that
says to publish again): never contacting on a day that may be a holiday is the safe side.
Policies without a frozen calendar (compiled before calendars were frozen; recorded histories
carry them) still consult the installed package, as they always did.

A policy may also spread the contacts it moves (`spread_s`, `spread_moved`): when a window
opens, every account that waited for it would otherwise wake at the same instant, so each account
lands at a stable offset (a hash of its id) into the allowed time instead, never past the end of
that stretch. Policies compiled before the spread existed carry none and move as they always did.

Everything is pure: the time is always an argument (timezone-aware UTC) and local-time rules are
evaluated in the debtor's IANA zone with `zoneinfo`. Rules only look at history records at or
before the evaluated instant: the ledger is what has happened, not what is planned.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

import holidays as holidays_lib
from pydantic import AwareDatetime, Field, model_validator

from domain.frozen import Frozen, added
from domain.types import Channel, Weekday

OPT_OUT_RULE = "opt-out"
MINUTES_PER_DAY = 1440
# next_allowed() gives up after this many blocking decisions: a sane policy resolves in a handful
# (window -> holiday -> window -> cap ...); hitting the bound means no allowed time exists.
MAX_ITERATIONS = 1000
# How far ahead (in local days) the window rule looks for the next window start. Windows repeat
# weekly, so 8 days always covers a full cycle whatever the current weekday and time.
_WINDOW_HORIZON_DAYS = 8
# Longest run of consecutive holidays we skip before declaring the calendar broken.
_HOLIDAY_HORIZON_DAYS = 366
# A compiled calendar covers whole years from CALENDAR_FIRST_YEAR (the product's first year; fixed,
# so a day a compile once covered stays covered when the strategy is compiled again later, and
# simulations or tests of fixed past dates do not depend on the day they run) to the compile year
# plus CALENDAR_YEARS_AFTER: a collection journey lasts months and a strategy version is normally
# replaced well within three years. About 16 dates a year: a few KB in the workflow input.
CALENDAR_FIRST_YEAR = 2025
CALENDAR_YEARS_AFTER = 3
# The longest spread a policy may declare: a wave is about one window opening, and windows end the
# same local day.
MAX_SPREAD_S = 86400

_DAY_ABBR = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


class Window(Frozen):
    """Allowed contact hours on some weekdays, in the debtor's local wall time.

    `start` and `end` are minutes since local midnight; `end` is exclusive (20:00 means the last
    allowed minute is 19:59)."""

    days: tuple[Weekday, ...]
    start: int = Field(ge=0, lt=MINUTES_PER_DAY)
    end: int = Field(gt=0, le=MINUTES_PER_DAY)

    @model_validator(mode="after")
    def _start_before_end(self) -> Window:
        if self.start >= self.end:
            raise ValueError(f"window start {self.start} must be before end {self.end}")
        return self


class Cap(Frozen):
    """At most `max` attempts per period on `channels` (None = every channel counts and is limited).

    Calendar periods are taken in the debtor's local time; a calendar week runs Monday to Sunday.
    A rolling period is `days` x 24 hours ending at the evaluated instant."""

    id: str
    channels: tuple[Channel, ...] | None = None
    max: int = Field(ge=1)
    period: Literal["rolling", "calendar_day", "calendar_week"]
    days: int = Field(default=7, ge=1)


class MinGap(Frozen):
    """Minimum time between two attempts on `channels` (None = any channel)."""

    id: str
    channels: tuple[Channel, ...] | None = None
    minutes: int = Field(ge=1)


class Cooldown(Frozen):
    """After any right-party conversation, no attempt on `channels` until the start of local day
    (conversation day + `days`): the conversation day counts as day 1 (Reg F 1006.14(b)(2)(B))."""

    id: str
    channels: tuple[Channel, ...] = Field(min_length=1)
    days: int = Field(ge=1)


class HolidayCalendar(Frozen):
    """The public holidays of one country for the whole years `first_year`..`last_year`, frozen
    from the `holidays` package when the strategy was compiled: the only holiday data evaluation
    reads. `dates` is sorted and unique (ISO dates in JSON)."""

    country: str
    first_year: int
    last_year: int
    dates: tuple[date, ...]
    # Each date's name, in the order of `dates`, so a blocked contact names its holiday. Empty in
    # calendars frozen before names were kept: those say only "public holiday".
    names: tuple[str, ...] = added(())

    @model_validator(mode="after")
    def _sorted_and_inside(self) -> HolidayCalendar:
        if self.first_year > self.last_year:
            raise ValueError(f"calendar years {self.first_year}..{self.last_year} are empty")
        if self.names and len(self.names) != len(self.dates):
            raise ValueError(f"{len(self.names)} holiday names for {len(self.dates)} dates")
        if list(self.dates) != sorted(set(self.dates)):
            raise ValueError("holiday dates must be sorted and unique")
        outside = [d for d in self.dates if not self.first_year <= d.year <= self.last_year]
        if outside:
            raise ValueError(f"holiday {outside[0].isoformat()} is outside {self.first_year}..{self.last_year}")
        return self

    def covers(self, day: date) -> bool:
        return self.first_year <= day.year <= self.last_year

    def is_holiday(self, day: date) -> bool:
        index = bisect_left(self.dates, day)
        return index < len(self.dates) and self.dates[index] == day

    def name_of(self, day: date) -> str | None:
        """The holiday's name when the calendar keeps names and `day` is one of its holidays."""
        index = bisect_left(self.dates, day)
        found = index < len(self.dates) and self.dates[index] == day
        return self.names[index] if found and self.names else None

    def describe(self) -> str:
        return f"{self.country} holidays {self.first_year}-01-01 to {self.last_year}-12-31"


def calendar_years(compiled_on: date) -> tuple[int, int]:
    """The first and last year a calendar frozen on `compiled_on` covers."""
    return min(CALENDAR_FIRST_YEAR, compiled_on.year - 1), compiled_on.year + CALENDAR_YEARS_AFTER


def freeze_holidays(code: str, first_year: int, last_year: int) -> HolidayCalendar:
    """Read one country's public holidays for whole years from the installed `holidays` package.
    Only the compiler (and the workflow's one-off activity for strategies compiled before
    calendars were frozen) calls this; evaluation never does."""
    days: dict[date, str] = {}
    for year in range(first_year, last_year + 1):
        days.update(_holiday_calendar(code, year))
    dates = tuple(sorted(days))
    return HolidayCalendar(
        country=code,
        first_year=first_year,
        last_year=last_year,
        dates=dates,
        names=tuple(days[d] for d in dates),
    )


class ContactPolicy(Frozen):
    """Every contact rule that applies to one debtor, as compiled for a campaign."""

    name: str
    window_rule: str
    windows: tuple[Window, ...]
    window_channels: tuple[Channel, ...]
    holidays: str | None = None
    holiday_rule: str = "holiday"
    # The frozen dates of the `holidays` country; None only in policies compiled before calendars
    # were frozen (and in hand-built presets), which fall back to the installed package.
    calendar: HolidayCalendar | None = added(None)
    caps: tuple[Cap, ...] = ()
    min_gaps: tuple[MinGap, ...] = ()
    cooldowns: tuple[Cooldown, ...] = ()
    channel_lock_after_contact: str | None = None
    overrides: tuple[str, ...] = ()
    # Seconds over which the contacts this policy moves are spread (`spread_moved`). None (absent
    # from policies compiled before it existed, so their accounts keep their exact decisions) and
    # 0 mean none: every moved contact lands on the first allowed instant.
    spread_s: int | None = added(None, ge=0, le=MAX_SPREAD_S)
    # The rules the strategy wrote itself, tightening its preset (their ids; the window rule's id
    # when it wrote its own contact hours), so a blocked contact names them as the strategy's own
    # rather than as the preset's. Empty in policies compiled before it existed: named by id.
    own_rules: tuple[str, ...] = added(())

    @model_validator(mode="after")
    def _calendar_of_the_country(self) -> ContactPolicy:
        if self.calendar is not None and self.calendar.country != self.holidays:
            raise ValueError(f"a {self.calendar.country} calendar frozen for the holidays of {self.holidays}")
        return self

    def with_calendar(self, compiled_on: date) -> ContactPolicy:
        """This policy with its country's holidays frozen for `calendar_years(compiled_on)`."""
        if self.holidays is None:
            return self.model_copy(update={"calendar": None})
        return self.model_copy(update={"calendar": freeze_holidays(self.holidays, *calendar_years(compiled_on))})


class ContactRecord(Frozen):
    """One entry of the debtor's contact ledger. Every record is an attempt; `conversation=True`
    marks a right-party conversation (it triggers cooldowns and the channel lock)."""

    channel: Channel
    at: AwareDatetime
    conversation: bool = False


class Decision(Frozen):
    """The outcome of a policy check. `next_allowed` (UTC) is when the blocking rule stops
    blocking; None means never (an opt-out, or `for_good`)."""

    allowed: bool
    rule: str | None = None
    reason: str = ""
    next_allowed: AwareDatetime | None = None
    # Blocked with no later instant this policy can vouch for (a day beyond the frozen holiday
    # calendar): the contact is skipped, like an opted-out channel, rather than parked forever.
    for_good: bool = False


# Every allowed check answers the same (frozen) decision: one object, not one per check.
_ALLOWED = Decision(allowed=True)


# --------------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------------


def _require_aware(at: datetime, what: str = "at") -> None:
    if at.tzinfo is UTC:
        return  # the interpreter's instants: aware by construction
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, got naive {at.isoformat()}")


def local_time(at: datetime, tz: str) -> datetime:
    """`at` (timezone-aware) as wall time in the IANA zone `tz`."""
    _require_aware(at)
    return at.astimezone(ZoneInfo(tz))


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    """Naive local wall time of an aware instant."""
    return at.astimezone(zone).replace(tzinfo=None)


def _wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime:
    """The earliest UTC instant whose local wall time is >= `wall` (naive).

    For an ambiguous wall time (clocks going back) that is its first occurrence; for a wall time
    that does not exist (clocks going forward, e.g. Chile's midnight jump) it is the transition
    instant, i.e. the first valid instant after the gap."""
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if _wall(first, zone) == wall:
        return first
    # In a gap fold=0 applies the pre-transition offset (an instant after the gap) and fold=1 the
    # post-transition one (an instant before it); the transition lies in between. tz data puts
    # transitions on whole seconds, so a search over integer timestamps finds it exactly.
    lo = int(wall.replace(tzinfo=zone, fold=1).astimezone(UTC).timestamp())
    hi = int(first.timestamp()) + 1
    lo, hi = min(lo, hi), max(lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(datetime.fromtimestamp(mid, UTC), zone) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _day_start(day: date, zone: ZoneInfo) -> datetime:
    """UTC instant at which local `day` begins (00:00, or the end of a DST gap at midnight)."""
    return _wall_to_utc(datetime.combine(day, time()), zone)


def _week_monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _offset_transitions(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """UTC instants in (start, end] at which the zone's UTC offset changes."""
    found: list[datetime] = []
    step = timedelta(hours=6)
    t = start
    while t < end:
        nxt = min(t + step, end)
        if t.astimezone(zone).utcoffset() != nxt.astimezone(zone).utcoffset():
            before = t.astimezone(zone).utcoffset()
            lo, hi = int(t.timestamp()), int(nxt.timestamp()) + 1
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            found.append(datetime.fromtimestamp(hi, UTC))
        t = nxt
    return found


# --------------------------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------------------------


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _format_days(indexes: Iterable[int]) -> str:
    """Weekday indexes as runs: [0..5] -> "Mon-Sat", [0, 2, 4] -> "Mon,Wed,Fri"."""
    idx = sorted(set(indexes))
    if len(idx) == 7:
        return "every day"
    runs: list[list[int]] = []
    for i in idx:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ",".join(_DAY_ABBR[r[0]] if len(r) == 1 else f"{_DAY_ABBR[r[0]]}-{_DAY_ABBR[r[-1]]}" for r in runs)


def describe_windows(policy: ContactPolicy) -> str:
    """The policy's contact hours for people, e.g. "Mon-Fri 07:00-19:00, Sat 08:00-15:00"."""
    if not policy.windows:
        return "no contact hours"
    return ", ".join(
        f"{_format_days(d.number for d in w.days)} {_hhmm(w.start)}-{_hhmm(w.end)}" for w in policy.windows
    )


_EVERY_CHANNEL = frozenset(Channel)


def _channels_text(channels: tuple[Channel, ...] | None) -> str:
    if channels is None or set(channels) == _EVERY_CHANNEL:
        return "all channels"
    return "/".join(c.value for c in channels)


def _duration_text(minutes: int) -> str:
    if minutes % MINUTES_PER_DAY == 0:
        days = minutes // MINUTES_PER_DAY
        return "1 day" if days == 1 else f"{days} days"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _cap_text(cap: Cap) -> str:
    if cap.period == "rolling":
        per = "per day" if cap.days == 1 else f"per {cap.days} days"
    elif cap.period == "calendar_day":
        per = "per calendar day"
    else:
        per = "per calendar week"
    return f"max {cap.max} {per}"


# --------------------------------------------------------------------------------------------
# Holidays
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _holiday_calendar(code: str, year: int) -> Mapping[date, str]:
    """Public holidays of one country and year (read-only; cached because building it is slow)."""
    calendar = holidays_lib.country_holidays(code, years=year)
    return MappingProxyType({d: str(name) for d, name in calendar.items()})


def _holiday_name(policy: ContactPolicy, code: str, day: date) -> str | None:
    """The holiday's name (or just "public holiday" from a frozen calendar, which keeps dates
    only), None on a working day and on days a frozen calendar does not cover."""
    if policy.calendar is not None:
        if not policy.calendar.is_holiday(day):
            return None
        return policy.calendar.name_of(day) or "public holiday"
    return _holiday_calendar(code, day.year).get(day)  # legacy: no frozen calendar


def is_business_day(policy: ContactPolicy, day: date) -> bool:
    """Monday to Friday and not a public holiday of the policy's country (its frozen calendar; a
    day the calendar does not cover counts as a working day, as for `_holiday_name`)."""
    if day.weekday() >= 5:
        return False
    return policy.holidays is None or _holiday_name(policy, policy.holidays, day) is None


def day_opening(policy: ContactPolicy, day: date) -> int:
    """Minutes after local midnight at which the first window allowed on `day`'s weekday opens;
    on a weekday with no window, the earliest opening of the week (0 with no window at all): the
    time of day an anchored wait lands at when the strategy gives none."""
    starts = [w.start for w in policy.windows if any(d.number == day.weekday() for d in w.days)]
    return min(starts or [w.start for w in policy.windows] or [0])


# --------------------------------------------------------------------------------------------
# Rule evaluation
# --------------------------------------------------------------------------------------------


# Tables derived once from a compiled policy's parts, which never change (frozen): the contact
# checks run at every contact of every simulated account (a million accounts in a what-if
# analysis). Keyed by what is derived (the builder's name) and the part's id, and kept with the
# part itself, so an id reused after garbage collection is never mistaken for it; cleared when it
# holds more parts than any process uses.
_DERIVED: dict[tuple[str, int], tuple[object, object]] = {}
_DERIVED_KEPT = 4096
_T = TypeVar("_T")
_P = TypeVar("_P")


def _derived(part: _P, build: Callable[[_P], _T]) -> _T:
    """`build(part)`, built once per part."""
    key = (build.__name__, id(part))
    found = _DERIVED.get(key)
    if found is not None and found[0] is part:
        return found[1]  # type: ignore[return-value]
    value = build(part)
    if len(_DERIVED) >= _DERIVED_KEPT:
        _DERIVED.clear()
    _DERIVED[key] = (part, value)
    return value


def _windows_by_weekday(windows: tuple[Window, ...]) -> tuple[tuple[tuple[int, int], ...], ...]:
    """(start, end) minutes of the windows open on each weekday index, Monday first."""
    return _derived(windows, _weekday_windows)


def _weekday_windows(windows: tuple[Window, ...]) -> tuple[tuple[tuple[int, int], ...], ...]:
    return tuple(tuple((w.start, w.end) for w in windows if any(d.number == day for d in w.days)) for day in range(7))


def _in_window(policy: ContactPolicy, wall: datetime) -> bool:
    return _in_windows(_windows_by_weekday(policy.windows), wall)


def _in_windows(by_weekday: tuple[tuple[tuple[int, int], ...], ...], wall: datetime) -> bool:
    minute = wall.hour * 60 + wall.minute
    return any(start <= minute < end for start, end in by_weekday[wall.weekday()])


@dataclass(frozen=True, slots=True)
class _ChannelRules:
    """The rules of one policy that can block one channel, with what each check derives from
    them, built once per compiled policy (`_rules_for`): a check visits only the rules that apply
    to its channel, in the order `check_contact` states."""

    holidays: bool  # the holiday rule applies: the policy names a country and the windows govern the channel
    windowed: bool  # the contact hours govern the channel
    by_weekday: tuple[tuple[tuple[int, int], ...], ...]  # `_windows_by_weekday`
    windows_text: str  # `describe_windows`, for the reason of a block
    gaps: tuple[tuple[MinGap, timedelta], ...]  # each gap on the channel, with its length
    cooldowns: tuple[Cooldown, ...]
    lock: str | None  # the weekly channel lock's rule id
    caps: tuple[tuple[Cap, frozenset[Channel] | None], ...]  # each cap on the channel, with the channels it counts


def _rules_for(policy: ContactPolicy) -> Mapping[Channel, _ChannelRules]:
    return _derived(policy, _channel_rules)


def _channel_rules(policy: ContactPolicy) -> Mapping[Channel, _ChannelRules]:
    by_weekday = _windows_by_weekday(policy.windows)
    text = describe_windows(policy)
    rules = {}
    for channel in Channel:
        windowed = channel in policy.window_channels
        rules[channel] = _ChannelRules(
            holidays=policy.holidays is not None and windowed,
            windowed=windowed,
            by_weekday=by_weekday,
            windows_text=text,
            gaps=tuple(
                (gap, timedelta(minutes=gap.minutes))
                for gap in policy.min_gaps
                if gap.channels is None or channel in gap.channels
            ),
            cooldowns=tuple(c for c in policy.cooldowns if channel in c.channels),
            lock=policy.channel_lock_after_contact,
            caps=tuple(
                (cap, None if cap.channels is None else frozenset(cap.channels))
                for cap in policy.caps
                if cap.channels is None or channel in cap.channels
            ),
        )
    return MappingProxyType(rules)


@lru_cache(maxsize=16384)
def _local_date(at: datetime, zone: ZoneInfo) -> date:
    """The debtor's local date of an instant. Cached: the caps, cooldowns and channel lock ask it
    of the same ledger entries at every check of an account."""
    return at.astimezone(zone).date()


def _next_window_start(policy: ContactPolicy, at: datetime, zone: ZoneInfo) -> datetime | None:
    """Earliest instant > `at` that lies inside a window, or None if the policy has no window.

    The allowed instants form intervals in real time; each interval starts either at a window's
    wall-clock start (either occurrence when clocks go back) or at a DST transition that lands
    inside a window, so those are the only candidates. Days are searched in order and the search
    ends one day after the first day with an opening: a later day's openings are a whole day
    later, more than any change of UTC offset; DST transitions are looked for only up to the
    earliest opening found."""
    today = at.astimezone(zone).date()
    by_weekday = _windows_by_weekday(policy.windows)
    best: datetime | None = None
    found_on: date | None = None
    for offset in range(_WINDOW_HORIZON_DAYS + 1):
        day = today + timedelta(days=offset)
        if found_on is not None and day > found_on + timedelta(days=1):
            break
        for start, _end in by_weekday[day.weekday()]:
            wall = datetime.combine(day, time()) + timedelta(minutes=start)
            for candidate in (_wall_to_utc(wall, zone), wall.replace(tzinfo=zone, fold=1).astimezone(UTC)):
                if (
                    candidate > at
                    and (best is None or candidate < best)
                    and _in_window(policy, candidate.astimezone(zone))
                ):
                    best = candidate
                    found_on = found_on or day
    horizon_end = best if best is not None else _day_start(today + timedelta(days=_WINDOW_HORIZON_DAYS + 1), zone)
    for candidate in _offset_transitions(zone, at.astimezone(UTC), horizon_end):
        if candidate > at and (best is None or candidate < best) and _in_window(policy, candidate.astimezone(zone)):
            best = candidate
    return best


def blocking_rule(policy: ContactPolicy, rule: str) -> str:
    """Who a blocking rule belongs to, for people: the strategy's own tightening named as such
    ("your strategy's rule `no-sunday-sms`"), the preset's rules and the interpreter's own
    reasons (opt-out, no contact point) by their id."""
    if rule not in policy.own_rules:
        return rule
    if rule == policy.window_rule:
        return f"your strategy's contact hours (inside {rule})"
    if rule == policy.holiday_rule:
        return f"your strategy's holiday calendar ({policy.holidays})"
    return f"your strategy's rule `{rule}`"


def _blocked(rule: str, reason: str, until: datetime | None) -> Decision:
    return Decision(
        allowed=False,
        rule=rule,
        reason=reason,
        next_allowed=until.astimezone(UTC) if until is not None else None,
    )


def _check_holiday(policy: ContactPolicy, channel: Channel, today: date, zone: ZoneInfo) -> Decision | None:
    code = policy.holidays
    assert code is not None, "checked only where the holiday rule applies (_ChannelRules.holidays)"
    calendar = policy.calendar
    if calendar is not None and not calendar.covers(today):
        return Decision(
            allowed=False,
            rule=policy.holiday_rule,
            reason=(
                f"{today.isoformat()} is outside this strategy version's holiday calendar ({calendar.describe()}): "
                f"no {channel.value} contact on a day that may be a holiday; publish the strategy again and move "
                "the account to the new version"
            ),
            for_good=True,
        )
    name = _holiday_name(policy, code, today)
    if name is None:
        return None
    day = today + timedelta(days=1)
    for _ in range(_HOLIDAY_HORIZON_DAYS):
        # A day past the frozen calendar ends the run: the check at that instant then blocks it.
        if _holiday_name(policy, code, day) is None:
            break
        day += timedelta(days=1)
    else:
        # A year without a working day is a broken calendar, not a compliance rule.
        raise ValueError(f"policy {policy.name!r}: holiday calendar {code!r} has no working day")
    named = calendar is None or bool(calendar.names)  # a calendar frozen with dates only has no names
    what = f"public holiday in {code} ({name})" if named else f"public holiday in {code}"
    return _blocked(
        policy.holiday_rule,
        f"{today.isoformat()} is a {what}: no {channel.value} contact on that local day",
        _day_start(day, zone),
    )


def _check_window(
    policy: ContactPolicy, rules: _ChannelRules, at: datetime, wall: datetime, tz: str, zone: ZoneInfo
) -> Decision | None:
    if _in_windows(rules.by_weekday, wall):
        return None
    # No window at all is reported as "never" here; next_allowed() turns it into an error
    # because it is a broken policy rather than a debtor's choice.
    return _blocked(
        policy.window_rule,
        f"outside {policy.window_rule} hours ({rules.windows_text} {tz})",
        _next_window_start(policy, at, zone),
    )


def _check_min_gaps(rules: _ChannelRules, at: datetime, past: Sequence[ContactRecord]) -> Decision | None:
    for gap, length in rules.gaps:
        since = at - length  # within the gap: at - r.at < length
        channels = gap.channels
        recent = [r.at for r in past if r.at > since and (channels is None or r.channel in channels)]
        if recent:
            last = max(recent)
            return _blocked(
                gap.id,
                f"less than {_duration_text(gap.minutes)} since the last attempt on "
                f"{_channels_text(gap.channels)} ({last.astimezone(UTC).isoformat()})",
                last + length,
            )
    return None


def _check_cooldowns(
    rules: _ChannelRules, channel: Channel, at: datetime, zone: ZoneInfo, past: Sequence[ContactRecord]
) -> Decision | None:
    conversations = [r for r in past if r.conversation]
    if not conversations:
        return None
    for cooldown in rules.cooldowns:
        # Day 1 is the conversation's local day, so the block ends at the start of day days+1.
        ends = [(_day_start(_local_date(r.at, zone) + timedelta(days=cooldown.days), zone), r) for r in conversations]
        until, record = max(ends, key=lambda pair: pair[0])
        if at < until:
            return _blocked(
                cooldown.id,
                f"{channel.value} is blocked for {cooldown.days} days after the right-party conversation "
                f"on {_wall(record.at, zone).date().isoformat()} (that day counts as day 1)",
                until,
            )
    return None


def _check_channel_lock(
    rule: str, channel: Channel, today: date, zone: ZoneInfo, past: Sequence[ContactRecord]
) -> Decision | None:
    monday = _week_monday(today)
    this_week = [r for r in past if r.conversation and _week_monday(_local_date(r.at, zone)) == monday]
    # Every conversation this week locks to its own channel, so one on another channel blocks
    # (the most restrictive reading of "not through several channels in the same week").
    other = [r for r in this_week if r.channel != channel]
    if not other:
        return None
    first = min(other, key=lambda r: r.at)
    return _blocked(
        rule,
        f"after the right-party conversation on {first.channel.value} on "
        f"{_wall(first.at, zone).date().isoformat()} only {first.channel.value} may be used until the end "
        f"of the week",
        _day_start(monday + timedelta(days=7), zone),
    )


def _check_caps(
    rules: _ChannelRules, at: datetime, today: date, zone: ZoneInfo, past: Sequence[ContactRecord]
) -> Decision | None:
    for cap, channels in rules.caps:
        relevant = past if channels is None else [r for r in past if r.channel in channels]
        if cap.period == "rolling":
            length = timedelta(days=cap.days)
            since = at - length  # within the rolling window: at - r.at < length
            counted = [r.at for r in relevant if r.at > since]
            if len(counted) < cap.max:
                continue
            counted.sort()
            # Allowed again once enough of the oldest counted attempts have left the window.
            until = counted[len(counted) - cap.max] + length
        elif cap.period == "calendar_day":
            if sum(1 for r in relevant if _local_date(r.at, zone) == today) < cap.max:
                continue
            until = _day_start(today + timedelta(days=1), zone)
        else:
            monday = _week_monday(today)
            if sum(1 for r in relevant if _week_monday(_local_date(r.at, zone)) == monday) < cap.max:
                continue
            until = _day_start(monday + timedelta(days=7), zone)
        return _blocked(cap.id, f"{_cap_text(cap)} on {_channels_text(cap.channels)} reached", until)
    return None


def check_contact(
    policy: ContactPolicy,
    channel: Channel,
    at: datetime,
    tz: str,
    history: Sequence[ContactRecord],
    opted_out: Collection[Channel] = (),
) -> Decision:
    """Whether `channel` may be used at `at` for a debtor living in `tz`, given the contact ledger.

    Rules are checked in a fixed order (opt-out, holiday, window, min gaps, cooldowns, channel
    lock, caps) and the first one that blocks is returned with the earliest instant >= `at` at
    which that rule alone stops blocking. Records after `at` are ignored."""
    _require_aware(at)
    zone = ZoneInfo(tz)
    at = at.astimezone(UTC)
    if channel in opted_out:
        return _blocked(OPT_OUT_RULE, f"the debtor opted out of {channel.value}", None)
    rules = _rules_for(policy)[channel]
    past = [r for r in history if r.at <= at]
    wall = at.astimezone(zone)  # read for its local fields only: the same as the naive wall time's
    today = wall.date()
    decision = (
        (_check_holiday(policy, channel, today, zone) if rules.holidays else None)
        or (_check_window(policy, rules, at, wall, tz, zone) if rules.windowed else None)
        or (_check_min_gaps(rules, at, past) if rules.gaps else None)
        or (_check_cooldowns(rules, channel, at, zone, past) if rules.cooldowns else None)
        or (_check_channel_lock(rules.lock, channel, today, zone, past) if rules.lock is not None else None)
        or (_check_caps(rules, at, today, zone, past) if rules.caps else None)
    )
    return decision or _ALLOWED


def next_allowed(
    policy: ContactPolicy,
    channel: Channel,
    after: datetime,
    tz: str,
    history: Sequence[ContactRecord],
    opted_out: Collection[Channel] = (),
) -> tuple[datetime | None, list[Decision]]:
    """Earliest instant >= `after` (UTC) at which `check_contact` allows the contact, and the
    blocking decisions met on the way, in order. Returns None only for an opt-out or a decision
    blocked for good (a day beyond the frozen holiday calendar).

    Raises ValueError when the policy has no allowed time at all for the channel (for instance an
    empty windows list)."""
    _require_aware(after, "after")
    t = after.astimezone(UTC)
    met: list[Decision] = []
    for _ in range(MAX_ITERATIONS):
        decision = check_contact(policy, channel, t, tz, history, opted_out)
        if decision.allowed:
            return t, met
        met.append(decision)
        if decision.next_allowed is None:
            if decision.rule == OPT_OUT_RULE or decision.for_good:
                return None, met
            raise ValueError(
                f"policy {policy.name!r} never allows {channel.value}: {decision.rule} ({decision.reason})"
            )
        if decision.next_allowed <= t:
            # Every rule promises a later instant; anything else would loop forever.
            raise ValueError(f"policy {policy.name!r}: rule {decision.rule} made no progress at {t.isoformat()}")
        t = decision.next_allowed
    raise ValueError(
        f"policy {policy.name!r} has no allowed time for {channel.value} (still blocked after {MAX_ITERATIONS} steps)"
    )


def spread_offset(key: str, span_s: int) -> int:
    """A stable offset in [0, span_s) seconds for `key` (an account id): the same on every
    process and release (sha256, not Python's salted `hash`), independent of the variant split's
    hash of the same id, and 0 when there is no span."""
    if span_s <= 0:
        return 0
    digest = hashlib.sha256(f"contact-spread:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % span_s


def _shared_boundary(policy: ContactPolicy, channel: Channel, at: datetime, zone: ZoneInfo) -> bool:
    """Whether `at` is a wall-clock instant every account in the zone shares: a window's opening
    (for a channel the windows govern) or a local midnight. Moves to such an instant make the
    waves; a move to a time of the account's own (a gap or rolling cap counted from its last
    contact) is already as spread as that contact was."""
    wall = _wall(at, zone)
    if wall.second or wall.microsecond:
        return False
    minute = wall.hour * 60 + wall.minute
    if minute == 0:
        return True
    weekday = wall.weekday()
    return channel in policy.window_channels and any(
        w.start == minute and any(d.number == weekday for d in w.days) for w in policy.windows
    )


def _allowed_stretch_end(policy: ContactPolicy, channel: Channel, at: datetime, zone: ZoneInfo) -> datetime:
    """Where the stretch of allowed time that `at` opens can end at the earliest: the end of the
    window(s) covering `at` without a gap, and never past the local midnight, where the day-based
    rules (holidays, calendar caps, the weekly lock) may change their answer. Within it the other
    rules only relax as time passes (gaps, rolling caps and cooldowns count from the past)."""
    wall = _wall(at, zone)
    end_minute = MINUTES_PER_DAY
    if channel in policy.window_channels:
        end_minute = wall.hour * 60 + wall.minute
        weekday = wall.weekday()
        covering = [w for w in policy.windows if any(d.number == weekday for d in w.days)]
        extended = True
        while extended:
            extended = False
            for w in covering:
                if w.start <= end_minute < w.end:
                    end_minute, extended = w.end, True
    midnight = datetime.combine(wall.date(), time())
    return _wall_to_utc(midnight + timedelta(minutes=end_minute), zone)


def spread_moved(
    policy: ContactPolicy,
    channel: Channel,
    moment: datetime,
    tz: str,
    history: Sequence[ContactRecord],
    key: str,
    opted_out: Collection[Channel] = (),
) -> datetime:
    """Where a contact the policy moved to `moment` (an allowed instant from `next_allowed`)
    lands. When `moment` is a window's opening or a local midnight (`_shared_boundary`), every
    account that waited for it would land there together, so this one lands `spread_offset(key,
    span)` later, span being the policy's spread cut to the allowed stretch that `moment` opens:
    the contact stays inside the same window and day. A landing the policy would not allow (which
    the stretch should rule out) falls back to `moment`: the spread never moves a contact outside
    the policy. Other moments, and policies without a spread, are kept as they are."""
    if not policy.spread_s:
        return moment
    zone = ZoneInfo(tz)
    moment = moment.astimezone(UTC)
    if not _shared_boundary(policy, channel, moment, zone):
        return moment
    room = int((_allowed_stretch_end(policy, channel, moment, zone) - moment).total_seconds())
    offset = spread_offset(key, min(policy.spread_s, room))
    if offset == 0:
        return moment
    landing = moment + timedelta(seconds=offset)
    if not check_contact(policy, channel, landing, tz, history, opted_out).allowed:
        return moment
    return landing


# --------------------------------------------------------------------------------------------
# Policy comparison
# --------------------------------------------------------------------------------------------


def _chan_set(channels: tuple[Channel, ...] | None) -> frozenset[Channel]:
    return frozenset(Channel) if channels is None else frozenset(channels)


def _day_minutes(policy: ContactPolicy) -> list[set[int]]:
    """Allowed minutes per weekday index."""
    minutes: list[set[int]] = [set() for _ in range(7)]
    for w in policy.windows:
        for d in w.days:
            minutes[d.number].update(range(w.start, w.end))
    return minutes


def _ranges(minutes: Iterable[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for m in sorted(minutes):
        if out and out[-1][1] == m:
            out[-1] = (out[-1][0], m + 1)
        else:
            out.append((m, m + 1))
    return out


def _window_loosenings(base: ContactPolicy, candidate: ContactPolicy) -> list[str]:
    if not set(base.window_channels) & set(candidate.window_channels):
        return []
    base_min = _day_minutes(base)
    cand_min = _day_minutes(candidate)
    excess: dict[tuple[tuple[int, int], ...], list[int]] = {}
    for day in range(7):
        extra = tuple(_ranges(cand_min[day] - base_min[day]))
        if extra:
            excess.setdefault(extra, []).append(day)
    return [
        f"{base.window_rule}: allows {_format_days(days)} "
        f"{', '.join(f'{_hhmm(s)}-{_hhmm(e)}' for s, e in spans)}, outside the preset's hours "
        f"({describe_windows(base)})"
        for spans, days in excess.items()
    ]


_RuleT = TypeVar("_RuleT", Cap, MinGap, Cooldown)


def _cap_matches(b: Cap, c: Cap) -> bool:
    return (
        _chan_set(c.channels) >= _chan_set(b.channels)
        and c.period == b.period
        and c.max <= b.max
        and (b.period != "rolling" or c.days >= b.days)
    )


def _closest(b: _RuleT, items: Sequence[_RuleT], channels: tuple[Channel, ...] | None) -> _RuleT | None:
    """The candidate rule a person would compare with `b`: same id, else overlapping channels."""
    same_id = [c for c in items if c.id == b.id]
    if same_id:
        return same_id[0]
    overlapping = [c for c in items if _chan_set(c.channels) & _chan_set(channels)]
    return overlapping[0] if overlapping else None


def _looser(
    rule: str,
    candidate_text: str,
    candidate_channels: tuple[Channel, ...] | None,
    base_text: str,
    base_channels: tuple[Channel, ...] | None,
) -> str:
    """ "CL-F2: max 3 per 7 days is looser than the preset's max 2 per 7 days" (channels only when
    they differ, since then they may be the reason)."""
    if _chan_set(candidate_channels) == _chan_set(base_channels):
        return f"{rule}: {candidate_text} is looser than the preset's {base_text}"
    return (
        f"{rule}: {candidate_text} on {_channels_text(candidate_channels)} is looser than the preset's "
        f"{base_text} on {_channels_text(base_channels)}"
    )


def loosenings(base: ContactPolicy, candidate: ContactPolicy) -> list[str]:
    """Every way `candidate` is less strict than `base`, one sentence each naming the rule id.
    An empty list means the candidate is at least as strict as the base."""
    found: list[str] = []

    dropped = [c for c in base.window_channels if c not in candidate.window_channels]
    if dropped:
        found.append(f"{base.window_rule}: the contact hours no longer apply to {'/'.join(c.value for c in dropped)}")
    found.extend(_window_loosenings(base, candidate))

    if base.holidays is not None and candidate.holidays != base.holidays:
        found.append(f"{base.holiday_rule}: the {base.holidays} holiday calendar is dropped")

    for cap in base.caps:
        if any(_cap_matches(cap, c) for c in candidate.caps):
            continue
        near = _closest(cap, candidate.caps, cap.channels)
        if near is None:
            found.append(f"{cap.id}: the preset's {_cap_text(cap)} on {_channels_text(cap.channels)} is missing")
        else:
            found.append(_looser(cap.id, _cap_text(near), near.channels, _cap_text(cap), cap.channels))

    for gap in base.min_gaps:
        if any(
            _chan_set(c.channels) >= _chan_set(gap.channels) and c.minutes >= gap.minutes for c in candidate.min_gaps
        ):
            continue
        near_gap = _closest(gap, candidate.min_gaps, gap.channels)
        preset = f"min gap {_duration_text(gap.minutes)}"
        if near_gap is None:
            found.append(f"{gap.id}: the preset's {preset} on {_channels_text(gap.channels)} is missing")
        else:
            found.append(
                _looser(
                    gap.id,
                    f"min gap {_duration_text(near_gap.minutes)}",
                    near_gap.channels,
                    preset,
                    gap.channels,
                )
            )

    for cooldown in base.cooldowns:
        if any(set(c.channels) >= set(cooldown.channels) and c.days >= cooldown.days for c in candidate.cooldowns):
            continue
        near_cd = _closest(cooldown, candidate.cooldowns, cooldown.channels)
        preset = f"{cooldown.days}-day cooldown after a conversation"
        if near_cd is None:
            found.append(f"{cooldown.id}: the preset's {preset} on {_channels_text(cooldown.channels)} is missing")
        else:
            found.append(
                _looser(
                    cooldown.id,
                    f"{near_cd.days}-day cooldown after a conversation",
                    near_cd.channels,
                    preset,
                    cooldown.channels,
                )
            )

    if base.channel_lock_after_contact is not None and candidate.channel_lock_after_contact is None:
        found.append(
            f"{base.channel_lock_after_contact}: the weekly channel lock after a right-party contact is dropped"
        )
    return found
