package fink.thrift;

import static fink.thrift.ThriftWire.*;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HConstants;
import org.apache.hadoop.hbase.HRegionLocation;
import org.apache.hadoop.hbase.TableExistsException;
import org.apache.hadoop.hbase.TableName;
import org.apache.hadoop.hbase.client.Admin;
import org.apache.hadoop.hbase.client.ColumnFamilyDescriptor;
import org.apache.hadoop.hbase.client.ColumnFamilyDescriptorBuilder;
import org.apache.hadoop.hbase.client.Connection;
import org.apache.hadoop.hbase.client.ConnectionFactory;
import org.apache.hadoop.hbase.client.Delete;
import org.apache.hadoop.hbase.client.Durability;
import org.apache.hadoop.hbase.client.Get;
import org.apache.hadoop.hbase.client.Put;
import org.apache.hadoop.hbase.client.RegionInfo;
import org.apache.hadoop.hbase.client.RegionLocator;
import org.apache.hadoop.hbase.client.Result;
import org.apache.hadoop.hbase.client.ResultScanner;
import org.apache.hadoop.hbase.client.Scan;
import org.apache.hadoop.hbase.client.Table;
import org.apache.hadoop.hbase.client.TableDescriptorBuilder;
import org.apache.hadoop.hbase.filter.Filter;
import org.apache.hadoop.hbase.filter.ParseFilter;
import org.apache.hadoop.hbase.filter.PrefixFilter;
import org.apache.hadoop.hbase.filter.WhileMatchFilter;
import org.apache.hadoop.hbase.io.compress.Compression;
import org.apache.hadoop.hbase.regionserver.BloomType;

/** The calls of the Hbase Thrift 1 service, mapped onto the HBase client API (one shared Connection). */
final class HBaseCalls {
  // ---- state ----
  private final Configuration conf;
  volatile Connection connection;
  private final Map<Integer, ScannerEntry> scanners = new ConcurrentHashMap<>();
  private final AtomicInteger nextScannerId = new AtomicInteger(1);

  static final class ScannerEntry {
    final Table table;
    final ResultScanner scanner;
    final boolean sorted;
    volatile long lastUsed = System.currentTimeMillis();
    ScannerEntry(Table table, ResultScanner scanner, boolean sorted) { this.table = table; this.scanner = scanner; this.sorted = sorted; }
    void close() {
      scanner.close();
      try { table.close(); } catch (IOException ignored) { /* closing a table handle cannot lose data */ }
    }
  }

  HBaseCalls(Configuration conf) { this.conf = conf; }

  synchronized Connection connection() throws IOException {
    Connection c = connection;
    if (c == null || c.isClosed() || c.isAborted()) {
      c = ConnectionFactory.createConnection(conf);
      connection = c;
    }
    return c;
  }

  Table table(byte[] name) throws IOException { return connection().getTable(TableName.valueOf(name)); }

