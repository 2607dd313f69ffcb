-- Flyway callback, run by `flyway clean` before it drops anything: drop
-- the stream tables of the cleaned schema through pg_trickle first.
-- Otherwise clean drops a source table with CASCADE, which drops the stream
-- tables over it (as it would a materialized view), and then fails on the
-- stream table it listed but can no longer find.
DO $$
DECLARE
    st record;
BEGIN
    FOR st IN SELECT pgt_id, pgt_schema, pgt_name
                FROM pgtrickle.pgt_stream_tables
               WHERE pgt_schema = current_schema()
    LOOP
        -- an earlier drop with cascade may have taken this one already
        IF EXISTS (SELECT FROM pgtrickle.pgt_stream_tables WHERE pgt_id = st.pgt_id) THEN
            PERFORM pgtrickle.drop_stream_table(
                format('%I.%I', st.pgt_schema, st.pgt_name), cascade => true);
        END IF;
    END LOOP;
END
$$;
