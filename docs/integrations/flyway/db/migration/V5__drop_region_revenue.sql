-- Undo by rolling forward: Flyway Community has no undo migrations, so a
-- later version reverses an earlier one.  Here V4's stream table goes
-- (its source table stays).
SELECT pgtrickle.drop_stream_table('region_revenue');
