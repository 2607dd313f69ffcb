/*
 * Lb: runs Liquibase commands (the same command steps as the CLI and the
 * Maven plugin) on changelogs of one folder.
 */
package io.github.pgtrickle.liquibase;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;

import liquibase.ChecksumVersion;
import liquibase.Scope;
import liquibase.changelog.ChangeLogParameters;
import liquibase.changelog.ChangeSet;
import liquibase.changelog.DatabaseChangeLog;
import liquibase.command.CommandScope;
import liquibase.parser.ChangeLogParserFactory;
import liquibase.resource.DirectoryResourceAccessor;
import liquibase.resource.ResourceAccessor;

final class Lb {

    private Lb() {
    }

    /** Runs command on changelog (a file of dir) against url; returns what it wrote to its output. */
    static String run(String command, String url, Path dir, String changelog, Object... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Map<String, Object> scope = Map.of(Scope.Attr.resourceAccessor.name(), new DirectoryResourceAccessor(dir));
        Scope.child(scope, () -> {
            CommandScope c = new CommandScope(command)
                .addArgumentValue("url", url)
                .addArgumentValue("changelogFile", changelog)
                .setOutput(out);
            for (int i = 0; i < args.length; i += 2) {
                c.addArgumentValue((String) args[i], args[i + 1]);
            }
            c.execute();
        });
        return out.toString(StandardCharsets.UTF_8);
    }

    /** The changelog as Liquibase parses it (XSD, YAML, JSON; no database). */
    static DatabaseChangeLog parse(Path dir, String changelog) throws Exception {
        ResourceAccessor ra = new DirectoryResourceAccessor(dir);
        Map<String, Object> scope = Map.of(Scope.Attr.resourceAccessor.name(), ra);
        return Scope.child(scope, () -> ChangeLogParserFactory.getInstance().getParser(changelog, ra)
            .parse(changelog, new ChangeLogParameters(), ra));
    }

    /** The checksum of changeset number index (0-based) of changelog. */
    static String checksum(Path dir, String changelog, int index) throws Exception {
        ChangeSet cs = parse(dir, changelog).getChangeSets().get(index);
        return cs.generateCheckSum(ChecksumVersion.latest()).toString();
    }
}
