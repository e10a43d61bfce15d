// The Java driver 4.x client of the proxy's compatibility matrix (test/integration/matrix/java.test.ts).
//
//   java -cp target/classes:$(cat target/classpath.txt) zdm.MatrixClient HOST PORT KEYSPACE TAG [lz4]
//
// It connects with the driver's defaults (no protocol version forced: with Cassandra 5 it opens with v5
// and steps down on a protocol error), cassandra/cassandra, local DC datacenter1; "lz4" adds
// advanced.protocol.compression = lz4. Only the request timeouts are raised (a shared 2-core CI machine).
// Then it runs the matrix scenario (test/integration/matrix/scenario.ts) on KEYSPACE, which the test
// prepared: tables reads, paged (5,000 rows on Origin), on_origin (Origin only), on_target (Target only).
// It prints one line "RESULT {json}" on stdout; the driver logs on stderr.
package zdm;

import com.datastax.oss.driver.api.core.CqlSession;
import com.datastax.oss.driver.api.core.config.DefaultDriverOption;
import com.datastax.oss.driver.api.core.config.DriverConfigLoader;
import com.datastax.oss.driver.api.core.config.ProgrammaticDriverConfigLoaderBuilder;
import com.datastax.oss.driver.api.core.cql.BatchStatement;
import com.datastax.oss.driver.api.core.cql.DefaultBatchType;
import com.datastax.oss.driver.api.core.cql.PreparedStatement;
import com.datastax.oss.driver.api.core.cql.ResultSet;
import com.datastax.oss.driver.api.core.cql.Row;
import com.datastax.oss.driver.api.core.cql.SimpleStatement;
import com.datastax.oss.driver.api.core.metadata.Node;
import com.datastax.oss.driver.internal.core.context.InternalDriverContext;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

public final class MatrixClient {
  private static final int PAGE_SIZE = 250;

  private final Map<String, Object> out = new LinkedHashMap<>();
  private final List<String> steps = new ArrayList<>();

  public static void main(String[] args) {
    if (args.length < 4 || args.length > 5 || (args.length == 5 && !args[4].equals("lz4"))) {
      System.err.println("usage: MatrixClient HOST PORT KEYSPACE TAG [lz4]");
      System.exit(2);
    }
    MatrixClient c = new MatrixClient();
    int code = 0;
    try {
      c.run(args[0], Integer.parseInt(args[1]), args[2], args[3], args.length == 5);
    } catch (Throwable t) {
      c.out.put("error", t.getClass().getSimpleName() + ": " + t.getMessage());
      t.printStackTrace();
      code = 1;
    }
    c.out.put("steps", c.steps);
    System.out.println("RESULT " + Json.write(c.out));
    System.out.flush();
    System.exit(code);
  }

