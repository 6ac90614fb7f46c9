"""Round trip through the real HBase Thrift server with happybase."""

from fink_common.hbase import HBaseClient
from fink_common.testing import unique_name


def test_happybase_round_trip(hbase_client: HBaseClient) -> None:
    table = unique_name("it_roundtrip")
    assert hbase_client.ensure_table(table, ["i", "d"]) is True
    assert hbase_client.ensure_table(table, ["i", "d"]) is False  # idempotent
    try:
        assert table in hbase_client.tables()
        rows = [
            (f"ZTF23abc_{2460235.5 + k / 100:.7f}_{1000 + k}".encode(), {b"i:candid": str(1000 + k).encode(), b"d:roid": b"0"})
            for k in range(25)
        ]
        assert hbase_client.put_rows(table, rows, batch_size=10) == 25
        # A replayed batch is an upsert: same rows, same count.
        hbase_client.put_rows(table, rows, batch_size=10)
        assert hbase_client.count(table) == 25
        first = hbase_client.get_row(table, rows[0][0])
        assert first == {b"i:candid": b"1000", b"d:roid": b"0"}
        scanned = hbase_client.scan(table, row_prefix=b"ZTF23abc_", limit=5)
        assert [k for k, _ in scanned] == sorted(k for k, _ in rows)[:5]
    finally:
        hbase_client.delete_table(table)
    assert table not in hbase_client.tables()
