"""Provider webhooks: payments (HMAC-SHA256), SendGrid events (ECDSA) and Twilio status callbacks
and inbound messages (`X-Twilio-Signature`).

They carry no API key: the signature is the credential, checked on the raw body before anything
is parsed (api/signatures.py), and a missing, stale or wrong one is a 403 problem. Nothing that
feeds a key or an effect comes from an unsigned part of the request: a payment's provider is in
its signed string, SendGrid's keys are in its signed body, Twilio signs the URL and the form.
Providers redeliver; each event is claimed once in `webhook_receipts` (source + the provider's
event id) inside the request's transaction, so a redelivery changes nothing, and a failure of the
message webhooks (e.g. Temporal unavailable, 503) rolls the claim back so the provider's retry is
processed afresh. A payment is committed before its workflow is told: when Temporal is down the
answer is still 2xx (`delivered: false`) and the worker's reconciler delivers it later.

Facts go to the database first (payments, message events, contact-point opt-outs); then the
account workflows concerned are signalled. A workflow that is not running (closed account) is
skipped: the facts stay recorded.
"""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl

import phonenumbers
from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import signatures
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.errors import ProblemError, ProblemItem
from api.openapi import schema_ref
from api.routers.payments import deliver_payment, receive_payment
from api.schemas.webhooks import (
    TWILIO_INBOUND_FORM,
    TWILIO_STATUS_FORM,
    PaymentEvent,
    PaymentWebhookAck,
    SendGridAck,
    SendGridEvent,
)
from api.temporal import TemporalGateway
from config import Settings
from db.models import Account, Communication
from db.repositories import payments as ledger
from db.repositories import webhooks as hooks
from domain import events as ev
from domain.types import Channel

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

T = TypeVar("T")

# SendGrid event → our message event (https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event).
SENDGRID_EVENTS: dict[str, ev.MessageEventKind] = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "dropped": "bounced",
}
SENDGRID_OPT_OUTS = frozenset({"unsubscribe", "group_unsubscribe", "spamreport"})
SENDGRID_OPT_INS = frozenset({"group_resubscribe"})
# Twilio message and call statuses → our message event; the rest (queued, sent, ringing...) are only stored.
TWILIO_MESSAGE_EVENTS: dict[str, ev.MessageEventKind] = {
    "delivered": "delivered",
    "read": "opened",  # WhatsApp read receipts
    "undelivered": "failed",
    "failed": "failed",
}
TWILIO_CALL_EVENTS: dict[str, ev.MessageEventKind] = {"completed": "delivered", "failed": "failed"}
# Twilio's "attempt to send to unsubscribed recipient": the carrier holds a STOP we must mirror.
TWILIO_OPTED_OUT_ERROR = "21610"
# Opt-out and opt-in keywords: Twilio's defaults (ecosystem.md §2.4; TCPA revocation words,
# commercial-and-compliance.md §2.2) plus the Spanish ones a Latin American campaign needs.
# Matched on the whole message, case- and accent-insensitively, as Twilio does ("Stop" opts out,
# "Stop please" does not).
STOP_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT", "BAJA", "ALTO"}
    | {"NO MOLESTAR", "NO ME MOLESTEN"}
)
START_KEYWORDS = frozenset({"START", "UNSTOP", "ALTA"})
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
PAYMENT_EVENT = TypeAdapter(PaymentEvent)
SENDGRID_BATCH = TypeAdapter(list[SendGridEvent])

# No pattern: a name that is not a configured provider (`KHIPU`, `a b`) gets the same 404 as an
# unknown lowercase one, instead of a 422 that tells a prober what a provider name looks like.
ProviderPath = Annotated[
    str,
    Path(description="The payment provider, as configured and recorded on the payment (lowercase)."),
]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


# The exact bytes the provider signed; read before any parsing.
RawBody = Annotated[bytes, Depends(_raw_body)]


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def _form_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


TWIML_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"description": "Empty TwiML: nothing to reply.", "content": {"text/xml": {"schema": {"type": "string"}}}}
}


def _twiml() -> Response:
    return Response(EMPTY_TWIML, media_type="text/xml")


