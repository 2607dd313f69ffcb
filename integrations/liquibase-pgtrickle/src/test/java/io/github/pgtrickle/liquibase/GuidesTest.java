/*
 * The guides docs/integrations/flyway.md and liquibase.md show only files
 * that the tests run: every code block follows a marker
 * "<!-- file: PATH -->" and is exactly the file PATH (relative to
 * docs/integrations), or follows "<!-- command: ... -->" / "<!-- output:
 * ... -->" naming what runs or checks it.
 */
package io.github.pgtrickle.liquibase;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GuidesTest {

    @ParameterizedTest
    @ValueSource(strings = {"flyway.md", "liquibase.md"})
    void everySnippetIsATestedFile(String guide) throws Exception {
        Path docs = TestDb.docs();
        List<String> lines = Files.readAllLines(docs.resolve(guide));
        int files = 0;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (!line.startsWith("```")) {
                continue;
            }
            int start = i;
            String indent = lines.get(i).substring(0, lines.get(i).indexOf('`'));
            List<String> body = new ArrayList<>();
            for (i++; i < lines.size() && !lines.get(i).strip().equals("```"); i++) {
                body.add(lines.get(i).startsWith(indent) ? lines.get(i).substring(indent.length()) : lines.get(i));
            }
            String marker = start > 0 ? lines.get(start - 1).strip() : "";
            if (marker.startsWith("<!-- file: ")) {
                String path = marker.substring("<!-- file: ".length(), marker.length() - " -->".length());
                Path file = docs.resolve(path);
                assertTrue(Files.isRegularFile(file), guide + " line " + (start + 1) + ": no file " + path);
                assertEquals(Files.readString(file), String.join("\n", body) + "\n",
                    guide + " line " + (start + 1) + " differs from " + path);
                files++;
            } else if (!marker.startsWith("<!-- command: ") && !marker.startsWith("<!-- output: ")) {
                fail(guide + " line " + (start + 1) + ": a code block that is not a tested file");
            }
        }
        assertTrue(files >= 7, guide + " shows only " + files + " files");
    }
}
