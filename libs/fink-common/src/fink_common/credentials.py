"""Kafka client credentials (SASL): from a credentials file, the environment, or code; never shown.

A user of the broker connects to Kafka's USERS listener (SASL_PLAINTEXT, SCRAM-SHA-512) with the file that
`./fink users add NAME` writes (`$FINK_STATE_DIR/users/NAME.properties`, mode 0600): librdkafka properties,
so `kcat -F FILE` and `KafkaCredentials.from_file` read it as they are:

    bootstrap.servers=127.0.0.1:9094
    security.protocol=SASL_PLAINTEXT
    sasl.mechanism=SCRAM-SHA-512
    sasl.username=alice
    sasl.password=...

Environment (`KafkaCredentials.from_env`, read by `fink_common.config.KafkaConfig.from_env`):

| variable | meaning |
|---|---|
| FINK_KAFKA_CREDENTIALS | a credentials file as above |
| FINK_KAFKA_USERNAME, FINK_KAFKA_PASSWORD | the user and password (both or neither; they win over the file's) |
| FINK_KAFKA_SECURITY_PROTOCOL | SASL_PLAINTEXT (default) or SASL_SSL |
| FINK_KAFKA_SASL_MECHANISM | SCRAM-SHA-512 (default), SCRAM-SHA-256 or PLAIN |

The password never appears in a repr, a str, a problem message or a log line: `repr()` shows `'***'`, and
`fink_common.kafka.redacted` masks the client settings made from it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

__all__ = [
    "MASK",
    "SECURITY_PROTOCOLS",
    "SASL_MECHANISMS",
    "SENSITIVE_KEYS",
    "KafkaCredentials",
    "read_properties",
    "render_credentials",
    "sasl_bootstrap",
]

MASK = "***"
SECURITY_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN")
#: client settings whose value is a secret (librdkafka and Java client names)
SENSITIVE_KEYS = frozenset(
    {
        "sasl.password",
        "sasl.jaas.config",
        "ssl.key.password",
        "ssl.keystore.password",
        "ssl.truststore.password",
        "sasl.oauthbearer.client.secret",
    }
)
_ENV = {
    "file": "FINK_KAFKA_CREDENTIALS",
    "username": "FINK_KAFKA_USERNAME",
    "password": "FINK_KAFKA_PASSWORD",
    "security_protocol": "FINK_KAFKA_SECURITY_PROTOCOL",
    "sasl_mechanism": "FINK_KAFKA_SASL_MECHANISM",
}


def read_properties(text: str) -> dict[str, str]:
    """`key=value` lines (Java/librdkafka properties: `#`/`!` comments, `=` or `:` separators)."""
    props: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        cut = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
        if cut > 0:
            props[line[:cut].strip()] = line[cut + 1 :].strip()
    return props


@dataclass(frozen=True)
class KafkaCredentials:
    """A SASL identity for a Kafka client. `bootstrap` is where it is valid (the USERS listener), when known."""

    username: str
    password: str = field(repr=False)
    sasl_mechanism: str = "SCRAM-SHA-512"
    security_protocol: str = "SASL_PLAINTEXT"
    bootstrap: str | None = None

    def __repr__(self) -> str:
        return (
            f"KafkaCredentials(username={self.username!r}, password={MASK!r}, sasl_mechanism={self.sasl_mechanism!r}, "
            f"security_protocol={self.security_protocol!r}, bootstrap={self.bootstrap!r})"
        )

    __str__ = __repr__

    def problems(self) -> list[str]:
        """What makes these credentials unusable (the password itself is never quoted)."""
        out = []
        if not self.username:
            out.append("the Kafka user name is empty")
        if not self.password:
            out.append(f"the Kafka password of {self.username!r} is empty")
        if self.sasl_mechanism not in SASL_MECHANISMS:
            out.append(f"SASL mechanism {self.sasl_mechanism!r} is not one of {list(SASL_MECHANISMS)}")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            out.append(f"security protocol {self.security_protocol!r} is not one of {list(SECURITY_PROTOCOLS)}")
        return out

    def client_settings(self) -> dict[str, str]:
        """The librdkafka settings (no bootstrap): security protocol, mechanism, user, password."""
        return {
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password,
        }

    @classmethod
    def from_properties(cls, props: Mapping[str, str], *, source: str = "properties") -> KafkaCredentials:
        """From librdkafka-style properties (a credentials file). Raises ValueError naming what is missing."""
        missing = [k for k in ("sasl.username", "sasl.password") if not props.get(k)]
        if missing:
            raise ValueError(f"{source} has no {' and no '.join(missing)}")
        return cls(
            username=props["sasl.username"],
            password=props["sasl.password"],
            sasl_mechanism=props.get("sasl.mechanism") or "SCRAM-SHA-512",
            security_protocol=props.get("security.protocol") or "SASL_PLAINTEXT",
            bootstrap=props.get("bootstrap.servers") or None,
        )

    @classmethod
    def from_file(cls, path: Path | str) -> KafkaCredentials:
        """Reads a credentials file; ValueError (never quoting the file's content) when it is unusable."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"cannot read the credentials file {path}: {exc.strerror or exc}") from None
        return cls.from_properties(read_properties(text), source=f"the credentials file {path}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> tuple[KafkaCredentials | None, list[str]]:
        """Credentials from FINK_KAFKA_CREDENTIALS and FINK_KAFKA_USERNAME/PASSWORD/SECURITY_PROTOCOL/
        SASL_MECHANISM, or None when none is set; plus the problems found (never quoting the password)."""
        env = os.environ if environ is None else environ
        raw = {key: (env.get(var) or "").strip() for key, var in _ENV.items()}
        problems: list[str] = []
        base: KafkaCredentials | None = None
        if raw["file"]:
            try:
                base = cls.from_file(raw["file"])
            except ValueError as exc:
                problems.append(f"{_ENV['file']}: {exc}")
        if bool(raw["username"]) != bool(raw["password"]):
            have, lack = ("username", "password") if raw["username"] else ("password", "username")
            if base is None:
                problems.append(f"{_ENV[have]} is set but {_ENV[lack]} is not: set both, or neither")
        if base is None and not (raw["username"] and raw["password"]):
            extra = [_ENV[k] for k in ("security_protocol", "sasl_mechanism") if raw[k]]
            if extra and not problems:
                problems.append(f"{' and '.join(extra)} set without credentials (FINK_KAFKA_USERNAME/PASSWORD)")
            return None, problems
        creds = base or KafkaCredentials(username=raw["username"], password=raw["password"])
        overrides = {k: raw[k] for k in ("username", "password", "security_protocol", "sasl_mechanism") if raw[k]}
        creds = replace(creds, **overrides)
        problems.extend(f"{p} (from the environment)" for p in creds.problems())
        return creds, problems


def sasl_bootstrap(bootstrap: str, environ: Mapping[str, str] | None = None) -> str:
    """The USERS listener (SASL/SCRAM) of the Kafka whose PLAINTEXT listener is `bootstrap`: FINK_KAFKA_SASL_BOOTSTRAP,
    else the host of `bootstrap` with port FINK_KAFKA_SASL_PORT (default 9094), as `./fink services up` binds it.
    ValueError when `bootstrap` is not host:port."""
    env = os.environ if environ is None else environ
    explicit = (env.get("FINK_KAFKA_SASL_BOOTSTRAP") or "").strip()
    if explicit:
        return explicit
    host, sep, port = bootstrap.split(",")[0].strip().rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{bootstrap!r} is not host:port")
    return f"{host}:{(env.get('FINK_KAFKA_SASL_PORT') or '').strip() or 9094}"


def render_credentials(credentials: KafkaCredentials, header: str = "") -> str:
    """The credentials file's text (librdkafka properties). It holds the password: write it 0600."""
    lines = [f"# {line}" for line in header.splitlines()]
    if credentials.bootstrap:
        lines.append(f"bootstrap.servers={credentials.bootstrap}")
    lines.extend(f"{key}={value}" for key, value in credentials.client_settings().items())
    return "\n".join(lines) + "\n"
