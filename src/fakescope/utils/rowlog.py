"""Resumable runs: a crash-safe JSON-lines log of finished rows, and the folder that holds it.

The one resume mechanism of fakescope's long passes (`evaluate` on the local and the Ray engine,
`inspect --engine ray`): finished rows are appended to `DIR/rows.jsonl` in chunks, each fsync'ed,
beside `DIR/identity.json` (what the run is). A rerun of the same command finds the log, keeps its
complete rows (a line torn by a kill is dropped) and scores only what is missing; a rerun with
another identity starts over. Rows may carry `order` (their position in the input listing), so a
run whose rows arrive out of order (Ray) or across restarts is read back in the listing's order.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .atomic import atomic_write_json, atomic_write_text

ORDER_FIELD = "order"  # a row's position in the input listing (how the finished table is sorted)
IDENTITY_FILE, LOG_FILE = "identity.json", "rows.jsonl"


class RowLog:
    """Append-only JSON-lines log of finished rows; flushed every `every` rows or `seconds`."""

    def __init__(self, path: Path, every: int = 512, seconds: float = 10.0) -> None:
        self.path = path
        self.every = every
        self.seconds = seconds
        self._buffer: list[str] = []
        self._last = time.monotonic()
        self.written = 0

    def add(self, row: dict[str, Any]) -> None:
        self._buffer.append(json.dumps(row, ensure_ascii=False, default=str))
        if len(self._buffer) >= self.every or time.monotonic() - self._last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        # Take the rows out first: an interrupt during the write must not make the handler's own
        # flush write them twice (a half-written last line is dropped by `recover_log`).
        lines, self._buffer = self._buffer, []
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            self.written += len(lines)
        self._last = time.monotonic()


def recover_log(path: Path, key: str = "key") -> set[str]:
    """Keys (the `key` field) of the complete rows in a log; a torn last line (killed mid-write) is dropped."""
    if not path.exists():
        return set()
    keys: set[str] = set()
    good: list[str] = []
    rewrite = False
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                value = json.loads(line)[key] if line.endswith("\n") else None
            except (ValueError, KeyError, TypeError):
                value = None
            if value is None:  # torn by a kill mid-write: everything after it is suspect
                rewrite = True
                break
            if value in keys:  # never count a row twice
                rewrite = True
                continue
            keys.add(value)
            good.append(line)
    if rewrite:
        atomic_write_text(path, "".join(good))
    return keys


def open_partial(partial: Path, identity: dict[str, Any], resume: bool, say: Callable[[str], None],
                 key: str = "key", unit: str = "image(s)") -> tuple[set[str], RowLog]:
    """The keys an interrupted run of the same `identity` already finished in `partial` (empty when
    starting over) and the log to append this run's rows to."""
    ident_path, log_path = partial / IDENTITY_FILE, partial / LOG_FILE
    same = ident_path.exists() and json.loads(ident_path.read_text(encoding="utf-8")) == identity
    if resume and same:
        done = recover_log(log_path, key)
        if done:
            say(f"resuming: {len(done):,} {unit} already done by an interrupted run of the same command")
        return done, RowLog(log_path)
    if partial.exists():
        if resume:
            say(f"{partial} holds rows of a different run: starting over")
        shutil.rmtree(partial)
    atomic_write_json(ident_path, identity)
    return set(), RowLog(log_path)
