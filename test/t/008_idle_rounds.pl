# Scheduled rounds of DIFFERENTIAL stream tables with nothing pending.
#
# A due stream table whose sources have no pending change is not refreshed:
# the scheduler confirms for all such tables at once that they are fresh and
# moves their data_timestamp and last_refresh_at, without a history row or a
# refresh transaction per table.  A pending change still gets a real
# DIFFERENTIAL refresh within the schedule, also through a chain of stream
# tables (a stream table reading a stream table that is refreshed in the
# round is not idle).  A table another session holds is not confirmed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use PgtTap;

my $node = scheduler_node('idle_rounds');

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src SELECT g, g FROM generate_series(1, 10) g;
	SELECT pgtrickle.create_stream_table('up', 'SELECT id % 3 AS k, sum(v) AS total FROM src GROUP BY id % 3', '1s');
	SELECT pgtrickle.create_stream_table('down', 'SELECT sum(total) AS total FROM up', '1s');
	SELECT pgtrickle.create_stream_table('solo', 'SELECT count(*) AS n FROM src', '1s');
});

sub q1 { return $node->safe_psql('postgres', $_[0]); }

sub history_rows
{
	return q1('SELECT count(*) FROM pgtrickle.pgt_refresh_history');
}

sub stamp
{
	my ($st) = @_;
	return q1("SELECT data_timestamp FROM pgtrickle.pgt_stream_tables WHERE pgt_name = '$st'");
}

# let the scheduler settle (first rounds after creation)
ok($node->poll_query_until('postgres', q{
	SELECT bool_and(data_timestamp > now() - interval '1s')
	  FROM pgtrickle.pgt_stream_tables}),
	'idle stream tables are kept fresh');

my $rows = history_rows();
my %before = map { $_ => stamp($_) } qw(up down solo);
my $xid0 = q1('SELECT txid_current()');
sleep 3;
is(history_rows(), $rows, 'idle scheduled rounds write no history row');
for my $st (qw(up down solo))
{
	ok(q1("SELECT data_timestamp > '$before{$st}' AND last_refresh_at >= data_timestamp"
		  . " FROM pgtrickle.pgt_stream_tables WHERE pgt_name = '$st'") eq 't',
		"data_timestamp of $st advances");
}
is(q1('SELECT count(*) FROM pgtrickle.stream_tables_info WHERE stale'), '0', 'none is stale');
is(q1('SELECT stale_tables FROM pgtrickle.quick_health'), '0', 'quick_health: no stale table');
# one write transaction per round at most, whatever the number of tables
my $xids = q1('SELECT txid_current()') - $xid0 - 1;
ok($xids <= 40, "few transactions for 3 tables x 3 s of rounds ($xids)");
is(q1(q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_trickle refresh worker'}),
	'0', 'no refresh worker is needed');

# data_timestamp never moves backwards, and stays at most one round behind
ok(q1(q{SELECT bool_and(data_timestamp <= now() AND data_timestamp > now() - interval '1.5s')
	      FROM pgtrickle.pgt_stream_tables}) eq 't', 'data_timestamp is recent, never in the future');

# a pending change: a real DIFFERENTIAL refresh, through the chain
my $id0 = q1('SELECT coalesce(max(refresh_id), 0) FROM pgtrickle.pgt_refresh_history');
my $t0 = time;
q1('INSERT INTO src VALUES (11, 1000)');
ok($node->poll_query_until('postgres', 'SELECT total = 1055 FROM down'),
	'a change reaches the end of the chain');
my $secs = time - $t0;
ok($secs < 4, sprintf('within the schedule (%.1f s)', $secs));
ok($node->poll_query_until('postgres', qq{
	SELECT string_agg(s.pgt_name || ':' || h.action || ':' || h.status, ',' ORDER BY s.pgt_name)
	  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE h.refresh_id > $id0 AND h.initiated_by = 'SCHEDULER'},
	'down:DIFFERENTIAL:COMPLETED,solo:DIFFERENTIAL:COMPLETED,up:DIFFERENTIAL:COMPLETED'),
	'each table has one DIFFERENTIAL refresh in the history');
is(stream_table_differs($node, 'postgres', 'SELECT k, total FROM up',
	'SELECT id % 3 AS k, sum(v) AS total FROM src GROUP BY id % 3'), '0', 'up equals its query');
is(stream_table_differs($node, 'postgres', 'SELECT total FROM down',
	'SELECT sum(v) AS total FROM src'), '0', 'down equals its query');

# a table another session holds is not confirmed fresh while it is held
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('LOCK TABLE solo IN EXCLUSIVE MODE');
my $held = stamp('solo');
sleep 2;
is(stamp('solo'), $held, 'data_timestamp does not move while another session holds the table');
ok(q1('SELECT data_timestamp > now() - interval \'1.5s\' FROM pgtrickle.pgt_stream_tables WHERE pgt_name = \'up\'') eq 't',
	'the others go on');
$holder->query_safe('COMMIT');
$holder->quit;
ok($node->poll_query_until('postgres', qq{
	SELECT data_timestamp > '$held' FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'solo'}),
	'released: confirmed fresh again');

# manual refresh keeps writing its history row
$rows = history_rows();
q1(q{SELECT pgtrickle.refresh_stream_table('solo')});
is(q1(qq{SELECT action || ':' || initiated_by FROM pgtrickle.pgt_refresh_history ORDER BY refresh_id DESC LIMIT 1}),
	'NO_DATA:MANUAL', 'a manual refresh with nothing pending is still recorded');

$node->stop;
done_testing();