  // ---- the service ----
  /** Runs one call; writes the success field (id 0) of the result struct, if any, to `out`. */
  void call(String name, Map<Short, Object> a, Out out) throws IOException, ThriftError, UnknownMethod {
    switch (name) {
      case "getTableNames": {
        List<byte[]> names = new ArrayList<>();
        try (Admin admin = connection().getAdmin()) {
          for (TableName t : admin.listTableNames()) names.add(t.getName());
        }
        out.field(T_LIST, 0);
        out.list(T_STRING, names.size());
        for (byte[] n : names) out.bin(n);
        return;
      }
      case "enableTable": try (Admin admin = connection().getAdmin()) { admin.enableTable(TableName.valueOf(bin(a, 1))); } return;
      case "disableTable": try (Admin admin = connection().getAdmin()) { admin.disableTable(TableName.valueOf(bin(a, 1))); } return;
      case "isTableEnabled": {
        boolean enabled;
        try (Admin admin = connection().getAdmin()) { enabled = admin.isTableEnabled(TableName.valueOf(bin(a, 1))); }
        out.boolField(0, enabled);
        return;
      }
      case "compact": compact(bin(a, 1), false); return;
      case "majorCompact": compact(bin(a, 1), true); return;
      case "getColumnDescriptors": columnDescriptors(bin(a, 1), out); return;
      case "getTableRegions": tableRegions(bin(a, 1), out); return;
      case "createTable": createTable(required(a, 1, "tableName"), list(a, 2)); return;
      case "deleteTable": {
        TableName t = TableName.valueOf(bin(a, 1));
        try (Admin admin = connection().getAdmin()) {
          if (!admin.tableExists(t)) throw new ThriftError(1, "table does not exist: " + t);
          admin.deleteTable(t);
        }
        return;
      }
      case "get": out.cells(getCells(bin(a, 1), bin(a, 2), bin(a, 3), HConstants.LATEST_TIMESTAMP, 1)); return;
      case "getVer": out.cells(getCells(bin(a, 1), bin(a, 2), bin(a, 3), HConstants.LATEST_TIMESTAMP, i32(a, 4, 1))); return;
      case "getVerTs": out.cells(getCells(bin(a, 1), bin(a, 2), bin(a, 3), i64(a, 4, HConstants.LATEST_TIMESTAMP), i32(a, 5, 1))); return;
      case "getRow": getRows(bin(a, 1), Collections.singletonList(bin(a, 2)), null, HConstants.LATEST_TIMESTAMP, out); return;
      case "getRowWithColumns": getRows(bin(a, 1), Collections.singletonList(bin(a, 2)), list(a, 3), HConstants.LATEST_TIMESTAMP, out); return;
      case "getRowTs": getRows(bin(a, 1), Collections.singletonList(bin(a, 2)), null, i64(a, 3, HConstants.LATEST_TIMESTAMP), out); return;
      case "getRowWithColumnsTs": getRows(bin(a, 1), Collections.singletonList(bin(a, 2)), list(a, 3), i64(a, 4, HConstants.LATEST_TIMESTAMP), out); return;
      case "getRows": getRows(bin(a, 1), list(a, 2), null, HConstants.LATEST_TIMESTAMP, out); return;
      case "getRowsWithColumns": getRows(bin(a, 1), list(a, 2), list(a, 3), HConstants.LATEST_TIMESTAMP, out); return;
      case "getRowsTs": getRows(bin(a, 1), list(a, 2), null, i64(a, 3, HConstants.LATEST_TIMESTAMP), out); return;
      case "getRowsWithColumnsTs": getRows(bin(a, 1), list(a, 2), list(a, 3), i64(a, 4, HConstants.LATEST_TIMESTAMP), out); return;
      case "mutateRow": mutate(bin(a, 1), Collections.singletonList(batch(bin(a, 2), list(a, 3))), HConstants.LATEST_TIMESTAMP); return;
      case "mutateRowTs": mutate(bin(a, 1), Collections.singletonList(batch(bin(a, 2), list(a, 3))), i64(a, 4, HConstants.LATEST_TIMESTAMP)); return;
      case "mutateRows": mutate(bin(a, 1), list(a, 2), HConstants.LATEST_TIMESTAMP); return;
      case "mutateRowsTs": mutate(bin(a, 1), list(a, 2), i64(a, 3, HConstants.LATEST_TIMESTAMP)); return;
      case "atomicIncrement": out.i64Field(0, increment(bin(a, 1), bin(a, 2), bin(a, 3), i64(a, 4, 1))); return;
      case "increment": { Map<Short, Object> inc = struct(a.get((short) 1)); increment(bin(inc, 1), bin(inc, 2), bin(inc, 3), i64(inc, 4, 1)); return; }
      case "incrementRows": for (Object o : list(a, 1)) { Map<Short, Object> inc = struct(o); increment(bin(inc, 1), bin(inc, 2), bin(inc, 3), i64(inc, 4, 1)); } return;
      case "deleteAll": deleteColumn(bin(a, 1), bin(a, 2), bin(a, 3), HConstants.LATEST_TIMESTAMP); return;
      case "deleteAllTs": deleteColumn(bin(a, 1), bin(a, 2), bin(a, 3), i64(a, 4, HConstants.LATEST_TIMESTAMP)); return;
      case "deleteAllRow": deleteRow(bin(a, 1), bin(a, 2), HConstants.LATEST_TIMESTAMP); return;
      case "deleteAllRowTs": deleteRow(bin(a, 1), bin(a, 2), i64(a, 3, HConstants.LATEST_TIMESTAMP)); return;
      case "scannerOpenWithScan": out.i32Field(0, openWithScan(bin(a, 1), struct(a.get((short) 2)))); return;
      case "scannerOpen": out.i32Field(0, open(bin(a, 1), bin(a, 2), null, null, list(a, 3), HConstants.LATEST_TIMESTAMP)); return;
      case "scannerOpenWithStop": out.i32Field(0, open(bin(a, 1), bin(a, 2), bin(a, 3), null, list(a, 4), HConstants.LATEST_TIMESTAMP)); return;
      case "scannerOpenWithPrefix": out.i32Field(0, open(bin(a, 1), bin(a, 2), null, bin(a, 2), list(a, 3), HConstants.LATEST_TIMESTAMP)); return;
      case "scannerOpenTs": out.i32Field(0, open(bin(a, 1), bin(a, 2), null, null, list(a, 3), i64(a, 4, HConstants.LATEST_TIMESTAMP))); return;
      case "scannerOpenWithStopTs": out.i32Field(0, open(bin(a, 1), bin(a, 2), bin(a, 3), null, list(a, 4), i64(a, 5, HConstants.LATEST_TIMESTAMP))); return;
      case "scannerGet": scannerGet(i32(a, 1, -1), 1, out); return;
      case "scannerGetList": scannerGet(i32(a, 1, -1), i32(a, 2, 1), out); return;
      case "scannerClose": {
        ScannerEntry e = scanners.remove(i32(a, 1, -1));
        if (e == null) throw new ThriftError(2, "scanner ID is invalid");
        e.close();
        return;
      }
      default: throw new UnknownMethod(name);
    }
  }

