"""A small Thrift binary-protocol codec (buffered transport) and the HBase `getTableNames` probe.

`getTableNames` is the first call happybase makes (`Connection.tables()`); when the Thrift server answers
it, the whole chain (Thrift server -> ZooKeeper -> HMaster) works.

Wire format of a call (strict binary protocol, big-endian):
    i32 VERSION_1 | CALL, string method name (i32 length + utf-8), i32 seqid, args struct
and a struct is a sequence of (i8 type, i16 field id, value) ended by an i8 STOP (0).
"""

from __future__ import annotations

import io
import socket
import struct
from dataclasses import dataclass, field
from typing import BinaryIO

__all__ = [
    "T_STOP",
    "T_BOOL",
    "T_BYTE",
    "T_DOUBLE",
    "T_I16",
    "T_I32",
    "T_I64",
    "T_STRING",
    "T_STRUCT",
    "T_MAP",
    "T_SET",
    "T_LIST",
    "VERSION_1",
    "CALL",
    "REPLY",
    "EXCEPTION",
    "ONEWAY",
    "ThriftError",
    "ThriftProtocolError",
    "ThriftApplicationError",
    "ThriftIOError",
    "Message",
    "encode_call",
    "ThriftReader",
    "read_message",
    "decode_message",
    "table_names",
    "get_table_names",
]

T_STOP, T_BOOL, T_BYTE, T_DOUBLE, T_I16, T_I32, T_I64 = 0, 2, 3, 4, 6, 8, 10
T_STRING, T_STRUCT, T_MAP, T_SET, T_LIST = 11, 12, 13, 14, 15
VERSION_1 = 0x80010000
VERSION_MASK = 0xFFFF0000
CALL, REPLY, EXCEPTION, ONEWAY = 1, 2, 3, 4

MAX_LENGTH = 64 * 1024 * 1024  # refuse absurd sizes instead of allocating them

Value = object  # bool | int | float | bytes | dict | list


class ThriftError(Exception):
    """Base of the errors of this module."""


class ThriftProtocolError(ThriftError):
    """The bytes are not a well-formed Thrift binary-protocol message."""


class ThriftApplicationError(ThriftError):
    """The server answered with a TApplicationException (unknown method, internal error, ...)."""


class ThriftIOError(ThriftError):
    """The server answered with the service's IOError: it runs, but HBase did not answer it (yet)."""


@dataclass(frozen=True)
class Message:
    """A decoded message; `body` is the result (or args) struct as {field id: value}."""

    name: str
    type: int
    seqid: int
    body: dict[int, Value] = field(default_factory=dict)


def _string(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def encode_call(name: str, seqid: int, args: bytes = b"") -> bytes:
    """A CALL message; `args` are the already-encoded fields of the args struct (without its STOP)."""
    return (
        struct.pack("!I", VERSION_1 | CALL)
        + _string(name.encode("utf-8"))
        + struct.pack("!i", seqid)
        + args
        + bytes([T_STOP])
    )


class ThriftReader:
    """Decodes values from a binary stream (a socket file or a BytesIO)."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def _exact(self, n: int) -> bytes:
        data = self._stream.read(n)
        if data is None or len(data) != n:
            raise ThriftProtocolError(f"connection closed after {0 if not data else len(data)} of {n} bytes")
        return data

    def _unpack(self, fmt: str) -> int | float:
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self._exact(size))[0]  # type: ignore[no-any-return]

    def i8(self) -> int:
        return int(self._unpack("!b"))

    def i16(self) -> int:
        return int(self._unpack("!h"))

    def i32(self) -> int:
        return int(self._unpack("!i"))

    def length(self) -> int:
        n = self.i32()
        if not 0 <= n <= MAX_LENGTH:
            raise ThriftProtocolError(f"bad length {n}")
        return n

    def binary(self) -> bytes:
        return self._exact(self.length())

    def value(self, ttype: int) -> Value:
        if ttype == T_BOOL:
            return self.i8() != 0
        if ttype == T_BYTE:
            return self.i8()
        if ttype == T_I16:
            return self.i16()
        if ttype == T_I32:
            return self.i32()
        if ttype == T_I64:
            return int(self._unpack("!q"))
        if ttype == T_DOUBLE:
            return float(self._unpack("!d"))
        if ttype == T_STRING:
            return self.binary()
        if ttype == T_STRUCT:
            return self.struct()
        if ttype == T_MAP:
            ktype, vtype, n = self.i8(), self.i8(), self.length()
            return {self.value(ktype): self.value(vtype) for _ in range(n)}
        if ttype in (T_LIST, T_SET):
            etype, n = self.i8(), self.length()
            return [self.value(etype) for _ in range(n)]
        raise ThriftProtocolError(f"unknown thrift type {ttype}")

    def struct(self) -> dict[int, Value]:
        fields: dict[int, Value] = {}
        while True:
            ttype = self.i8()
            if ttype == T_STOP:
                return fields
            fid = self.i16()
            fields[fid] = self.value(ttype)

    def message(self) -> Message:
        first = self.i32()
        if first < 0:
            if (first & VERSION_MASK) != VERSION_1:
                raise ThriftProtocolError(f"bad protocol version {first & 0xFFFFFFFF:#x}")
            mtype = first & 0xFF
            name = self.binary().decode("utf-8", "replace")
        else:  # old non-strict header: the name's length comes first
            name = self._exact(first).decode("utf-8", "replace")
            mtype = self.i8()
        seqid = self.i32()
        return Message(name=name, type=mtype, seqid=seqid, body=self.struct())


def read_message(stream: BinaryIO) -> Message:
    return ThriftReader(stream).message()


def decode_message(data: bytes) -> Message:
    return read_message(io.BytesIO(data))


def table_names(reply: Message) -> list[bytes]:
    """The result of a getTableNames reply, or the error it carries, raised."""
    if reply.type == EXCEPTION:
        message = reply.body.get(1, b"")
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
        raise ThriftApplicationError(f"{reply.name}: {text}")
    if reply.type != REPLY:
        raise ThriftProtocolError(f"unexpected message type {reply.type}")
    if 0 in reply.body:
        names = reply.body[0]
        if not isinstance(names, list) or not all(isinstance(n, bytes) for n in names):
            raise ThriftProtocolError("getTableNames result is not a list of strings")
        return list(names)
    error = reply.body.get(1)
    if isinstance(error, dict):
        msg = error.get(1, b"")
        raise ThriftIOError(msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg))
    raise ThriftProtocolError("getTableNames reply has neither a result nor an IOError")


def get_table_names(host: str, port: int, timeout: float = 30.0) -> list[bytes]:
    """Calls Hbase.getTableNames() on a Thrift 1 server (binary protocol, buffered transport)."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(encode_call("getTableNames", seqid=1))
        with sock.makefile("rb") as stream:
            reply = read_message(stream)
    if reply.seqid != 1 and reply.type == REPLY:
        raise ThriftProtocolError(f"reply seqid {reply.seqid} does not match the call's (1)")
    return table_names(reply)
