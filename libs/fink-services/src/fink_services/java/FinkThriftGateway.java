/*
 * A Thrift 1 ("Hbase" service) gateway for a local Apache HBase, written for fink-services.
 *
 * Why it exists: Maven Central serves no org.apache.hbase:hbase-thrift jar here, so HBase's own Thrift
 * server cannot be installed. This process speaks the same wire protocol (binary protocol, buffered
 * transport: what happybase uses by default) and maps each call onto the real HBase client API.
 *
 * It implements the calls happybase 1.3 makes, plus a few siblings (get, getRow*, mutateRow*,
 * deleteAll*, increment*, scannerGet, scannerOpenWithPrefix). Any other call gets a Thrift
 * TApplicationException UNKNOWN_METHOD. Semantics follow HBase's Thrift 1 handler: "family:qualifier"
 * column names, *Ts calls bound timestamps exclusively from above, puts are applied before deletes.
 *
 * Usage: java -cp <hbase conf dir>:<hbase jars>/*:<classes> fink.thrift.FinkThriftGateway --port 9090 [--bind 127.0.0.1]
 *        [--retries N] [--workers N]
 */
package fink.thrift;

import static fink.thrift.ThriftWire.*;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hbase.HBaseConfiguration;
import org.apache.hadoop.hbase.client.Connection;

public final class FinkThriftGateway {
  private final HBaseCalls calls;

  FinkThriftGateway(HBaseCalls calls) { this.calls = calls; }

  // ---- connection loop ----
  void serve(Socket socket) {
    try (Socket s = socket) {
      s.setTcpNoDelay(true);
      In in = new In(new DataInputStream(new BufferedInputStream(s.getInputStream(), 64 * 1024)));
      DataOutputStream raw = new DataOutputStream(new BufferedOutputStream(s.getOutputStream(), 64 * 1024));
      while (true) {
        int first;
        try { first = in.in.readInt(); } catch (EOFException closed) { return; }
        String name;
        byte type;
        int seqid;
        if (first < 0) {
          if ((first & VERSION_MASK) != VERSION_1) { log("bad protocol version from " + s.getRemoteSocketAddress()); return; }
          type = (byte) (first & 0xff);
          name = new String(in.bytes(in.in.readInt()), StandardCharsets.UTF_8);
          seqid = in.in.readInt();
        } else { // old, non-strict message header
          name = new String(in.bytes(first), StandardCharsets.UTF_8);
          type = in.in.readByte();
          seqid = in.in.readInt();
        }
        Map<Short, Object> args = in.struct();
        if (type != CALL && type != ONEWAY) { log("unexpected message type " + type); return; }
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        Out body = new Out(new DataOutputStream(buf));
        byte replyType = REPLY;
        try {
          calls.call(name, args, body);
        } catch (ThriftError e) {
          buf.reset();
          body.field(T_STRUCT, e.fieldId);
          body.field(T_STRING, 1); body.str(String.valueOf(e.getMessage()));
          body.stop();
        } catch (UnknownMethod e) {
          buf.reset();
          replyType = EXCEPTION;
          body.field(T_STRING, 1); body.str(e.getMessage());
          body.i32Field(2, 1); // UNKNOWN_METHOD
        } catch (Exception e) { // IOException from HBase, or a bad argument (ClassCastException, ...)
          buf.reset();
          body.field(T_STRUCT, 1); // IOError
          String msg = e.getClass().getSimpleName() + ": " + e.getMessage();
          body.field(T_STRING, 1); body.str(msg);
          body.stop();
        }
        body.stop();
        body.out.flush();
        if (type == ONEWAY) continue;
        Out out = new Out(raw);
        raw.writeInt(VERSION_1 | replyType);
        out.str(name);
        raw.writeInt(seqid);
        buf.writeTo(raw);
        raw.flush();
      }
    } catch (IOException e) {
      log("connection closed: " + e.getMessage());
    }
  }

  static void log(String msg) {
    System.err.println(Instant.now() + " fink-thrift-gateway: " + msg);
  }

  public static void main(String[] argv) throws Exception {
    int port = 9090, workers = 64, retries = 10;
    String bind = "127.0.0.1";
    for (int i = 0; i < argv.length; i++) {
      switch (argv[i]) {
        case "--port": port = Integer.parseInt(argv[++i]); break;
        case "--bind": bind = argv[++i]; break;
        case "--workers": workers = Integer.parseInt(argv[++i]); break;
        case "--retries": retries = Integer.parseInt(argv[++i]); break;
        default: System.err.println("unknown argument " + argv[i]); System.exit(2);
      }
    }
    Configuration conf = HBaseConfiguration.create();
    conf.setInt("hbase.client.retries.number", retries);
    HBaseCalls calls = new HBaseCalls(conf);
    FinkThriftGateway gateway = new FinkThriftGateway(calls);
    ServerSocket server = new ServerSocket();
    server.setReuseAddress(true);
    server.bind(new InetSocketAddress(InetAddress.getByName(bind), port), 128);
    log("listening on " + bind + ":" + port + " (thrift 1, binary protocol, buffered transport), ZooKeeper "
        + conf.get("hbase.zookeeper.quorum") + ":" + conf.get("hbase.zookeeper.property.clientPort"));
    ExecutorService pool = Executors.newCachedThreadPool(r -> {
      Thread t = new Thread(r, "thrift-conn");
      t.setDaemon(true);
      return t;
    });
    Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "scanner-expiry");
      t.setDaemon(true);
      return t;
    }).scheduleAtFixedRate(calls::expireScanners, 1, 1, TimeUnit.MINUTES);
    Semaphore slots = new Semaphore(workers);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try { server.close(); } catch (IOException ignored) { /* exiting anyway */ }
      Connection c = calls.connection;
      if (c != null) { try { c.close(); } catch (IOException ignored) { /* exiting anyway */ } }
    }));
    while (!server.isClosed()) {
      Socket s;
      try { s = server.accept(); } catch (IOException e) { if (server.isClosed()) break; throw e; }
      if (!slots.tryAcquire()) {
        log("too many connections (" + workers + "), refusing " + s.getRemoteSocketAddress());
        s.close();
        continue;
      }
      pool.execute(() -> {
        try { gateway.serve(s); } finally { slots.release(); }
      });
    }
  }
}
