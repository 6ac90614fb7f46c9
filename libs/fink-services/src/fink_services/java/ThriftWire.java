package fink.thrift;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.hbase.Cell;
import org.apache.hadoop.hbase.CellUtil;
import org.apache.hadoop.hbase.client.Result;

/** The Thrift binary protocol (strict or old headers, buffered transport) and the Hbase IDL structs. */
final class ThriftWire {
  private ThriftWire() {}

  // ---- Thrift binary protocol constants ----
  static final byte T_STOP = 0, T_BOOL = 2, T_BYTE = 3, T_DOUBLE = 4, T_I16 = 6, T_I32 = 8, T_I64 = 10,
      T_STRING = 11, T_STRUCT = 12, T_MAP = 13, T_SET = 14, T_LIST = 15;
  static final int VERSION_1 = 0x80010000, VERSION_MASK = 0xffff0000;
  static final byte CALL = 1, REPLY = 2, EXCEPTION = 3, ONEWAY = 4;
  static final int MAX_STRING = 256 * 1024 * 1024, MAX_ELEMENTS = 16 * 1024 * 1024;

  /** Error classes of the Hbase service, with the result field id each one uses. */
  static final class ThriftError extends Exception {
    private static final long serialVersionUID = 1L;
    final int fieldId; // 1 IOError, 2 IllegalArgument, 3 AlreadyExists
    ThriftError(int fieldId, String message) { super(message); this.fieldId = fieldId; }
  }

  static final class UnknownMethod extends Exception {
    private static final long serialVersionUID = 1L;
    UnknownMethod(String name) { super("method '" + name + "' is not implemented by the fink Thrift gateway"); }
  }

  // ---- wire reading ----
  static final class In {
    final DataInputStream in;
    In(DataInputStream in) { this.in = in; }

    byte[] bytes(int n) throws IOException {
      if (n < 0 || n > MAX_STRING) throw new IOException("bad string length " + n);
      byte[] b = new byte[n];
      in.readFully(b);
      return b;
    }

    Object value(byte type) throws IOException {
      switch (type) {
        case T_BOOL: return in.readByte() != 0;
        case T_BYTE: return in.readByte();
        case T_I16: return in.readShort();
        case T_I32: return in.readInt();
        case T_I64: return in.readLong();
        case T_DOUBLE: return in.readDouble();
        case T_STRING: return bytes(in.readInt());
        case T_STRUCT: return struct();
        case T_MAP: {
          byte kt = in.readByte(), vt = in.readByte();
          int n = count(in.readInt());
          List<Object[]> pairs = new ArrayList<>(Math.min(n, 1024));
          for (int i = 0; i < n; i++) pairs.add(new Object[] {value(kt), value(vt)});
          return pairs;
        }
        case T_SET:
        case T_LIST: {
          byte et = in.readByte();
          int n = count(in.readInt());
          List<Object> items = new ArrayList<>(Math.min(n, 1024));
          for (int i = 0; i < n; i++) items.add(value(et));
          return items;
        }
        default: throw new IOException("unknown thrift type " + type);
      }
    }

    int count(int n) throws IOException {
      if (n < 0 || n > MAX_ELEMENTS) throw new IOException("bad container size " + n);
      return n;
    }

    Map<Short, Object> struct() throws IOException {
      Map<Short, Object> fields = new LinkedHashMap<>();
      while (true) {
        byte t = in.readByte();
        if (t == T_STOP) return fields;
        short id = in.readShort();
        fields.put(id, value(t));
      }
    }
  }

  // ---- wire writing ----
  static final class Out {
    final DataOutputStream out;
    Out(DataOutputStream out) { this.out = out; }
    void field(byte type, int id) throws IOException { out.writeByte(type); out.writeShort(id); }
    void stop() throws IOException { out.writeByte(T_STOP); }
    void bin(byte[] b) throws IOException { out.writeInt(b.length); out.write(b); }
    void str(String s) throws IOException { bin(s.getBytes(StandardCharsets.UTF_8)); }
    void list(byte et, int n) throws IOException { out.writeByte(et); out.writeInt(n); }
    void map(byte kt, byte vt, int n) throws IOException { out.writeByte(kt); out.writeByte(vt); out.writeInt(n); }
    void binField(int id, byte[] b) throws IOException { field(T_STRING, id); bin(b); }
    void i32Field(int id, int v) throws IOException { field(T_I32, id); out.writeInt(v); }
    void i64Field(int id, long v) throws IOException { field(T_I64, id); out.writeLong(v); }
    void boolField(int id, boolean v) throws IOException { field(T_BOOL, id); out.writeByte(v ? 1 : 0); }

