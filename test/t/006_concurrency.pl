# Concurrent refreshes: pg_trickle.max_concurrent_refreshes per database.
#
# Independent stream tables are refreshed at the same time by refresh
# workers, never more at once than the limit; a stream table is never
# refreshed while a stream table it reads is (upstream first); a table
# another session holds is SKIPPED; a lower
# limit set by a reload is obeyed; refresh workers show in pg_stat_activity
# with the table they refresh.  With no background worker slot to spare,
# the scheduler refreshes the tables itself.  After all of it, every stream
# table equals its defining query.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $node = scheduler_node('concurrency', "pg_trickle.max_concurrent_refreshes = 3\n");

# Multiset comparison of a stream table with its defining query (named
# columns only, so internal __pgt_* columns are ignored).
sub differs
{
	my ($node, $st, $cols, $query) = @_;
	return stream_table_differs($node, 'postgres', "SELECT $cols FROM $st", $query);
}

# The most refreshes of the given stream tables that overlapped in time,
# from the scheduler's history rows.
sub max_overlap
{
	my ($node, $names, $since) = @_;
	return $node->safe_psql('postgres', qq{
		WITH r AS (
		  SELECT h.start_time, h.end_time
		    FROM pgtrickle.pgt_refresh_history h
		    JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
		   WHERE s.pgt_name IN ($names) AND h.initiated_by = 'SCHEDULER'
		     AND h.status = 'COMPLETED' AND h.start_time >= '$since')
		SELECT coalesce(max((SELECT count(*) FROM r r2
		                      WHERE r2.start_time <= r1.start_time
		                        AND r2.end_time > r1.start_time)), 0)
		  FROM r r1});
}

# Six independent slow stream tables (each refresh sleeps 0.3 s, every 2 s)
# and a chain up -> down -> bottom (0.3 s each, every second; up is
# CALCULATED, at the pace of down) whose refreshes must never overlap: about half of what three workers can do.
my $setup = q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src SELECT g, g FROM generate_series(1, 60) g;
};
for my $i (1 .. 6)
{
	$setup .= qq{
	SELECT pgtrickle.create_stream_table('slow$i',
	    'SELECT id, v FROM src WHERE CASE WHEN id % 6 = $i - 1 THEN pg_sleep(0.03) IS NOT NULL END',
	    '2s', 'FULL');};
}
$setup .= q{
	SELECT pgtrickle.create_stream_table('up',
	    'SELECT id, v FROM src WHERE pg_sleep(0.005) IS NOT NULL', 'calculated', 'FULL');
	SELECT pgtrickle.create_stream_table('down',
	    'SELECT id, v * 2 AS v2 FROM up WHERE pg_sleep(0.005) IS NOT NULL', '1s', 'FULL');
	SELECT pgtrickle.create_stream_table('bottom',
	    'SELECT count(*) AS n, sum(v2) AS total FROM down', '1s', 'DIFFERENTIAL');
};
my $t0 = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres', $setup);

ok($node->poll_query_until('postgres',
	"SELECT count(*) >= 2 FROM pg_stat_activity WHERE backend_type = 'pg_trickle refresh worker' AND query LIKE 'pg_trickle: refreshing public.%'"),
	'refresh workers show the stream tables they refresh');

# a few rounds of concurrent refreshes, with a writer changing the source
for my $round (1 .. 6)
{
	$node->safe_psql('postgres', "UPDATE src SET v = v + 1 WHERE id % 7 = $round % 7");
	$node->safe_psql('postgres', "SELECT pg_sleep(0.5)");
}
ok($node->poll_query_until('postgres', qq{
	SELECT count(DISTINCT s.pgt_name) = 9 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE h.status = 'COMPLETED' AND h.initiated_by = 'SCHEDULER' AND h.start_time > '$t0'}),
	'the scheduler refreshes every stream table');

my $all = "'slow1','slow2','slow3','slow4','slow5','slow6','up','down','bottom'";
my $overlap = max_overlap($node, $all, $t0);
cmp_ok($overlap, '>=', 2, "refreshes run at the same time (at most $overlap at once)");
cmp_ok($overlap, '<=', 3, 'never more than max_concurrent_refreshes at once');

# upstream first: no refresh of a stream table overlaps one of a table it reads
is($node->safe_psql('postgres', qq{
	WITH r AS (
	  SELECT s.pgt_name, h.start_time, h.end_time
	    FROM pgtrickle.pgt_refresh_history h
	    JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	   WHERE h.initiated_by = 'SCHEDULER' AND h.status = 'COMPLETED'
	     AND h.start_time > '$t0')
	SELECT count(*) FROM r a JOIN r b
	    ON (a.pgt_name, b.pgt_name) IN (('up', 'down'), ('down', 'bottom'))
	 WHERE a.start_time < b.end_time AND b.start_time < a.end_time}),
	'0', 'a stream table is never refreshed while a table it reads is');

