/*
 * TestDb: a fresh database with pg_trickle on the throwaway server whose
 * JDBC URL the test runner passes in (-Dpgtrickle.jdbcUrl=
 * jdbc:postgresql://127.0.0.1:PORT/postgres?user=postgres).  Without the
 * property the tests that need a server are skipped (mvn package from a
 * fresh clone); integrations/liquibase-pgtrickle/run_tests.sh always passes
 * it and fails when anything was skipped.
 */
package io.github.pgtrickle.liquibase;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;

final class TestDb implements AutoCloseable {

    private static final AtomicInteger COUNTER = new AtomicInteger();

    final String name;
    final String url;
    final Connection conn;

    private TestDb(String name, String url, Connection conn) {
        this.name = name;
        this.url = url;
        this.conn = conn;
    }

    static String serverUrl() {
        String url = System.getProperty("pgtrickle.jdbcUrl", "");
        assumeTrue(!url.isBlank(), "no server: pass -Dpgtrickle.jdbcUrl=jdbc:postgresql://HOST:PORT/postgres?user=...");
        return url;
    }

    /** The docs/integrations folder of the checkout (the guides' files). */
    static Path docs() {
        Path p = Path.of(System.getProperty("pgtrickle.docsDir", "../../docs/integrations"));
        assertTrue(p.toFile().isDirectory(), "docs/integrations not found at " + p.toAbsolutePath());
        return p;
    }

    /** A new empty database (withExtension: with CREATE EXTENSION pg_trickle). */
    static TestDb create(String prefix, boolean withExtension) throws SQLException {
        String server = serverUrl();
        String db = prefix + "_" + ProcessHandle.current().pid() + "_" + COUNTER.incrementAndGet();
        try (Connection c = DriverManager.getConnection(server); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + db);
            s.execute("CREATE DATABASE " + db);
        }
        String url = server.replaceFirst("/[^/?]*(\\?|$)", "/" + db + "$1");
        Connection conn = DriverManager.getConnection(url);
        if (withExtension) {
            try (Statement s = conn.createStatement()) {
                s.execute("CREATE EXTENSION pg_trickle");
            }
        }
        return new TestDb(db, url, conn);
    }

    void exec(String sql) throws SQLException {
        try (Statement s = conn.createStatement()) {
            s.execute(sql);
        }
    }

    /** The first column of the first row of sql with params, as text (null when no row). */
    String one(String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /** A column of pgtrickle.pgt_stream_tables for the stream table pgt_name (null when absent). */
    String catalog(String column, String pgtName) throws SQLException {
        return one("SELECT " + column + "::text FROM pgtrickle.pgt_stream_tables WHERE pgt_name = ?", pgtName);
    }

    @Override
    public void close() throws SQLException {
        conn.close();
        try (Connection c = DriverManager.getConnection(serverUrl()); Statement s = c.createStatement()) {
            s.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
        }
    }
}
