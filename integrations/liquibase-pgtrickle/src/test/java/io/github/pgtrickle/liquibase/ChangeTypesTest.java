/*
 * The change types against a real server: the guide's changelogs in XML,
 * YAML and JSON (docs/integrations/liquibase/), rollback, SQL output,
 * names and values that need quoting, and the refusals.
 */
package io.github.pgtrickle.liquibase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ChangeTypesTest {

    @TempDir
    Path tmp;

    private static Path guide() {
        return TestDb.docs().resolve("liquibase");
    }

    private Path write(String name, String text) throws Exception {
        Path p = tmp.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    /** The messages (and SQLSTATEs) of e and its causes. */
    private static String messages(Throwable e) {
        StringBuilder b = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            b.append(t.getMessage()).append(" | ");
            if (t instanceof java.sql.SQLException) {
                b.append("SQLSTATE ").append(((java.sql.SQLException) t).getSQLState()).append(" | ");
            }
        }
        return b.toString();
    }

    /** The guide's changelog in each format: update, then roll back step by step. */
    @ParameterizedTest
    @ValueSource(strings = {"changelog.xml", "changelog.yaml", "changelog.json", "sql-pattern/changelog.xml",
        "sql-pattern/changelog.yaml"})
    void guideChangelogUpdateAndRollback(String changelog) throws Exception {
        boolean sqlPattern = changelog.startsWith("sql-pattern/");
        try (TestDb db = TestDb.create("lb_guide", false)) {
            Lb.run("update", db.url, guide(), changelog);
            String oid = db.catalog("pgt_relid", "order_totals");
            assertNotNull(oid);
            assertEquals("10m", db.catalog("schedule", "order_totals"));
            assertEquals("DIFFERENTIAL", db.catalog("refresh_mode", "order_totals"));
            assertEquals("true", db.catalog("is_populated", "order_totals"));

            // the query arrived as written: quotes and line breaks intact
            String q = db.catalog("original_query", "order_totals");
            assertTrue(q.contains("sum(amount) AS total"), q);
            if (!sqlPattern) {
                assertTrue(q.contains("'cancelled'"), q);
            }

            // step back: the refresh (nothing to undo), the schedule, the table
            int steps = sqlPattern ? 1 : 2;
            Lb.run("rollbackCount", db.url, guide(), changelog, "count", steps);
            assertEquals("5m", db.catalog("schedule", "order_totals"));
            assertEquals(oid, db.catalog("pgt_relid", "order_totals"));
            Lb.run("rollbackCount", db.url, guide(), changelog, "count", 1);
            assertNull(db.catalog("pgt_id", "order_totals"));
            assertNull(db.one("SELECT to_regclass('order_totals')::text"));

            // and forward again
            Lb.run("update", db.url, guide(), changelog);
            assertEquals("10m", db.catalog("schedule", "order_totals"));
        }
    }

    @Test
    void xsdResolvedFromTheJarRejectsBadValues() throws Exception {
        String xml = Files.readString(guide().resolve("changelog.xml"))
            .replace("refreshMode=\"DIFFERENTIAL\"", "refreshMode=\"SOMETIMES\"");
        write("bad.xml", xml);
        Exception e = assertThrows(Exception.class, () -> Lb.parse(tmp, "bad.xml"));
        assertTrue(messages(e).contains("SOMETIMES"), messages(e));
        assertTrue(messages(e).contains("cvc-"), messages(e));

        // the same changelog without the mistake parses (the XSD was found offline)
        write("good.xml", xml.replace("SOMETIMES", "differential"));
        assertEquals(4, Lb.parse(tmp, "good.xml").getChangeSets().size());
    }

    @Test
    void updateSqlAndFutureRollbackSql() throws Exception {
        try (TestDb db = TestDb.create("lb_sql", false)) {
            String sql = Lb.run("updateSql", db.url, guide(), "changelog.xml");
            assertTrue(sql.contains("SELECT pgtrickle.create_stream_table(name => 'order_totals', query => $$"), sql);
            assertTrue(sql.contains("WHERE status <> 'cancelled' OR status IS NULL"), sql);
            assertTrue(sql.contains("$$, schedule => '5m', refresh_mode => 'DIFFERENTIAL');"), sql);
            assertTrue(sql.contains("SELECT pgtrickle.alter_stream_table(name => 'order_totals', schedule => '10m');"), sql);
            assertTrue(sql.contains("SELECT pgtrickle.refresh_stream_table(name => 'order_totals');"), sql);
            // SQL output mode changes nothing
            assertEquals("0", db.one("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trickle'"));

            String rollback = Lb.run("futureRollbackSql", db.url, guide(), "changelog.xml");
            assertTrue(rollback.contains("SELECT pgtrickle.alter_stream_table(name => 'order_totals', schedule => '5m');"), rollback);
            assertTrue(rollback.contains("SELECT pgtrickle.drop_stream_table(name => 'order_totals');"), rollback);
            assertTrue(rollback.indexOf("schedule => '5m'") < rollback.indexOf("drop_stream_table"), rollback);

            // the SQL written runs as it is in psql's place: through JDBC here
            db.exec(sql.replaceAll("(?m)^--.*$", ""));
            assertEquals("10m", db.catalog("schedule", "order_totals"));
        }
    }

    /** Quoted identifiers, quotes and $$ in the values: parameters, never pasted into SQL. */
    @Test
    void valuesNeedingQuotes() throws Exception {
        write("quotes.yaml", """
            databaseChangeLog:
              - changeSet:
                  id: 1
                  author: t
                  changes:
                    - sql:
                        sql: CREATE SCHEMA "My Schema"; CREATE TABLE "My Schema".src (id int PRIMARY KEY, note text); INSERT INTO "My Schema".src VALUES (1, 'it''s $$ here')
              - changeSet:
                  id: 2
                  author: t
                  changes:
                    - createStreamTable:
                        name: '"My Schema"."Order Totals"'
                        schedule: 1h
                        query: SELECT id, note, 'it''s' AS q, $x$a$$b$x$ AS d FROM "My Schema".src WHERE note <> 'x'';--'
            """);
        try (TestDb db = TestDb.create("lb_quotes", true)) {
            Lb.run("update", db.url, tmp, "quotes.yaml");
            assertEquals("1|it's $$ here|it's|a$$b", db.one(
                "SELECT id || '|' || note || '|' || q || '|' || d FROM \"My Schema\".\"Order Totals\""));
            String sql = Lb.run("rollbackCountSql", db.url, tmp, "quotes.yaml", "count", 1);
            assertTrue(sql.contains("drop_stream_table(name => '\"My Schema\".\"Order Totals\"')"), sql);
            Lb.run("rollbackCount", db.url, tmp, "quotes.yaml", "count", 1);
            assertNull(db.one("SELECT to_regclass('\"My Schema\".\"Order Totals\"')::text"));
        }
        // a name that would break out of a pasted literal is only a bad name
        write("inject.yaml", """
            databaseChangeLog:
              - changeSet:
                  id: 1
                  author: t
                  changes:
                    - sql:
                        sql: CREATE TABLE src (id int PRIMARY KEY)
              - changeSet:
                  id: 2
                  author: t
                  changes:
                    - createStreamTable:
                        name: "x', 'SELECT 1'); DROP TABLE src; --"
                        query: SELECT id FROM src
            """);
        try (TestDb db = TestDb.create("lb_inject", true)) {
            Exception e = assertThrows(Exception.class, () -> Lb.run("update", db.url, tmp, "inject.yaml"));
            assertTrue(messages(e).contains("SQLSTATE 42602"), messages(e));
            assertEquals("src", db.one("SELECT to_regclass('src')::text"), "src still there");
        }
    }

    @Test
    void createIfNotExistsAndOrReplace() throws Exception {
        write("idem.xml", """
            <databaseChangeLog xmlns="http://www.liquibase.org/xml/ns/dbchangelog"
                xmlns:pgt="https://pg-trickle.github.io/xml/ns/liquibase-pgtrickle"
                xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
                xsi:schemaLocation="http://www.liquibase.org/xml/ns/dbchangelog
                    http://www.liquibase.org/xml/ns/dbchangelog/dbchangelog-latest.xsd
                    https://pg-trickle.github.io/xml/ns/liquibase-pgtrickle
                    https://pg-trickle.github.io/xml/ns/liquibase-pgtrickle-latest.xsd">
              <changeSet id="1" author="t">
                <sql>CREATE TABLE src (id int PRIMARY KEY, v int)</sql>
                <pgt:createStreamTable name="st" query="SELECT id, v FROM src"/>
              </changeSet>
              <changeSet id="2" author="t">
                <pgt:createStreamTable name="st" ifNotExists="true" query="SELECT id FROM src"/>
              </changeSet>
              <changeSet id="3" author="t">
                <pgt:createStreamTable name="st" orReplace="true" schedule="2m">
                  <pgt:query>SELECT id, v, v * 2 AS w FROM src</pgt:query>
                </pgt:createStreamTable>
              </changeSet>
            </databaseChangeLog>
            """);
        try (TestDb db = TestDb.create("lb_idem", true)) {
            Lb.run("updateCount", db.url, tmp, "idem.xml", "count", 2);
            String oid = db.catalog("pgt_relid", "st");
            assertEquals("SELECT id, v FROM src", db.catalog("original_query", "st"), "ifNotExists left it alone");
            Lb.run("update", db.url, tmp, "idem.xml");
            assertEquals(oid, db.catalog("pgt_relid", "st"), "orReplace kept the table");
            assertEquals("SELECT id, v, v * 2 AS w FROM src", db.catalog("original_query", "st"));
            assertEquals("2m", db.catalog("schedule", "st"));
            // neither can be rolled back automatically: the table may have existed before
            Exception e = assertThrows(Exception.class, () -> Lb.run("rollbackCount", db.url, tmp, "idem.xml", "count", 1));
            assertTrue(messages(e).contains("No inverse"), messages(e));
            assertEquals(oid, db.catalog("pgt_relid", "st"));
        }
    }

    @Test
    void rollbackRefusedWithoutInverse() throws Exception {
        write("noinverse.yaml", """
            databaseChangeLog:
              - changeSet:
                  id: 1
                  author: t
                  changes:
                    - sql:
                        sql: CREATE TABLE src (id int PRIMARY KEY)
                    - createStreamTable: {name: st, query: SELECT id FROM src}
              - changeSet:
                  id: 2
                  author: t
                  changes:
                    - alterStreamTable: {name: st, status: paused}
              - changeSet:
                  id: 3
                  author: t
                  changes:
                    - dropStreamTable: {name: st}
            """);
        try (TestDb db = TestDb.create("lb_noinverse", true)) {
            Lb.run("updateCount", db.url, tmp, "noinverse.yaml", "count", 2);
            assertEquals("PAUSED", db.catalog("status", "st"));
            Exception e = assertThrows(Exception.class,
                () -> Lb.run("rollbackCount", db.url, tmp, "noinverse.yaml", "count", 1));
            assertTrue(messages(e).contains("No inverse to io.github.pgtrickle.liquibase.AlterStreamTableChange"), messages(e));
            assertEquals("PAUSED", db.catalog("status", "st"));

            Lb.run("update", db.url, tmp, "noinverse.yaml");
            assertNull(db.catalog("pgt_id", "st"));
            e = assertThrows(Exception.class,
                () -> Lb.run("rollbackCount", db.url, tmp, "noinverse.yaml", "count", 1));
            assertTrue(messages(e).contains("No inverse to io.github.pgtrickle.liquibase.DropStreamTableChange"), messages(e));
        }
    }

    @Test
    void validationErrors() throws Exception {
        write("invalid.yaml", """
            databaseChangeLog:
              - changeSet:
                  id: 1
                  author: t
                  changes:
                    - createStreamTable: {query: SELECT 1 AS x}
              - changeSet:
                  id: 2
                  author: t
                  changes:
                    - createStreamTable: {name: a}
              - changeSet:
                  id: 3
                  author: t
                  changes:
                    - createStreamTable: {name: b, query: SELECT 1 AS x, refreshMode: SOMETIMES, cdcMode: carrier-pigeon}
              - changeSet:
                  id: 4
                  author: t
                  changes:
                    - alterStreamTable: {name: c}
              - changeSet:
                  id: 5
                  author: t
                  changes:
                    - alterStreamTable: {name: d, status: STOPPED}
              - changeSet:
                  id: 6
                  author: t
                  changes:
                    - createStreamTable: {name: e, query: SELECT 1 AS x, ifNotExists: true, orReplace: true}
              - changeSet:
                  id: 7
                  author: t
                  changes:
                    - dropStreamTable: {name: "  "}
            """);
        try (TestDb db = TestDb.create("lb_invalid", true)) {
            Exception e = assertThrows(Exception.class, () -> Lb.run("validate", db.url, tmp, "invalid.yaml"));
            String m = messages(e);
            assertTrue(m.contains("name is required for createStreamTable on postgresql"), m);
            assertTrue(m.contains("query is required for createStreamTable on postgresql"), m);
            assertTrue(m.contains("refreshMode of createStreamTable must be one of DIFFERENTIAL, FULL, AUTO, not \"SOMETIMES\""), m);
            assertTrue(m.contains("cdcMode of createStreamTable must be one of trigger, wal, auto, not \"carrier-pigeon\""), m);
            assertTrue(m.contains("alterStreamTable needs at least one of schedule, refreshMode, status, query"), m);
            assertTrue(m.contains("status of alterStreamTable must be one of ACTIVE, PAUSED, not \"STOPPED\""), m);
            assertTrue(m.contains("ifNotExists and orReplace of createStreamTable cannot both be true"), m);
            assertTrue(m.contains("name of dropStreamTable must not be empty"), m);
            // nothing ran
            assertEquals("0", db.one("SELECT count(*) FROM pgtrickle.pgt_stream_tables"));
        }
    }

    @Test
    void postgresqlOnly() throws Exception {
        Exception e = assertThrows(Exception.class,
            () -> Lb.run("updateSql", "offline:mysql?changeLogFile=" + tmp.resolve("mysql.csv"), guide(), "changelog.xml"));
        assertTrue(messages(e).contains("createStreamTable is not supported on mysql"), messages(e));
        // offline PostgreSQL (no server) writes the SQL
        String sql = Lb.run("updateSql", "offline:postgresql?changeLogFile=" + tmp.resolve("pg.csv"), guide(), "changelog.xml");
        assertTrue(sql.contains("SELECT pgtrickle.create_stream_table(name => 'order_totals'"), sql);
        assertFalse(new CreateStreamTableChange().supports(new liquibase.database.core.H2Database()));
    }
}