  void compact(byte[] tableOrRegion, boolean major) throws IOException {
    try (Admin admin = connection().getAdmin()) {
      TableName t = null;
      try { t = TableName.valueOf(tableOrRegion); } catch (IllegalArgumentException notATable) { /* a region name */ }
      if (t != null && admin.tableExists(t)) {
        if (major) admin.majorCompact(t); else admin.compact(t);
      } else if (major) {
        admin.majorCompactRegion(tableOrRegion);
      } else {
        admin.compactRegion(tableOrRegion);
      }
    }
  }

  void columnDescriptors(byte[] table, Out out) throws IOException {
    ColumnFamilyDescriptor[] families;
    try (Table t = table(table)) { families = t.getDescriptor().getColumnFamilies(); }
    out.field(T_MAP, 0);
    out.map(T_STRING, T_STRUCT, families.length);
    for (ColumnFamilyDescriptor f : families) {
      byte[] name = new byte[f.getName().length + 1];
      System.arraycopy(f.getName(), 0, name, 0, name.length - 1);
      name[name.length - 1] = ':';
      out.bin(name);
      out.binField(1, name);
      out.i32Field(2, f.getMaxVersions());
      out.field(T_STRING, 3); out.str(f.getCompressionType().toString());
      out.boolField(4, f.isInMemory());
      out.field(T_STRING, 5); out.str(f.getBloomFilterType().toString());
      out.i32Field(6, 0);
      out.i32Field(7, 0);
      out.boolField(8, f.isBlockCacheEnabled());
      out.i32Field(9, f.getTimeToLive());
      out.stop();
    }
  }

  void tableRegions(byte[] table, Out out) throws IOException {
    List<HRegionLocation> locations;
    try (RegionLocator locator = connection().getRegionLocator(TableName.valueOf(table))) {
      locations = locator.getAllRegionLocations();
    }
    out.field(T_LIST, 0);
    out.list(T_STRUCT, locations.size());
    for (HRegionLocation loc : locations) {
      RegionInfo info = loc.getRegion();
      out.binField(1, info.getStartKey());
      out.binField(2, info.getEndKey());
      out.i64Field(3, info.getRegionId());
      out.binField(4, info.getRegionName());
      out.field(T_BYTE, 5); out.out.writeByte(1);
      String host = loc.getServerName() == null ? "" : loc.getServerName().getHostname();
      out.field(T_STRING, 6); out.str(host);
      out.i32Field(7, loc.getServerName() == null ? 0 : loc.getServerName().getPort());
      out.stop();
    }
  }

