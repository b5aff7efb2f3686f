"""Contact policy: what a compliance officer would check for each preset, plus DST and comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.policy import (
    Cap,
    ContactPolicy,
    ContactRecord,
    Cooldown,
    Decision,
    MinGap,
    Window,
    check_contact,
    describe_windows,
    local_time,
    loosenings,
    next_allowed,
)
from domain.policy_presets import AR, BR, CL, CO, MX, PE, PRESETS, US_REG_F
from domain.types import Channel, Weekday

SCL = "America/Santiago"
NYC = "America/New_York"
BOG = "America/Bogota"
MEX = "America/Mexico_City"
LIM = "America/Lima"
BUE = "America/Argentina/Buenos_Aires"
SAO = "America/Sao_Paulo"
MAO = "America/Manaus"

EMAIL, SMS, WHATSAPP, VOICE, LETTER = (
    Channel.EMAIL,
    Channel.SMS,
    Channel.WHATSAPP,
    Channel.VOICE,
    Channel.LETTER,
)


def at(tz: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0, fold: int = 0) -> datetime:
    """The UTC instant of a local wall time (fold=1 picks the second occurrence when clocks go back)."""
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(tz), fold=fold).astimezone(UTC)


def rec(channel: Channel, when: datetime, conversation: bool = False) -> ContactRecord:
    return ContactRecord(channel=channel, at=when, conversation=conversation)


def wall(when: datetime | None, tz: str) -> tuple[int, int, int, int, int]:
    assert when is not None
    lt = local_time(when, tz)
    return (lt.year, lt.month, lt.day, lt.hour, lt.minute)


def always_open(name: str = "custom", **kw: object) -> ContactPolicy:
    """A policy whose window never blocks, to test one rule in isolation."""
    fields: dict[str, object] = {
        "name": name,
        "window_rule": "T",
        "windows": (Window(days=tuple(Weekday), start=0, end=1440),),
        "window_channels": tuple(Channel),
    }
    fields.update(kw)
    return ContactPolicy.model_validate(fields)


def dst_transitions(tz: str, year: int) -> list[datetime]:
    """UTC instants in `year` where the zone's offset changes, found by hourly scan."""
    zone = ZoneInfo(tz)
    t = datetime(year, 1, 1, tzinfo=UTC)
    found = []
    while t.year == year:
        if t.astimezone(zone).utcoffset() != (t + timedelta(hours=1)).astimezone(zone).utcoffset():
            found.append(t + timedelta(hours=1))
        t += timedelta(hours=1)
    return found


# ---------------------------------------------------------------------------------------------
# Chile
# ---------------------------------------------------------------------------------------------


class TestChileWindow:
    def test_sunday_is_blocked_until_monday_0800(self) -> None:
        d = check_contact(CL, SMS, at(SCL, 2026, 3, 1, 10), SCL, [])  # Sunday
        assert not d.allowed
        assert d.rule == "CL-T1"
        assert d.reason == "outside CL-T1 hours (Mon-Sat 08:00-20:00 America/Santiago)"
        assert wall(d.next_allowed, SCL) == (2026, 3, 2, 8, 0)

    def test_window_edges_end_exclusive(self) -> None:
        assert check_contact(CL, VOICE, at(SCL, 2026, 3, 2, 8, 0), SCL, []).allowed
        assert check_contact(CL, VOICE, at(SCL, 2026, 3, 2, 19, 59), SCL, []).allowed
        late = check_contact(CL, VOICE, at(SCL, 2026, 3, 2, 20, 0), SCL, [])
        assert late.rule == "CL-T1"
        assert wall(late.next_allowed, SCL) == (2026, 3, 3, 8, 0)
        early = check_contact(CL, EMAIL, at(SCL, 2026, 3, 2, 7, 59), SCL, [])
        assert wall(early.next_allowed, SCL) == (2026, 3, 2, 8, 0)

    def test_saturday_is_a_working_day(self) -> None:
        assert check_contact(CL, WHATSAPP, at(SCL, 2026, 3, 7, 12), SCL, []).allowed

    def test_fiestas_patrias_blocked_by_holiday(self) -> None:
        d = check_contact(CL, EMAIL, at(SCL, 2026, 9, 18, 11), SCL, [])
        assert not d.allowed
        assert d.rule == "holiday"
        assert "2026-09-18" in d.reason
        assert "CL" in d.reason
        # 19 Sep (Army Day) is a holiday too: the holiday rule stops blocking at the start of the 20th.
        assert wall(d.next_allowed, SCL) == (2026, 9, 20, 0, 0)

    def test_next_allowed_from_eve_of_holiday_skips_it(self) -> None:
        when, met = next_allowed(CL, EMAIL, at(SCL, 2026, 9, 17, 20, 30), SCL, [])
        assert wall(when, SCL) == (2026, 9, 21, 8, 0)  # Mon; 18, 19 holidays and 20 a Sunday
        assert [d.rule for d in met] == ["CL-T1", "holiday", "CL-T1"]

    def test_next_allowed_from_saturday_evening_is_monday_0800(self) -> None:
        when, met = next_allowed(CL, SMS, at(SCL, 2026, 3, 7, 20, 30), SCL, [])
        assert wall(when, SCL) == (2026, 3, 9, 8, 0)
        assert [d.rule for d in met] == ["CL-T1"]

    def test_letters_ignore_window_and_holidays(self) -> None:
        assert check_contact(CL, LETTER, at(SCL, 2026, 3, 1, 23), SCL, []).allowed
        assert check_contact(CL, LETTER, at(SCL, 2026, 9, 18, 3), SCL, []).allowed


