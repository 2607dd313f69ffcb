-- Only the arguments given change; NULL (omitted) means "unchanged".
SELECT pgtrickle.alter_stream_table('order_totals', schedule => '10m');
