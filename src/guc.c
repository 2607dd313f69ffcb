/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Every pg_trickle configuration parameter.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "guc.h"

bool		pgt_enabled = true;
int			pgt_scheduler_interval_ms = 1000;
int			pgt_min_schedule_seconds = 1;
int			pgt_default_schedule_seconds = 60;
int			pgt_max_concurrent_refreshes = 4;
int			pgt_max_consecutive_errors = 3;
int			pgt_history_retention_days = 30;
int			pgt_cdc_mode = PGT_CDC_TRIGGER;
double		pgt_differential_max_change_ratio = 0.15;
int			pgt_max_buffer_rows = 0;
int			pgt_delta_statements_built = 0;

static const struct config_enum_entry cdc_mode_options[] = {
	{"trigger", PGT_CDC_TRIGGER, false},
	{"wal", PGT_CDC_WAL, false},
	{"auto", PGT_CDC_AUTO, false},
	{NULL, 0, false}
};

void
GucInit(void)
{
	DefineCustomBoolVariable("pg_trickle.enabled",
							 "Lets the scheduler refresh stream tables.",
							 "When off, the scheduler refreshes nothing; changes are still captured.",
							 &pgt_enabled, true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("pg_trickle.scheduler_interval_ms",
							"How often each scheduler wakes up to look for due stream tables.",
							NULL,
							&pgt_scheduler_interval_ms, 1000, 10, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);

	DefineCustomIntVariable("pg_trickle.min_schedule_seconds",
							"Shortest schedule a stream table may be given.",
							NULL,
							&pgt_min_schedule_seconds, 1, 1, 86400 * 7,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("pg_trickle.default_schedule_seconds",
							"Refresh interval of a CALCULATED stream table that no other stream table reads.",
							NULL,
							&pgt_default_schedule_seconds, 60, 1, 86400 * 7,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);

	DefineCustomIntVariable("pg_trickle.max_concurrent_refreshes",
							"Most refreshes a database's scheduler runs at once.",
							NULL,
							&pgt_max_concurrent_refreshes, 4, 1, 64,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("pg_trickle.max_consecutive_errors",
							"Failed scheduled refreshes in a row after which a stream table is SUSPENDED.",
							NULL,
							&pgt_max_consecutive_errors, 3, 1, 1000,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("pg_trickle.history_retention_days",
							"Days of refresh history kept in pgtrickle.pgt_refresh_history.",
							NULL,
							&pgt_history_retention_days, 30, 1, 36500,
							PGC_SIGHUP, 0, NULL, NULL, NULL);

	DefineCustomEnumVariable("pg_trickle.cdc_mode",
							 "How changes of sources are captured by default.",
							 "Only trigger is available; wal and auto are reserved for logical decoding.",
							 &pgt_cdc_mode, PGT_CDC_TRIGGER, cdc_mode_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);

	DefineCustomRealVariable("pg_trickle.differential_max_change_ratio",
							 "Share of a source's rows above which a pending change is applied by FULL refresh.",
							 "A differential refresh whose change set exceeds this share of a source recomputes instead; the refresh history says so.",
							 &pgt_differential_max_change_ratio, 0.15, 0.0, 1.0,
							 PGC_USERSET, 0, NULL, NULL, NULL);

	DefineCustomIntVariable("pg_trickle.max_buffer_rows",
							"Most rows a change buffer keeps for stream tables that lag behind (0: no limit).",
							"When a prune leaves more rows than this in a source's change buffer, the stream tables holding them give up their pending changes and recompute (FULL) at their next refresh.  Writers are never blocked.",
							&pgt_max_buffer_rows, 0, 0, PG_INT32_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);

	/*
	 * Read-only: counted by this backend (src/refresh/differential.c),
	 * never set.  What a test or a user checks to see kept plans being
	 * reused: SHOW or current_setting(), not listed by SHOW ALL or
	 * pg_settings (a count, not a setting).
	 */
	DefineCustomIntVariable("pg_trickle.delta_statements_built",
							"Delta statements this session built and planned for its DIFFERENTIAL refreshes (read-only).",
							"A refresh whose statement was kept in the session from an earlier refresh does not count.",
							&pgt_delta_statements_built, 0, 0, PG_INT32_MAX,
							PGC_INTERNAL, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_trickle");
}