class TestChileFrequency:
    def test_third_message_in_7_days_blocked_by_cl_f2(self) -> None:
        first = at(SCL, 2026, 3, 2, 10)
        history = [rec(EMAIL, first), rec(SMS, at(SCL, 2026, 3, 4, 10))]
        d = check_contact(CL, EMAIL, at(SCL, 2026, 3, 6, 11), SCL, history)
        assert d.rule == "CL-F2"
        assert d.reason == "max 2 per 7 days on email/sms/whatsapp/letter reached"
        assert d.next_allowed == first + timedelta(days=7)
        when, _ = next_allowed(CL, EMAIL, at(SCL, 2026, 3, 6, 11), SCL, history)
        assert when == first + timedelta(days=7)  # Monday 10:00, already inside the window

    def test_cap_release_is_window_adjusted(self) -> None:
        # The oldest counted gestión is a Sunday letter, so it leaves the window on a Sunday.
        history = [rec(LETTER, at(SCL, 2026, 3, 1, 12)), rec(EMAIL, at(SCL, 2026, 3, 3, 13))]
        d = check_contact(CL, WHATSAPP, at(SCL, 2026, 3, 5, 14), SCL, history)
        assert d.rule == "CL-F2"
        assert wall(d.next_allowed, SCL) == (2026, 3, 8, 12, 0)
        when, met = next_allowed(CL, WHATSAPP, at(SCL, 2026, 3, 5, 14), SCL, history)
        assert wall(when, SCL) == (2026, 3, 9, 8, 0)
        assert [m.rule for m in met] == ["CL-F2", "CL-T1"]

    def test_letters_count_toward_cl_f2(self) -> None:
        history = [rec(LETTER, at(SCL, 2026, 3, 2, 9)), rec(LETTER, at(SCL, 2026, 3, 4, 9))]
        assert check_contact(CL, EMAIL, at(SCL, 2026, 3, 6, 12), SCL, history).rule == "CL-F2"
        assert check_contact(CL, LETTER, at(SCL, 2026, 3, 6, 12), SCL, history).rule == "CL-F2"

    def test_message_one_day_after_another_blocked_by_2_day_gap(self) -> None:
        last = at(SCL, 2026, 3, 2, 10)
        d = check_contact(CL, EMAIL, at(SCL, 2026, 3, 3, 10), SCL, [rec(SMS, last)])
        assert d.rule == "CL-F2"
        assert "2 days" in d.reason
        assert d.next_allowed == last + timedelta(days=2)
        assert check_contact(CL, EMAIL, last + timedelta(days=2), SCL, [rec(SMS, last)]).allowed

    def test_one_call_per_rolling_week(self) -> None:
        call = at(SCL, 2026, 3, 2, 10)
        d = check_contact(CL, VOICE, at(SCL, 2026, 3, 5, 10), SCL, [rec(VOICE, call)])
        assert d.rule == "CL-F1"
        assert d.next_allowed == call + timedelta(days=7)
        assert check_contact(CL, VOICE, call + timedelta(days=7), SCL, [rec(VOICE, call)]).allowed

    def test_calls_and_messages_are_counted_separately(self) -> None:
        history = [rec(VOICE, at(SCL, 2026, 3, 2, 10))]
        assert check_contact(CL, EMAIL, at(SCL, 2026, 3, 2, 11), SCL, history).allowed
        history = [rec(EMAIL, at(SCL, 2026, 3, 2, 10)), rec(SMS, at(SCL, 2026, 3, 4, 10))]
        assert check_contact(CL, VOICE, at(SCL, 2026, 3, 6, 11), SCL, history).allowed

    def test_future_records_are_ignored(self) -> None:
        history = [rec(VOICE, at(SCL, 2026, 3, 9, 10))]
        assert check_contact(CL, VOICE, at(SCL, 2026, 3, 5, 10), SCL, history).allowed


