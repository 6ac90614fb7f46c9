"""The client's errors: subclasses of the broker's single hierarchy (`fink_common.errors`)."""

from __future__ import annotations

from fink_common.errors import DecodeError, FinkError, ServiceError

__all__ = ["ClientError", "KafkaAccessError", "UnknownSchemaError"]


class ClientError(FinkError):
    """fink-consume cannot go on (e.g. a topic that does not exist): the message says what to do."""


class KafkaAccessError(ServiceError):
    """Kafka refused us (authentication, authorization) or does not answer."""


class UnknownSchemaError(DecodeError):
    """A message names a schema fingerprint that the schema topic does not hold, even after re-reading it."""

    def __init__(self, fingerprint: str, schema_topic: str) -> None:
        self.fingerprint = fingerprint
        super().__init__(f"schema {fingerprint} is not published on {schema_topic!r} (re-read to its end)")
