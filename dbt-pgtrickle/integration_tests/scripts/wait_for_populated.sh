#!/usr/bin/env bash
# Wait until a stream table is populated (pgtrickle.pgt_stream_tables.is_populated),
# e.g. one made with initialize: false, before testing it in CI.
#
#   scripts/wait_for_populated.sh NAME [TIMEOUT_SECONDS]
#
# NAME is an SQL name as PostgreSQL reads it: analytics.order_totals,
# '"My Schema"."Order Totals"' (unqualified: search_path).  TIMEOUT defaults
# to 30.  Connects with psql and the usual PG* environment variables.
# Exit status 0 when populated, 1 on timeout, 2 when NAME is no stream table.
set -euo pipefail
name=${1:?usage: wait_for_populated.sh NAME [TIMEOUT_SECONDS]}
timeout=${2:-30}
deadline=$((SECONDS + timeout))
while :; do
	# psql variables quote the name as a literal; to_regclass parses it.
	state=$(psql -X -At -v ON_ERROR_STOP=1 -v name="$name" <<'SQL'
SELECT coalesce((SELECT is_populated::text FROM pgtrickle.pgt_stream_tables
                 WHERE pgt_relid = to_regclass(:'name')), 'missing');
SQL
)
	case $state in
	true) echo "stream table $name is populated"; exit 0 ;;
	missing) echo "error: $name is not a stream table" >&2; exit 2 ;;
	esac
	if ((SECONDS >= deadline)); then
		echo "error: stream table $name not populated after ${timeout}s" >&2
		exit 1
	fi
	sleep 0.5
done