def _parse(adapter: TypeAdapter[T], body: bytes, max_items: int | None = None) -> T:
    """The signed body as `adapter`'s type: 400 when it is not JSON, 413 when it is a list longer
    than `max_items`, 422 (with pointers) when it does not fit."""
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ProblemError(
            400, "The body is not valid JSON.", errors=[ProblemItem(line=exc.lineno, column=exc.colno, detail=exc.msg)]
        ) from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise ProblemError(400, f"The body is not usable JSON: {type(exc).__name__}.") from None
    if max_items is not None and isinstance(data, list) and len(data) > max_items:
        raise ProblemError(
            413,
            f"The batch holds {len(data)} events; at most {max_items} are accepted in one request. "
            "Send it in smaller batches.",
            errors=[ProblemItem(pointer="/body", detail=f"at most {max_items} items")],
        )
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        errors = [
            ProblemItem(pointer="/body" + "".join(f"/{part}" for part in e["loc"]), detail=e["msg"])
            for e in exc.errors()
        ]
        raise ProblemError(422, "The event does not match its schema.", errors=errors) from None


def _signal(temporal: TemporalGateway, workflow_id: str, name: str, payload: BaseModel) -> bool:
    """Signal one account's workflow; False when it is not running (the fact is recorded anyway)."""
    try:
        temporal.signal(workflow_id, name, payload)
    except ProblemError as exc:
        if exc.status == 409:
            return False
        raise
    return True


# ---- payment providers ------------------------------------------------------------------------


def _account_of(session: Session, event: PaymentEvent) -> Account:
    if event.account_id is not None:
        account = session.get(Account, event.account_id)
        pointer, named = "/body/account_id", f"account {event.account_id}"
    else:
        account = session.scalar(
            select(Account).where(
                Account.campaign_id == event.campaign_id, Account.external_id == event.external_account_id
            )
        )
        pointer, named = "/body/external_account_id", f"account {event.external_account_id!r} in {event.campaign_id!r}"
    if account is None:
        raise ProblemError(422, f"There is no {named}.", errors=[ProblemItem(pointer=pointer, detail="not found")])
    return account


@router.post(
    "/payments/{provider}",
    summary="A payment provider reports a payment (HMAC-SHA256 signed, one secret per provider)",
    openapi_extra=_json_body(schema_ref(PaymentEvent.__name__)),
)
def payment_webhook(
    provider: ProviderPath,
    body: RawBody,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signature: Annotated[
        str | None, Header(alias=signatures.HMAC_SIGNATURE, description='"sha256=" + hex HMAC-SHA256')
    ] = None,
    timestamp: Annotated[
        str | None,
        Header(alias=signatures.HMAC_TIMESTAMP, description="Unix seconds; signed with the provider and the body"),
    ] = None,
) -> PaymentWebhookAck:
    """Sign `"<X-Signature-Timestamp>.<provider>.<raw body>"` with HMAC-SHA256 under this
    provider's own secret and send `X-Signature: sha256=<hex>`; timestamps older than the tolerance
    (300 s) are refused, and a provider without a secret is a 404. The same `event_id`, or the
    same `provider_payment_id`, of the same provider counts once (`duplicate`). `delivered: false`
    means the payment is recorded but its account's workflow could not be told yet (Temporal
    unavailable): the worker's reconciler delivers it later, so there is nothing to retry."""
    secret = settings.payment_webhook_secrets.get(provider)
    if secret is None:
        # The same answer as a path that does not exist: which providers are configured is nobody's business.
        raise StarletteHTTPException(404)
    signatures.verify_hmac(
        secret,
        provider,
        body,
        signature,
        timestamp,
        tolerance_s=settings.webhook_tolerance_s,
        now=datetime.now(UTC),
    )
    # From here on `provider` is authenticated: the signature covers it, so the receipt and the
    # ledger may key on it.
    event = _parse(PAYMENT_EVENT, body)
    if not hooks.claim(session, f"payment:{provider}", event.event_id, body.decode("utf-8", "replace")):
        known = ledger.find(session, provider, event.provider_payment_id)
        if known is None:
            return PaymentWebhookAck(status="duplicate")
        # Deliver again if the first delivery recorded the payment but could not reach Temporal.
        # The workflow counts each payment id once, so this is harmless.
        payment_id, allocated_to = known.id, known.allocated_to
        delivered = deliver_payment(session, temporal, known)
        return PaymentWebhookAck(
            status="duplicate",
            payment_id=payment_id,
            allocated_to=allocated_to,
            signalled=delivered,
            delivered=delivered,
        )
    recorded = receive_payment(
        session,
        temporal,
        _account_of(session, event),
        provider=provider,
        provider_payment_id=event.provider_payment_id,
        amount=event.amount,
        currency=event.currency,
        received_at=event.paid_at,
    )
    return PaymentWebhookAck(
        status="recorded" if recorded.created else "duplicate",
        payment_id=recorded.id,
        allocated_to=recorded.allocated_to,
        signalled=recorded.signalled,
        delivered=recorded.delivered,
    )


