/*
 * StreamTableCallStatement: one call of a pgtrickle function.  It is a
 * RawParameterizedSqlStatement, so Liquibase's JDBC executor runs it as a
 * prepared statement with the values as parameters; in SQL output mode
 * (updateSQL, futureRollbackSQL) StreamTableCallGenerator writes the values
 * as literals instead.
 */
package io.github.pgtrickle.liquibase;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import liquibase.statement.core.RawParameterizedSqlStatement;

public class StreamTableCallStatement extends RawParameterizedSqlStatement {

    private final String function;
    private final LinkedHashMap<String, Object> arguments;

    public StreamTableCallStatement(String function, LinkedHashMap<String, Object> arguments) {
        super(placeholderSql(function, arguments), values(arguments));
        this.function = function;
        this.arguments = arguments;
    }

    /** The function name, without schema (pgtrickle). */
    public String getFunction() {
        return function;
    }

    /** The named arguments that are set, in call order. */
    public Map<String, Object> getArguments() {
        return Collections.unmodifiableMap(arguments);
    }

    private static String placeholderSql(String function, LinkedHashMap<String, Object> arguments) {
        StringBuilder sql = new StringBuilder("SELECT pgtrickle.").append(function).append('(');
        String sep = "";
        for (Map.Entry<String, Object> e : arguments.entrySet()) {
            if (e.getValue() == null) {
                continue;
            }
            sql.append(sep).append(e.getKey()).append(" => ?");
            sep = ", ";
        }
        return sql.append(')').toString();
    }

    private static Object[] values(LinkedHashMap<String, Object> arguments) {
        List<Object> values = new ArrayList<>();
        for (Object v : arguments.values()) {
            if (v != null) {
                values.add(v);
            }
        }
        return values.toArray();
    }
}
