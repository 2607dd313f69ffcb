# Cron and CALCULATED schedules fire through the scheduler.
#
# A stream table with schedule '* * * * *' is refreshed at the next minute
# boundary after its last refresh (not before); a CALCULATED stream table
# follows the most frequent stream table that reads it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgtTap;

my $node = scheduler_node('cron', "pg_trickle.default_schedule_seconds = 3600\n");

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_trickle;
	CREATE TABLE src (id int PRIMARY KEY, v int);
	INSERT INTO src VALUES (1, 1);
	SELECT pgtrickle.create_stream_table('every_minute', 'SELECT count(*) AS n FROM src',
	                                     '* * * * *', 'DIFFERENTIAL');
	-- CALCULATED, read by a 1-second reader: refreshed every second too
	SELECT pgtrickle.create_stream_table('calc', 'SELECT id, v FROM src', 'calculated', 'DIFFERENTIAL');
	SELECT pgtrickle.create_stream_table('calc_reader', 'SELECT count(*) AS n FROM calc', '1s', 'DIFFERENTIAL');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'pg_trickle scheduler'"),
	'the scheduler runs');

$node->safe_psql('postgres', 'INSERT INTO src VALUES (2, 2)');
my $next = $node->safe_psql('postgres', q{
	SELECT pgtrickle._schedule_next_fire('* * * * *', last_refresh_at)
	  FROM pgtrickle.pgt_stream_tables WHERE pgt_name = 'every_minute'});

ok($node->poll_query_until('postgres', 'SELECT n = 2 FROM calc_reader'),
	'a CALCULATED table read by a 1-second reader is refreshed at its pace');
is($node->safe_psql('postgres', q{SELECT effective_schedule FROM pgtrickle.stream_tables_info WHERE pgt_name = 'calc'}),
	'1s', 'its effective schedule is the reader\'s');

ok($node->poll_query_until('postgres', 'SELECT n = 2 FROM every_minute'),
	'the cron stream table is refreshed');
is($node->safe_psql('postgres', qq{
	SELECT h.start_time >= '$next'::timestamptz
	  FROM pgtrickle.pgt_refresh_history h JOIN pgtrickle.pgt_stream_tables s USING (pgt_id)
	 WHERE s.pgt_name = 'every_minute' AND h.initiated_by = 'SCHEDULER'
	 ORDER BY h.refresh_id LIMIT 1}), 't', 'not before its next fire time');

$node->stop;
done_testing();