  void createTable(byte[] name, List<Object> families) throws IOException, ThriftError {
    if (families.isEmpty()) throw new ThriftError(2, "a table needs at least one column family");
    TableName t;
    try { t = TableName.valueOf(name); } catch (IllegalArgumentException e) { throw new ThriftError(2, e.getMessage()); }
    TableDescriptorBuilder builder = TableDescriptorBuilder.newBuilder(t);
    for (Object o : families) {
      Map<Short, Object> cd = struct(o);
      byte[] family = parseColumn(required(cd, 1, "column family name"))[0];
      int ttl = i32(cd, 9, -1);
      try {
        builder.setColumnFamily(ColumnFamilyDescriptorBuilder.newBuilder(family)
            .setMaxVersions(i32(cd, 2, 3))
            .setCompressionType(Compression.Algorithm.valueOf(text(cd, 3, "NONE").toUpperCase()))
            .setInMemory(bool(cd, 4, false))
            .setBloomFilterType(BloomType.valueOf(text(cd, 5, "NONE").toUpperCase()))
            .setBlockCacheEnabled(bool(cd, 8, false))
            .setTimeToLive(ttl == -1 ? HConstants.FOREVER : ttl)
            .build());
      } catch (IllegalArgumentException e) {
        throw new ThriftError(2, e.getMessage());
      }
    }
    try (Admin admin = connection().getAdmin()) {
      if (admin.tableExists(t)) throw new ThriftError(3, "table name already in use: " + t);
      admin.createTable(builder.build());
    } catch (TableExistsException e) {
      throw new ThriftError(3, e.getMessage());
    }
  }

  static void addColumns(Get get, List<Object> columns) {
    for (Object c : columns) {
      byte[][] fq = parseColumn((byte[]) c);
      if (fq.length == 1) get.addFamily(fq[0]); else get.addColumn(fq[0], fq[1]);
    }
  }

  Result getCells(byte[] table, byte[] row, byte[] column, long ts, int versions) throws IOException {
    Get get = new Get(row);
    addColumns(get, Collections.singletonList(column));
    if (ts != HConstants.LATEST_TIMESTAMP) get.setTimeRange(0, ts);
    get.readVersions(Math.max(versions, 1));
    try (Table t = table(table)) { return t.get(get); }
  }

  void getRows(byte[] table, List<Object> rows, List<Object> columns, long ts, Out out) throws IOException {
    List<Get> gets = new ArrayList<>(rows.size());
    for (Object r : rows) {
      Get get = new Get((byte[]) r);
      if (columns != null) addColumns(get, columns);
      if (ts != HConstants.LATEST_TIMESTAMP) get.setTimeRange(0, ts);
      gets.add(get);
    }
    Result[] results;
    try (Table t = table(table)) { results = t.get(gets); }
    List<Result> list = new ArrayList<>(results.length);
    Collections.addAll(list, results);
    out.rowResults(list, false);
  }

  static Map<Short, Object> batch(byte[] row, List<Object> mutations) {
    Map<Short, Object> b = new LinkedHashMap<>();
    b.put((short) 1, row);
    b.put((short) 2, mutations);
    return b;
  }

  void mutate(byte[] table, List<Object> batches, long ts) throws IOException, ThriftError {
    List<Put> puts = new ArrayList<>();
    List<Delete> deletes = new ArrayList<>();
    for (Object o : batches) {
      Map<Short, Object> b = struct(o);
      byte[] row = required(b, 1, "row");
      Put put = new Put(row, ts);
      Delete delete = new Delete(row);
      for (Object mo : list(b, 2)) {
        Map<Short, Object> m = struct(mo);
        byte[][] fq = parseColumn(required(m, 2, "mutation column"));
        boolean wal = bool(m, 4, true);
        if (bool(m, 1, false)) {
          if (fq.length == 1) delete.addFamily(fq[0], ts); else delete.addColumns(fq[0], fq[1], ts);
          delete.setDurability(wal ? Durability.SYNC_WAL : Durability.SKIP_WAL);
        } else {
          byte[] value = bin(m, 3);
          if (value == null) throw new ThriftError(2, "a put mutation needs a value");
          put.addColumn(fq[0], fq.length == 1 ? HConstants.EMPTY_BYTE_ARRAY : fq[1], ts, value);
          put.setDurability(wal ? Durability.SYNC_WAL : Durability.SKIP_WAL);
        }
      }
      if (!put.isEmpty()) puts.add(put);
      if (!delete.isEmpty()) deletes.add(delete);
    }
    try (Table t = table(table)) {
      if (!puts.isEmpty()) t.put(puts);
      if (!deletes.isEmpty()) t.delete(deletes);
    }
  }

