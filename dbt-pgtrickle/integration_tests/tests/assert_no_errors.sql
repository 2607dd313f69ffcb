-- No stream table has refresh errors.  Rows returned = failures.
SELECT pgt_schema, pgt_name, status, consecutive_errors, last_error_message
FROM pgtrickle.pgt_stream_tables
WHERE consecutive_errors > 0 OR status IN ('ERROR', 'SUSPENDED')