# ---- SendGrid ---------------------------------------------------------------------------------


def _occurred(timestamp: int | None, now: datetime) -> datetime:
    if timestamp is None or not 0 < timestamp < 2**33:
        return now
    return datetime.fromtimestamp(timestamp, UTC)


@router.post(
    "/sendgrid/events",
    summary="SendGrid's Event Webhook (ECDSA signed)",
    openapi_extra=_json_body({"type": "array", "items": schema_ref(SendGridEvent.__name__)}),
)
def sendgrid_events(
    body: RawBody,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=signatures.SENDGRID_SIGNATURE)] = None,
    timestamp: Annotated[str | None, Header(alias=signatures.SENDGRID_TIMESTAMP)] = None,
) -> SendGridAck:
    """Delivery and engagement events for our emails. Each new event (by `sg_event_id`) is stored
    on its communication (found by the `collect_key` custom arg) and signalled to the account's
    workflow: delivered, open, click, bounce and dropped as message events; unsubscribe,
    group_unsubscribe and spamreport opt the email address out. Other events are stored only."""
    now = datetime.now(UTC)
    signatures.verify_sendgrid(
        settings.sendgrid_webhook_public_key,
        body,
        signature,
        timestamp,
        tolerance_s=settings.webhook_tolerance_s,
        now=now,
    )
    events = _parse(SENDGRID_BATCH, body, max_items=settings.sendgrid_max_batch_events)
    # Bulk: one claim statement, one communication lookup, one event insert per chunk of the
    # batch (a 50,000-event batch took minutes one event at a time).
    claimed = hooks.claim_many(session, "sendgrid", [event.sg_event_id for event in events])
    new_events: list[SendGridEvent] = []
    for event in events:
        if event.sg_event_id in claimed:
            claimed.discard(event.sg_event_id)  # the same id twice in one batch counts once
            new_events.append(event)
    comms = hooks.communications_by_keys(session, [e.collect_key for e in new_events if e.collect_key])
    # A message's workflow hears the first event of each kind (its first open, first click, its
    # bounce), not every repeat: mail clients and privacy proxies open a message dozens of times,
    # and one signal per repeat made a 50,000-event batch cost two minutes of signals. Every event
    # is still stored; `opened` and `clicked` in the account's counters count messages.
    already: set[tuple[int, str | None]] = {
        (comm_id, SENDGRID_EVENTS[name])
        for comm_id, name in hooks.event_kinds_seen(session, [c.id for c in comms.values()])
        if name in SENDGRID_EVENTS
    }
    hooks.add_events(
        session,
        [
            {
                "communication_id": comm.id if comm is not None else None,
                "provider": "sendgrid",
                "provider_event_id": event.sg_event_id,
                "event": event.event,
                "occurred_at": _occurred(event.timestamp, now),
                "payload": event.raw(),
            }
            for event in new_events
            for comm in [comms.get(event.collect_key or "")]
        ],
    )
    opting = [e for e in new_events if e.event in SENDGRID_OPT_OUTS | SENDGRID_OPT_INS and e.collect_key in comms]
    debtors = hooks.debtors_of_accounts(session, [comms[e.collect_key or ""].account_id for e in opting])
    outgoing: list[tuple[str, str, BaseModel]] = []
    for event in new_events:
        comm = comms.get(event.collect_key or "")
        if comm is not None:
            first = (comm.id, SENDGRID_EVENTS.get(event.event))
            repeat = first in already
            already.add(first)
            outgoing.extend(_sendgrid_effects(session, comm, event, now, debtors.get(comm.account_id), repeat))
    signalled = temporal.signal_many(outgoing)
    return SendGridAck(
        received=len(events), recorded=len(new_events), duplicates=len(events) - len(new_events), signalled=signalled
    )


