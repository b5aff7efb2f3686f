"""The stack's API keys, one per role: an admin, a strategist, a supervisor and two agents who work
different queues of the demo strategy. Issued with `api.auth.issue_key` (what `collect api-key
create` does), kept in the data folder's keys file (mode 0600), and reused on the next start for
as long as the database still knows them; a key the database no longer accepts is issued anew."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from api.auth import issue_key, lookup
from db.session import session_scope
from stack.data_dir import DataDir


@dataclass(frozen=True)
class StackKey:
    name: str  # the entry in the keys file
    subject: str  # who the key speaks for: the agent's id in tasks and outcomes
    role: str
    queues: tuple[str, ...]
    key: str


# name, subject, role, queues (the agents' are the demo strategy's two queues)
WANTED: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("admin", "admin", "admin", ()),
    ("strategist", "sofia", "strategist", ()),
    ("supervisor", "sergio", "supervisor", ()),
    ("agent_temprana", "ana", "agent", ("temprana",)),
    ("agent_mora_tardia", "tomas", "agent", ("mora_tardia",)),
)


def ensure_keys(data: DataDir, sessions: sessionmaker[Session]) -> tuple[list[StackKey], int]:
    """The stack's keys, and how many of them were issued now (0 on a resume)."""
    stored = data.read_keys()
    keys: list[StackKey] = []
    issued = 0
    with session_scope(sessions) as session:
        for name, subject, role, queues in WANTED:
            entry = stored.get(name) or {}
            principal = lookup(session, entry["key"]) if isinstance(entry.get("key"), str) else None
            if principal is not None and (principal.subject, principal.role, principal.queues) == (
                subject,
                role,
                queues,
            ):
                keys.append(StackKey(name, subject, role, queues, entry["key"]))
                continue
            fresh = issue_key(session, subject, role, list(queues))
            keys.append(StackKey(name, subject, role, queues, fresh.key))
            issued += 1
    if issued:
        data.write_keys(
            {k.name: {"subject": k.subject, "role": k.role, "queues": list(k.queues), "key": k.key} for k in keys}
        )
    return keys, issued


def key_for(keys: list[StackKey], name: str) -> str:
    return next(k.key for k in keys if k.name == name)
