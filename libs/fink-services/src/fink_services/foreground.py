"""Running service JVMs in the foreground (container mode): output inherited (stdout/stderr), SIGTERM and
SIGINT forwarded, and the whole group ended as soon as one of them exits.

Under `tini` (the images' PID 1) this process is the only child: tini forwards `docker stop`'s SIGTERM
here, we stop each JVM (the last started first: SIGTERM, or the child's own `stop` action) and wait for
it, up to its grace time, then SIGKILL it. Give `docker stop` / compose `stop_grace_period` that long.

Exit status of `Foreground.supervise()`:
- stopped by a signal and every JVM ended cleanly (0, or 143 = the JVM's own exit on SIGTERM): 0;
- otherwise the status of the JVM that ended first (128 + N when a signal N killed it), and 1 when that
  JVM exited on its own with 0: a service that stops unasked is a failure for the container.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import FrameType

from fink_services.errors import ServiceError

__all__ = ["Child", "Stopped", "Foreground", "exit_status"]

CLEAN = (0, 128 + signal.SIGTERM)
FORWARDED = (signal.SIGTERM, signal.SIGINT)


def exit_status(returncode: int) -> int:
    """A Popen return code as a shell would show it (a death by signal N: 128 + N)."""
    return 128 - returncode if returncode < 0 else returncode


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    grace: float
    #: how to ask it to stop (default: SIGTERM); when it raises ServiceError, SIGTERM is sent instead
    stop: Callable[[], None] | None = None


class Stopped(Exception):
    """A stop signal arrived while waiting for a service to come up."""


class Foreground:
    def __init__(self, say: Callable[[str], None] | None = None) -> None:
        self.children: list[Child] = []
        self.signal: int | None = None
        self._wake = threading.Event()
        self._say = say or (lambda text: print(f"fink-services: {text}", file=sys.stderr, flush=True))

    def say(self, text: str) -> None:
        self._say(text)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if self.signal is None:
            self.signal = signum
        self._wake.set()

    def install_signal_handlers(self) -> None:
        for signum in FORWARDED:
            signal.signal(signum, self._on_signal)

    def start(
        self,
        name: str,
        command: Sequence[str],
        grace: float,
        cwd: str | None = None,
        stop: Callable[[], None] | None = None,
    ) -> Child:
        """Starts a JVM whose output goes where ours goes; raises Stopped if a stop signal came first."""
        if self.signal is not None:
            raise Stopped()
        self.say(f"{name}: {' '.join(command)}")
        try:
            proc = subprocess.Popen(list(command), stdin=subprocess.DEVNULL, cwd=cwd, env=os.environ.copy())
        except OSError as exc:
            raise ServiceError(f"{name}: cannot start {command[0]}: {exc}") from None
        child = Child(name, proc, grace, stop)
        self.children.append(child)
        return child

    def exited(self) -> Child | None:
        return next((c for c in self.children if c.proc.poll() is not None), None)

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Polls `ready` until true. Raises ServiceError when a JVM exits or after `timeout` seconds, and
        Stopped when a stop signal arrives."""
        deadline = time.monotonic() + timeout
        while True:
            if self.signal is not None:
                raise Stopped()
            gone = self.exited()
            if gone is not None:
                raise ServiceError(f"{gone.name}: exited with status {exit_status(gone.proc.returncode)} while {what}")
            if ready():
                return
            if time.monotonic() > deadline:
                raise ServiceError(f"timed out after {timeout:.0f} s while {what} (FINK_SERVICES_TIMEOUT)")
            self._wake.wait(0.5)

    def _ask_to_stop(self, child: Child) -> None:
        if child.stop is not None:
            try:
                child.stop()
                return
            except ServiceError as exc:
                self.say(f"{child.name}: {exc}; sending SIGTERM instead")
        if child.proc.poll() is None:
            child.proc.send_signal(signal.SIGTERM)

    def stop_all(self) -> None:
        """Stops each running JVM, the last started first; SIGKILL after its grace time."""
        for child in reversed(self.children):
            if child.proc.poll() is not None:
                continue
            begin = time.monotonic()
            self._ask_to_stop(child)
            try:
                child.proc.wait(timeout=child.grace)
                how = f"stopped with status {exit_status(child.proc.returncode)}"
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait()
                how = f"killed: still running {child.grace:.0f} s after being asked to stop"
            self.say(f"{child.name}: {how} ({time.monotonic() - begin:.1f} s)")

    def supervise(self) -> int:
        """Blocks until a stop signal arrives or a JVM exits; then stops the others. Returns the exit status."""
        first: Child | None = None
        while self.signal is None:
            first = self.exited()
            if first is not None:
                break
            self._wake.wait(1.0)
        return self.shutdown(first)

    def shutdown(self, first: Child | None = None) -> int:
        """Stops every JVM and computes the exit status (see the module docstring)."""
        if first is not None and self.signal is None:
            status = exit_status(first.proc.returncode)
            self.say(f"{first.name}: exited on its own with status {status}: stopping the others")
            self.stop_all()
            return status or 1
        if self.signal is not None:
            self.say(f"got {signal.Signals(self.signal).name}: stopping")
        self.stop_all()
        bad = [exit_status(c.proc.returncode) for c in self.children if exit_status(c.proc.returncode) not in CLEAN]
        return bad[0] if bad else 0
