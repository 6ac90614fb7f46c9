"""Our service processes: spawning them detached, pid files, recognising them, stopping them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fink_services.errors import ServiceError

__all__ = [
    "PidRecord",
    "write_pid",
    "read_pid",
    "cmdline",
    "is_alive",
    "is_ours",
    "spawn",
    "port_open",
    "stop",
    "tail",
]


@dataclass(frozen=True)
class PidRecord:
    """What `up` records about a process it started (JSON in `<state>/run/<service>.pid`)."""

    service: str
    pid: int
    started: float
    ports: list[int] = field(default_factory=list)
    command: list[str] = field(default_factory=list)


def write_pid(path: Path, record: PidRecord) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record), indent=1) + "\n")
    tmp.replace(path)


def read_pid(path: Path) -> PidRecord | None:
    """The record, or None when there is no (readable) pid file."""
    try:
        data = json.loads(path.read_text())
        return PidRecord(
            service=str(data["service"]),
            pid=int(data["pid"]),
            started=float(data.get("started", 0.0)),
            ports=[int(p) for p in data.get("ports", [])],
            command=[str(c) for c in data.get("command", [])],
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", "replace") for part in raw.split(b"\0") if part]


def is_alive(pid: int) -> bool:
    """True for a running process (a zombie counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def is_ours(pid: int, service: str, state: Path) -> bool:
    """The pid is a java process that `up` started for this service and this state dir."""
    args = cmdline(pid)
    if not args or not is_alive(pid):
        return False
    return Path(args[0]).name == "java" and f"-Dfink.service={service}" in args and f"-Dfink.state={state}" in args


def spawn(
    command: Sequence[str], out_file: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Starts a detached process (own session, no stdin) whose output goes to `out_file`."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with open(out_file, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
        out.flush()
        try:
            return subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise ServiceError(f"cannot start {command[0]}: {exc}") from None


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """Something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def stop(pid: int, grace: float) -> str:
    """SIGTERM, then SIGKILL after `grace` seconds; says which one ended it."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "already gone"
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return "stopped"
        time.sleep(0.2)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return "stopped"
    for _ in range(50):
        if not is_alive(pid):
            break
        time.sleep(0.1)
    return f"killed (did not stop within {grace:.0f} s of SIGTERM)"


def tail(path: Path, lines: int = 30) -> str:
    """The last lines of a log file, or a note that there is none."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 64 * 1024))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return f"(no log at {path})"
    kept = text.splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else f"(empty log {path})"
