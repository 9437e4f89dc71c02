package io.fxtrue.streaming;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.CqlSessionBuilder;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.BatchType;
import com.datastax.oss.driver.api.core.cql.BoundStatement;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import java.io.FileInputStream;
import java.io.InputStream;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.apache.spark.api.java.function.ForeachPartitionFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.util.LongAccumulator;

/**
 * The streaming job's tick archive, written from the executors' JVMs: raw ticks to ticks_by_pair_day as UNLOGGED
 * batches that each stay inside one (pair, day) partition (one request and one mutation per batch; a
 * single-partition batch is applied atomically and needs no batch log), at most {@code batchRows} rows each,
 * {@code concurrency} requests in flight per writing task, prepared and idempotent (a re-run micro-batch rewrites the
 * same rows). Failed batches are retried with a growing pause, then the task fails (and Spark's micro-batch with
 * it, to be run again). On a cluster the driver routes each batch to a replica of its partition (token-aware).
 *
 * <p>Rows: pair, ts (epoch ms), bid, ask, high, low, open, source, received_at (epoch ms), the order the Python
 * side selects them in ({@code jobs.streaming.sinks.TICK_ROW_FIELDS}); NaN or infinite high/low/open are written as
 * nulls. Called from Python with {@link #write}.
 */
public final class TickArchiver {
  private TickArchiver() {}

  /** Where and how to write (travels to the executors with the task; never logged: it holds the password). */
  public static final class Target implements Serializable {
    private static final long serialVersionUID = 1L;
    final String hosts;
    final int port;
    final String user;
    final String password;
    final boolean ssl;
    final String sslCaFile;
    final String localDc;
    final String keyspace;
    final int ttlSeconds;
    final int batchRows;
    final int concurrency;
    final int attempts;

    public Target(String hosts, int port, String user, String password, boolean ssl, String sslCaFile,
        String localDc, String keyspace, int ttlSeconds, int batchRows, int concurrency, int attempts) {
      this.hosts = hosts;
      this.port = port;
      this.user = user;
      this.password = password;
      this.ssl = ssl;
      this.sslCaFile = sslCaFile;
      this.localDc = localDc;
      this.keyspace = keyspace;
      this.ttlSeconds = ttlSeconds;
      this.batchRows = Math.max(1, batchRows);
      this.concurrency = Math.max(1, concurrency);
      this.attempts = Math.max(1, attempts);
    }

    /** One session per executor JVM and target (the password is not part of the key). */
    String key() {
      return String.join("|", hosts, Integer.toString(port), user, Boolean.toString(ssl), sslCaFile, localDc,
          keyspace);
    }

    @Override
    public String toString() {
      return "Target(" + hosts + ":" + port + ", keyspace " + keyspace + ", user " + user + ")";
    }
  }

  private static final Map<String, CqlSession> SESSIONS = new ConcurrentHashMap<>();
  private static final Map<String, PreparedStatement> INSERTS = new ConcurrentHashMap<>();

  /** Upsert every row of {@code ticks} (a static DataFrame, e.g. a micro-batch); returns the rows written. */
  public static long write(Dataset<Row> ticks, Target target) {
    LongAccumulator written = ticks.sparkSession().sparkContext().longAccumulator();
    ticks.foreachPartition((ForeachPartitionFunction<Row>) rows -> written.add(writeRows(target, rows)));
    return written.value();
  }

  /** The UTC day of an epoch-ms time: the partition key's second half. */
  public static LocalDate dayOf(long epochMs) {
    return LocalDate.ofEpochDay(Math.floorDiv(epochMs, 86_400_000L));
  }

  /** NaN and infinities as null (Cassandra and JSON consumers get nulls, not NaN). */
  static Double clean(Row r, int i) {
    if (r.isNullAt(i)) {
      return null;
    }
    double v = r.getDouble(i);
    return Double.isNaN(v) || Double.isInfinite(v) ? null : v;
  }

  static Double nullable(Row r, int i) {
    return r.isNullAt(i) ? null : r.getDouble(i);
  }

  static Instant instant(Row r, int i) {
    return r.isNullAt(i) ? null : Instant.ofEpochMilli(r.getLong(i));
  }

  static long writeRows(Target t, Iterator<Row> rows) throws InterruptedException {
    CqlSession session = session(t);
    PreparedStatement insert = INSERTS.computeIfAbsent(t.key() + "|" + t.ttlSeconds, k -> session.prepare(
        "INSERT INTO " + t.keyspace + ".ticks_by_pair_day (pair, day, ts, bid, ask, high, low, open, source, "
            + "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) USING TTL " + t.ttlSeconds));
    Writer writer = new Writer(session, t);
    Map<String, List<BoundStatement>> open = new HashMap<>();
    long n = 0;
    while (rows.hasNext()) {
      Row r = rows.next();
      String pair = r.getString(0);
      long ts = r.getLong(1);
      LocalDate day = dayOf(ts);
      BoundStatement b = insert.bind(pair, day, Instant.ofEpochMilli(ts), nullable(r, 2), nullable(r, 3),
          clean(r, 4), clean(r, 5), clean(r, 6), r.isNullAt(7) ? null : r.getString(7), instant(r, 8));
      List<BoundStatement> chunk = open.computeIfAbsent(pair + "|" + day, k -> new ArrayList<>());
      chunk.add(b);
      n++;
      if (chunk.size() >= t.batchRows) {
        writer.send(chunk);
        open.remove(pair + "|" + day);
      }
    }
    for (List<BoundStatement> chunk : open.values()) {
      writer.send(chunk);
    }
    writer.finish();
    return n;
  }

