/*
 * dropStreamTable: pgtrickle.drop_stream_table.  No automatic rollback: the
 * definition is gone with the table (a changeset that must be reversible
 * repeats it in <rollback><pgt:createStreamTable .../></rollback>).
 */
package io.github.pgtrickle.liquibase;

import java.util.LinkedHashMap;

import liquibase.change.Change;
import liquibase.change.ChangeMetaData;
import liquibase.change.DatabaseChange;
import liquibase.change.DatabaseChangeProperty;
import liquibase.database.Database;
import liquibase.statement.SqlStatement;

@DatabaseChange(name = "dropStreamTable",
    description = "Drops a pg_trickle stream table (pgtrickle.drop_stream_table)",
    priority = ChangeMetaData.PRIORITY_DEFAULT)
public class DropStreamTableChange extends StreamTableChange {

    private Boolean cascade;

    @DatabaseChangeProperty(description = "true: also drop the stream tables that read this one")
    public Boolean getCascade() {
        return cascade;
    }

    public void setCascade(Boolean cascade) {
        this.cascade = cascade;
    }

    @Override
    protected String changeName() {
        return "dropStreamTable";
    }

    @Override
    public SqlStatement[] generateStatements(Database database) {
        LinkedHashMap<String, Object> args = new LinkedHashMap<>();
        args.put("name", getName());
        args.put("cascade", cascade);
        return new SqlStatement[] {call("drop_stream_table", args)};
    }

    @Override
    protected Change[] createInverses() {
        return null;
    }

    @Override
    protected LinkedHashMap<String, Object> checksumFields() {
        LinkedHashMap<String, Object> f = new LinkedHashMap<>();
        f.put("name", getName());
        f.put("cascade", cascade);
        return f;
    }

    @Override
    public String getConfirmationMessage() {
        return "Stream table " + getName() + " dropped";
    }
}
