"""Run each stage as its own process (as in production), with its own log file, and stop it cleanly (or
crash it on purpose: `StageProcess.kill` SIGKILLs the whole process tree, as the chaos run does)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from fink_common.errors import FinkError

__all__ = ["StageProcess", "StageFailed", "process_tree", "wait_until"]


class StageFailed(FinkError):
    """A stage process exited on its own, or did not stop when asked."""


@dataclass
class StageProcess:
    """One `python -m <module>` stage with an environment, logging JSON lines to `log_path`."""

    name: str
    module: str
    env: Mapping[str, str]
    log_path: Path
    _proc: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)
    _log: IO[bytes] | None = field(default=None, init=False, repr=False)

    def start(self) -> None:
        """Start the stage; a restart appends to the same log file (the log of every life of the stage)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        if self._log is not None:
            self._log.close()
        self._log = self.log_path.open("ab")
        # The child imports exactly what this process can import (a source tree, a venv or a test sandbox).
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), **self.env}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", self.module], env=env, stdout=self._log, stderr=subprocess.STDOUT
        )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> int | None:
        """None while the stage runs (or before its first start), else its exit code (-9 after `kill`)."""
        return self._proc.poll() if self._proc is not None else None

    def kill(self) -> list[int]:
        """SIGKILL the stage's whole process tree at once (Python driver, Spark's JVM, Python workers), as a
        machine or OOM-killer crash would: no shutdown hook runs. The tree is frozen (SIGSTOP) first so that no
        process reacts to another's death. Returns the pids killed."""
        if self._proc is None or self._proc.poll() is not None:
            return []
        pids = process_tree(self._proc.pid)
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        self._proc.wait()
        return pids

    def check_alive(self) -> None:
        if self._proc is not None and self._proc.poll() is not None:
            raise StageFailed(
                f"stage {self.name} exited with code {self._proc.returncode}; last lines of {self.log_path}:\n"
                + self.tail(25)
            )

    def stop(self, timeout_s: float = 90.0) -> int:
        """SIGTERM (the stage stops its query and logs its totals), then SIGKILL after `timeout_s`."""
        if self._proc is None:
            return 0
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
                raise StageFailed(f"stage {self.name} did not stop within {timeout_s:.0f} s; killed") from None
        if self._log:
            self._log.close()
        return int(self._proc.returncode or 0)

    def tail(self, n: int = 20) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def events(self, event: str | None = None) -> list[dict[str, Any]]:
        """The JSON log lines of the stage (structlog), optionally only those of one event."""
        out: list[dict[str, Any]] = []
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return out
        for line in text.splitlines():
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if event is None or record.get("event") == event:
                    out.append(record)
        return out


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants (from /proc), parents before children."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop(0)
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def wait_until(predicate, *, timeout_s: float, poll_s: float = 1.0, on_tick=None) -> bool:  # noqa: ANN001
    """Poll `predicate()` until true or timeout; `on_tick()` runs each poll (progress display, liveness)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if on_tick is not None:
            on_tick()
        if predicate():
            return True
        time.sleep(poll_s)
    return False