  /** Sends batches with at most {@code concurrency} in flight; failed ones are sent again after a growing pause. */
  static final class Writer {
    private final CqlSession session;
    private final Target t;
    private final Semaphore permits;
    private final List<CompletableFuture<BatchStatement>> pending = new ArrayList<>();

    Writer(CqlSession session, Target t) {
      this.session = session;
      this.t = t;
      this.permits = new Semaphore(t.concurrency);
    }

    void send(List<BoundStatement> chunk) throws InterruptedException {
      BatchStatement batch = BatchStatement.newInstance(BatchType.UNLOGGED).addAll(new ArrayList<>(chunk))
          .setIdempotent(true);
      pending.add(submit(batch));
    }

    private CompletableFuture<BatchStatement> submit(BatchStatement batch) throws InterruptedException {
      permits.acquire();
      return session.executeAsync(batch).toCompletableFuture().handle((rs, err) -> {
        permits.release();
        return err == null ? null : batch; // the batch again when it failed
      });
    }

    void finish() throws InterruptedException {
      List<CompletableFuture<BatchStatement>> round = new ArrayList<>(pending);
      pending.clear();
      for (int attempt = 1; ; attempt++) {
        List<BatchStatement> failed = new ArrayList<>();
        for (CompletableFuture<BatchStatement> f : round) {
          BatchStatement again = f.join();
          if (again != null) {
            failed.add(again);
          }
        }
        if (failed.isEmpty()) {
          return;
        }
        if (attempt >= t.attempts) {
          throw new IllegalStateException("writing ticks to Cassandra failed for " + failed.size()
              + " batches after " + t.attempts + " attempts: check Cassandra (`fxtrue stack status`); the "
              + "micro-batch is run again on restart and every write is an idempotent upsert");
        }
        System.err.println("fxtrue archive: " + failed.size() + " of " + round.size()
            + " tick batches failed (attempt " + attempt + "), retrying");
        Thread.sleep(500L << (attempt - 1));
        round = new ArrayList<>();
        for (BatchStatement b : failed) {
          round.add(submit(b));
        }
      }
    }
  }

  static CqlSession session(Target t) {
    CqlSession s = SESSIONS.get(t.key());
    if (s != null && !s.isClosed()) {
      return s;
    }
    synchronized (SESSIONS) {
      s = SESSIONS.get(t.key());
      if (s == null || s.isClosed()) {
        s = connect(t);
        SESSIONS.put(t.key(), s);
      }
      return s;
    }
  }

  static CqlSession connect(Target t) {
    DriverConfigLoader config = DriverConfigLoader.programmaticBuilder()
        .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(30))
        .withDuration(DefaultDriverOption.CONNECTION_CONNECT_TIMEOUT, Duration.ofSeconds(15))
        .withDuration(DefaultDriverOption.CONNECTION_INIT_QUERY_TIMEOUT, Duration.ofSeconds(15))
        .withDuration(DefaultDriverOption.CONTROL_CONNECTION_TIMEOUT, Duration.ofSeconds(15))
        .withString(DefaultDriverOption.PROTOCOL_VERSION, "V5")
        .withBoolean(DefaultDriverOption.METADATA_SCHEMA_ENABLED, false)
        .build();
    CqlSessionBuilder b = CqlSession.builder().withConfigLoader(config).withApplicationName("fxtrue streaming");
    for (String host : t.hosts.split(",")) {
      b.addContactPoint(new InetSocketAddress(host.trim(), t.port));
    }
    if (!t.localDc.isEmpty()) {
      b.withLocalDatacenter(t.localDc);
    }
    if (!t.user.isEmpty()) {
      b.withAuthCredentials(t.user, t.password);
    }
    if (t.ssl) {
      b.withSslContext(sslContext(t.sslCaFile));
    }
    return b.build();
  }

  static SSLContext sslContext(String caFile) {
    try {
      if (caFile.isEmpty()) {
        return SSLContext.getDefault();
      }
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      try (InputStream in = new FileInputStream(caFile)) {
        int i = 0;
        for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
          trust.setCertificateEntry("ca" + i++, c);
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (Exception e) {
      throw new IllegalStateException("cannot build the TLS context for Cassandra from " + caFile + ": " + e, e);
    }
  }
}
