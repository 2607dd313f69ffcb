/*
 * refreshStreamTable: pgtrickle.refresh_stream_table, synchronous, in the
 * changeset's transaction.  Its rollback is empty: a refresh changes no
 * definition, only contents derived from the sources, so there is nothing
 * to undo (and a changeset's other changes roll back on their own).
 */
package io.github.pgtrickle.liquibase;

import java.util.LinkedHashMap;

import liquibase.change.Change;
import liquibase.change.ChangeMetaData;
import liquibase.change.DatabaseChange;
import liquibase.database.Database;
import liquibase.statement.SqlStatement;

@DatabaseChange(name = "refreshStreamTable",
    description = "Refreshes a pg_trickle stream table now (pgtrickle.refresh_stream_table)",
    priority = ChangeMetaData.PRIORITY_DEFAULT)
public class RefreshStreamTableChange extends StreamTableChange {

    @Override
    protected String changeName() {
        return "refreshStreamTable";
    }

    @Override
    public SqlStatement[] generateStatements(Database database) {
        LinkedHashMap<String, Object> args = new LinkedHashMap<>();
        args.put("name", getName());
        return new SqlStatement[] {call("refresh_stream_table", args)};
    }

    @Override
    protected Change[] createInverses() {
        return new Change[0];
    }

    @Override
    protected LinkedHashMap<String, Object> checksumFields() {
        LinkedHashMap<String, Object> f = new LinkedHashMap<>();
        f.put("name", getName());
        return f;
    }

    @Override
    public String getConfirmationMessage() {
        return "Stream table " + getName() + " refreshed";
    }
}
