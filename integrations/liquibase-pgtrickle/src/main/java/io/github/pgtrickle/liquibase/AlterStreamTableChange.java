/*
 * alterStreamTable: pgtrickle.alter_stream_table with the attributes that
 * are set (schedule, refreshMode, status, query; the others stay as they
 * are).  No automatic rollback: the previous values are not in the
 * changelog, and Liquibase keeps nothing between the update and a later
 * rollback where they could be saved (reading the catalog when the rollback
 * is generated would read the altered values).  A changeset states its
 * inverse with <rollback><pgt:alterStreamTable .../></rollback>.
 */
package io.github.pgtrickle.liquibase;

import java.util.LinkedHashMap;

import liquibase.change.Change;
import liquibase.change.ChangeMetaData;
import liquibase.change.DatabaseChange;
import liquibase.change.DatabaseChangeProperty;
import liquibase.database.Database;
import liquibase.exception.ValidationErrors;
import liquibase.statement.SqlStatement;

@DatabaseChange(name = "alterStreamTable",
    description = "Changes the schedule, refresh mode, status or defining query of a pg_trickle "
        + "stream table (pgtrickle.alter_stream_table)",
    priority = ChangeMetaData.PRIORITY_DEFAULT)
public class AlterStreamTableChange extends StreamTableChange {

    private String schedule;
    private String refreshMode;
    private String status;
    private String query;

    @DatabaseChangeProperty(description = "New schedule (calculated for CALCULATED)")
    public String getSchedule() {
        return schedule;
    }

    public void setSchedule(String schedule) {
        this.schedule = schedule;
    }

    @DatabaseChangeProperty(description = "New refresh mode: DIFFERENTIAL, FULL or AUTO")
    public String getRefreshMode() {
        return refreshMode;
    }

    public void setRefreshMode(String refreshMode) {
        this.refreshMode = refreshMode;
    }

    @DatabaseChangeProperty(description = "ACTIVE or PAUSED")
    public String getStatus() {
        return status;
    }

    public void setStatus(String status) {
        this.status = status;
    }

    @DatabaseChangeProperty(description = "New defining query, replaced in place (the table keeps its OID "
        + "when the output columns are compatible)")
    public String getQuery() {
        return query;
    }

    public void setQuery(String query) {
        this.query = query;
    }

    @Override
    protected String changeName() {
        return "alterStreamTable";
    }

    @Override
    public ValidationErrors validate(Database database) {
        ValidationErrors errors = super.validate(database);
        if (schedule == null && refreshMode == null && status == null && query == null) {
            errors.addError("alterStreamTable needs at least one of schedule, refreshMode, status, query");
        }
        checkNotBlank(errors, changeName(), "schedule", schedule);
        checkNotBlank(errors, changeName(), "query", query);
        checkOneOf(errors, changeName(), "refreshMode", refreshMode, "DIFFERENTIAL", "FULL", "AUTO");
        checkOneOf(errors, changeName(), "status", status, "ACTIVE", "PAUSED");
        return errors;
    }

    @Override
    public SqlStatement[] generateStatements(Database database) {
        LinkedHashMap<String, Object> args = new LinkedHashMap<>();
        args.put("name", getName());
        args.put("schedule", schedule == null ? null : schedule.trim());
        args.put("refresh_mode", keyword(refreshMode));
        args.put("status", keyword(status));
        args.put("query", query);
        return new SqlStatement[] {call("alter_stream_table", args)};
    }

    @Override
    protected Change[] createInverses() {
        return null;
    }

    @Override
    protected LinkedHashMap<String, Object> checksumFields() {
        LinkedHashMap<String, Object> f = new LinkedHashMap<>();
        f.put("name", getName());
        f.put("schedule", schedule == null ? null : schedule.trim());
        f.put("refreshMode", keyword(refreshMode));
        f.put("status", keyword(status));
        f.put("query", QueryText.normalize(query));
        return f;
    }

    @Override
    public String getConfirmationMessage() {
        return "Stream table " + getName() + " altered";
    }
}