# a refresh worker killed in the middle of a refresh: the refresh rolls
# back, its history row is FAILED at once, and the table is refreshed again
$node->safe_psql('postgres', q{
	SELECT pgtrickle.create_stream_table('victim',
	    'SELECT id, v FROM src WHERE id <= 50 AND pg_sleep(0.1) IS NOT NULL', '1s', 'FULL',
	    initialize => false);
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle refresh worker' AND query = 'pg_trickle: refreshing public.victim'"),
	'a refresh worker refreshes the victim');
my $victim_pid = $node->safe_psql('postgres', q{
	SELECT pid FROM pg_stat_activity
	 WHERE backend_type = 'pg_trickle refresh worker' AND query = 'pg_trickle: refreshing public.victim'});
my $killed_at = $node->safe_psql('postgres',
	"SELECT clock_timestamp() WHERE pg_terminate_backend($victim_pid)");
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'victim' AND h.status = 'FAILED'
	   AND h.error_message LIKE '%interrupted%' AND h.start_time < '$killed_at'}),
	'the killed refresh is marked FAILED while the server runs');
ok($node->poll_query_until('postgres', qq{
	SELECT is_populated AND count(*) = 50 FROM victim, pgtrickle.pgt_stream_tables
	 WHERE pgt_name = 'victim' GROUP BY is_populated}),
	'and the table is refreshed by another worker');
$node->safe_psql('postgres', "SELECT pgtrickle.drop_stream_table('victim')");

# a table held by a manual refresh in an open transaction: the scheduler's
# attempts are SKIPPED (not waited for, not failed), and once the holder
# commits the scheduler refreshes it again
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe("SELECT pgtrickle.refresh_stream_table('slow1')");
my $held_at = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'slow1' AND h.status = 'SKIPPED' AND h.action = 'SKIP'
	   AND h.reason LIKE 'another session holds%' AND h.start_time > '$held_at'}),
	'a scheduled refresh of a table another session holds is SKIPPED');
is($node->safe_psql('postgres', q{
	SELECT status || ' ' || consecutive_errors FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'slow1'}),
	'ACTIVE 0', 'and counts as no error');
$holder->query_safe('COMMIT');
$holder->quit;
my $released_at = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'slow1' AND h.status = 'COMPLETED'
	   AND h.initiated_by = 'SCHEDULER' AND h.start_time > '$released_at'}),
	'once free, the scheduler refreshes it again');

# every stream table is right once the writers stop
$node->safe_psql('postgres', 'SELECT pgtrickle.pause_stream_table(n) FROM unnest(ARRAY[' . $all . ']) n');
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pgtrickle.pgt_refresh_history WHERE status = 'RUNNING'");
for my $i (1 .. 6)
{
	$node->safe_psql('postgres', "SELECT pgtrickle.refresh_stream_table('slow$i')");
	is(differs($node, "slow$i", 'id, v', "SELECT id, v FROM src WHERE id % 6 = $i - 1"), '0',
		"slow$i equals its query");
}
for my $st ('up', 'down', 'bottom')
{
	$node->safe_psql('postgres', "SELECT pgtrickle.refresh_stream_table('$st')");
}
is(differs($node, 'down', 'id, v2', 'SELECT id, v * 2 AS v2 FROM src'), '0', 'down equals its query');
is(differs($node, 'bottom', 'n, total', 'SELECT count(*) AS n, sum(v * 2) AS total FROM src'), '0',
	'bottom equals its query');
is($node->safe_psql('postgres', "SELECT count(*) FROM pgtrickle.verify_stream_table('bottom')"), '0',
	'verify_stream_table agrees');

# a lower limit, set by a reload, is obeyed
$node->append_conf('postgresql.conf', 'pg_trickle.max_concurrent_refreshes = 1');
$node->reload;
$node->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pgtrickle.pgt_refresh_history WHERE status = 'RUNNING'");
my $t1 = $node->safe_psql('postgres', 'SELECT now()');
$node->safe_psql('postgres', 'SELECT pgtrickle.resume_stream_table(n) FROM unnest(ARRAY[' . $all . ']) n');
ok($node->poll_query_until('postgres', qq{
	SELECT count(DISTINCT s.pgt_name) >= 6 FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE h.status = 'COMPLETED' AND h.initiated_by = 'SCHEDULER' AND h.start_time > '$t1'}),
	'refreshes go on after the reload');
is(max_overlap($node, $all, $t1), '1', 'max_concurrent_refreshes = 1: one refresh at a time');
$node->stop;

# No background worker slot to spare (the launcher, the scheduler and
# PostgreSQL's logical replication launcher take all three): the scheduler
# refreshes the tables itself.
my $tight = scheduler_node('tight', qq{
max_worker_processes = 3
max_parallel_workers = 0
});
$tight->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src SELECT g, g FROM generate_series(1, 10) g;
	SELECT pgtrickle.create_stream_table('agg', 'SELECT count(*) AS n, sum(v) AS total FROM src', '1s');
});
$tight->safe_psql('postgres', 'INSERT INTO src VALUES (11, 11)');
ok($tight->poll_query_until('postgres', 'SELECT n = 11 FROM agg'),
	'without a free worker slot the scheduler refreshes by itself');
is(differs($tight, 'agg', 'n, total', 'SELECT count(*) AS n, sum(v) AS total FROM src'), '0',
	'and the stream table equals its query');
is($tight->safe_psql('postgres',
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_trickle refresh worker'"),
	'0', 'no refresh worker could start');
$tight->stop;

done_testing();
