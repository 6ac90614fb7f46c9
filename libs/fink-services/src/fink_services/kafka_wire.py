"""A Kafka metadata probe over the Kafka wire protocol, standard library only (no JVM, a few ms).

It asks the broker which API versions it serves (ApiVersions v0), then makes a Metadata v4 call and
reads the cluster id, the controller and the live brokers from the answer. A KRaft broker serves client
requests only once it has caught up with the metadata log and is unfenced, so an answer listing the node
means the node is in service. This is what `python -m fink_services probe kafka` (the images'
HEALTHCHECK) runs; `kafka.probe` (Kafka's own kafka-topics tool) stays the deeper check of `up`.

Wire format (all big-endian): a request is `i32 size`, header v1 `i16 api key, i16 api version,
i32 correlation id, i16-length client id`, then the body; a response is `i32 size, i32 correlation id`
and the body. Strings are i16 length + utf-8 (-1: null), arrays are i32 count + items.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

from fink_services.errors import ServiceError

__all__ = ["API_VERSIONS", "METADATA", "METADATA_VERSION", "Broker", "ClusterMetadata", "fetch_metadata", "probe"]

API_VERSIONS = 18
METADATA = 3
#: non-flexible (classic encoding), served by Kafka 1.0 up to 4.x
METADATA_VERSION = 4
CLIENT_ID = b"fink-services-probe"
MAX_RESPONSE = 16 * 1024 * 1024


@dataclass(frozen=True)
class Broker:
    node_id: int
    host: str
    port: int


@dataclass(frozen=True)
class ClusterMetadata:
    cluster_id: str | None
    controller_id: int
    brokers: list[Broker]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ServiceError("kafka: truncated response")
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return int(value)

    def string(self) -> str | None:
        n = self.take("!h")
        if n < 0:
            return None
        raw = self.data[self.pos : self.pos + n]
        if len(raw) != n:
            raise ServiceError("kafka: truncated string in response")
        self.pos += n
        return raw.decode("utf-8", "replace")


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = sock.recv(min(n - got, 65536))
        if not chunk:
            raise ServiceError(f"kafka: the broker closed the connection after {got} of {n} bytes")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _call(sock: socket.socket, api_key: int, version: int, correlation: int, body: bytes) -> _Reader:
    header = struct.pack("!hhih", api_key, version, correlation, len(CLIENT_ID)) + CLIENT_ID
    request = header + body
    sock.sendall(struct.pack("!i", len(request)) + request)
    (size,) = struct.unpack("!i", _recv_exact(sock, 4))
    if not 4 <= size <= MAX_RESPONSE:
        raise ServiceError(f"kafka: bad response size {size} (is this a Kafka port?)")
    reader = _Reader(_recv_exact(sock, size))
    if reader.take("!i") != correlation:
        raise ServiceError("kafka: response correlation id does not match the request's")
    return reader


def _api_versions(sock: socket.socket) -> dict[int, tuple[int, int]]:
    reader = _call(sock, API_VERSIONS, 0, 1, b"")
    error = reader.take("!h")
    if error != 0:
        raise ServiceError(f"kafka: ApiVersions answered error code {error}")
    versions = {}
    for _ in range(reader.take("!i")):
        key, low, high = reader.take("!h"), reader.take("!h"), reader.take("!h")
        versions[key] = (low, high)
    return versions


def fetch_metadata(host: str, port: int, timeout: float = 10.0) -> ClusterMetadata:
    """The cluster id, controller and live brokers, as the broker at host:port sees them."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            low, high = _api_versions(sock).get(METADATA, (-1, -1))
            if not low <= METADATA_VERSION <= high:
                raise ServiceError(f"kafka: the broker serves Metadata v{low}..v{high}, not v{METADATA_VERSION}")
            # no topics (an empty, not null, array), no auto-creation
            reader = _call(sock, METADATA, METADATA_VERSION, 2, struct.pack("!ib", 0, 0))
    except OSError as exc:
        raise ServiceError(f"kafka: {host}:{port}: {exc}") from None
    reader.take("!i")  # throttle time
    brokers = []
    for _ in range(reader.take("!i")):
        node_id = reader.take("!i")
        broker_host = reader.string() or ""
        broker_port = reader.take("!i")
        reader.string()  # rack
        brokers.append(Broker(node_id, broker_host, broker_port))
    cluster_id = reader.string()
    controller_id = reader.take("!i")
    return ClusterMetadata(cluster_id=cluster_id, controller_id=controller_id, brokers=brokers)


def probe(host: str, port: int, node_id: int | None = None, timeout: float = 10.0) -> str:
    """A Metadata call; raises ServiceError unless it lists brokers (and `node_id`, when given)."""
    meta = fetch_metadata(host, port, timeout)
    if not meta.brokers:
        raise ServiceError(f"kafka: {host}:{port} answered Metadata with no live broker yet")
    ids = sorted(b.node_id for b in meta.brokers)
    if node_id is not None and node_id not in ids:
        raise ServiceError(f"kafka: node {node_id} is not among the live brokers {ids} yet")
    shown = ", ".join(f"{b.node_id}@{b.host}:{b.port}" for b in sorted(meta.brokers, key=lambda b: b.node_id))
    return f"metadata answered: cluster {meta.cluster_id}, {len(ids)} broker(s) [{shown}]"
