/*
 * StreamTableCallGenerator: the SQL text of a StreamTableCallStatement with
 * its values as PostgreSQL literals, for SQL output mode (updateSQL,
 * futureRollbackSQL, rollbackSQL).  Execution does not use this text: the
 * JDBC executor binds the values as parameters.
 */
package io.github.pgtrickle.liquibase;

import java.util.Map;

import liquibase.database.Database;
import liquibase.database.core.PostgresDatabase;
import liquibase.exception.ValidationErrors;
import liquibase.sql.Sql;
import liquibase.sql.UnparsedSql;
import liquibase.sqlgenerator.SqlGeneratorChain;
import liquibase.sqlgenerator.core.AbstractSqlGenerator;

public class StreamTableCallGenerator extends AbstractSqlGenerator<StreamTableCallStatement> {

    @Override
    public int getPriority() {
        return PRIORITY_DATABASE;
    }

    @Override
    public boolean supports(StreamTableCallStatement statement, Database database) {
        return database instanceof PostgresDatabase;
    }

    @Override
    public ValidationErrors validate(StreamTableCallStatement statement, Database database,
                                     SqlGeneratorChain<StreamTableCallStatement> chain) {
        return new ValidationErrors();
    }

    @Override
    public Sql[] generateSql(StreamTableCallStatement statement, Database database,
                             SqlGeneratorChain<StreamTableCallStatement> chain) {
        StringBuilder sql = new StringBuilder("SELECT pgtrickle.").append(statement.getFunction()).append('(');
        String sep = "";
        for (Map.Entry<String, Object> e : statement.getArguments().entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            sql.append(sep).append(e.getKey()).append(" => ").append(literal(e.getKey(), e.getValue()));
            sep = ", ";
        }
        sql.append(')');
        return new Sql[] {new UnparsedSql(sql.toString())};
    }

    /**
     * A PostgreSQL literal for value: booleans as true/false; the query
     * dollar-quoted (readable, and independent of
     * standard_conforming_strings); other text in single quotes, or
     * dollar-quoted when it holds a backslash.
     */
    static String literal(String argument, Object value) {
        if (value instanceof Boolean) {
            return value.toString();
        }
        String s = String.valueOf(value);
        if (argument.equals("query") || s.indexOf('\\') >= 0) {
            return dollarQuote(s);
        }
        return "'" + s.replace("'", "''") + "'";
    }

    /** s between $$ or $pgtN$ delimiters; the first that does not end the string early. */
    static String dollarQuote(String s) {
        String tag = "$$";
        for (int n = 0; (s + tag).indexOf(tag) != s.length(); n++) {
            tag = "$pgt" + (n == 0 ? "" : Integer.toString(n)) + "$";
        }
        return tag + s + tag;
    }
}
