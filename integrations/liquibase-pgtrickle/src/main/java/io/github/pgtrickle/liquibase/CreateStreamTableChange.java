/*
 * createStreamTable: pgtrickle.create_stream_table, or with ifNotExists
 * create_stream_table_if_not_exists, or with orReplace
 * create_or_replace_stream_table.  Automatic rollback: dropStreamTable, but
 * only for the plain create (the other two may have found an existing table
 * that the changeset did not create; rolling them back needs an explicit
 * <rollback>).
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

@DatabaseChange(name = "createStreamTable",
    description = "Creates a pg_trickle stream table (pgtrickle.create_stream_table)",
    priority = ChangeMetaData.PRIORITY_DEFAULT)
public class CreateStreamTableChange extends StreamTableChange {

    private String query;
    private String schedule;
    private String refreshMode;
    private Boolean initialize;
    private String cdcMode;
    private Boolean ifNotExists;
    private Boolean orReplace;

    @DatabaseChangeProperty(requiredForDatabase = "postgresql",
        description = "The defining query (one SELECT)")
    public String getQuery() {
        return query;
    }

    public void setQuery(String query) {
        this.query = query;
    }

    @DatabaseChangeProperty(description = "Refresh schedule: a duration (30s, 5m, 1h30m), a cron "
        + "expression, @hourly..., or calculated. Default of the function: 1m")
    public String getSchedule() {
        return schedule;
    }

    public void setSchedule(String schedule) {
        this.schedule = schedule;
    }

    @DatabaseChangeProperty(description = "DIFFERENTIAL (default), FULL or AUTO")
    public String getRefreshMode() {
        return refreshMode;
    }

    public void setRefreshMode(String refreshMode) {
        this.refreshMode = refreshMode;
    }

    @DatabaseChangeProperty(description = "false creates the table empty; the first refresh fills it")
    public Boolean getInitialize() {
        return initialize;
    }

    public void setInitialize(Boolean initialize) {
        this.initialize = initialize;
    }

    @DatabaseChangeProperty(description = "Change capture: trigger (default: pg_trickle.cdc_mode)")
    public String getCdcMode() {
        return cdcMode;
    }

    public void setCdcMode(String cdcMode) {
        this.cdcMode = cdcMode;
    }

    @DatabaseChangeProperty(description = "true: do nothing (NOTICE) when the name exists "
        + "(create_stream_table_if_not_exists)")
    public Boolean getIfNotExists() {
        return ifNotExists;
    }

    public void setIfNotExists(Boolean ifNotExists) {
        this.ifNotExists = ifNotExists;
    }

    @DatabaseChangeProperty(description = "true: bring an existing stream table to this definition "
        + "in place (create_or_replace_stream_table)")
    public Boolean getOrReplace() {
        return orReplace;
    }

    public void setOrReplace(Boolean orReplace) {
        this.orReplace = orReplace;
    }

    @Override
    protected String changeName() {
        return "createStreamTable";
    }

    private String function() {
        if (Boolean.TRUE.equals(orReplace)) {
            return "create_or_replace_stream_table";
        }
        if (Boolean.TRUE.equals(ifNotExists)) {
            return "create_stream_table_if_not_exists";
        }
        return "create_stream_table";
    }

    @Override
    public ValidationErrors validate(Database database) {
        ValidationErrors errors = super.validate(database);
        checkNotBlank(errors, changeName(), "query", query);
        checkNotBlank(errors, changeName(), "schedule", schedule);
        checkOneOf(errors, changeName(), "refreshMode", refreshMode, "DIFFERENTIAL", "FULL", "AUTO");
        checkOneOf(errors, changeName(), "cdcMode", cdcMode, "trigger", "wal", "auto");
        if (Boolean.TRUE.equals(ifNotExists) && Boolean.TRUE.equals(orReplace)) {
            errors.addError("ifNotExists and orReplace of createStreamTable cannot both be true");
        }
        return errors;
    }

    @Override
    public SqlStatement[] generateStatements(Database database) {
        LinkedHashMap<String, Object> args = new LinkedHashMap<>();
        args.put("name", getName());
        args.put("query", query);
        args.put("schedule", schedule == null ? null : schedule.trim());
        args.put("refresh_mode", keyword(refreshMode));
        args.put("initialize", initialize);
        args.put("cdc_mode", cdcMode == null ? null : cdcMode.trim().toLowerCase(java.util.Locale.ROOT));
        return new SqlStatement[] {call(function(), args)};
    }

    @Override
    protected Change[] createInverses() {
        if (Boolean.TRUE.equals(ifNotExists) || Boolean.TRUE.equals(orReplace)) {
            return null;
        }
        DropStreamTableChange drop = new DropStreamTableChange();
        drop.setName(getName());
        return new Change[] {drop};
    }

    @Override
    protected LinkedHashMap<String, Object> checksumFields() {
        LinkedHashMap<String, Object> f = new LinkedHashMap<>();
        f.put("name", getName());
        f.put("query", QueryText.normalize(query));
        f.put("schedule", schedule == null ? null : schedule.trim());
        f.put("refreshMode", keyword(refreshMode));
        f.put("initialize", initialize);
        f.put("cdcMode", cdcMode == null ? null : cdcMode.trim().toLowerCase(java.util.Locale.ROOT));
        f.put("ifNotExists", ifNotExists);
        f.put("orReplace", orReplace);
        return f;
    }

    @Override
    public String getConfirmationMessage() {
        return "Stream table " + getName() + " created";
    }
}
