# Publishing a stream table: a plain publication sends every refresh's
# changes to other servers, which need no pg_trickle (docs/replication.md).
# The storage table has no primary key (its rows are identified by an
# internal hash), so UPDATE and DELETE need REPLICA IDENTITY FULL; without it
# the refresh fails with PostgreSQL's own error and nothing is lost.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $pub = scheduler_node('publisher', "pg_trickle.enabled = off\n", allows_streaming => 'logical');
$pub->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE orders (id int PRIMARY KEY, region text, amount numeric);
	INSERT INTO orders SELECT g, (ARRAY['north', 'south', 'east'])[g % 3 + 1], g * 10
	  FROM generate_series(1, 30) g;
	SELECT pgtrickle.create_stream_table('region_totals',
		'SELECT region, sum(amount) AS total, count(*) AS n FROM orders GROUP BY region',
		'1w', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('"Big Orders"',
		'SELECT id, region, amount FROM orders WHERE amount > 100', '1w', 'DIFFERENTIAL');
	ALTER TABLE region_totals REPLICA IDENTITY FULL;
	ALTER TABLE "Big Orders" REPLICA IDENTITY FULL;
	CREATE PUBLICATION st_pub FOR TABLE region_totals, "Big Orders";
});

# The subscriber's tables: the same columns (the __pgt_* ones included: a
# publication with REPLICA IDENTITY FULL sends whole rows).
my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->start;
foreach my $st ('region_totals', '"Big Orders"')
{
	my $cols = $pub->safe_psql('postgres', qq{
		SELECT string_agg(format('%I %s', attname, format_type(atttypid, atttypmod)), ', ' ORDER BY attnum)
		  FROM pg_attribute WHERE attrelid = '$st'::regclass AND attnum > 0 AND NOT attisdropped});
	$sub->safe_psql('postgres', "CREATE TABLE $st ($cols)");
}
my $connstr = $pub->connstr . ' dbname=postgres';
$sub->safe_psql('postgres', "CREATE SUBSCRIPTION st_sub CONNECTION '$connstr' PUBLICATION st_pub");
$sub->wait_for_subscription_sync($pub, 'st_sub');

# subscriber_differs(ST, QUERY): rows in which the subscriber's copy (its
# visible columns) and the publisher's defining query differ, as multisets.
sub subscriber_differs
{
	my ($st, $cols, $query) = @_;
	my $copy = $sub->safe_psql('postgres',
		"SELECT string_agg((t.*)::text, E'\\n' ORDER BY (t.*)::text) FROM (SELECT $cols FROM $st) t");
	my $want = $pub->safe_psql('postgres',
		"SELECT string_agg((t.*)::text, E'\\n' ORDER BY (t.*)::text) FROM ($query) t");
	return $copy eq $want ? '' : "subscriber:\n$copy\npublisher's query:\n$want";
}

my %sts = (
	'region_totals' => ['region, total, n',
		'SELECT region, sum(amount) AS total, count(*) AS n FROM orders GROUP BY region'],
	'"Big Orders"' => ['id, region, amount', 'SELECT id, region, amount FROM orders WHERE amount > 100']);

sub refresh_and_compare
{
	my ($what) = @_;
	foreach my $st (sort keys %sts)
	{
		$pub->safe_psql('postgres', "SELECT pgtrickle.refresh_stream_table('$st')");
	}
	$pub->wait_for_catchup('st_sub');
	foreach my $st (sort keys %sts)
	{
		is(subscriber_differs($st, @{ $sts{$st} }), '', "$what: the subscriber's $st equals the query");
	}
}

refresh_and_compare('initial copy');

$pub->safe_psql('postgres', q{
	INSERT INTO orders VALUES (31, 'west', 500), (32, 'west', 50);
	UPDATE orders SET amount = amount + 1 WHERE id % 4 = 0;
	UPDATE orders SET region = 'north' WHERE id = 5;
	DELETE FROM orders WHERE region = 'east';
});
refresh_and_compare('inserts, updates, a group deleted');
is($pub->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT action, ',') FROM pgtrickle.pgt_refresh_history
	 WHERE action <> 'NO_DATA' AND status = 'COMPLETED' AND initiated_by = 'MANUAL'}),
	'DIFFERENTIAL', 'the refreshes were differential');

# a recomputation (after a TRUNCATE of the source) reaches the subscriber too
$pub->safe_psql('postgres', q{
	TRUNCATE orders;
	INSERT INTO orders SELECT g, 'north', g FROM generate_series(95, 110) g;
});
refresh_and_compare('recomputation after TRUNCATE');

# without a replica identity the publisher refuses the refresh's UPDATE or
# DELETE: the refresh fails, the stream table and its buffer keep their state
$pub->safe_psql('postgres', q{
	SELECT pgtrickle.create_stream_table('no_identity',
		'SELECT region, count(*) AS n FROM orders GROUP BY region', '1w', 'DIFFERENTIAL');
	ALTER PUBLICATION st_pub ADD TABLE no_identity;
	UPDATE orders SET region = 'south' WHERE id = 100;
});
my ($ret, $out, $err) = $pub->psql('postgres', q{SELECT pgtrickle.refresh_stream_table('no_identity')});
isnt($ret, 0, 'a refresh that updates a published stream table without a replica identity fails');
like($err, qr/does not have a replica identity/, "with PostgreSQL's error");
$pub->safe_psql('postgres', q{ALTER TABLE no_identity REPLICA IDENTITY FULL});
$pub->safe_psql('postgres', q{SELECT pgtrickle.refresh_stream_table('no_identity')});
is(stream_table_differs($pub, 'postgres', 'SELECT region, n FROM no_identity',
	'SELECT region, count(*) AS n FROM orders GROUP BY region'), '0',
	'with REPLICA IDENTITY FULL the next refresh applies what the failed one could not');

done_testing();