def _sendgrid_effects(
    session: Session, comm: Communication, event: SendGridEvent, now: datetime, debtor: int | None, repeat: bool
) -> list[tuple[str, str, BaseModel]]:
    """Apply one event to the log and contact points; return the signals it calls for (none for a
    `repeat` of a kind the message already had)."""
    effects: list[tuple[str, str, BaseModel]] = []
    mapped = SENDGRID_EVENTS.get(event.event)
    if mapped is not None:
        hooks.advance(session, comm, mapped)
    if mapped is not None and not repeat:
        effects.append(
            (comm.workflow_id, "message_event", ev.MessageEvent(channel=Channel.EMAIL, event=mapped, seq=comm.seq))
        )
    if event.event in SENDGRID_OPT_OUTS | SENDGRID_OPT_INS:
        address = event.email or comm.to_address
        opting_out = event.event in SENDGRID_OPT_OUTS
        if debtor is not None:
            hooks.set_opted_out(session, [debtor], Channel.EMAIL.value, address, now if opting_out else None)
        payload: BaseModel = ev.OptOut(channel=Channel.EMAIL) if opting_out else ev.OptIn(channel=Channel.EMAIL)
        effects.append((comm.workflow_id, "opt_out" if opting_out else "opt_in", payload))
    return effects


# ---- Twilio -----------------------------------------------------------------------------------


def _form(body: bytes) -> FormData:
    # Twilio posts application/x-www-form-urlencoded; every value is signed, blank ones included.
    pairs: list[tuple[str, str | UploadFile]] = list(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return FormData(pairs)


def _verified_form(request: Request, body: bytes, settings: Settings, signature: str | None) -> FormData:
    params = _form(body)
    base = settings.public_base_url or settings.status_callback_base_url
    signatures.verify_twilio(settings.twilio_auth_token, signatures.public_url(base, request.url), params, signature)
    return params


def _required(params: FormData, *names: str) -> str:
    for name in names:
        value = params.get(name)
        if isinstance(value, str) and value and "\x00" not in value and len(value) <= 255:
            return value
    raise ProblemError(
        422,
        f"The form lacks {' or '.join(names)} (or it is longer than 255 characters).",
        errors=[ProblemItem(pointer=f"/body/{names[0]}", detail="field required")],
    )


def _e164(number: str) -> str:
    """`number` in E.164 when it parses as one (Twilio sends E.164; this forgives spacing)."""
    try:
        parsed = phonenumbers.parse(number.strip(), None)
    except phonenumbers.NumberParseException:
        return number.strip()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def keyword_intent(body: str, opt_out_type: str | None) -> str:
    """`opt_out`, `opt_in` or `reply` for an inbound message (Twilio's OptOutType wins when present)."""
    declared = (opt_out_type or "").strip().upper()
    if declared == "STOP":
        return "opt_out"
    if declared == "START":
        return "opt_in"
    if declared == "HELP":
        return "reply"
    plain = unicodedata.normalize("NFKD", body).encode("ascii", "ignore").decode().upper()
    words = " ".join(plain.strip(" \t\r\n.!?,;").split())
    if words in STOP_KEYWORDS:
        return "opt_out"
    if words in START_KEYWORDS:
        return "opt_in"
    return "reply"


@router.post(
    "/twilio/status",
    summary="Twilio's status callback for messages and calls (X-Twilio-Signature)",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body(schema_ref(TWILIO_STATUS_FORM["title"])),
)
def twilio_status(
    request: Request,
    body: RawBody,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=signatures.TWILIO_SIGNATURE)] = None,
) -> Response:
    """A message's (MessageSid, MessageStatus, ErrorCode) or a call's (CallSid, CallStatus) new
    status. Each (sid, status) counts once; delivered, read, undelivered and failed are signalled to
    the account's workflow, error 21610 (the carrier holds a STOP) opts the number out."""
    params = _verified_form(request, body, settings, signature)
    is_call = not params.get("MessageSid") and bool(params.get("CallSid"))
    sid = _required(params, "MessageSid", "CallSid")
    status = _required(params, "MessageStatus", "CallStatus").strip().lower()
    if not hooks.claim(session, "twilio-status", f"{sid}:{status}"[:255]):
        return _twiml()
    now = datetime.now(UTC)
    comm = hooks.communication_by_provider_id(session, sid)
    error_code = str(params.get("ErrorCode") or "") or None
    hooks.add_event(
        session,
        communication=comm,
        provider="twilio",
        provider_event_id=f"{sid}:{status}"[:255],
        event=status,
        occurred_at=now,
        payload={k: str(v) for k, v in params.multi_items()},
    )
    if comm is None:
        return _twiml()
    mapped = (TWILIO_CALL_EVENTS if is_call else TWILIO_MESSAGE_EVENTS).get(status)
    if mapped is not None:
        hooks.advance(session, comm, mapped, error_code)
        event = ev.MessageEvent(channel=Channel(comm.channel), event=mapped, seq=comm.seq)
        _signal(temporal, comm.workflow_id, "message_event", event)
    if error_code == TWILIO_OPTED_OUT_ERROR and comm.channel in ("sms", "whatsapp") and comm.to_address:
        debtor = hooks.debtor_of_account(session, comm.account_id)
        if debtor is not None:
            hooks.set_opted_out(session, [debtor], comm.channel, comm.to_address, now)
        _signal(temporal, comm.workflow_id, "opt_out", ev.OptOut(channel=Channel(comm.channel)))
    return _twiml()


