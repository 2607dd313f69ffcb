# Shared by the TAP tests in test/t: a cluster with pg_trickle preloaded and
# its scheduler on, and the oracle that compares a stream table with its
# defining query.
package PgtTap;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(scheduler_node stream_table_differs);

# scheduler_node(NAME, EXTRA_CONF, INIT_PARAMS...): a started cluster with
# the library preloaded, the scheduler on and a fast round (100 ms unless
# EXTRA_CONF sets pg_trickle.scheduler_interval_ms; later lines win).
sub scheduler_node
{
	my ($name, $extra_conf, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%init);
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_trickle'
pg_trickle.enabled = on
pg_trickle.scheduler_interval_ms = 100
max_worker_processes = 16
} . ($extra_conf // ''));
	$node->start;
	return $node;
}

# stream_table_differs(NODE, DB, ST_SELECT, QUERY): how many rows the
# stream table (ST_SELECT names its columns, so internal __pgt_* columns are
# left out) and its defining query (QUERY) do not share, as multisets: '0'
# when equal.  It waits for locks, whatever lock_timeout the database has.
sub stream_table_differs
{
	my ($node, $db, $st_select, $query) = @_;
	return $node->safe_psql($db, qq{
		SET lock_timeout = 0;
		SELECT count(*) FROM (
		  (SELECT (s.*)::text FROM ($st_select) s
		   EXCEPT ALL SELECT (q.*)::text FROM ($query) q)
		  UNION ALL
		  (SELECT (q.*)::text FROM ($query) q
		   EXCEPT ALL SELECT (s.*)::text FROM ($st_select) s)) d});
}

1;
