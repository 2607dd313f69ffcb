# Upgrading pg_trickle in place, the way a package upgrade does it: a
# cluster runs the previous version's library (built from its commit by
# scripts/test.sh into a private copy of PostgreSQL) with live stream
# tables and changes captured but not yet refreshed; the server stops, the
# new library and scripts are installed, the server starts, and
#   * before ALTER EXTENSION ... UPDATE: writes to sources still work and
#     are captured, API calls say what to do (55000), the scheduler waits
#     without failing refreshes;
#   * after it: the first refreshes apply every pending change exactly once
#     (DIFFERENTIAL), capture and health are complete, and the scheduler
#     keeps the tables fresh again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Copy;
use PgtTap;

plan skip_all => "previous version not available: $ENV{PGT_PREVIOUS_SKIP}"
  if !$ENV{PGT_PREVIOUS_PG};

my $node = PostgreSQL::Test::Cluster->new('upgrade', install_path => $ENV{PGT_PREVIOUS_PG});
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_trickle'
pg_trickle.enabled = on
pg_trickle.scheduler_interval_ms = 100
max_worker_processes = 16
});
$node->start;

my $old = $ENV{PGT_PREVIOUS_VERSION};
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE ROLE analyst;
	GRANT USAGE ON SCHEMA pgtrickle TO analyst;
	GRANT CREATE ON SCHEMA public TO analyst;
	CREATE TABLE customers (id int PRIMARY KEY, region text);
	CREATE TABLE orders (id int PRIMARY KEY, customer int, amount numeric);
	INSERT INTO customers VALUES (1, 'north'), (2, 'south'), (3, 'east');
	INSERT INTO orders SELECT g, g % 3 + 1, g * 10 FROM generate_series(1, 30) g;
	GRANT SELECT, TRIGGER ON orders, customers TO analyst;
	SELECT pgtrickle.create_stream_table('region_totals',
		'SELECT c.region, sum(o.amount) AS total, count(*) AS n
		   FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.region',
		'1h', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('big_regions',
		'SELECT region, total FROM region_totals WHERE total > 1000', '1h', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('order_count', 'SELECT count(*) AS n FROM orders',
		'1h', 'FULL');
	SET ROLE analyst;
	SELECT pgtrickle.create_stream_table('public.big_orders',
		'SELECT id, amount FROM orders WHERE amount > 200', '1h', 'DIFFERENTIAL');
	RESET ROLE;
});
is($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pg_trickle'"),
	$old, "version $old installed");

# changes captured by the previous version, not refreshed
$node->safe_psql('postgres', q{
	INSERT INTO orders VALUES (31, 1, 5000), (32, 2, 7);
	UPDATE orders SET amount = amount + 1 WHERE id % 5 = 0;
	DELETE FROM orders WHERE id = 3;
	UPDATE customers SET region = 'west' WHERE id = 3;
});
$node->stop;

# the package upgrade: new library and scripts into the same installation
{
	my $pg_config = "$ENV{PGT_PREVIOUS_PG}/bin/pg_config";
	chomp(my $pkglibdir = `$pg_config --pkglibdir`);
	chomp(my $sharedir = `$pg_config --sharedir`);
	copy("$ENV{PGT_NEW_PKGLIBDIR}/pg_trickle.so", "$pkglibdir/pg_trickle.so")
	  or die "copying the library: $!";
	foreach my $f (glob("$ENV{PGT_NEW_SHAREDIR}/extension/pg_trickle*"))
	{
		copy($f, "$sharedir/extension/") or die "copying $f: $!";
	}
}
$node->start;

# before the update: writers are not disturbed, the API says what to do
$node->safe_psql('postgres', q{
	INSERT INTO orders VALUES (33, 3, 900);
	UPDATE orders SET amount = 1 WHERE id = 1;
});
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT pgtrickle.refresh_stream_table('region_totals')});
isnt($ret, 0, 'before ALTER EXTENSION UPDATE an API call fails');
like($err, qr/ALTER EXTENSION pg_trickle UPDATE/, 'and says to run ALTER EXTENSION pg_trickle UPDATE');
sleep(1);    # a few scheduler rounds
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pgtrickle.pgt_refresh_history WHERE status = 'FAILED'}),
	'0', 'the scheduler waits for the update without failing refreshes');

$node->safe_psql('postgres', 'ALTER EXTENSION pg_trickle UPDATE');
isnt($node->safe_psql('postgres', "SELECT extversion FROM pg_extension WHERE extname = 'pg_trickle'"),
	$old, 'updated');
is($node->safe_psql('postgres', q{
	SELECT string_agg(pgt_name || ': ' || issue, '; ') FROM pgtrickle.check_cdc_health() WHERE NOT healthy}),
	'', 'capture is complete after the update');

# every change, before and after the new library came, applied once
$node->safe_psql('postgres', q{
	SELECT pgtrickle.refresh_stream_table(n)
	  FROM unnest(ARRAY['region_totals', 'big_regions', 'order_count', 'big_orders']) n});
is($node->safe_psql('postgres', q{
	SELECT string_agg(s.pgt_name || '=' || h.action, ',' ORDER BY s.pgt_name)
	  FROM pgtrickle.pgt_stream_tables s
	  JOIN LATERAL (SELECT action FROM pgtrickle.pgt_refresh_history x
	                 WHERE x.pgt_id = s.pgt_id ORDER BY refresh_id DESC LIMIT 1) h ON true}),
	'big_orders=DIFFERENTIAL,big_regions=DIFFERENTIAL,order_count=FULL,region_totals=DIFFERENTIAL',
	'the first refreshes after the update are differential');
# the oracle: each stream table equals its defining query (PgtTap)
my %query = (
	region_totals => ['region, total, n',
		'SELECT c.region, sum(o.amount) AS total, count(*) AS n
		   FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.region'],
	big_regions => ['region, total',
		'SELECT region, total FROM (SELECT c.region, sum(o.amount) AS total
		   FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.region) t
		  WHERE total > 1000'],
	order_count => ['n', 'SELECT count(*) AS n FROM orders'],
	big_orders => ['id, amount', 'SELECT id, amount FROM orders WHERE amount > 200']);
foreach my $st (sort keys %query)
{
	my ($cols, $q) = @{ $query{$st} };
	is(stream_table_differs($node, 'postgres', "SELECT $cols FROM $st", $q),
		'0', "$st equals its query");
}
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
	 WHERE c.relnamespace = 'pgtrickle_changes'::regnamespace AND a.grantee <> c.relowner}),
	'0', 'no role keeps a grant on a change buffer');

# the scheduler keeps them fresh again
$node->safe_psql('postgres', q{
	SELECT pgtrickle.alter_stream_table('region_totals', schedule => '1s');
	INSERT INTO orders VALUES (34, 1, 10000);
});
ok($node->poll_query_until('postgres',
	q{SELECT total > 10000 FROM region_totals WHERE region = 'north'}),
	'the scheduler refreshes after the update');
is(stream_table_differs($node, 'postgres', 'SELECT region, total, n FROM region_totals',
	'SELECT c.region, sum(o.amount) AS total, count(*) AS n
	   FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.region'),
	'0', 'and the result is right');

$node->stop;
done_testing();