class TestChileDst:
    def test_2026_transitions_are_where_expected(self) -> None:
        assert dst_transitions(SCL, 2026) == [
            datetime(2026, 4, 5, 3, tzinfo=UTC),  # Sat 24:00 -03 -> Sat 23:00 -04
            datetime(2026, 9, 6, 4, tzinfo=UTC),  # Sun 00:00 -04 -> 01:00 -03
        ]

    @pytest.mark.parametrize(
        ("saturday", "monday_utc_hour"),
        [((2026, 4, 4), 12), ((2026, 9, 5), 11)],  # -04 after April, -03 after September
    )
    def test_weekend_across_transition_still_opens_at_0800(
        self, saturday: tuple[int, int, int], monday_utc_hour: int
    ) -> None:
        when, _ = next_allowed(CL, SMS, at(SCL, *saturday, 20, 30), SCL, [])
        assert when is not None
        assert local_time(when, SCL).strftime("%a %H:%M") == "Mon 08:00"
        assert when.hour == monday_utc_hour

    def test_day_start_inside_midnight_gap_is_first_valid_instant(self) -> None:
        policy = always_open(caps=(Cap(id="D", max=1, period="calendar_day"),))
        history = [rec(EMAIL, at(SCL, 2026, 9, 5, 10))]
        d = check_contact(policy, EMAIL, at(SCL, 2026, 9, 5, 22), SCL, history)
        # 2026-09-06 00:00 does not exist in Santiago; the day starts at 01:00 -03 (04:00 UTC).
        assert d.next_allowed == datetime(2026, 9, 6, 4, tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# United States
# ---------------------------------------------------------------------------------------------


class TestUsRegF:
    def test_window_is_0800_to_2100_every_day(self) -> None:
        assert check_contact(US_REG_F, SMS, at(NYC, 2026, 3, 1, 8), NYC, []).allowed  # Sunday
        assert check_contact(US_REG_F, SMS, at(NYC, 2026, 3, 1, 20, 59), NYC, []).allowed
        d = check_contact(US_REG_F, EMAIL, at(NYC, 2026, 3, 1, 21), NYC, [])
        assert d.rule == "US-T1"
        assert "every day 08:00-21:00 America/New_York" in d.reason
        assert check_contact(US_REG_F, LETTER, at(NYC, 2026, 3, 1, 23), NYC, []).allowed

    def test_no_holiday_rule(self) -> None:
        assert check_contact(US_REG_F, VOICE, at(NYC, 2026, 7, 4, 12), NYC, []).allowed

    def test_eighth_call_in_7_days_blocked(self) -> None:
        calls = [at(NYC, 2026, 3, 10 + i // 2, 9 + 3 * (i % 2)) for i in range(7)]
        history = [rec(VOICE, c) for c in calls]
        d = check_contact(US_REG_F, VOICE, at(NYC, 2026, 3, 14, 10), NYC, history)
        assert d.rule == "US-F1"
        assert d.reason == "max 7 per 7 days on voice reached"
        assert d.next_allowed == calls[0] + timedelta(days=7)
        assert check_contact(US_REG_F, VOICE, at(NYC, 2026, 3, 14, 10), NYC, history[1:]).allowed
        # SMS is not a call.
        assert check_contact(US_REG_F, SMS, at(NYC, 2026, 3, 14, 10), NYC, history).allowed

    def test_call_after_conversation_blocked_until_day_8(self) -> None:
        talk = at(NYC, 2026, 3, 3, 14)  # Tuesday = day 1
        history = [rec(VOICE, talk, conversation=True)]
        d = check_contact(US_REG_F, VOICE, at(NYC, 2026, 3, 6, 10), NYC, history)
        assert d.rule == "US-F2"
        # Day 8 starts 2026-03-10 00:00 local, after the 8 March spring-forward (EDT, -04).
        assert d.next_allowed == datetime(2026, 3, 10, 4, tzinfo=UTC)
        assert not check_contact(US_REG_F, VOICE, at(NYC, 2026, 3, 9, 20, 59), NYC, history).allowed
        when, met = next_allowed(US_REG_F, VOICE, at(NYC, 2026, 3, 6, 10), NYC, history)
        assert wall(when, NYC) == (2026, 3, 10, 8, 0)
        assert [m.rule for m in met] == ["US-F2", "US-T1"]

    def test_cooldown_does_not_block_other_channels(self) -> None:
        history = [rec(VOICE, at(NYC, 2026, 3, 3, 14), conversation=True)]
        assert check_contact(US_REG_F, EMAIL, at(NYC, 2026, 3, 4, 10), NYC, history).allowed

    def test_any_right_party_conversation_starts_the_cooldown(self) -> None:
        # Conservative reading: the ledger does not say whether a conversation was by phone.
        history = [rec(SMS, at(NYC, 2026, 3, 3, 14), conversation=True)]
        assert check_contact(US_REG_F, VOICE, at(NYC, 2026, 3, 4, 10), NYC, history).rule == "US-F2"

    def test_calls_5_minutes_apart(self) -> None:
        last = at(NYC, 2026, 3, 3, 10)
        d = check_contact(US_REG_F, VOICE, last + timedelta(minutes=3), NYC, [rec(VOICE, last)])
        assert d.rule == "US-F3"
        assert d.next_allowed == last + timedelta(minutes=5)

    @pytest.mark.parametrize(
        ("evening", "expected_utc"),
        [
            ((2026, 3, 7), datetime(2026, 3, 8, 12, tzinfo=UTC)),  # spring forward: 08:00 EDT
            ((2026, 10, 31), datetime(2026, 11, 1, 13, tzinfo=UTC)),  # fall back: 08:00 EST
        ],
    )
    def test_dst_nights(self, evening: tuple[int, int, int], expected_utc: datetime) -> None:
        when, _ = next_allowed(US_REG_F, SMS, at(NYC, *evening, 22), NYC, [])
        assert when == expected_utc


# ---------------------------------------------------------------------------------------------
# Colombia
# ---------------------------------------------------------------------------------------------


class TestColombia:
    def test_hours(self) -> None:
        assert check_contact(CO, SMS, at(BOG, 2026, 3, 3, 7), BOG, []).allowed
        assert check_contact(CO, SMS, at(BOG, 2026, 3, 3, 19), BOG, []).rule == "CO-T1"
        assert check_contact(CO, SMS, at(BOG, 2026, 3, 7, 14, 59), BOG, []).allowed  # Saturday
        assert check_contact(CO, SMS, at(BOG, 2026, 3, 7, 15), BOG, []).rule == "CO-T1"
        assert check_contact(CO, VOICE, at(BOG, 2026, 3, 8, 10), BOG, []).rule == "CO-T1"  # Sunday

    def test_festivo_moved_to_monday(self) -> None:
        d = check_contact(CO, VOICE, at(BOG, 2026, 3, 23, 10), BOG, [])  # San José (observed)
        assert d.rule == "holiday"
        when, _ = next_allowed(CO, VOICE, at(BOG, 2026, 3, 21, 16), BOG, [])  # Sat after 15:00
        assert wall(when, BOG) == (2026, 3, 24, 7, 0)

    def test_second_contact_same_day_blocked(self) -> None:
        history = [rec(SMS, at(BOG, 2026, 3, 3, 9))]
        d = check_contact(CO, EMAIL, at(BOG, 2026, 3, 3, 15), BOG, history)
        assert d.rule == "CO-F1"
        assert d.reason == "max 1 per calendar day on all channels reached"
        assert wall(d.next_allowed, BOG) == (2026, 3, 4, 0, 0)
        when, _ = next_allowed(CO, EMAIL, at(BOG, 2026, 3, 3, 15), BOG, history)
        assert wall(when, BOG) == (2026, 3, 4, 7, 0)

    def test_letters_count_toward_daily_cap(self) -> None:
        history = [rec(LETTER, at(BOG, 2026, 3, 3, 6))]
        assert check_contact(CO, SMS, at(BOG, 2026, 3, 3, 9), BOG, history).rule == "CO-F1"

    def test_channel_lock_after_conversation(self) -> None:
        history = [rec(SMS, at(BOG, 2026, 3, 3, 9), conversation=True)]  # Tuesday
        d = check_contact(CO, EMAIL, at(BOG, 2026, 3, 5, 10), BOG, history)  # Thursday
        assert d.rule == "CO-F2"
        assert wall(d.next_allowed, BOG) == (2026, 3, 9, 0, 0)  # Monday 00:00
        assert check_contact(CO, SMS, at(BOG, 2026, 3, 5, 10), BOG, history).allowed
        # ... but sms stays subject to CO-F1 on the day of the conversation.
        assert check_contact(CO, SMS, at(BOG, 2026, 3, 3, 15), BOG, history).rule == "CO-F1"
        when, _ = next_allowed(CO, EMAIL, at(BOG, 2026, 3, 5, 10), BOG, history)
        assert wall(when, BOG) == (2026, 3, 9, 7, 0)

    def test_conversations_on_two_channels_lock_everything_for_the_week(self) -> None:
        history = [
            rec(SMS, at(BOG, 2026, 3, 3, 9), conversation=True),
            rec(VOICE, at(BOG, 2026, 3, 4, 9), conversation=True),  # inbound call
        ]
        for channel in (SMS, VOICE, EMAIL):
            assert check_contact(CO, channel, at(BOG, 2026, 3, 6, 10), BOG, history).rule == "CO-F2"
        assert check_contact(CO, SMS, at(BOG, 2026, 3, 9, 10), BOG, history).allowed

    def test_lock_only_from_conversations(self) -> None:
        history = [rec(SMS, at(BOG, 2026, 3, 3, 9))]
        assert check_contact(CO, EMAIL, at(BOG, 2026, 3, 5, 10), BOG, history).allowed


# ---------------------------------------------------------------------------------------------
# Mexico
# ---------------------------------------------------------------------------------------------


class TestMexico:
    def test_weekdays_0700_to_2200(self) -> None:
        assert check_contact(MX, VOICE, at(MEX, 2026, 3, 6, 21, 59), MEX, []).allowed  # Friday
        assert check_contact(MX, VOICE, at(MEX, 2026, 3, 6, 22), MEX, []).rule == "MX-T1"
        d = check_contact(MX, VOICE, at(MEX, 2026, 3, 7, 10), MEX, [])  # Saturday
        assert wall(d.next_allowed, MEX) == (2026, 3, 9, 7, 0)

    def test_independence_day_blocked(self) -> None:
        assert check_contact(MX, SMS, at(MEX, 2026, 9, 16, 10), MEX, []).rule == "holiday"

    def test_no_frequency_caps(self) -> None:
        history = [rec(EMAIL, at(MEX, 2026, 3, 2, 8) + timedelta(minutes=i)) for i in range(10)]
        assert check_contact(MX, EMAIL, at(MEX, 2026, 3, 2, 9), MEX, history).allowed


# ---------------------------------------------------------------------------------------------
# Peru, Argentina, Brazil
# ---------------------------------------------------------------------------------------------


class TestPeru:
    def test_weekdays_0700_to_2000(self) -> None:
        assert check_contact(PE, VOICE, at(LIM, 2026, 3, 6, 7), LIM, []).allowed  # Friday
        assert check_contact(PE, VOICE, at(LIM, 2026, 3, 6, 6, 59), LIM, []).rule == "PE-T1"
        assert check_contact(PE, VOICE, at(LIM, 2026, 3, 6, 19, 59), LIM, []).allowed
        assert check_contact(PE, VOICE, at(LIM, 2026, 3, 6, 20), LIM, []).rule == "PE-T1"

    def test_no_saturdays_or_sundays_and_messages_too(self) -> None:
        d = check_contact(PE, WHATSAPP, at(LIM, 2026, 3, 7, 10), LIM, [])  # Saturday
        assert d.rule == "PE-T1"
        assert wall(d.next_allowed, LIM) == (2026, 3, 9, 7, 0)
        assert check_contact(PE, EMAIL, at(LIM, 2026, 3, 8, 10), LIM, []).rule == "PE-T1"  # Sunday

    def test_fiestas_patrias_blocked(self) -> None:
        assert check_contact(PE, SMS, at(LIM, 2026, 7, 28, 10), LIM, []).rule == "holiday"
        when, _ = next_allowed(PE, SMS, at(LIM, 2026, 7, 28, 10), LIM, [])
        assert wall(when, LIM) == (2026, 7, 30, 7, 0)  # the 29th is a holiday too

    def test_letters_are_not_held_to_the_window(self) -> None:
        assert check_contact(PE, LETTER, at(LIM, 2026, 3, 7, 22), LIM, []).allowed

    def test_no_frequency_caps(self) -> None:
        history = [rec(VOICE, at(LIM, 2026, 3, 2, 8) + timedelta(minutes=i)) for i in range(10)]
        assert check_contact(PE, VOICE, at(LIM, 2026, 3, 2, 9), LIM, history).allowed


class TestArgentina:
    def test_weekdays_0800_to_2000_saturday_morning(self) -> None:
        assert check_contact(AR, VOICE, at(BUE, 2026, 3, 6, 8), BUE, []).allowed  # Friday
        assert check_contact(AR, VOICE, at(BUE, 2026, 3, 6, 7, 59), BUE, []).rule == "AR-T1"
        assert check_contact(AR, VOICE, at(BUE, 2026, 3, 6, 20), BUE, []).rule == "AR-T1"
        assert check_contact(AR, SMS, at(BUE, 2026, 3, 7, 11, 59), BUE, []).allowed  # Saturday
        d = check_contact(AR, SMS, at(BUE, 2026, 3, 7, 12), BUE, [])
        assert d.rule == "AR-T1"
        assert wall(d.next_allowed, BUE) == (2026, 3, 9, 8, 0)
        assert check_contact(AR, EMAIL, at(BUE, 2026, 3, 8, 10), BUE, []).rule == "AR-T1"  # Sunday

    def test_holidays_blocked(self) -> None:
        assert check_contact(AR, VOICE, at(BUE, 2026, 5, 25, 10), BUE, []).rule == "holiday"  # Revolución de Mayo
        assert check_contact(AR, EMAIL, at(BUE, 2026, 7, 9, 10), BUE, []).rule == "holiday"  # Independencia

    def test_no_frequency_caps(self) -> None:
        history = [rec(EMAIL, at(BUE, 2026, 3, 2, 8) + timedelta(minutes=i)) for i in range(10)]
        assert check_contact(AR, EMAIL, at(BUE, 2026, 3, 2, 9), BUE, history).allowed


class TestBrazil:
    def test_weekdays_0900_to_1800_in_every_state(self) -> None:
        for tz in (SAO, MAO):  # the window is the debtor's local time, whatever their zone
            assert check_contact(BR, VOICE, at(tz, 2026, 3, 6, 9), tz, []).allowed  # Friday
            assert check_contact(BR, VOICE, at(tz, 2026, 3, 6, 8, 59), tz, []).rule == "BR-T1"
            assert check_contact(BR, VOICE, at(tz, 2026, 3, 6, 17, 59), tz, []).allowed
            assert check_contact(BR, VOICE, at(tz, 2026, 3, 6, 18), tz, []).rule == "BR-T1"

    def test_no_weekends_on_any_channel(self) -> None:
        for channel in (VOICE, SMS, WHATSAPP, EMAIL):
            d = check_contact(BR, channel, at(SAO, 2026, 3, 7, 10), SAO, [])  # Saturday
            assert d.rule == "BR-T1"
            assert wall(d.next_allowed, SAO) == (2026, 3, 9, 9, 0)

    def test_national_holidays_blocked(self) -> None:
        assert check_contact(BR, VOICE, at(SAO, 2026, 9, 7, 10), SAO, []).rule == "holiday"  # Independência
        assert check_contact(BR, SMS, at(SAO, 2026, 11, 20, 10), SAO, []).rule == "holiday"  # Consciência Negra
        when, _ = next_allowed(BR, SMS, at(SAO, 2026, 4, 20, 18, 30), SAO, [])  # Monday evening
        assert wall(when, SAO) == (2026, 4, 22, 9, 0)  # Tiradentes (21st) skipped

    def test_no_frequency_caps(self) -> None:
        history = [rec(WHATSAPP, at(SAO, 2026, 3, 2, 9) + timedelta(minutes=i)) for i in range(10)]
        assert check_contact(BR, WHATSAPP, at(SAO, 2026, 3, 2, 10), SAO, history).allowed


# ---------------------------------------------------------------------------------------------
# Opt-out, next_allowed mechanics, custom policies
# ---------------------------------------------------------------------------------------------


class TestOptOut:
    def test_opt_out_blocks_forever_and_first(self) -> None:
        d = check_contact(CL, SMS, at(SCL, 2026, 3, 1, 10), SCL, [], opted_out=[SMS])
        assert d == Decision(allowed=False, rule="opt-out", reason=d.reason, next_allowed=None)
        when, met = next_allowed(CL, SMS, at(SCL, 2026, 3, 2, 10), SCL, [], opted_out={SMS})
        assert when is None
        assert [m.rule for m in met] == ["opt-out"]
        assert check_contact(CL, EMAIL, at(SCL, 2026, 3, 2, 10), SCL, [], opted_out={SMS}).allowed


class TestNextAllowed:
    def test_allowed_now_returns_now(self) -> None:
        now = at(SCL, 2026, 3, 2, 10)
        assert next_allowed(CL, SMS, now, SCL, []) == (now, [])

    def test_empty_windows_raise_naming_policy(self) -> None:
        policy = ContactPolicy(name="broken", window_rule="T", windows=(), window_channels=(SMS,))
        with pytest.raises(ValueError, match="broken"):
            next_allowed(policy, SMS, at(SCL, 2026, 3, 2, 10), SCL, [])
        # Channels outside the window are unaffected.
        assert check_contact(policy, EMAIL, at(SCL, 2026, 3, 2, 10), SCL, []).allowed

    def test_naive_datetime_rejected(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            check_contact(CL, SMS, datetime(2026, 3, 2, 10), SCL, [])  # noqa: DTZ001

    def test_window_start_in_spring_forward_gap(self) -> None:
        policy = ContactPolicy(
            name="gap",
            window_rule="T",
            windows=(Window(days=(Weekday.SUN,), start=150, end=240),),  # 02:30-04:00
            window_channels=(SMS,),
        )
        when, _ = next_allowed(policy, SMS, at(NYC, 2026, 3, 8, 1), NYC, [])
        # 02:30 does not exist on 8 March 2026; the first valid instant after it is 03:00 EDT.
        assert when == datetime(2026, 3, 8, 7, tzinfo=UTC)

    def test_repeated_hour_when_clocks_go_back(self) -> None:
        policy = ContactPolicy(
            name="fold",
            window_rule="T",
            windows=(Window(days=tuple(Weekday), start=60, end=90),),  # 01:00-01:30
            window_channels=(SMS,),
        )
        first_145 = at(NYC, 2026, 11, 1, 1, 45)  # EDT, before the clocks go back at 02:00
        when, _ = next_allowed(policy, SMS, first_145, NYC, [])
        assert when == at(NYC, 2026, 11, 1, 1, 0, fold=1) == datetime(2026, 11, 1, 6, tzinfo=UTC)

    def test_calendar_week_cap_releases_on_monday(self) -> None:
        policy = always_open(caps=(Cap(id="W", channels=(EMAIL,), max=1, period="calendar_week"),))
        history = [rec(EMAIL, at(SCL, 2026, 3, 3, 10))]
        d = check_contact(policy, EMAIL, at(SCL, 2026, 3, 8, 23), SCL, history)
        assert d.rule == "W"
        assert wall(d.next_allowed, SCL) == (2026, 3, 9, 0, 0)
        assert check_contact(policy, SMS, at(SCL, 2026, 3, 8, 23), SCL, history).allowed

    def test_rule_order(self) -> None:
        # Holiday before window, window before gaps and caps.
        history = [rec(EMAIL, at(SCL, 2026, 9, 17, 10)), rec(SMS, at(SCL, 2026, 9, 15, 10))]
        assert check_contact(CL, EMAIL, at(SCL, 2026, 9, 18, 22), SCL, history).rule == "holiday"
        assert check_contact(CL, EMAIL, at(SCL, 2026, 9, 17, 21), SCL, history).rule == "CL-T1"
        assert check_contact(CL, EMAIL, at(SCL, 2026, 9, 17, 11), SCL, history).rule == "CL-F2"


_PRESET_TZ = {"US_REG_F": NYC, "CL": SCL, "CO": BOG, "MX": MEX, "PE": LIM, "AR": BUE, "BR": SAO}


@settings(max_examples=150, deadline=None)
@given(
    preset=st.sampled_from(sorted(PRESETS)),
    channel=st.sampled_from(list(Channel)),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)),  # noqa: DTZ001
    offsets=st.lists(st.tuples(st.integers(1, 10 * 1440), st.sampled_from(list(Channel)), st.booleans()), max_size=8),
)
def test_next_allowed_is_allowed_and_earliest(
    preset: str, channel: Channel, start: datetime, offsets: list[tuple[int, Channel, bool]]
) -> None:
    policy, tz = PRESETS[preset], _PRESET_TZ[preset]
    after = start.replace(tzinfo=UTC)
    history = [rec(ch, after - timedelta(minutes=m), conv) for m, ch, conv in offsets]
    when, met = next_allowed(policy, channel, after, tz, history)
    assert when is not None
    assert when >= after
    assert check_contact(policy, channel, when, tz, history).allowed
    assert all(not d.allowed and d.next_allowed is not None and d.next_allowed <= when for d in met)
    if when > after:
        span = when - after
        for k in range(20):
            probe = after + span * k / 20
            assert not check_contact(policy, channel, probe, tz, history).allowed
        assert not check_contact(policy, channel, when - timedelta(seconds=1), tz, history).allowed


# ---------------------------------------------------------------------------------------------
# Loosenings
# ---------------------------------------------------------------------------------------------


class TestLoosenings:
    @pytest.mark.parametrize("name", sorted(PRESETS))
    def test_preset_against_itself(self, name: str) -> None:
        assert loosenings(PRESETS[name], PRESETS[name]) == []

    def test_wider_window(self) -> None:
        wider = CL.model_copy(update={"windows": (Window(days=tuple(Weekday)[:6], start=480, end=1260),)})
        assert loosenings(CL, wider) == [
            "CL-T1: allows Mon-Sat 20:00-21:00, outside the preset's hours (Mon-Sat 08:00-20:00)"
        ]

    def test_sunday_window(self) -> None:
        sunday = CL.model_copy(update={"windows": (*CL.windows, Window(days=(Weekday.SUN,), start=600, end=720))})
        (msg,) = loosenings(CL, sunday)
        assert msg.startswith("CL-T1: allows Sun 10:00-12:00")

    def test_higher_cap(self) -> None:
        higher = CL.model_copy(update={"caps": (CL.caps[0], CL.caps[1].model_copy(update={"max": 3}))})
        assert loosenings(CL, higher) == ["CL-F2: max 3 per 7 days is looser than the preset's max 2 per 7 days"]

    def test_dropped_holiday_calendar(self) -> None:
        assert loosenings(CL, CL.model_copy(update={"holidays": None})) == [
            "holiday: the CL holiday calendar is dropped"
        ]

    def test_every_other_loosening_is_named(self) -> None:
        loose = CL.model_copy(
            update={
                "window_channels": (EMAIL, VOICE),
                "caps": (Cap(id="CL-F1", channels=(VOICE,), max=1, period="rolling", days=5),),
                "min_gaps": (MinGap(id="CL-F2", channels=(EMAIL, SMS, WHATSAPP, LETTER), minutes=60),),
            }
        )
        found = loosenings(CL, loose)
        assert any(m.startswith("CL-T1:") and "sms/whatsapp" in m for m in found)
        assert any(m.startswith("CL-F1:") and "max 1 per 5 days" in m for m in found)
        assert any(m.startswith("CL-F2:") and "is missing" in m for m in found)
        assert any(m.startswith("CL-F2:") and "min gap 1 hour" in m for m in found)
        assert len(found) == 4

    def test_us_cooldown_and_co_lock(self) -> None:
        short = US_REG_F.model_copy(update={"cooldowns": (Cooldown(id="US-F2", channels=(VOICE,), days=3),)})
        assert loosenings(US_REG_F, short) == [
            "US-F2: 3-day cooldown after a conversation is looser than the preset's 7-day cooldown after a conversation"
        ]
        unlocked = CO.model_copy(update={"channel_lock_after_contact": None})
        assert [m.split(":")[0] for m in loosenings(CO, unlocked)] == ["CO-F2"]

    def test_different_period_kind_is_reported(self) -> None:
        weekly = CO.model_copy(update={"caps": (Cap(id="CO-F1", max=1, period="calendar_week"),)})
        assert [m.split(":")[0] for m in loosenings(CO, weekly)] == ["CO-F1"]

    def test_strictly_tighter_policy_has_no_loosenings(self) -> None:
        tight = ContactPolicy(
            name="custom",
            window_rule="CL-T1",
            windows=(Window(days=(Weekday.TUE, Weekday.THU), start=600, end=1080),),
            window_channels=tuple(Channel),
            holidays="CL",
            caps=(
                Cap(id="CL-F1", channels=(VOICE, SMS), max=1, period="rolling", days=10),
                Cap(id="CL-F2", channels=None, max=1, period="rolling", days=7),
            ),
            min_gaps=(MinGap(id="CL-F2", minutes=3 * 1440),),
            cooldowns=(Cooldown(id="X", channels=(VOICE,), days=3),),
            channel_lock_after_contact="X-LOCK",
        )
        assert loosenings(CL, tight) == []
        # The converse is not true: the preset is looser than the custom policy.
        assert loosenings(tight, CL) != []


# ---------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------


class TestModel:
    @pytest.mark.parametrize("name", sorted(PRESETS))
    def test_presets_round_trip_json(self, name: str) -> None:
        policy = PRESETS[name]
        assert policy.name == name
        assert ContactPolicy.model_validate_json(policy.model_dump_json()) == policy

    def test_decision_and_record_round_trip(self) -> None:
        d = check_contact(CL, SMS, at(SCL, 2026, 3, 1, 10), SCL, [])
        assert Decision.model_validate_json(d.model_dump_json()) == d
        r = rec(VOICE, at(NYC, 2026, 3, 3, 10), conversation=True)
        assert ContactRecord.model_validate_json(r.model_dump_json()) == r

    def test_validation(self) -> None:
        with pytest.raises(ValidationError):
            Window(days=(Weekday.MON,), start=600, end=600)
        with pytest.raises(ValidationError):
            Window(days=(Weekday.MON,), start=0, end=1441)
        with pytest.raises(ValidationError):
            Cap(id="x", max=0, period="rolling")
        with pytest.raises(ValidationError):
            ContactRecord(channel=SMS, at=datetime(2026, 3, 1))  # noqa: DTZ001
        with pytest.raises(ValidationError):
            ContactPolicy.model_validate({**CL.model_dump(), "surprise": 1})
        with pytest.raises(ValidationError):
            setattr(CL, "name", "other")  # noqa: B010 - the attribute is frozen, so mypy rejects `CL.name =`

    def test_describe_windows(self) -> None:
        assert describe_windows(CL) == "Mon-Sat 08:00-20:00"
        assert describe_windows(CO) == "Mon-Fri 07:00-19:00, Sat 08:00-15:00"
        assert describe_windows(US_REG_F) == "every day 08:00-21:00"
        assert describe_windows(MX) == "Mon-Fri 07:00-22:00"
        assert describe_windows(PE) == "Mon-Fri 07:00-20:00"
        assert describe_windows(AR) == "Mon-Fri 08:00-20:00, Sat 08:00-12:00"
        assert describe_windows(BR) == "Mon-Fri 09:00-18:00"

    def test_preset_figures(self) -> None:
        assert set(PRESETS) == {"US_REG_F", "CL", "CO", "MX", "PE", "AR", "BR"}
        assert (PE.holidays, AR.holidays, BR.holidays) == ("PE", "AR", "BR")
        assert PE.caps == AR.caps == BR.caps == ()
        assert all(LETTER not in p.window_channels for p in (PE, AR, BR))
        assert LETTER not in CL.window_channels
        assert LETTER not in CO.window_channels
        assert US_REG_F.holidays is None
        assert CL.holidays == "CL"
        assert CO.holidays == "CO"
        assert MX.holidays == "MX"
        assert MX.caps == ()
        assert {(c.id, c.max, c.period, c.days) for c in CL.caps} == {
            ("CL-F1", 1, "rolling", 7),
            ("CL-F2", 2, "rolling", 7),
        }
        assert CL.min_gaps[0].minutes == 2880
        assert CO.caps[0].channels is None
        assert CO.channel_lock_after_contact == "CO-F2"
