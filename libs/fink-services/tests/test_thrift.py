"""Unit tests of the Thrift binary-protocol encoding and decoding (bytes built by hand here)."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from fink_services import thrift


def string(data: bytes) -> bytes:
    return struct.pack("!i", len(data)) + data


def reply(name: bytes, seqid: int, body: bytes, mtype: int = 2) -> bytes:
    return struct.pack("!I", 0x80010000 | mtype) + string(name) + struct.pack("!i", seqid) + body


TABLES_BODY = (
    bytes([15])
    + struct.pack("!h", 0)  # field 0: list
    + bytes([11])
    + struct.pack("!i", 2)  # of 2 strings
    + string(b"alerts")
    + string(b"ns:objects")
    + b"\x00"
)


def test_encode_get_table_names() -> None:
    expected = b"\x80\x01\x00\x01" + b"\x00\x00\x00\x0dgetTableNames" + b"\x00\x00\x00\x01" + b"\x00"
    assert thrift.encode_call("getTableNames", seqid=1) == expected


def test_encode_with_args_round_trips() -> None:
    args = bytes([11]) + struct.pack("!h", 1) + string(b"alerts")
    msg = thrift.decode_message(thrift.encode_call("isTableEnabled", seqid=42, args=args))
    assert (msg.name, msg.type, msg.seqid, msg.body) == ("isTableEnabled", thrift.CALL, 42, {1: b"alerts"})


def test_decode_table_names_reply() -> None:
    msg = thrift.decode_message(reply(b"getTableNames", 1, TABLES_BODY))
    assert msg.type == thrift.REPLY and msg.seqid == 1
    assert thrift.table_names(msg) == [b"alerts", b"ns:objects"]


def test_decode_empty_list() -> None:
    body = bytes([15]) + struct.pack("!h", 0) + bytes([11]) + struct.pack("!i", 0) + b"\x00"
    assert thrift.table_names(thrift.decode_message(reply(b"getTableNames", 1, body))) == []


def test_io_error_reply() -> None:
    body = (
        bytes([12])
        + struct.pack("!h", 1)
        + bytes([11])
        + struct.pack("!h", 1)
        + string(b"master is initializing")
        + b"\x00\x00"
    )
    with pytest.raises(thrift.ThriftIOError, match="master is initializing"):
        thrift.table_names(thrift.decode_message(reply(b"getTableNames", 1, body)))


def test_application_exception() -> None:
    body = (
        bytes([11]) + struct.pack("!h", 1) + string(b"unknown method") + bytes([8]) + struct.pack("!hi", 2, 1) + b"\x00"
    )
    msg = thrift.decode_message(reply(b"getTableNames", 1, body, mtype=3))
    assert msg.body == {1: b"unknown method", 2: 1}
    with pytest.raises(thrift.ThriftApplicationError, match="unknown method"):
        thrift.table_names(msg)


def test_nested_values() -> None:
    # a TRowResult-like struct: 1: row, 2: map<string, struct{1: binary, 2: i64}>, plus bool/double/i16/byte
    cell = (
        bytes([11]) + struct.pack("!h", 1) + string(b"v") + bytes([10]) + struct.pack("!hq", 2, 1700000000000) + b"\x00"
    )
    body = (
        bytes([11])
        + struct.pack("!h", 1)
        + string(b"row1")
        + bytes([13])
        + struct.pack("!h", 2)
        + bytes([11, 12])
        + struct.pack("!i", 1)
        + string(b"d:mag")
        + cell
        + bytes([2])
        + struct.pack("!h", 3)
        + b"\x01"
        + bytes([4])
        + struct.pack("!hd", 4, 18.5)
        + bytes([6])
        + struct.pack("!hh", 5, -3)
        + bytes([3])
        + struct.pack("!hb", 6, 7)
        + b"\x00"
    )
    msg = thrift.decode_message(reply(b"getRow", 9, body))
    assert msg.body == {1: b"row1", 2: {b"d:mag": {1: b"v", 2: 1700000000000}}, 3: True, 4: 18.5, 5: -3, 6: 7}


def test_old_non_strict_header() -> None:
    data = string(b"getTableNames") + bytes([2]) + struct.pack("!i", 5) + TABLES_BODY
    msg = thrift.decode_message(data)
    assert (msg.name, msg.type, msg.seqid) == ("getTableNames", 2, 5)


def test_truncated_message() -> None:
    data = reply(b"getTableNames", 1, TABLES_BODY)
    with pytest.raises(thrift.ThriftProtocolError, match="connection closed"):
        thrift.decode_message(data[:-5])


def test_bad_version_and_type() -> None:
    with pytest.raises(thrift.ThriftProtocolError, match="bad protocol version"):
        thrift.decode_message(struct.pack("!I", 0x80020002) + string(b"x") + struct.pack("!i", 1) + b"\x00")
    with pytest.raises(thrift.ThriftProtocolError, match="unknown thrift type"):
        thrift.decode_message(reply(b"x", 1, bytes([99]) + struct.pack("!h", 1)))


def test_get_table_names_over_a_socket() -> None:
    """A one-shot fake server checks the exact bytes of the call and answers by hand."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    received: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            expected = thrift.encode_call("getTableNames", seqid=1)
            data = b""
            while len(data) < len(expected):
                data += conn.recv(1024)
            received.append(data)
            conn.sendall(reply(b"getTableNames", 1, TABLES_BODY))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert thrift.get_table_names("127.0.0.1", port, timeout=5) == [b"alerts", b"ns:objects"]
    finally:
        thread.join(5)
        server.close()
    assert received == [thrift.encode_call("getTableNames", seqid=1)]
