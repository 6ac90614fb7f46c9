"""log4j2 configurations (properties format) for the service JVMs and the command-line tools."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

__all__ = ["rolling_file_config", "stderr_config", "console_config"]

PATTERN = "%d{ISO8601} %-5p [%t] %c{1.}: %m%n"


def _loggers(levels: Mapping[str, str]) -> list[str]:
    lines = []
    for i, (name, level) in enumerate(sorted(levels.items())):
        lines += [f"logger.l{i}.name = {name}", f"logger.l{i}.level = {level}"]
    return lines


def rolling_file_config(log_file: Path, levels: Mapping[str, str] | None = None, root: str = "INFO") -> str:
    """Everything to `log_file`, rolled at 50 MB, 3 old files kept."""
    lines = [
        "status = warn",
        "appender.file.type = RollingFile",
        "appender.file.name = FILE",
        f"appender.file.fileName = {log_file}",
        f"appender.file.filePattern = {log_file}.%i",
        "appender.file.layout.type = PatternLayout",
        f"appender.file.layout.pattern = {PATTERN}",
        "appender.file.policies.type = Policies",
        "appender.file.policies.size.type = SizeBasedTriggeringPolicy",
        "appender.file.policies.size.size = 50MB",
        "appender.file.strategy.type = DefaultRolloverStrategy",
        "appender.file.strategy.max = 3",
        f"rootLogger.level = {root}",
        "rootLogger.appenderRef.file.ref = FILE",
        *_loggers(levels or {}),
    ]
    return "\n".join(lines) + "\n"


def stderr_config(root: str = "WARN") -> str:
    """For short-lived tools: warnings and errors only, on stderr."""
    return console_config(root=root, target="SYSTEM_ERR")


def console_config(levels: Mapping[str, str] | None = None, root: str = "INFO", target: str = "SYSTEM_OUT") -> str:
    """For a service in the foreground (container mode): everything on stdout (or `target`), no files."""
    lines = [
        "status = warn",
        "appender.console.type = Console",
        "appender.console.name = CONSOLE",
        f"appender.console.target = {target}",
        "appender.console.layout.type = PatternLayout",
        f"appender.console.layout.pattern = {PATTERN}",
        f"rootLogger.level = {root}",
        "rootLogger.appenderRef.console.ref = CONSOLE",
        *_loggers(levels or {}),
    ]
    return "\n".join(lines) + "\n"
