"""The data folder of a local stack (`.collect/` by default): where each part keeps its state and
logs, the API keys file (readable by its owner only), the state file that records what the demo
has done, the lock that keeps a second `collect up` off the same folder, and wiping it all.

Temporal's state and the payload development key live side by side on purpose: histories sealed
with one key are unreadable with another, so they are kept, and wiped, together.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PARTS = ("temporal", "worker", "api")
# What a data folder holds; wiping refuses a folder holding anything else (a mistyped --data-dir
# pointing at a home directory must not be emptied).
DEMO_PROVIDER = "demo"  # the payment provider a local stack's API accepts (payments.json)
_OWN = frozenset(
    {f"{db}{suffix}" for db in ("collect.db", "temporal.db") for suffix in ("", "-wal", "-shm", "-journal")}
    | {"payload-dev.key", "keys.json", "payments.json", "state.json", "up.lock", "logs"}
)


class DataDirBusy(RuntimeError):
    """Another `collect up` runs on this data folder."""


class NotADataDir(RuntimeError):
    """The folder holds files a data folder never has: it is not wiped."""


@dataclass(frozen=True)
class DataDir:
    """The layout of one data folder (an absolute path)."""

    root: Path

    @classmethod
    def at(cls, path: str | Path) -> DataDir:
        return cls(Path(path).expanduser().resolve())

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.root / 'collect.db'}"

    @property
    def temporal_db(self) -> Path:
        return self.root / "temporal.db"

    @property
    def payload_key(self) -> Path:
        return self.root / "payload-dev.key"

    @property
    def console_secret(self) -> Path:
        """The web console's development secret (signs its session cookies)."""
        return self.root / "console-dev.key"

    @property
    def keys_file(self) -> Path:
        return self.root / "keys.json"

    @property
    def payments_file(self) -> Path:
        return self.root / "payments.json"

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log(self, part: str) -> Path:
        return self.logs / f"{part}.log"

    def create(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)  # the database and the key file hold debtors' details and secrets

    def exists(self) -> bool:
        return self.root.is_dir() and any(self.root.iterdir())

    # ---- files -----------------------------------------------------------------------------------

    def read_keys(self) -> dict[str, dict[str, Any]]:
        """The keys file's entries by name (empty when there is none)."""
        return _read_json(self.keys_file)

    def write_keys(self, keys: dict[str, dict[str, Any]]) -> None:
        """Replace the keys file; it is created readable and writable by its owner only (0600)."""
        _write_private_json(self.keys_file, keys)

    def stored_payment_secrets(self) -> dict[str, str]:
        """The payment providers and secrets kept in the folder (empty when there are none)."""
        stored = _read_json(self.payments_file)
        return {name: value for name, value in stored.items() if isinstance(value, str) and value}

    def payment_secrets(self) -> dict[str, str]:
        """The local stack's payment provider (`demo`) and its webhook secret, made on first use and
        kept (0600), so `collect payment simulate` can sign what the API will accept."""
        stored = self.stored_payment_secrets()
        if DEMO_PROVIDER in stored:
            return {DEMO_PROVIDER: stored[DEMO_PROVIDER]}
        made = {DEMO_PROVIDER: secrets.token_urlsafe(32)}
        _write_private_json(self.payments_file, made)
        return made

    def read_state(self) -> dict[str, Any]:
        return _read_json(self.state_file)

    def update_state(self, **changes: Any) -> dict[str, Any]:
        """Merge `changes` into the state file and return the result."""
        state = {**self.read_state(), **changes}
        _write_private_json(self.state_file, state)
        return state

    # ---- lock and wipe ---------------------------------------------------------------------------

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the folder for one `collect up`; DataDirBusy names the process holding it."""
        self.create()
        lock = self.root / "up.lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = lock.read_text().strip() or "another process"
                raise DataDirBusy(
                    f"another `collect up` (pid {holder}) is running on {self.root}; stop it first (Ctrl-C in "
                    "its terminal) or give this one its own folder with --data-dir"
                ) from None
            os.ftruncate(fd, 0)
            os.write(fd, str(os.getpid()).encode())
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def wipe(self) -> None:
        """Delete the folder and everything in it; refuses a folder with files of its own."""
        if not self.root.exists():
            return
        foreign = sorted(p.name for p in self.root.iterdir() if p.name not in _OWN and not p.name.startswith("."))
        if foreign:
            shown = ", ".join(foreign[:5]) + (" ..." if len(foreign) > 5 else "")
            raise NotADataDir(f"{self.root} holds files a data folder never has ({shown}); not deleting it")
        with self.locked():
            shutil.rmtree(self.root)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"{path} is not valid JSON ({exc}); delete it or run `collect up --reset`") from None
    if not isinstance(data, dict):
        raise RuntimeError(f"{path} does not hold a JSON object; delete it or run `collect up --reset`")
    return data


def _write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write through a private temporary file and rename it into place: readers never see half a
    file, and the secret is never readable by others, not even for a moment."""
    fresh = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(data, out, indent=2, ensure_ascii=False)
        out.write("\n")
    os.replace(fresh, path)
