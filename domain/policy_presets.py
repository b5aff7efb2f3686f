"""Jurisdiction presets: the contact policies a campaign starts from before a strategy narrows them.

Figures come from /work/shared/research/commercial-and-compliance.md (part 2). Where the law is
ambiguous the presets take the research's "conservative encoding", i.e. the most restrictive
reading. A strategy may only tighten a preset; `domain.policy.loosenings` reports anything looser.
"""

from __future__ import annotations

from domain.policy import Cap, ContactPolicy, Cooldown, MinGap, Window
from domain.types import Channel, Weekday

_ALL_DAYS = tuple(Weekday)
_MON_FRI = (Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI)
_MON_SAT = (*_MON_FRI, Weekday.SAT)
# Letters are not "communications at a time" in any of the sources, so windows skip them.
_ELECTRONIC_AND_VOICE = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.VOICE)
_NON_VOICE = (Channel.EMAIL, Channel.SMS, Channel.WHATSAPP, Channel.LETTER)


def _hm(hours: int, minutes: int = 0) -> int:
    return hours * 60 + minutes


# United States, CFPB Regulation F (research 2.1, table 2.8, YAML 2.9).
# US-T1: 1006.6(b)(1)(i) - before 08:00 or after 21:00 local is inconvenient, every day; covers calls,
#   texts and emails. No holiday rule in Reg F.
# US-F1: 1006.14(b)(2)(A) - more than 7 calls within 7 consecutive days is presumed a violation.
# US-F2: 1006.14(b)(2)(B) - no call within 7 days after a telephone conversation, the conversation
#   day counting as day 1.
# US-F3: burst guard (research gives 5 minutes as the example that rebuts the safe harbor).
US_REG_F = ContactPolicy(
    name="US_REG_F",
    window_rule="US-T1",
    windows=(Window(days=_ALL_DAYS, start=_hm(8), end=_hm(21)),),
    window_channels=_ELECTRONIC_AND_VOICE,
    holidays=None,
    caps=(Cap(id="US-F1", channels=(Channel.VOICE,), max=7, period="rolling", days=7),),
    min_gaps=(MinGap(id="US-F3", channels=(Channel.VOICE,), minutes=5),),
    cooldowns=(Cooldown(id="US-F2", channels=(Channel.VOICE,), days=7),),
)

# Chile, Ley 19.496 art. 37 as amended by Ley 21.320 (research 2.4, table 2.8).
# CL-T1: días y horas hábiles (CPC art. 59): Mon-Sat 08:00-20:00, not on holidays. The law names
#   calls and visits; the window also covers electronic messages, the conservative choice.
# CL-F1: at most 1 phone contact per week; conservative encoding = rolling 7 days, attempts count.
# CL-F2: at most 2 gestiones per week by other means (email, SMS, instant messaging, mail), at least
#   2 days apart; rolling 7 days. Letters count although the window does not apply to them.
CL = ContactPolicy(
    name="CL",
    window_rule="CL-T1",
    windows=(Window(days=_MON_SAT, start=_hm(8), end=_hm(20)),),
    window_channels=_ELECTRONIC_AND_VOICE,
    holidays="CL",
    caps=(
        Cap(id="CL-F1", channels=(Channel.VOICE,), max=1, period="rolling", days=7),
        Cap(id="CL-F2", channels=_NON_VOICE, max=2, period="rolling", days=7),
    ),
    min_gaps=(MinGap(id="CL-F2", channels=_NON_VOICE, minutes=2 * 1440),),
)

# Colombia, Ley 2300 de 2023 art. 3 (research 2.7, table 2.8, YAML 2.9).
# CO-T1: Mon-Fri 07:00-19:00, Sat 08:00-15:00, no contact on Sundays or festivos; the law also
#   covers SMS, app messages and email (art. 5).
# CO-F1: conservative reading - at most 1 attempt per calendar day across all channels.
# CO-F2: after a direct contact, only that channel until the end of the calendar week.
CO = ContactPolicy(
    name="CO",
    window_rule="CO-T1",
    windows=(
        Window(days=_MON_FRI, start=_hm(7), end=_hm(19)),
        Window(days=(Weekday.SAT,), start=_hm(8), end=_hm(15)),
    ),
    window_channels=_ELECTRONIC_AND_VOICE,
    holidays="CO",
    caps=(Cap(id="CO-F1", channels=None, max=1, period="calendar_day"),),
    channel_lock_after_contact="CO-F2",
)

# Mexico, CONDUSEF Despachos de Cobranza / PROFECO dispositions (research 2.6, table 2.8).
# MX-T1/MX-T2: 07:00-22:00 debtor local time; conservative encoding = Mon-Fri, no official holidays.
# No frequency caps: the research found no numeric contact limit in the Mexican rules.
MX = ContactPolicy(
    name="MX",
    window_rule="MX-T1",
    windows=(Window(days=_MON_FRI, start=_hm(7), end=_hm(22)),),
    window_channels=_ELECTRONIC_AND_VOICE,
    holidays="MX",
)

