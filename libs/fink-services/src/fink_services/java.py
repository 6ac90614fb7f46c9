"""Finding a Java 17+ runtime (and javac, for the Thrift gateway) and the JVM flags each service needs."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fink_services.errors import ServiceError

__all__ = ["MIN_JAVA", "Java", "find_java", "classpath", "jvm_base_flags", "tool_command", "HBASE_MODULE_FLAGS"]

MIN_JAVA = 17

INSTALL_HINT = "install one (apt-get install openjdk-17-jdk-headless) or set JAVA_HOME"

#: What HBase 2.6 (and its shaded netty) needs on Java 17, where the JDK's internals are closed.
HBASE_MODULE_FLAGS = [
    "-Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
    "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
    "--add-exports=java.base/sun.net.dns=ALL-UNNAMED",
    "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
]


@dataclass(frozen=True)
class Java:
    java: Path
    version: int
    javac: Path | None

    def require_javac(self) -> Path:
        if self.javac is None:
            raise ServiceError(
                f"javac not found next to {self.java} nor on PATH: the HBase Thrift gateway is compiled "
                f"at first start and needs a JDK, not only a JRE; {INSTALL_HINT}"
            )
        return self.javac


def _major_version(java: Path) -> int:
    try:
        proc = subprocess.run([str(java), "-version"], capture_output=True, text=True, timeout=60)
    except OSError as exc:
        raise ServiceError(f"cannot run {java}: {exc}") from None
    except subprocess.TimeoutExpired:
        raise ServiceError(f"{java} -version did not answer within 60 s") from None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if not match:
        raise ServiceError(f"cannot tell the version of {java}: {proc.stderr.strip()[:200]}")
    major = int(match.group(1))
    if major == 1 and match.group(2):  # "1.8.0_..." style
        major = int(match.group(2))
    return major


@functools.lru_cache(maxsize=1)
def find_java() -> Java:
    """`$JAVA_HOME/bin/java`, else `java` on PATH; at least Java 17 (Kafka 4 needs it)."""
    candidates: list[Path] = []
    home = os.environ.get("JAVA_HOME")
    if home:
        candidates.append(Path(home) / "bin" / "java")
    on_path = shutil.which("java")
    if on_path:
        candidates.append(Path(on_path).resolve())
    java = next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)
    if java is None:
        where = f"JAVA_HOME={home} has no bin/java and " if home else ""
        raise ServiceError(f"java not found ({where}no java on PATH): {INSTALL_HINT}")
    version = _major_version(java)
    if version < MIN_JAVA:
        raise ServiceError(f"{java} is Java {version}; Kafka 4 and HBase need Java {MIN_JAVA}+: {INSTALL_HINT}")
    javac: Path | None = java.parent / "javac"
    if javac is None or not (javac.is_file() and os.access(javac, os.X_OK)):
        found = shutil.which("javac")
        javac = Path(found).resolve() if found else None
    return Java(java=java, version=version, javac=javac)


def classpath(*entries: Path | str) -> str:
    return os.pathsep.join(str(e) for e in entries)


def jvm_base_flags(service: str, state: Path, heap: str) -> list[str]:
    """Heap, GC and the two markers by which `down` and `status` recognise our own JVMs."""
    return [
        f"-Xms{heap}",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=50",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dfink.service={service}",
        f"-Dfink.state={state}",
    ]


def tool_command(java: Java) -> list[str]:
    """The start of a short-lived JVM tool's command (storage format, topic admin, shutdown): small heap,
    quick start-up (C1 only, serial GC), headless."""
    return [str(java.java), "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Djava.awt.headless=true"]
