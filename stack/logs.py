"""Reading the parts' logs in the data folder (`collect logs`): the last lines of one part or of
all, and following them as they grow, each line prefixed with its part when several are shown."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

from stack.data_dir import PARTS, DataDir

FOLLOW_POLL_S = 0.25


def last_lines(path: Path, count: int) -> list[str]:
    """The last `count` lines of a log, reading only its end."""
    try:
        with path.open("rb") as log:
            log.seek(0, 2)
            size = log.tell()
            chunk = min(size, max(4096, count * 400))
            while True:
                log.seek(size - chunk)
                lines = log.read(chunk).decode("utf-8", "replace").splitlines()
                if chunk == size or len(lines) > count:
                    return lines[-count:] if count else []
                chunk = min(size, chunk * 4)
    except FileNotFoundError:
        return []


def tail(
    data: DataDir, part: str | None, count: int, follow: bool, write: Callable[[str], None], *, stop: Callable[[], bool]
) -> None:
    """Write the last `count` lines of `part` (every part when None), then, with `follow`, each new
    line until `stop()` says so."""
    names = [part] if part else list(PARTS)
    prefix = part is None
    for name in names:
        for line in last_lines(data.log(name), count):
            write(f"{name:<8} {line}" if prefix else line)
    if not follow:
        return
    readers = {name: _reader(data.log(name)) for name in names}
    while not stop():
        quiet = True
        for name, reader in readers.items():
            for line in next(reader):
                quiet = False
                write(f"{name:<8} {line}" if prefix else line)
        if quiet:
            time.sleep(FOLLOW_POLL_S)


def _reader(path: Path) -> Iterator[list[str]]:
    """Each next() gives the complete lines written since the last; starts at the current end and
    starts over when the file is replaced or truncated (`collect up --reset`)."""
    position = path.stat().st_size if path.exists() else 0
    inode = path.stat().st_ino if path.exists() else None
    pending = b""
    while True:
        try:
            status = path.stat()
        except FileNotFoundError:
            yield []
            continue
        if status.st_ino != inode or status.st_size < position:
            inode, position, pending = status.st_ino, 0, b""
        with path.open("rb") as log:
            log.seek(position)
            chunk = log.read()
        position += len(chunk)
        *complete, pending = (pending + chunk).split(b"\n")
        yield [line.decode("utf-8", "replace") for line in complete]
