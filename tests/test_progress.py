"""Progress suits where it goes (fakescope.utils.progress): a live bar on a terminal, a plain line
every few seconds when stderr is a file or a pipe, nothing with --no-progress. Run through the real
CLI (`data summary` decodes every image of the CIFAKE test folders: a few seconds of work)."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import termios
import time

from conftest import SHARED, fakescope_bin, run_cli

from fakescope.utils.progress import LogLines, progress_bar

LINE = re.compile(r"^summary: [\d,]+ img \[|^summary: [\d,]+/[\d,]+ img \(\d+ %\) \[")


def test_a_file_gets_whole_lines_every_period() -> None:
    proc = run_cli("data", "summary", SHARED / "cifake" / "test", "--json", env={"FAKESCOPE_PROGRESS_SECONDS": "0.5"})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["splits"]["all"]["total"] == 2000
    assert "\r" not in proc.stderr  # no redrawn bar in a log
    lines = [line for line in proc.stderr.splitlines() if line.startswith("summary")]
    assert lines and all(LINE.match(line) for line in lines), proc.stderr
    counts = [int(re.match(r"summary: ([\d,]+)", line)[1].replace(",", "")) for line in lines]
    assert counts == sorted(counts) and len(set(counts)) == len(counts)  # each line says something new
    assert counts[-1] == 2000  # the last line is the total


def test_no_progress_is_silent() -> None:
    proc = run_cli("data", "summary", SHARED / "cifake" / "test", "--json", "--no-progress",
                   env={"FAKESCOPE_PROGRESS_SECONDS": "0.5"})
    assert proc.returncode == 0 and proc.stderr == ""


def test_a_terminal_gets_a_live_bar() -> None:
    """stderr on a pseudo-terminal: tqdm redraws one line in place (carriage returns), no log lines."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "FAKESCOPE_PROGRESS_SECONDS": "0.5", "COLUMNS": "100"}
    proc = subprocess.Popen([fakescope_bin(), "data", "summary", str(SHARED / "cifake" / "test"), "--json"],
                            stdout=subprocess.DEVNULL, stderr=follower, env=env)
    # the follower stays open here until the child is done: once no process holds it, Linux drops
    # what the leader has not read yet
    seen = b""
    while True:
        ready, _, _ = select.select([leader], [], [], 0.2)
        if ready:
            seen += os.read(leader, 65536)
        elif proc.poll() is not None:
            break
    os.close(follower)
    os.close(leader)
    assert proc.returncode == 0
    text = seen.decode(errors="replace")
    assert text.count("\rsummary:") >= 2 and "/2000 [" in text  # redrawn in place over one line
    assert not any(LINE.match(line) for line in text.split("\n") if line.strip())  # not the log format


def test_log_lines_survive_messages_and_short_runs(monkeypatch) -> None:
    """tqdm.write between updates adds no progress line; a run shorter than one period prints its
    last line only; the iterable form and an unknown total both read as lines."""
    from tqdm import tqdm

    monkeypatch.setenv("FAKESCOPE_PROGRESS_SECONDS", "0.5")
    out = io.StringIO()
    bar = progress_bar(total=None, desc="detect", unit="img", file=out, initial=4)
    assert isinstance(bar, LogLines)
    bar.update(3)
    bar.set_postfix(loss=0.5)  # rides on the next line: no line of its own
    assert out.getvalue() == ""
    bar.close()
    assert "loss=0.5" in out.getvalue()
    assert out.getvalue().splitlines() == [out.getvalue().strip()]  # shorter than a period: the last line only
    assert re.match(r"detect: 7 img \[", out.getvalue())
    out = io.StringIO()
    for i in progress_bar(range(6), desc="features", unit="batch", file=out):
        time.sleep(0.2)
        if i == 1:
            tqdm.write("warning: something", file=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "warning: something"
    assert lines[-1].startswith("features: 6/6 batch (100 %)") and len(lines) <= 4
    off = io.StringIO()
    bar = progress_bar(total=3, desc="x", unit="img", file=off, enabled=False)
    bar.update(3)
    bar.close()
    assert off.getvalue() == ""