  private void run(String host, int port, String ks, String tag, boolean lz4) {
    ProgrammaticDriverConfigLoaderBuilder config = DriverConfigLoader.programmaticBuilder()
        .withDuration(DefaultDriverOption.REQUEST_TIMEOUT, Duration.ofSeconds(30))
        .withDuration(DefaultDriverOption.CONNECTION_INIT_QUERY_TIMEOUT, Duration.ofSeconds(10))
        .withDuration(DefaultDriverOption.CONTROL_CONNECTION_TIMEOUT, Duration.ofSeconds(10));
    if (lz4) config = config.withString(DefaultDriverOption.PROTOCOL_COMPRESSION, "lz4");
    CqlSession session = CqlSession.builder()
        .addContactPoint(new InetSocketAddress(host, port))
        .withLocalDatacenter("datacenter1")
        .withAuthCredentials("cassandra", "cassandra")
        .withConfigLoader(config.build())
        .build();
    try {
      steps.add("connected");
      InternalDriverContext ctx = (InternalDriverContext) session.getContext();
      out.put("protocol_version", ctx.getProtocolVersion().getCode());
      out.put("compression", ctx.getCompressor().algorithm());
      List<String> hosts = new ArrayList<>();
      for (Node n : session.getMetadata().getNodes().values()) hosts.add(address(n.getEndPoint().resolve()));
      out.put("hosts", hosts);
      out.put("cluster_name", session.getMetadata().getClusterName().orElse(null));

      String kv = ks + ".kv_" + tag;
      session.execute(SimpleStatement.newInstance("CREATE TABLE " + kv + " (k text PRIMARY KEY, v text)"));
      steps.add("ddl");
      session.execute("INSERT INTO " + kv + " (k, v) VALUES ('simple', '" + tag + "-simple')");
      steps.add("simple write");
      PreparedStatement insert = session.prepare("INSERT INTO " + kv + " (k, v) VALUES (?, ?)");
      session.execute(insert.bind("prepared", tag + "-prepared"));
      steps.add("prepared write");
      session.execute(BatchStatement.builder(DefaultBatchType.LOGGED)
          .addStatement(SimpleStatement.newInstance("INSERT INTO " + kv + " (k, v) VALUES ('batch-simple', '" + tag + "-batch-simple')"))
          .addStatement(insert.bind("batch-prepared", tag + "-batch-prepared"))
          .build());
      steps.add("batch");
      out.put("read_simple", values(session.execute("SELECT v FROM " + ks + ".reads WHERE k = 'both'")));
      steps.add("simple read");
      PreparedStatement select = session.prepare("SELECT v FROM " + ks + ".reads WHERE k = ?");
      out.put("read_prepared", values(session.execute(select.bind("both"))));
      steps.add("prepared read");

      ResultSet paged = session.execute(SimpleStatement.newInstance("SELECT k FROM " + ks + ".paged").setPageSize(PAGE_SIZE));
      int rows = 0;
      Set<Integer> distinct = new HashSet<>();
      for (Row r : paged) {
        rows++;
        distinct.add(r.getInt(0));
      }
      Map<String, Object> p = new LinkedHashMap<>();
      p.put("rows", rows);
      p.put("distinct", distinct.size());
      p.put("pages", paged.getExecutionInfos().size());
      p.put("page_size", PAGE_SIZE);
      out.put("paged", p);
      steps.add("paged read");

      session.execute("USE " + ks);
      session.execute("INSERT INTO kv_" + tag + " (k, v) VALUES ('use', '" + tag + "-use')");
      out.put("read_use", values(session.execute("SELECT v FROM reads WHERE k = 'both'")));
      steps.add("use");

      out.put("error_origin_only", errorOf(session, "INSERT INTO " + ks + ".on_origin (k, v) VALUES ('" + tag + "', '" + tag + "')"));
      out.put("error_target_only", errorOf(session, "INSERT INTO " + ks + ".on_target (k, v) VALUES ('" + tag + "', '" + tag + "')"));
      steps.add("one-cluster errors");
    } finally {
      // Closes the connections at once; main() exits without waiting for Netty's 2 s quiet period.
      session.closeAsync();
    }
  }

  private static List<String> values(ResultSet rs) {
    List<String> v = new ArrayList<>();
    for (Row r : rs) v.add(r.getString(0));
    return v;
  }

  private static Map<String, Object> errorOf(CqlSession session, String cql) {
    Map<String, Object> e = new LinkedHashMap<>();
    try {
      session.execute(cql);
      e.put("error", null);
    } catch (RuntimeException ex) {
      e.put("error", ex.getClass().getSimpleName());
      e.put("message", ex.getMessage());
    }
    return e;
  }

  private static String address(SocketAddress a) {
    if (a instanceof InetSocketAddress) {
      InetSocketAddress i = (InetSocketAddress) a;
      return i.getAddress().getHostAddress() + ":" + i.getPort();
    }
    return String.valueOf(a);
  }

  /** The few JSON shapes the result needs (maps, lists, strings, numbers, null). */
  static final class Json {
    static String write(Object o) {
      StringBuilder b = new StringBuilder();
      write(b, o);
      return b.toString();
    }

    private static void write(StringBuilder b, Object o) {
      if (o == null) b.append("null");
      else if (o instanceof Number || o instanceof Boolean) b.append(o);
      else if (o instanceof Map) {
        b.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : ((Map<?, ?>) o).entrySet()) {
          if (!first) b.append(',');
          first = false;
          write(b, String.valueOf(e.getKey()));
          b.append(':');
          write(b, e.getValue());
        }
        b.append('}');
      } else if (o instanceof Iterable) {
        b.append('[');
        boolean first = true;
        for (Object e : (Iterable<?>) o) {
          if (!first) b.append(',');
          first = false;
          write(b, e);
        }
        b.append(']');
      } else {
        String s = String.valueOf(o);
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
          char c = s.charAt(i);
          if (c == '"' || c == '\\') b.append('\\').append(c);
          else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
          else b.append(c);
        }
        b.append('"');
      }
    }
  }

  private MatrixClient() {}
}
