/*
 * The Flyway guide (docs/integrations/flyway.md) run by Flyway itself (Java
 * API, the same engine as the CLI and the Maven plugin): every migration
 * file the guide shows is one of docs/integrations/flyway/.
 */
package io.github.pgtrickle.liquibase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.output.MigrateResult;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FlywayGuideTest {

    @TempDir
    Path tmp;

    private static Path flywayDir() {
        return TestDb.docs().resolve("flyway");
    }

    /** A migration folder: db/migration of the guide with the files of overlays on top. */
    private Path folder(String name, Path... overlays) throws IOException {
        Path dir = tmp.resolve(name);
        Files.createDirectories(dir);
        Path base = flywayDir().resolve("db/migration");
        Path[] sources = Stream.concat(Stream.of(base), Arrays.stream(overlays)).toArray(Path[]::new);
        for (Path src : sources) {
            try (Stream<Path> files = Files.list(src)) {
                for (Path f : files.collect(Collectors.toList())) {
                    Files.copy(f, dir.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
        return dir;
    }

    /**
     * Flyway as the guide configures it: clean allowed (for the clean test),
     * and postgresql.transactional.lock=false, without which Flyway 10+ keeps
     * no record of a failed non-transactional migration on PostgreSQL.
     */
    private static Flyway flyway(TestDb db, Path location) {
        FluentConfiguration conf = Flyway.configure()
            .dataSource(db.url, null, null)
            .locations("filesystem:" + location)
            .cleanDisabled(false);
        conf.getConfigurationExtension(PostgreSQLConfigurationExtension.class).setTransactionalLock(false);
        return conf.load();
    }

    private static String states(Flyway f) {
        return Arrays.stream(f.info().all())
            .map(i -> (i.getVersion() == null ? "R" : i.getVersion().toString()) + ":" + i.getState())
            .collect(Collectors.joining(" "));
    }

    @Test
    void migrateInfoValidate() throws Exception {
        try (TestDb db = TestDb.create("fw_migrate", false)) {
            Flyway f = flyway(db, flywayDir().resolve("db/migration"));
            assertEquals("1:PENDING 2:PENDING 3:PENDING 4:PENDING 5:PENDING R:PENDING", states(f));
            MigrateResult r = f.migrate();
            assertTrue(r.success);
            assertEquals(6, r.migrationsExecuted);
            assertEquals("1:SUCCESS 2:SUCCESS 3:SUCCESS 4:SUCCESS 5:SUCCESS R:SUCCESS", states(f));
            f.validate();

            assertEquals("10m", db.catalog("schedule", "order_totals"));
            assertEquals("ACTIVE", db.catalog("status", "order_totals"));
            assertNull(db.catalog("pgt_id", "region_revenue"), "V5 dropped region_revenue");
            assertNotNull(db.catalog("pgt_id", "customer_stats"));
            // the table V4 created next to its stream table is there with its rows
            assertEquals("2", db.one("SELECT count(*) FROM customers"));

            // V4 refreshed order_totals after adding an order
            assertEquals("1:20.00:1", db.one(
                "SELECT string_agg(customer_id || ':' || total || ':' || orders, ',') FROM order_totals"));
            // the stream tables work: a change to orders shows after a refresh
            db.exec("INSERT INTO orders (customer_id, amount) VALUES (1, 10), (1, 5), (2, -3)");
            db.exec("SELECT pgtrickle.refresh_stream_table('order_totals')");
            assertEquals("1:35.00:3", db.one(
                "SELECT string_agg(customer_id || ':' || total || ':' || orders, ',') FROM order_totals"));

            // a second migrate does nothing
            assertEquals(0, f.migrate().migrationsExecuted);
        }
    }

    @Test
    void repeatableMigrationChangesQueryInPlace() throws Exception {
        try (TestDb db = TestDb.create("fw_repeatable", false)) {
            flyway(db, folder("before")).migrate();
            String oid = db.catalog("pgt_relid", "customer_stats");
            db.exec("INSERT INTO orders (customer_id, amount) VALUES (7, 2.50), (7, 1.50)");

            Flyway changed = flyway(db, folder("after", flywayDir().resolve("changed")));
            assertTrue(states(changed).endsWith("R:OUTDATED R:PENDING"), states(changed));
            MigrateResult r = changed.migrate();
            assertEquals(1, r.migrationsExecuted, "only the changed repeatable migration runs");

            assertEquals(oid, db.catalog("pgt_relid", "customer_stats"), "same table (OID kept)");
            assertTrue(db.catalog("original_query", "customer_stats").contains("sum(amount) AS spent"));
            assertEquals("7:2:4.00", db.one(
                "SELECT customer_id || ':' || orders || ':' || spent FROM customer_stats WHERE customer_id = 7"));
            changed.validate();
        }
    }

    @Test
    void repairAfterFailedMigration() throws Exception {
        try (TestDb db = TestDb.create("fw_repair", false)) {
            Flyway broken = flyway(db, folder("broken", flywayDir().resolve("failed")));
            Exception e = assertThrows(Exception.class, broken::migrate);
            assertTrue(e.getMessage().contains("relation \"refunds\" does not exist"), e.getMessage());
            // outside a transaction, the failure stays in the history (with
            // postgresql.transactional.lock=false, see flyway())
            assertTrue(states(broken).contains("6:FAILED"), states(broken));
            // what ran before the failure stayed: the reason to repair by hand first
            assertEquals("refund_reasons", db.one("SELECT to_regclass('refund_reasons')::text"));
            assertNull(db.catalog("pgt_id", "daily_refunds"));

            Flyway fixed = flyway(db, folder("fixed", flywayDir().resolve("fixed")));
            // Flyway refuses to go on until the failed entry is repaired
            assertThrows(Exception.class, fixed::migrate);
            fixed.repair();
            MigrateResult r = fixed.migrate();
            assertEquals(2, r.migrationsExecuted, "V6 and the repeatable migration");
            assertNotNull(db.catalog("pgt_id", "daily_refunds"));
            fixed.validate();
        }
    }

    @Test
    void cleanThenMigrateAgain() throws Exception {
        try (TestDb db = TestDb.create("fw_clean", false)) {
            // without the guide's beforeClean.sql callback, clean trips over a
            // stream table that dropping its source with CASCADE took along
            Path noCallback = folder("no-callback");
            Files.delete(noCallback.resolve("beforeClean.sql"));
            Flyway plain = flyway(db, noCallback);
            plain.migrate();
            Exception e = assertThrows(Exception.class, plain::clean);
            assertTrue(e.getMessage().contains("does not exist"), e.getMessage());

            Flyway f = flyway(db, flywayDir().resolve("db/migration"));
            f.clean();
            // the stream tables went with the schema, and their catalog rows with them
            assertEquals("0", db.one("SELECT count(*) FROM pgtrickle.pgt_stream_tables"));
            MigrateResult r = f.migrate();
            assertEquals(6, r.migrationsExecuted);
            assertEquals("10m", db.catalog("schedule", "order_totals"));
        }
    }
}
