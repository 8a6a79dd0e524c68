"""Progress that suits where it goes: one constructor for every long command's progress.

    bar = progress_bar(total=n, desc="evaluate", unit="img", enabled=opts.progress)

- stderr is a terminal: tqdm's live bar, redrawn in place;
- stderr is a file or a pipe (a CI log, `nohup`, `2> log`): one plain line every
  `FAKESCOPE_PROGRESS_SECONDS` (default 10) seconds, and a last one at the end, instead of a
  redrawn bar whose every update lands in the file as a new line of carriage-return noise
  (a run shorter than a period gets its last line only);
- `enabled=False` (`--no-progress`): nothing at all.

The returned object is a tqdm in every case (update, close, set_postfix, iteration), so callers
do not care which one they got.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import IO, Any

from tqdm import tqdm

LOG_SECONDS_DEFAULT = 10.0
LOG_FORMAT = "{desc}: {n_fmt}/{total_fmt} {unit} ({percentage:.0f} %) [{elapsed}<{remaining}, {rate_fmt}]{postfix}"
LOG_FORMAT_NO_TOTAL = "{desc}: {n_fmt} {unit} [{elapsed}, {rate_fmt}]{postfix}"


class LogLines(tqdm):
    """tqdm that writes each refresh as a whole line (no carriage returns, no bar): for log files."""

    def display(self, msg: str | None = None, pos: int | None = None) -> bool:
        if msg is None:
            fmt = LOG_FORMAT if self.total else LOG_FORMAT_NO_TOTAL
            d = self.format_dict
            msg = self.format_meter(**{**d, "bar_format": fmt, "ncols": None})
        if msg.strip():
            self.fp.write(msg.rstrip("\r\n") + "\n")
            self.fp.flush()
        return True

    # tqdm.write (messages between updates) clears every bar, writes, then refreshes them: a log has
    # nothing to clear, and a progress line after every message would be noise.
    def clear(self, *args: Any, **kwargs: Any) -> None:
        self._after_clear = True

    def refresh(self, *args: Any, **kwargs: Any) -> None:
        if getattr(self, "_after_clear", False):
            self._after_clear = False
            return
        super().refresh(*args, **kwargs)

    def set_postfix(self, ordered_dict: Any = None, refresh: bool = True, **kwargs: Any) -> None:
        # the postfix rides on the next periodic line; tqdm's default redraw would add a line per call
        super().set_postfix(ordered_dict, refresh=False, **kwargs)

    def close(self) -> None:
        """The totals as a last line (also for a run shorter than one period, so a log always says how
        far it got); never the carriage return tqdm writes to clear a bar."""
        if self.disable:
            return
        if self.n != self.last_print_n:
            self.display()
            self.last_print_n = self.n
        self.disable = True
        self._decr_instances(self)


def log_seconds() -> float:
    try:
        return max(0.5, float(os.environ.get("FAKESCOPE_PROGRESS_SECONDS", LOG_SECONDS_DEFAULT)))
    except ValueError:
        return LOG_SECONDS_DEFAULT


def is_terminal(stream: IO[str]) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def progress_bar(iterable: Iterable[Any] | None = None, *, enabled: bool = True, file: IO[str] | None = None,
                 mininterval: float = 0.5, **kwargs: Any) -> tqdm:
    """A live bar on a terminal, a line every few seconds elsewhere, nothing when not `enabled`."""
    stream = file if file is not None else sys.stderr
    if not enabled:
        return tqdm(iterable, disable=True, file=stream, **kwargs)
    if is_terminal(stream):
        return tqdm(iterable, file=stream, dynamic_ncols=True, mininterval=mininterval, **kwargs)
    kwargs.pop("leave", None)
    return LogLines(iterable, file=stream, mininterval=log_seconds(), miniters=1, maxinterval=float("inf"),
                    delay=log_seconds(), **kwargs)