    void cell(Cell c) throws IOException {
      binField(1, CellUtil.cloneValue(c));
      i64Field(2, c.getTimestamp());
      stop();
    }

    void rowResult(Result r, boolean sorted) throws IOException {
      binField(1, r.getRow());
      Cell[] cells = r.rawCells();
      if (sorted) {
        field(T_LIST, 3);
        list(T_STRUCT, cells.length);
        for (Cell c : cells) {
          binField(1, columnName(c));
          field(T_STRUCT, 2);
          cell(c);
          stop();
        }
      } else {
        // newest version wins when a column comes back several times
        Map<ByteBuffer, Cell> latest = new LinkedHashMap<>();
        for (Cell c : cells) latest.putIfAbsent(ByteBuffer.wrap(columnName(c)), c);
        field(T_MAP, 2);
        map(T_STRING, T_STRUCT, latest.size());
        for (Map.Entry<ByteBuffer, Cell> e : latest.entrySet()) {
          bin(e.getKey().array());
          cell(e.getValue());
        }
      }
      stop();
    }

    void rowResults(List<Result> results, boolean sorted) throws IOException {
      List<Result> nonEmpty = new ArrayList<>();
      for (Result r : results) if (r != null && !r.isEmpty()) nonEmpty.add(r);
      field(T_LIST, 0);
      list(T_STRUCT, nonEmpty.size());
      for (Result r : nonEmpty) rowResult(r, sorted);
    }

    void cells(Result r) throws IOException {
      Cell[] cells = r == null || r.isEmpty() ? new Cell[0] : r.rawCells();
      field(T_LIST, 0);
      list(T_STRUCT, cells.length);
      for (Cell c : cells) cell(c);
    }
  }

  static byte[] columnName(Cell c) {
    byte[] f = CellUtil.cloneFamily(c), q = CellUtil.cloneQualifier(c);
    byte[] name = new byte[f.length + 1 + q.length];
    System.arraycopy(f, 0, name, 0, f.length);
    name[f.length] = ':';
    System.arraycopy(q, 0, name, f.length + 1, q.length);
    return name;
  }

  /** "fam" -> {fam}; "fam:" -> {fam, empty}; "fam:qual" -> {fam, qual} (as HBase's CellUtil.parseColumn). */
  static byte[][] parseColumn(byte[] column) {
    for (int i = 0; i < column.length; i++) {
      if (column[i] == ':') {
        byte[] f = new byte[i], q = new byte[column.length - i - 1];
        System.arraycopy(column, 0, f, 0, i);
        System.arraycopy(column, i + 1, q, 0, q.length);
        return new byte[][] {f, q};
      }
    }
    return new byte[][] {column};
  }

  // ---- argument access ----
  static byte[] bin(Map<Short, Object> a, int id) { return (byte[]) a.get((short) id); }
  static long i64(Map<Short, Object> a, int id, long dflt) { Object v = a.get((short) id); return v == null ? dflt : ((Number) v).longValue(); }
  static int i32(Map<Short, Object> a, int id, int dflt) { Object v = a.get((short) id); return v == null ? dflt : ((Number) v).intValue(); }
  static boolean bool(Map<Short, Object> a, int id, boolean dflt) { Object v = a.get((short) id); return v == null ? dflt : (Boolean) v; }
  static String text(Map<Short, Object> a, int id, String dflt) { byte[] v = bin(a, id); return v == null ? dflt : new String(v, StandardCharsets.UTF_8); }
  @SuppressWarnings("unchecked")
  static List<Object> list(Map<Short, Object> a, int id) { Object v = a.get((short) id); return v == null ? Collections.emptyList() : (List<Object>) v; }
  @SuppressWarnings("unchecked")
  static Map<Short, Object> struct(Object o) { return (Map<Short, Object>) o; }

  static byte[] required(Map<Short, Object> a, int id, String what) throws ThriftError {
    byte[] v = bin(a, id);
    if (v == null) throw new ThriftError(2, what + " is required");
    return v;
  }
}
