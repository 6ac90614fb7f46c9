"""Avro Object Container Files at the byte level: write one record per block, find the blocks of a file.

With one record per block, a multi-record file can be cut into one-record container messages (header + block)
or into schemaless payloads (the block's data) by slicing bytes, without decoding anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from fink_datasim.encoder import varint
from fink_datasim.errors import AlertFileError

__all__ = [
    "MAGIC",
    "SYNC_SIZE",
    "Block",
    "Container",
    "count_records",
    "encode_header",
    "read_container",
    "write_blocks",
]

MAGIC = b"Obj\x01"
SYNC_SIZE = 16


def encode_header(schema_json: str, sync: bytes, codec: str = "null") -> bytes:
    """File header: magic, metadata map (schema, codec), sync marker."""
    if len(sync) != SYNC_SIZE:
        raise ValueError(f"sync marker must be {SYNC_SIZE} bytes")
    parts = [MAGIC, varint(2)]
    for key, value in (("avro.schema", schema_json.encode()), ("avro.codec", codec.encode())):
        parts += [varint(len(key)), key.encode(), varint(len(value)), value]
    parts += [b"\x00", sync]
    return b"".join(parts)


def write_blocks(fh: BinaryIO, header: bytes, sync: bytes, records: Iterable[bytes]) -> int:
    """Write a container file holding each encoded record in its own block; returns the record count."""
    fh.write(header)
    count = 0
    for record in records:
        fh.write(b"\x02" + varint(len(record)))  # block count 1 (zig-zag 2), then size
        fh.write(record)
        fh.write(sync)
        count += 1
    return count


@dataclass(frozen=True)
class Block:
    count: int  # records in the block
    start: int  # offset of the block (its count varint)
    data_start: int
    data_end: int  # the sync marker follows

    @property
    def end(self) -> int:
        return self.data_end + SYNC_SIZE


@dataclass(frozen=True)
class Container:
    """A parsed container file: where its header ends, its schema text, codec, sync and blocks."""

    data: bytes
    header_end: int
    schema_text: str
    codec: str
    sync: bytes
    blocks: tuple[Block, ...]

    @property
    def records(self) -> int:
        return sum(b.count for b in self.blocks)

    @property
    def single_record_blocks(self) -> bool:
        """True when every non-empty block holds one record and data is uncompressed: bytes can be sliced."""
        return self.codec == "null" and all(b.count == 1 for b in self.blocks if b.count)

    def block_file(self, block: Block) -> bytes:
        """A one-block container file: this file's header followed by `block`."""
        return self.data[: self.header_end] + self.data[block.start : block.end]

    def block_data(self, block: Block) -> bytes:
        return self.data[block.data_start : block.data_end]


class _Cursor:
    def __init__(self, data: bytes, source: str) -> None:
        self.data = data
        self.pos = 0
        self.source = source

    def long(self) -> int:
        value = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise AlertFileError(f"{self.source}: truncated Avro container")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return (value >> 1) ^ -(value & 1)
            if shift > 63:
                raise AlertFileError(f"{self.source}: corrupt Avro container (bad varint)")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise AlertFileError(f"{self.source}: truncated Avro container")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


def _read_header(cur: _Cursor) -> tuple[dict[str, bytes], bytes]:
    if cur.take(4) != MAGIC:
        raise AlertFileError(f"{cur.source}: not an Avro Object Container File (no 'Obj\\x01' magic)")
    meta: dict[str, bytes] = {}
    while True:
        count = cur.long()
        if count == 0:
            break
        if count < 0:
            count = -count
            cur.long()  # byte size of the map block
        for _ in range(count):
            key = cur.take(cur.long()).decode("utf-8", "replace")
            meta[key] = cur.take(cur.long())
    return meta, cur.take(SYNC_SIZE)


def read_container(data: bytes, source: str = "<bytes>") -> Container:
    """Parse the header and locate every block of a container file (no record is decoded)."""
    cur = _Cursor(data, source)
    meta, sync = _read_header(cur)
    header_end = cur.pos
    if "avro.schema" not in meta:
        raise AlertFileError(f"{source}: Avro container without a schema in its header")
    blocks: list[Block] = []
    while cur.pos < len(data):
        start = cur.pos
        count = cur.long()
        size = cur.long()
        data_start = cur.pos
        cur.take(size)
        if cur.take(SYNC_SIZE) != sync:
            where = f"after block {len(blocks) + 1}"
            raise AlertFileError(f"{source}: corrupt Avro container (sync marker mismatch {where})")
        blocks.append(Block(count, start, data_start, data_start + size))
    return Container(
        data=data,
        header_end=header_end,
        schema_text=meta["avro.schema"].decode("utf-8"),
        codec=meta.get("avro.codec", b"null").decode("ascii", "replace"),
        sync=sync,
        blocks=tuple(blocks),
    )


def count_records(path: Path) -> int:
    """Number of records in a container file, reading only its header and block headers."""
    source = str(path)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        while True:  # the header holds the schema: read until it parses
            try:
                cur = _Cursor(head, source)
                _read_header(cur)
                break
            except AlertFileError:
                more = fh.read(1 << 16)
                if not more:
                    raise
                head += more
        fh.seek(cur.pos)
        total = 0
        while True:
            prefix = fh.read(20)
            if not prefix:
                return total
            block = _Cursor(prefix, source)
            count = block.long()
            size = block.long()
            total += count
            fh.seek(cur.pos + block.pos + size + SYNC_SIZE)
            cur.pos += block.pos + size + SYNC_SIZE
