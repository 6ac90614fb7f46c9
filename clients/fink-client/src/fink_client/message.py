"""One message as the client received it: where it comes from, its raw bytes, and the decoded alert or why
there is none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fink_client.schemas import PublishedSchema

__all__ = ["Received"]


@dataclass(frozen=True)
class Received:
    """A Kafka message of a filter topic, decoded (`alert`, `schema`) or not (`error` says why)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None = field(repr=False)
    headers: tuple[tuple[str, bytes | None], ...] = field(default=(), repr=False)
    alert: dict[str, Any] | None = field(default=None, repr=False)
    schema: PublishedSchema | None = field(default=None, repr=False)
    error: str | None = None
    fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return self.alert is not None and self.error is None

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"
