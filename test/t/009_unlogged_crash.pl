# Stream tables over UNLOGGED sources after crash recovery.
#
# Recovery empties an unlogged table; no change is captured for the rows
# that vanish.  The next refresh of each DIFFERENTIAL stream table reading
# it must recompute (FULL, with the reason in its history), whether run by
# hand, by verify_stream_table or by the scheduler (whose idle rounds would
# otherwise find nothing pending), and the buffer rows written before the
# crash (copies of rows that are gone) must not be applied afterwards.
# check_cdc_health says so until then.  The same after the promotion of a
# standby.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $node = scheduler_node('unlogged', '', allows_streaming => 1);

my %queries = (
	u_agg => 'SELECT g, count(*) AS n, sum(v) AS total FROM u GROUP BY g',
	u_join => 'SELECT l.id, l.w, u.v FROM l JOIN u ON u.id = l.id',
	u_verify => 'SELECT id, v FROM u WHERE v % 2 = 0',
	u_sched => 'SELECT count(*) AS n, sum(v) AS total FROM u',
);
my %columns = (u_agg => 'g, n, total', u_join => 'id, w, v', u_verify => 'id, v',
	u_sched => 'n, total');

$node->safe_psql('postgres', qq{
	CREATE EXTENSION pg_trickle;
	CREATE UNLOGGED TABLE u (id int PRIMARY KEY, g int NOT NULL, v int);
	CREATE TABLE l (id int PRIMARY KEY, w int);
	INSERT INTO u SELECT i, i % 5, i FROM generate_series(1, 100) i;
	INSERT INTO l SELECT i, -i FROM generate_series(1, 150) i;
	-- refreshed by hand only (not due for an hour)
	SELECT pgtrickle.create_stream_table('u_agg', '$queries{u_agg}', '1h', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('u_join', '$queries{u_join}', '1h', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('u_verify', '$queries{u_verify}', '1h', 'DIFFERENTIAL');
	-- refreshed by the scheduler
	SELECT pgtrickle.create_stream_table('u_sched', '$queries{u_sched}', '1s', 'DIFFERENTIAL');
});

sub equal
{
	my ($st, $what) = @_;
	is(stream_table_differs($node, 'postgres', "SELECT $columns{$st} FROM $st", $queries{$st}),
		'0', "$what: $st equals its query");
}

sub last_refresh
{
	my ($st) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT h.action || '|' || coalesce(h.reason, '') FROM pgtrickle.pgt_refresh_history h
		  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
		 WHERE s.pgt_name = '$st' AND h.status = 'COMPLETED'
		 ORDER BY h.refresh_id DESC LIMIT 1});
}

# changes refreshed before the crash, and changes still pending at the crash
$node->safe_psql('postgres', q{
	INSERT INTO u SELECT i, i % 5, i FROM generate_series(101, 120) i;
	SELECT pgtrickle.refresh_stream_table('u_agg');
	SELECT pgtrickle.refresh_stream_table('u_join');
	SELECT pgtrickle.refresh_stream_table('u_verify');
});
ok($node->poll_query_until('postgres', 'SELECT n = 120 FROM u_sched'), 'the scheduler refreshes u_sched');
$node->safe_psql('postgres', q{
	UPDATE u SET v = v + 1 WHERE id <= 30;
	DELETE FROM u WHERE id > 110;
});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgtrickle.check_cdc_health() WHERE source_table = 'u' AND NOT healthy}),
	'0', 'before the crash: capture is healthy');

$node->kill9;
for (1 .. 100)
{
	last if system("pgrep -f 'postgres: unlogged:' >/dev/null") != 0;
	select(undef, undef, undef, 0.1);
}
$node->start;

is($node->safe_psql('postgres', 'SELECT count(*) FROM u'), '0', 'recovery emptied the unlogged table');
is($node->safe_psql('postgres', q{SELECT count(*) > 0 FROM u_agg}), 't',
	'the stream table still holds the old rows');
like($node->safe_psql('postgres', q{
	SELECT string_agg(issue, '; ') FROM pgtrickle.check_cdc_health()
	 WHERE pgt_name = 'u_agg' AND source_table = 'u' AND NOT healthy}),
	qr/unlogged source may have been emptied by crash recovery/,
	'check_cdc_health reports it');

# a manual refresh recomputes
$node->safe_psql('postgres', q{SELECT pgtrickle.refresh_stream_table('u_agg')});
is(last_refresh('u_agg'), 'FULL|unlogged relation public.u may have been emptied by crash recovery',
	'the first refresh after recovery is FULL, with the reason');
equal('u_agg', 'after recovery');
$node->safe_psql('postgres', q{SELECT pgtrickle.refresh_stream_table('u_join')});
equal('u_join', 'after recovery');

# verify_stream_table repairs (its refresh recomputes) and then agrees
is($node->safe_psql('postgres', q{SELECT count(*) FROM pgtrickle.verify_stream_table('u_verify')}),
	'0', 'verify_stream_table repairs the stream table');
like(last_refresh('u_verify'), qr/^FULL\|unlogged relation/, 'by a FULL refresh');
equal('u_verify', 'after verify');

# the scheduler recomputes too (nothing is pending in the buffer)
ok($node->poll_query_until('postgres', 'SELECT n = 0 FROM u_sched'),
	'the scheduler refreshes u_sched after recovery');
like(last_refresh('u_sched'), qr/^FULL\|unlogged relation/, 'by a FULL refresh');
equal('u_sched', 'scheduler');

# the pending rows of before the crash are never applied; later changes are
$node->safe_psql('postgres', q{
	INSERT INTO u SELECT i, i % 5, i * 3 FROM generate_series(1, 40) i;
	UPDATE u SET v = 0 WHERE id <= 5;
	SELECT pgtrickle.refresh_stream_table('u_agg');
	SELECT pgtrickle.refresh_stream_table('u_join');
});
like(last_refresh('u_agg'), qr/^DIFFERENTIAL\|/, 'the next refresh is DIFFERENTIAL again');
equal('u_agg', 'changes after recovery');
equal('u_join', 'changes after recovery');
ok($node->poll_query_until('postgres', 'SELECT n = 40 FROM u_sched'), 'the scheduler catches up');
equal('u_sched', 'changes after recovery');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgtrickle.check_cdc_health() WHERE source_table = 'u' AND NOT healthy}),
	'0', 'capture is healthy again');

# A standby has its unlogged tables empty, and so has the server it is
# promoted to: the same repair.
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('unlogged_standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
$standby->start;
$node->safe_psql('postgres', q{SELECT pgtrickle.refresh_stream_table('u_agg')});
$node->wait_for_catchup($standby);
$node->stop;
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT count(*) FROM u'), '0',
	'the promoted standby has the unlogged table empty');
$standby->safe_psql('postgres', q{SELECT pgtrickle.refresh_stream_table('u_agg')});
like($standby->safe_psql('postgres', q{
	SELECT h.action || '|' || h.reason FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'u_agg' AND h.status = 'COMPLETED'
	 ORDER BY h.refresh_id DESC LIMIT 1}),
	qr/^FULL\|unlogged relation public\.u /, 'after promotion the first refresh is FULL');
is(stream_table_differs($standby, 'postgres', "SELECT $columns{u_agg} FROM u_agg", $queries{u_agg}),
	'0', 'after promotion: u_agg equals its query');

$standby->stop;
done_testing();