@router.post(
    "/twilio/inbound",
    summary="An inbound SMS or WhatsApp message (X-Twilio-Signature)",
    response_class=Response,
    responses=TWIML_RESPONSE,
    openapi_extra=_form_body(schema_ref(TWILIO_INBOUND_FORM["title"])),
)
def twilio_inbound(
    request: Request,
    body: RawBody,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
    signature: Annotated[str | None, Header(alias=signatures.TWILIO_SIGNATURE)] = None,
) -> Response:
    """A debtor wrote to us. STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, BAJA,
    ALTO, NO MOLESTAR (or Twilio's `OptOutType=STOP`) opt that number out on that channel (SMS, or
    WhatsApp when `From` starts with `whatsapp:`) for every account of every debtor who has the
    number; START, UNSTOP, ALTA opt it back in; anything else is a `replied` message event.
    Answers with empty TwiML (no auto-reply)."""
    params = _verified_form(request, body, settings, signature)
    sid = _required(params, "MessageSid", "SmsSid")
    sender = _required(params, "From")
    if not hooks.claim(session, "twilio-inbound", sid[:255]):
        return _twiml()
    channel = Channel.WHATSAPP if sender.startswith("whatsapp:") else Channel.SMS
    number = _e164(sender.removeprefix("whatsapp:"))
    intent = keyword_intent(str(params.get("Body") or ""), str(params.get("OptOutType") or "") or None)
    now = datetime.now(UTC)
    debtors = hooks.debtors_with_number(session, number)
    comm = hooks.latest_to(session, debtors, channel.value, number)
    hooks.add_event(
        session,
        communication=comm,
        provider="twilio",
        provider_event_id=sid[:255],
        event={"opt_out": "opt_out", "opt_in": "opt_in"}.get(intent, "replied"),
        occurred_at=now,
        payload={k: str(v) for k, v in params.multi_items()},
    )
    if intent == "opt_out":
        hooks.set_opted_out(session, debtors, channel.value, number, now)
    elif intent == "opt_in":
        hooks.set_opted_out(session, debtors, channel.value, number, None)
    elif comm is not None:
        hooks.advance(session, comm, "replied")
    for workflow_id in hooks.workflows_of_debtors(session, debtors):
        payload: BaseModel
        if intent == "opt_out":
            payload, name = ev.OptOut(channel=channel), "opt_out"
        elif intent == "opt_in":
            payload, name = ev.OptIn(channel=channel), "opt_in"
        else:
            seq = comm.seq if comm is not None and comm.workflow_id == workflow_id else None
            payload, name = ev.MessageEvent(channel=channel, event="replied", seq=seq), "message_event"
        _signal(temporal, workflow_id, name, payload)
    return _twiml()
