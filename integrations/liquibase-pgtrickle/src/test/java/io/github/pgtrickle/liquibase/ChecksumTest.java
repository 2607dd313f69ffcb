/*
 * Checksums: whitespace in the defining query outside literals does not
 * count; everything else does; the value itself is fixed across releases.
 */
package io.github.pgtrickle.liquibase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChecksumTest {

    @TempDir
    Path tmp;

    private static String changelog(String query) {
        return """
            databaseChangeLog:
              - changeSet:
                  id: 1
                  author: t
                  changes:
                    - sql: {sql: "CREATE TABLE src (id int PRIMARY KEY, note text)"}
              - changeSet:
                  id: 2
                  author: t
                  changes:
                    - createStreamTable:
                        name: st
                        schedule: 5m
                        query: "%s"
            """.formatted(query.replace("\\", "\\\\").replace("\"", "\\\"")
                .replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t"));
    }

    private String checksum(String query) throws Exception {
        Files.writeString(tmp.resolve("c.yaml"), changelog(query));
        return Lb.checksum(tmp, "c.yaml", 1);
    }

    private static final String QUERY = "SELECT id, note\nFROM src\nWHERE note <> 'a  b'";

    @Test
    void whitespaceOutsideLiteralsDoesNotCount() throws Exception {
        String base = checksum(QUERY);
        assertEquals(base, checksum("  SELECT   id,\tnote\n\n    FROM src\r\n WHERE note <> 'a  b'   "));
        assertEquals(base, checksum("SELECT id, note FROM src WHERE note <> 'a  b'"));
    }

    @Test
    void everythingElseCounts() throws Exception {
        String base = checksum(QUERY);
        assertNotEquals(base, checksum("SELECT id, note\nFROM src\nWHERE note <> 'a b'"), "inside a literal");
        assertNotEquals(base, checksum("select id, note\nFROM src\nWHERE note <> 'a  b'"), "letter case");
        assertNotEquals(base, checksum("SELECT id,note\nFROM src\nWHERE note <> 'a  b'"), "whitespace or none");
        assertNotEquals(base, checksum("SELECT id, note\nFROM src\nWHERE note <> 'a  b' -- x"), "a comment");
    }

    /** The checksum of this change is part of every database that ran it: it never changes. */
    @Test
    void valueIsStable() throws Exception {
        assertEquals("9:a9ce4771129fcbfd75939305dce174fc", checksum(QUERY));
    }

    @Test
    void normalize() {
        assertEquals("SELECT 'a  b' , \"x  y\" , $q$ 1  2 $q$ , E'\\'  ' , $1",
            QueryText.normalize("  SELECT  'a  b' ,\n\"x  y\" , $q$ 1  2 $q$ , E'\\'  ' , $1  "));
        // a line comment keeps its line break: code after it must not move into it
        assertEquals("SELECT 1 -- c\nFROM t", QueryText.normalize("SELECT 1   -- c\n   FROM t"));
        assertNotEquals(QueryText.normalize("SELECT 1 -- c\nFROM t"), QueryText.normalize("SELECT 1 -- c FROM t"));
        assertEquals("SELECT /* a  /* b */ c  */ 1", QueryText.normalize("SELECT   /* a  /* b */ c  */\n1"));
    }

    /** Reformatting a query that ran passes validation; changing it is caught. */
    @Test
    void againstTheDatabase() throws Exception {
        try (TestDb db = TestDb.create("lb_checksum", true)) {
            Files.writeString(tmp.resolve("c.yaml"), changelog(QUERY));
            Lb.run("update", db.url, tmp, "c.yaml");
            Files.writeString(tmp.resolve("c.yaml"), changelog("SELECT id, note   FROM src\n    WHERE note <> 'a  b'"));
            Lb.run("update", db.url, tmp, "c.yaml");
            Lb.run("validate", db.url, tmp, "c.yaml");
            Files.writeString(tmp.resolve("c.yaml"), changelog("SELECT id, note FROM src WHERE note <> 'a b'"));
            Exception e = assertThrows(Exception.class, () -> Lb.run("validate", db.url, tmp, "c.yaml"));
            assertTrue(String.valueOf(e.getMessage()).contains("c.yaml::2::t was: 9:a9ce4771129fcbfd75939305dce174fc but is now"), e.getMessage());
        }
    }
}
