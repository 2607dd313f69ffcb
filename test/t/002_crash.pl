# Crash safety: kill -9 of the server while the scheduler refreshes.
#
# The cut-off refresh leaves no partial state (it was one transaction); at
# restart its RUNNING history row is marked FAILED; the next refreshes are
# correct; changes captured before the crash are not lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

# synchronous_commit on (the test configuration turns it off for speed):
# what the test saw committed before the kill must survive it
my $node = scheduler_node('crash', "synchronous_commit = on\n");

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src SELECT g, g FROM generate_series(1, 100) g;
	SELECT pgtrickle.create_stream_table('fast', 'SELECT count(*) AS n, sum(v) AS total FROM src',
	                                     '1s', 'DIFFERENTIAL');
	CREATE TABLE slow_src (id int);
	INSERT INTO slow_src SELECT generate_series(1, 300);
	-- each refresh of this one takes about 3 seconds
	SELECT pgtrickle.create_stream_table('slow',
	    'SELECT id FROM slow_src WHERE pg_sleep(0.01) IS NOT NULL', '1s', 'FULL');
});

# changes committed before the crash, while the scheduler is busy with slow
# (its RUNNING history row committed: that is what the restart must find)
ok($node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'pg_trickle refresh worker' AND query LIKE '%refreshing public.slow%'
	   AND EXISTS (SELECT FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	                WHERE s.pgt_name = 'slow' AND h.status = 'RUNNING')"),
	'a refresh worker is refreshing the slow stream table');
$node->safe_psql('postgres', 'INSERT INTO src SELECT g, g FROM generate_series(101, 150) g');
$node->safe_psql('postgres', 'UPDATE src SET v = v + 1 WHERE id <= 10');

$node->kill9;
# the orphaned children notice the postmaster's death and exit; until then
# the old shared memory is in use and a new postmaster refuses to start
for (1 .. 100)
{
	last if system("pgrep -f 'postgres: crash:' >/dev/null") != 0;
	select(undef, undef, undef, 0.1);
}
$node->start;

ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'slow' AND h.status = 'FAILED' AND h.error_message LIKE '%interrupted%'}),
	'the interrupted refresh is marked FAILED at restart');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgtrickle.pgt_refresh_history WHERE status = 'RUNNING' AND end_time IS NOT NULL}),
	'0', 'no half-finished history row');

ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM (
	  (SELECT n, total FROM fast EXCEPT ALL SELECT count(*), sum(v) FROM src)
	  UNION ALL (SELECT count(*), sum(v) FROM src EXCEPT ALL SELECT n, total FROM fast)) d}),
	'the changes captured before the crash reach the stream table');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pgtrickle.verify_stream_table(\'fast\')'), '0',
	'verify_stream_table agrees');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'slow' AND h.status = 'COMPLETED' AND h.initiated_by = 'SCHEDULER'}),
	'the slow stream table is refreshed again after the restart');
is($node->safe_psql('postgres', 'SELECT count(*) FROM slow'), '300', 'and it is complete');

$node->stop;
done_testing();
