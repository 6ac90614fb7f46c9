"""The archive API as a background process of the local broker: `./fink demo` starts it on the demo's
archive once the pipeline has run, so the user can query what was just processed; `./fink api stop` and
`./fink services down` stop it.

The process is `python -m fink_api serve` (the same code as the `fink/api` image), detached from the
terminal, logging to `<state>/demo/logs/api.log`, its pid in `<state>/demo/api.pid`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from fink_common.errors import ServiceUnavailableError

__all__ = ["DEFAULT_PORT", "ApiProcess"]

DEFAULT_PORT = 8080


@dataclass(frozen=True)
class ApiProcess:
    """The API serving one archive (an HBase Thrift address and table prefix) on 127.0.0.1:`port`."""

    home: Path  # <state>/demo
    thrift: str
    table_prefix: str
    port: int = DEFAULT_PORT

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "api.pid"

    @property
    def log_path(self) -> Path:
        return self.home / "logs" / "api.log"

    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def answers(self, timeout_s: float = 2.0) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=timeout_s) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout_s: float = 15.0) -> bool:
        """Stop the API this state directory started, if it runs; True if one was stopped."""
        pid = self._pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except OSError:
                return True
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        return True

    def start(self, timeout_s: float = 60.0) -> str:
        """(Re)start the API and wait until it answers; returns its URL."""
        self.stop()
        if self.answers():
            raise ServiceUnavailableError(
                f"port {self.port} already serves something else: stop it, or pick another port (--api-port)"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            {
                "FINK_HBASE_THRIFT": self.thrift,
                "FINK_HBASE_TABLE_PREFIX": self.table_prefix,
                "FINK_API_HOST": "127.0.0.1",
                "FINK_API_PORT": str(self.port),
            }
        )
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "fink_api", "serve"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
                raise ServiceUnavailableError(f"the API exited with code {proc.returncode}:\n" + "\n".join(tail))
            if self.answers():
                return self.url
            time.sleep(0.5)
        self.stop()
        raise ServiceUnavailableError(f"the API did not answer on {self.url} within {timeout_s:.0f} s ({self.log_path})")
