"""A fast schemaless Avro encoder, compiled from a record schema, for the generator's hot loop.

fastavro spends ~0.2-0.5 us per field (more on `["null", T]` unions); an alert has ~1500 fields, which would
cost over a minute per 100k alerts. This encoder turns a record schema into Python source once (runs of
fixed-size fields become a single `struct.pack` call) and accepts, inside arrays, items that are already
encoded (`bytes`), so history entries shared by many alerts are encoded once. The output is byte-identical
to `fastavro.schemaless_writer` (the tests check it).

Supported: primitives, records, arrays, and unions of `null` with one other type; anything else raises.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import Any

from fink_datasim.errors import DatasimError

__all__ = ["RecordEncoder", "varint"]

_FIXED = {"float": "f", "double": "d", "boolean": "?"}
_PRIMITIVES = ("null", "int", "long", "float", "double", "boolean", "string", "bytes")
_MEMO_SIZE = 100_000
_varints: dict[int, bytes] = {}
_texts: dict[str, bytes] = {}


def _zigzag_varint(value: int) -> bytes:
    n = (value << 1) ^ (value >> 63)
    buf = bytearray()
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)
    return bytes(buf)


def _remember_small() -> None:
    """Keep the encodings of small numbers (counts, flags, channel ids) in the memo at all times."""
    _varints.update((value, _zigzag_varint(value)) for value in range(-64, 4096))


def varint(value: int) -> bytes:
    """Avro `int`/`long`: zig-zag, then base-128 varint (values are memoised: ids repeat a lot)."""
    out = _varints.get(value)
    if out is None:
        out = _zigzag_varint(value)
        if len(_varints) >= _MEMO_SIZE:
            _varints.clear()
            _remember_small()
        _varints[value] = out
    return out


_remember_small()


def _encode_text(value: str | bytes) -> bytes:
    """Avro `string`/`bytes`: length, then the bytes (short strings are memoised)."""
    if isinstance(value, str):
        out = _texts.get(value)
        if out is None:
            data = value.encode("utf-8")
            out = varint(len(data)) + data
            if len(data) <= 200:
                if len(_texts) >= _MEMO_SIZE:
                    _texts.clear()
                _texts[value] = out
        return out
    data = bytes(value)
    return varint(len(data)) + data


def _encode_items(items: list[Any], encode_item: Callable[[Any], bytes]) -> bytes:
    """An Avro array: one block holding every item, then the empty block. `bytes` items are pre-encoded."""
    if not items:
        return b"\x00"
    parts = [varint(len(items))]
    for item in items:
        parts.append(item if isinstance(item, bytes) else encode_item(item))
    parts.append(b"\x00")
    return b"".join(parts)


class _Compiler:
    """Writes the source of one encoding function per record, and collects the helpers it refers to."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {}  # named types seen so far, by full name
        self.env: dict[str, Any] = {
            "_varint": varint,
            "_text": _encode_text,
            "_vmemo": _varints.get,
            "_tmemo": _texts.get,
        }
        self.counter = 0

    def symbol(self, prefix: str, value: Any) -> str:
        self.counter += 1
        name = f"_{prefix}{self.counter}"
        self.env[name] = value
        return name

    def resolve(self, node: Any, namespace: str) -> Any:
        if isinstance(node, str) and node not in _PRIMITIVES:
            full = node if "." in node else f"{namespace}.{node}" if namespace else node
            if full not in self.names and node not in self.names:
                raise DatasimError(f"encoder: unknown named type {node!r}")
            return self.names.get(full, self.names.get(node))
        return node

    def record(self, schema: Mapping[str, Any], namespace: str) -> str:
        """Compile a record schema; returns the symbol of its `fn(dict) -> bytes`."""
        name = str(schema["name"])
        space = schema.get("namespace", namespace) if "." not in name else name.rpartition(".")[0]
        full = name if "." in name else f"{space}.{name}" if space else name
        holder: dict[str, Callable[[Any], bytes]] = {}
        self.names[full] = {"type": "record", "holder": holder}
        lines = ["def encode(d):", "    b = bytearray()", "    get = d.get"]
        run: list[tuple[str, str, int | None]] = []  # (field, struct code, union branch of the value or None)

        def flush() -> None:
            if not run:
                return
            fmt = "<" + "".join(("B" if br is not None else "") + code for _, code, br in run)
            pack = self.symbol("pack", struct.Struct(fmt).pack)
            values = [f"v{i}" for i in range(len(run))]
            for i, (field, _, _) in enumerate(run):
                lines.append(f"    v{i} = get({field!r})")
            # A nullable value is preceded by its union branch index, zig-zag encoded (branch 1 -> byte 2).
            args = ", ".join((f"{br * 2}, " if br is not None else "") + f"v{i}" for i, (_, _, br) in enumerate(run))
            lines.append(f"    if {' is None or '.join(values)} is None:")
            for i, (field, _, _) in enumerate(run):
                lines.extend(self.statements(f"v{i}", self.field_type(field, schema), space, "        "))
            lines.append("    else:")
            lines.append(f"        b += {pack}({args})")
            run.clear()

        for field in schema["fields"]:
            kind = self.resolve(field["type"], space)
            fixed = self.fixed_code(kind)
            if fixed is not None:
                run.append((field["name"], *fixed))
                continue
            flush()
            lines.append(f"    v = get({field['name']!r})")
            lines.extend(self.statements("v", kind, space, "    "))
        flush()
        lines.append("    return bytes(b)")
        source = "\n".join(lines)
        scope: dict[str, Any] = {}
        exec(compile(source, f"<avro encoder {full}>", "exec"), self.env, scope)  # noqa: S102 (generated here)
        holder["fn"] = scope["encode"]
        return self.symbol("rec", scope["encode"])

    @staticmethod
    def field_type(field_name: str, schema: Mapping[str, Any]) -> Any:
        return next(f["type"] for f in schema["fields"] if f["name"] == field_name)

    @staticmethod
    def fixed_code(kind: Any) -> tuple[str, int | None] | None:
        """(struct code, branch index) of a fixed-size type or nullable fixed-size type; None otherwise."""
        if isinstance(kind, str) and kind in _FIXED:
            return _FIXED[kind], None
        if isinstance(kind, list) and len(kind) == 2 and "null" in kind:
            other = kind[1 - kind.index("null")]
            if isinstance(other, str) and other in _FIXED:
                return _FIXED[other], kind.index(other)
        return None

    def statements(self, var: str, kind: Any, namespace: str, pad: str) -> list[str]:
        """Python statements appending the encoding of the value held in variable `var` to `b`."""
        kind = self.resolve(kind, namespace)
        if isinstance(kind, list):
            if len(kind) != 2 or "null" not in kind:
                raise DatasimError(f"encoder: only unions of null and one type are supported, got {kind!r}")
            null_at = kind.index("null")
            nul, tag = self.symbol("nul", varint(null_at)), self.symbol("tag", varint(1 - null_at))
            inner = self.statements(var, kind[1 - null_at], namespace, pad + "    ")
            return [f"{pad}if {var} is None:", f"{pad}    b += {nul}", f"{pad}else:", f"{pad}    b += {tag}", *inner]
        if kind in ("int", "long"):  # memoised ids: a dict lookup, the function call only on a miss
            return [f"{pad}b += _vmemo({var}) or _varint({var})"]
        if kind == "string":
            return [f"{pad}b += _tmemo({var}) or _text({var})"]
        return [f"{pad}b += {self.symbol('val', self.value_fn(kind, namespace))}({var})"]

    def value_fn(self, kind: Any, namespace: str) -> Callable[[Any], bytes]:
        kind = self.resolve(kind, namespace)
        if isinstance(kind, str):
            if kind in _FIXED:
                return struct.Struct("<" + _FIXED[kind]).pack
            if kind in ("int", "long"):
                return varint
            if kind in ("string", "bytes"):
                return _encode_text
            if kind == "null":
                return lambda _value: b""
            raise DatasimError(f"encoder: unsupported type {kind!r}")
        if isinstance(kind, dict) and "holder" in kind:  # a record compiled earlier (or being compiled)
            holder = kind["holder"]
            return lambda value: holder["fn"](value)
        if isinstance(kind, dict) and kind.get("type") == "record":
            symbol = self.record(kind, namespace)
            return self.env[symbol]
        if isinstance(kind, dict) and kind.get("type") == "array":
            item = self.value_fn(kind["items"], namespace)
            return lambda value: _encode_items(value, item)
        if isinstance(kind, dict) and isinstance(kind.get("type"), str):
            return self.value_fn(kind["type"], namespace)
        raise DatasimError(f"encoder: unsupported schema node {kind!r}")


class RecordEncoder:
    """Schemaless Avro encoding of records of one schema; array items given as `bytes` are copied as is."""

    def __init__(self, schema: Mapping[str, Any]) -> None:
        compiler = _Compiler()
        symbol = compiler.record(schema, str(schema.get("namespace", "")))
        self._encode: Callable[[Mapping[str, Any]], bytes] = compiler.env[symbol]
        self._compiler = compiler

    def encode(self, record: Mapping[str, Any]) -> bytes:
        return self._encode(record)

    def for_record(self, full_name: str) -> Callable[[Mapping[str, Any]], bytes]:
        """The compiled encoder of a named record inside the schema (e.g. `ztf.alert.prv_candidate`)."""
        found = self._compiler.names.get(full_name)
        if found is None:
            raise DatasimError(f"encoder: schema has no record named {full_name!r}")
        fn: Callable[[Mapping[str, Any]], bytes] = found["holder"]["fn"]
        return fn