# Peru, Código de Protección y Defensa del Consumidor (Ley 29571), art. 62 ("métodos abusivos en el
# cobro", enforced by INDECOPI, which sanctions under art. 110).
# PE-T1: art. 62 b prohibits visits and phone calls between 20:00 and 07:00 and on Saturdays, Sundays
#   and holidays: Mon-Fri 07:00-20:00, not on feriados (text quoted by elegirservicio.pe and
#   enfoquederecho.com, 2021). The article names calls and visits; the window also covers electronic
#   messages, the conservative choice (as CL-T1). Art. 58.1 d, as amended in 2023 and by Ley 32323
#   (2025), puts the same hours on solicited commercial calls, which supports the reading.
# No frequency caps: art. 62 forbids pseudo-judicial documents (a), posters and people with signs at
#   the debtor's home or work (c, d) and lists of debtors (e), but names no number of contacts; none
#   was found in INDECOPI's guidance either (not certain: a strategy may add caps).
PE = ContactPolicy(
    name="PE",
    window_rule="PE-T1",
    windows=(Window(days=_MON_FRI, start=_hm(7), end=_hm(20)),),
    window_channels=_ELECTRONIC_AND_VOICE,
    holidays="PE",
)

# Argentina (research 2.5, table 2.8).
# AR-P1: Ley 24.240 de Defensa del Consumidor, art. 8 bis (trato digno): no conduct that puts the
#   consumer in an embarrassing, humiliating or intimidating situation, and no means that look like a
#   judicial claim in out-of-court collection; fines under art. 52 bis. No hours or frequency in it.
#   BCRA "Protección de los usuarios de servicios financieros" (section 2.6, trato digno) adds none
#   either; Ley 26.951 "No Llame" covers advertising, not collection.
# AR-T1: Ciudad de Buenos Aires, Ley 6171 (amended by Ley 6271): Mon-Fri 08:00-20:00, Sat 08:00-12:00,
#   no Sundays or holidays. It binds only debtors domiciled in CABA, and the hours come from one
#   secondary document citing the CEDOM text (research: "verify against cedom.gob.ar"): NOT CERTAIN.
#   The preset applies them nationwide, the conservative encoding (Córdoba's bill uses the same).
# No frequency caps: none is in force (a 2026 national bill would allow 1 contact a day).
AR = ContactPolicy(
    name="AR",
    window_rule="AR-T1",
    windows=(
        Window(days=_MON_FRI, start=_hm(8), end=_hm(20)),
        Window(days=(Weekday.SAT,), start=_hm(8), end=_hm(12)),
    ),
    window_channels=_ELECTRONIC_AND_VOICE,
    holidays="AR",
)

# Brazil, Código de Defesa do Consumidor (Lei 8.078/1990).
# BR-P1: art. 42 - in collecting a debt the consumer may not be exposed to ridicule nor subjected to
#   any constraint or threat; art. 42-A - every collection document names the supplier and its CPF
#   or CNPJ; art. 71 - a crime (3 months to 1 year) to collect with threats, coercion or means that
#   expose the consumer to ridicule or interfere with their work, rest or leisure ("descanso ou
#   lazer"). The CDC sets no hours; state laws do, citing art. 42 and 71:
#   Sao Paulo Lei 15.426/2014 art. 2: Mon-Fri 08:00-20:00, Sat 08:00-14:00, never on holidays;
#   Rio de Janeiro Lei 7.868/2018: 09:00-19:00 on weekdays; Espirito Santo Lei 10.626/2017:
#   08:00-19:00 on weekdays; Ceara Lei 16.836/2019: Mon-Fri 08:00-18:00, covering SMS and WhatsApp;
#   Alagoas Lei 7.782/2016: as Sao Paulo, covering SMS; Amazonas: reported as 08:00-18:00 weekdays and
#   Sat 08:00-14:00, or until 19:00 with no Saturdays (sources disagree: NOT CERTAIN).
#   (SP text as published in the DOE 23-05-2014; the others from efic.com.br, olagoa.com.br,
#   7segundos.com.br and amnews.com.br.)
# BR-T1: one preset for debtors anywhere in Brazil takes what every one of those laws allows: Mon-Fri
#   09:00-18:00, no weekends, no national holidays, on every channel. A strategy for Sao Paulo alone
#   could allow more only through an override, with its reason. State and municipal holidays are not
#   in the national calendar the preset uses (a strategy may add a stricter calendar of its own).
# No frequency caps: courts judge "ligações excessivas" case by case; no number is set by law.
BR = ContactPolicy(
    name="BR",
    window_rule="BR-T1",
    windows=(Window(days=_MON_FRI, start=_hm(9), end=_hm(18)),),
    window_channels=_ELECTRONIC_AND_VOICE,
    holidays="BR",
)

PRESETS: dict[str, ContactPolicy] = {
    "US_REG_F": US_REG_F,
    "CL": CL,
    "CO": CO,
    "MX": MX,
    "PE": PE,
    "AR": AR,
    "BR": BR,
}
