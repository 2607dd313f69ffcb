/*
 * StreamTableChange: what the four pg_trickle change types share: the
 * stream table's name, PostgreSQL only, the namespace, the checksum and the
 * statement that calls one pgtrickle function with named arguments.
 */
package io.github.pgtrickle.liquibase;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import liquibase.change.AbstractChange;
import liquibase.change.CheckSum;
import liquibase.change.DatabaseChangeProperty;
import liquibase.database.Database;
import liquibase.database.core.PostgresDatabase;
import liquibase.exception.ValidationErrors;

public abstract class StreamTableChange extends AbstractChange {

    /** The XML namespace of the change types (see the XSD in the jar). */
    public static final String NAMESPACE = "https://pg-trickle.github.io/xml/ns/liquibase-pgtrickle";

    private String name;

    @DatabaseChangeProperty(requiredForDatabase = "postgresql",
        description = "Name of the stream table as the pgtrickle functions take it: "
            + "an SQL identifier, possibly schema-qualified, quoted where needed "
            + "(for example \"My Schema\".\"Order Totals\")")
    public String getName() {
        return name;
    }

    public void setName(String name) {
        this.name = name;
    }

    /** The change type's name, as in the changelog (createStreamTable, ...). */
    protected abstract String changeName();

    @Override
    public boolean supports(Database database) {
        return database instanceof PostgresDatabase;
    }

    @Override
    public String getSerializedObjectNamespace() {
        return NAMESPACE;
    }

    @Override
    public ValidationErrors validate(Database database) {
        if (!supports(database)) {
            ValidationErrors errors = new ValidationErrors(this);
            errors.addError(changeName() + " is not supported on " + database.getShortName()
                + ": pg_trickle is a PostgreSQL extension");
            return errors;
        }
        ValidationErrors errors = super.validate(database);
        if (name != null && name.isBlank()) {
            errors.addError("name of " + changeName() + " must not be empty");
        }
        return errors;
    }

    /**
     * The checksum covers the change type and each argument that is set, in
     * a fixed order; the defining query enters normalised by
     * QueryText.normalize (whitespace outside literals does not count).
     */
    @Override
    public CheckSum generateCheckSum() {
        StringBuilder text = new StringBuilder(changeName());
        for (Map.Entry<String, Object> e : checksumFields().entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            String value = String.valueOf(e.getValue());
            text.append('\n').append(e.getKey()).append('=')
                .append(value.length()).append(':').append(value);
        }
        return CheckSum.compute(text.toString());
    }

    /** The arguments that make up the checksum, in a fixed order. */
    protected abstract LinkedHashMap<String, Object> checksumFields();

    /** SELECT pgtrickle.FUNCTION(arg => ?, ...) with the arguments that are set. */
    protected static StreamTableCallStatement call(String function, LinkedHashMap<String, Object> args) {
        return new StreamTableCallStatement(function, args);
    }

    /** value upper-cased for a keyword argument (the functions accept any case). */
    protected static String keyword(String value) {
        return value == null ? null : value.trim().toUpperCase(Locale.ROOT);
    }

    /** Adds an error when value (if set) is not one of allowed (any case). */
    protected static void checkOneOf(ValidationErrors errors, String change, String attribute,
                                     String value, String... allowed) {
        if (value == null) {
            return;
        }
        for (String a : allowed) {
            if (a.equalsIgnoreCase(value.trim())) {
                return;
            }
        }
        errors.addError(attribute + " of " + change + " must be one of "
            + String.join(", ", allowed) + ", not \"" + value + "\"");
    }

    /** Adds an error when value is set but blank. */
    protected static void checkNotBlank(ValidationErrors errors, String change, String attribute, String value) {
        if (value != null && value.isBlank()) {
            errors.addError(attribute + " of " + change + " must not be empty");
        }
    }
}
