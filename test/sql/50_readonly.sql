-- Stream tables are read-only: only a refresh writes them (SQLSTATE 55000).
\pset format unaligned
CREATE TABLE ro_src (id int PRIMARY KEY, v int);
INSERT INTO ro_src VALUES (1, 10), (2, 20);
SELECT pgtrickle.create_stream_table('ro_st', 'SELECT id, v FROM ro_src', '1m', 'FULL');
SELECT pgt_test.err($$INSERT INTO ro_st VALUES (3, 30)$$);
SELECT pgt_test.err($$UPDATE ro_st SET v = 0$$);
SELECT pgt_test.err($$DELETE FROM ro_st$$);
SELECT pgt_test.err($$TRUNCATE ro_st$$);
SELECT pgt_test.err($$COPY ro_st FROM PROGRAM 'echo 9	9'$$);
SELECT pgt_test.err($$MERGE INTO ro_st t USING ro_src s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = 0$$);
SELECT pgt_test.err($$INSERT INTO ro_st SELECT * FROM ro_src ON CONFLICT DO NOTHING$$);
-- also for the owner under session_replication_role = replica
SET session_replication_role = replica;
SELECT pgt_test.err($$DELETE FROM ro_st$$);
RESET session_replication_role;
-- also through a writable view
CREATE VIEW ro_view AS SELECT * FROM ro_st;
SELECT pgt_test.err($$DELETE FROM ro_view$$);
DROP VIEW ro_view;
-- and from inside a function called during a refresh of another table
CREATE FUNCTION sneaky() RETURNS int LANGUAGE plpgsql AS $$
BEGIN DELETE FROM public.ro_st; RETURN 1; END $$;
SELECT pgtrickle.create_stream_table('other_st', 'SELECT 1 AS one', '1m', 'FULL');
SELECT pgt_test.err($$SELECT pgtrickle.alter_stream_table('other_st', query => 'SELECT public.sneaky() AS one')$$);
SELECT * FROM ro_st ORDER BY id;
-- reading is fine, and so is SELECT FOR SHARE
SELECT count(*) FROM ro_st;
SELECT id FROM ro_st ORDER BY id FOR SHARE;
SELECT pgt_test.refresh('ro_st');
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'ro_st'::regclass;
-- its columns belong to the query: ALTER TABLE cannot change them
SELECT pgt_test.err($$ALTER TABLE ro_st DROP COLUMN v$$);
SELECT pgt_test.err($$ALTER TABLE ro_st RENAME COLUMN v TO w$$);
SELECT pgt_test.err($$ALTER TABLE ro_st ALTER COLUMN v TYPE bigint$$);
SELECT pgt_test.err($$ALTER TABLE ro_st ADD COLUMN extra int$$);
-- what does not touch the columns is fine
ALTER TABLE ro_st ADD PRIMARY KEY (id);
ALTER TABLE ro_st SET (fillfactor = 90);
COMMENT ON TABLE ro_st IS 'a stream table';
SELECT pgt_test.refresh('ro_st');
SELECT * FROM pgt_test.check_all();
