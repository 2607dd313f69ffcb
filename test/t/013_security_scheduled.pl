# Refresh-time security under the scheduler (issue 13, items 11 and 13).
#
# Scheduled rounds confirm idle DIFFERENTIAL stream tables fresh without a
# refresh (src/scheduler/idle.c).  That must not skip what a refresh would
# do: where row-level security is enabled on a source, the refresh decides
# (it recomputes under the policies, and once more when they stop
# applying), and an owner who lost SELECT gets the refresh's 42501, not a
# fresh data_timestamp.  No change is written to the source meanwhile:
# without that rule the idle rounds never refresh these tables.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $node = scheduler_node('security_scheduled');

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE ROLE regress_alice;
	GRANT CREATE, USAGE ON SCHEMA public TO regress_alice;
	CREATE TABLE orders (id int PRIMARY KEY, region text, amount int);
	INSERT INTO orders VALUES (1, 'eu', 10), (2, 'us', 20), (3, 'eu', 30);
	GRANT SELECT, TRIGGER ON orders TO regress_alice;
	SET ROLE regress_alice;
	SELECT pgtrickle.create_stream_table('public.totals',
		'SELECT region, sum(amount) AS total FROM orders GROUP BY region', '1s', 'DIFFERENTIAL');
	RESET ROLE;
});

sub q1 { return $node->safe_psql('postgres', $_[0]); }

# the oracle as the owner sees it (under the owner's policies): rows in
# which totals and its defining query, run as alice, differ
sub differs_as_alice
{
	return q1(q{SET ROLE regress_alice;
		SELECT count(*) FROM (
		  (SELECT region, total FROM totals
		   EXCEPT ALL SELECT region, sum(amount) FROM orders GROUP BY region)
		  UNION ALL
		  (SELECT region, sum(amount) FROM orders GROUP BY region
		   EXCEPT ALL SELECT region, total FROM totals)) d});
}

sub last_refresh
{
	return q1(q{SELECT h.status || ' ' || h.action || ': ' || coalesce(h.reason, '') || coalesce(h.error_message, '')
				  FROM pgtrickle.pgt_refresh_history h ORDER BY h.refresh_id DESC LIMIT 1});
}

ok($node->poll_query_until('postgres', q{
	SELECT data_timestamp > now() - interval '1s' FROM pgtrickle.pgt_stream_tables}),
	'the stream table is kept fresh by idle rounds');

# policies hide a region from alice; no change row is written
q1(q{
	ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
	CREATE POLICY eu_only ON orders TO regress_alice USING (region = 'eu');
});
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history
	 WHERE action = 'FULL' AND status = 'COMPLETED'
	   AND reason = 'row-level security applies to role regress_alice on table public.orders'}),
	'RLS enabled later: a scheduled refresh recomputes under the policies');
is(q1('SELECT string_agg(region || total, \',\' ORDER BY region) FROM totals'), 'eu40',
	'the hidden rows are gone');
is(differs_as_alice(), '0', 'totals equals its query as its owner sees it');

# no longer applying: one more recomputation brings them back
q1('ALTER TABLE orders DISABLE ROW LEVEL SECURITY');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history
	 WHERE action = 'FULL' AND status = 'COMPLETED'
	   AND reason = 'row-level security no longer applies to the owner'}),
	'RLS disabled: a scheduled refresh recomputes once more');
is(q1('SELECT string_agg(region || total, \',\' ORDER BY region) FROM totals'), 'eu40,us20',
	'the rows are back');
is(differs_as_alice(), '0', 'totals equals its query again');
ok($node->poll_query_until('postgres', q{
	SELECT fallback_reason IS NULL AND data_timestamp > now() - interval '1s'
	  FROM pgtrickle.pgt_stream_tables}),
	'and idle rounds take over again');

# SELECT revoked: the next round's refresh fails with the owner's 42501
q1('REVOKE SELECT ON orders FROM regress_alice');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) > 0 FROM pgtrickle.pgt_refresh_history
	 WHERE status = 'FAILED' AND error_message LIKE 'permission denied for table orders%'}),
	'a revoked SELECT fails the scheduled refresh');

done_testing();
