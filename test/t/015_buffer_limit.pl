# pg_trickle.max_buffer_rows holds a change buffer to its limit even when
# the only stream table reading the source is paused (no refresh prunes
# it): the scheduler's buffer pass releases the paused reader, which then
# recomputes once (FULL) when resumed, and is right.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $node = scheduler_node('buffer_limit', "pg_trickle.max_buffer_rows = 50\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src SELECT g, g FROM generate_series(1, 10) g;
	SELECT pgtrickle.create_stream_table('lone', 'SELECT count(*) AS n, sum(v) AS total FROM src',
	                                     '1s', 'DIFFERENTIAL');
	SELECT pgtrickle.pause_stream_table('lone');
});
# 200 changes, one statement each, while nobody refreshes
$node->safe_psql('postgres', join("\n",
	map { "INSERT INTO src VALUES ($_, $_);" } (11 .. 210)));

ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pgtrickle.check_cdc_health()
	 WHERE pgt_name = 'lone' AND issue LIKE '%pending changes given up%'}),
	'the scheduler gave up the paused reader\'s changes');
my $buffer = $node->safe_psql('postgres', q{
	SELECT 'pgtrickle_changes.' || quote_ident('changes_' || 'src'::regclass::oid)});
# a pass may have run while the inserts still came: the rows after it are
# given up at a later pass
ok($node->poll_query_until('postgres', "SELECT count(*) <= 50 FROM $buffer"),
	'and pruned the buffer to the limit');

$node->safe_psql('postgres', q{SELECT pgtrickle.resume_stream_table('lone')});
ok($node->poll_query_until('postgres', q{SELECT n = 210 FROM lone}), 'resumed, it catches up');
like($node->safe_psql('postgres', q{
	SELECT action || ': ' || reason FROM pgtrickle.pgt_refresh_history h
	  JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'lone' AND action <> 'NO_DATA' ORDER BY refresh_id DESC LIMIT 1}),
	qr/^FULL: pending changes of .*src.* discarded/, 'with one recomputation, reason given');
is(stream_table_differs($node, 'postgres', 'SELECT n, total FROM lone',
	'SELECT count(*) AS n, sum(v) AS total FROM src'), '0', 'and is right');

$node->stop;
done_testing();