  long increment(byte[] table, byte[] row, byte[] column, long amount) throws IOException {
    byte[][] fq = parseColumn(column);
    try (Table t = table(table)) {
      return t.incrementColumnValue(row, fq[0], fq.length == 1 ? HConstants.EMPTY_BYTE_ARRAY : fq[1], amount);
    }
  }

  void deleteColumn(byte[] table, byte[] row, byte[] column, long ts) throws IOException {
    Delete d = new Delete(row);
    byte[][] fq = parseColumn(column);
    if (fq.length == 1) d.addFamily(fq[0], ts); else d.addColumns(fq[0], fq[1], ts);
    try (Table t = table(table)) { t.delete(d); }
  }

  void deleteRow(byte[] table, byte[] row, long ts) throws IOException {
    try (Table t = table(table)) { t.delete(new Delete(row, ts)); }
  }

  static void addColumns(Scan scan, List<Object> columns) {
    for (Object c : columns) {
      byte[][] fq = parseColumn((byte[]) c);
      if (fq.length == 1) scan.addFamily(fq[0]); else scan.addColumn(fq[0], fq[1]);
    }
  }

  int register(byte[] table, Scan scan, boolean sorted) throws IOException {
    Table t = table(table);
    try {
      ResultScanner rs = t.getScanner(scan);
      int id = nextScannerId.getAndIncrement();
      scanners.put(id, new ScannerEntry(t, rs, sorted));
      return id;
    } catch (IOException | RuntimeException e) {
      t.close();
      throw e;
    }
  }

  int openWithScan(byte[] table, Map<Short, Object> s) throws IOException, ThriftError {
    Scan scan = new Scan();
    if (s == null) s = Collections.emptyMap();
    if (bin(s, 1) != null) scan.withStartRow(bin(s, 1));
    if (bin(s, 2) != null) scan.withStopRow(bin(s, 2));
    if (s.containsKey((short) 3)) scan.setTimeRange(0, i64(s, 3, HConstants.LATEST_TIMESTAMP));
    addColumns(scan, list(s, 4));
    if (s.containsKey((short) 5)) scan.setCaching(i32(s, 5, 1));
    if (bin(s, 6) != null && bin(s, 6).length > 0) {
      try {
        scan.setFilter(new ParseFilter().parseFilterString(bin(s, 6)));
      } catch (IllegalArgumentException e) {
        throw new ThriftError(1, "bad filter string: " + e.getMessage());
      }
    }
    if (s.containsKey((short) 7)) scan.setBatch(i32(s, 7, -1));
    if (bool(s, 9, false)) scan.setReversed(true);
    return register(table, scan, bool(s, 8, false));
  }

  int open(byte[] table, byte[] start, byte[] stop, byte[] prefix, List<Object> columns, long ts) throws IOException {
    Scan scan = new Scan();
    if (start != null) scan.withStartRow(start);
    if (stop != null) scan.withStopRow(stop);
    if (prefix != null) {
      Filter f = new WhileMatchFilter(new PrefixFilter(prefix));
      scan.setFilter(f);
    }
    if (ts != HConstants.LATEST_TIMESTAMP) scan.setTimeRange(0, ts);
    addColumns(scan, columns);
    return register(table, scan, false);
  }

  void scannerGet(int id, int n, Out out) throws IOException, ThriftError {
    ScannerEntry e = scanners.get(id);
    if (e == null) throw new ThriftError(2, "scanner ID is invalid");
    e.lastUsed = System.currentTimeMillis();
    Result[] rs = e.scanner.next(Math.max(n, 0));
    List<Result> list = new ArrayList<>(rs.length);
    Collections.addAll(list, rs);
    out.rowResults(list, e.sorted);
  }

  /** Closes scanners a client forgot (no call for 10 minutes), as HBase's own server does. */
  void expireScanners() {
    long cutoff = System.currentTimeMillis() - TimeUnit.MINUTES.toMillis(10);
    scanners.entrySet().removeIf(en -> {
      if (en.getValue().lastUsed < cutoff) { en.getValue().close(); return true; }
      return false;
    });
  }

}
