/*-------------------------------------------------------------------------
 *
 * cmd_health.c
 *	  Commands that summarise: health (quick_health and check_cdc_health(),
 *	  with an exit code for scripts) and stats (refresh counters and totals).
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "pgtrickle.h"

#define LENGTH(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* ---- health ---- */

static const PgtColumn QuickHealthColumns[] = {
	{"status", NULL, PGT_COL_TEXT, 0},
	{"healthy", NULL, PGT_COL_BOOL, 0},	/* filled in below */
	{"total_stream_tables", NULL, PGT_COL_INT, 0},
	{"error_tables", NULL, PGT_COL_INT, 0},
	{"stale_tables", NULL, PGT_COL_INT, 0},
	{"paused_tables", NULL, PGT_COL_INT, 0},
	{"scheduler_running", NULL, PGT_COL_BOOL, 0},
};

static const PgtColumn CdcColumns[] = {
	{"pgt_schema", NULL, PGT_COL_TEXT, 0},
	{"pgt_name", NULL, PGT_COL_TEXT, 0},
	{"source_schema", NULL, PGT_COL_TEXT, 0},
	{"source_table", NULL, PGT_COL_TEXT, 0},
	{"cdc_mode", NULL, PGT_COL_TEXT, 0},
	{"slot_name", NULL, PGT_COL_TEXT, 0},
	{"lag_bytes", NULL, PGT_COL_BYTES, 0},
	{"confirmed_lsn", NULL, PGT_COL_TEXT, 0},
	{"buffer_rows", NULL, PGT_COL_INT, 0},
	{"buffer_bytes", NULL, PGT_COL_BYTES, 0},
	{"healthy", NULL, PGT_COL_BOOL, 0},
	{"issue", NULL, PGT_COL_TEXT, 0},
	{"alert", NULL, PGT_COL_TEXT, 0},
};

static const PgtColumn CdcTableColumns[] = {
	{"stream_table", "STREAM TABLE", PGT_COL_TEXT, 0},
	{"source_table", "SOURCE TABLE", PGT_COL_TEXT, 0},
	{"cdc_mode", "CDC MODE", PGT_COL_TEXT, 0},
	{"slot_name", "SLOT", PGT_COL_TEXT, 0},
	{"lag_bytes", "LAG", PGT_COL_BYTES, PGT_COLF_RIGHT},
	{"buffer_rows", "BUFFER ROWS", PGT_COL_INT, PGT_COLF_RIGHT},
	{"healthy", "HEALTHY", PGT_COL_BOOL, 0},
	{"alert", "ALERT", PGT_COL_TEXT, PGT_COLF_TRUNC},
};

static void
health_table(const PgtModel *q, const PgtModel *cdc)
{
	const char *status = ModelGet(q, 0, 0);
	const char *color = OutputColor ? OutputStatusColor(status) : NULL;
	const char *sched = ModelGet(q, 0, 6);

	printf("Status: %s%s%s (%s stream tables: %s in error, %s stale, %s paused; scheduler %s)\n",
		   color ? (strcmp(color, "green") == 0 ? "\033[32m" :
					strcmp(color, "red") == 0 ? "\033[31m" : "\033[33m") : "",
		   status ? status : "-", color ? "\033[0m" : "",
		   ModelGet(q, 0, 2), ModelGet(q, 0, 3), ModelGet(q, 0, 4),
		   ModelGet(q, 0, 5),
		   sched && sched[0] == 't' ? "running" : "not running");
	if (cdc->nrows > 0)
	{
		PgtModel   *t = ModelCreate(CdcTableColumns, LENGTH(CdcTableColumns));

		for (int r = 0; r < cdc->nrows; r++)
		{
			int			row = ModelAddRow(t);
			char	   *st = xasprintf("%s.%s", ModelGet(cdc, r, 0),
									   ModelGet(cdc, r, 1));
			char	   *src = xasprintf("%s.%s", ModelGet(cdc, r, 2),
										ModelGet(cdc, r, 3));
			const char *alert = ModelGet(cdc, r, 12);

			if (alert == NULL)
				alert = ModelGet(cdc, r, 11);
			ModelSet(t, row, 0, st);
			ModelSet(t, row, 1, src);
			ModelSet(t, row, 2, ModelGet(cdc, r, 4));
			ModelSet(t, row, 3, ModelGet(cdc, r, 5));
			ModelSet(t, row, 4, ModelGet(cdc, r, 6));
			ModelSet(t, row, 5, ModelGet(cdc, r, 8));
			ModelSet(t, row, 6, ModelGet(cdc, r, 10));
			ModelSet(t, row, 7, alert);
			free(st);
			free(src);
		}
		putchar('\n');
		OutputTable(t, stdout);
		ModelFree(t);
	}
}

int
CmdHealth(PGconn *conn, const PgtOptions *opts)
{
	PGresult   *res;
	PgtModel   *q;
	PgtModel   *cdc;
	const char *status;
	int			rc = PGT_EXIT_OK;

	res = ConnQuery(conn,
					"SELECT status, NULL::boolean, total_stream_tables,"
					" error_tables, stale_tables, paused_tables,"
					" scheduler_running FROM pgtrickle.quick_health", 0, NULL);
	if (res == NULL)
		return ConnFailureCode(conn);
	q = ModelFromResult(QuickHealthColumns, LENGTH(QuickHealthColumns), res);
	PQclear(res);
	res = ConnQuery(conn,
					"SELECT pgt_schema, pgt_name, source_schema, source_table,"
					" cdc_mode, slot_name, lag_bytes, confirmed_lsn::text,"
					" buffer_rows, buffer_bytes, healthy, issue, alert"
					" FROM pgtrickle.check_cdc_health()"
					" ORDER BY pgt_schema, pgt_name, source_schema, source_table",
					0, NULL);
	if (res == NULL)
	{
		ModelFree(q);
		return ConnFailureCode(conn);
	}
	cdc = ModelFromResult(CdcColumns, LENGTH(CdcColumns), res);
	PQclear(res);
	if (q->nrows == 0)
		ModelAddRow(q);

	/* the exit code gates scripts: WARNING or a sick source 4, CRITICAL 5 */
	status = ModelGet(q, 0, 0);
	if (status && strcmp(status, "CRITICAL") == 0)
		rc = PGT_EXIT_CRITICAL;
	else if (status == NULL ||
			 (strcmp(status, "OK") != 0 && strcmp(status, "EMPTY") != 0))
		rc = PGT_EXIT_WARNING;
	for (int r = 0; r < cdc->nrows && rc == PGT_EXIT_OK; r++)
	{
		const char *healthy = ModelGet(cdc, r, 10);

		if (healthy == NULL || healthy[0] != 't')
			rc = PGT_EXIT_WARNING;
	}
	ModelSet(q, 0, 1, rc == PGT_EXIT_OK ? "t" : "f");

	if (opts->format == PGT_FORMAT_TABLE)
		health_table(q, cdc);
	else if (opts->format == PGT_FORMAT_JSON)
	{
		json_t	   *obj = OutputRowToJson(q, 0);

		json_object_set_new(obj, "sources", OutputModelToJson(cdc));
		OutputPrintJson(obj, false, stdout);
		json_decref(obj);
	}
	else
		OutputCsv(cdc, stdout);
	ModelFree(cdc);
	ModelFree(q);
	return rc;
}

/* ---- stats ---- */

static const PgtColumn StatsColumns[] = {
	{"name", "NAME", PGT_COL_TEXT, 0},
	{"schema", "SCHEMA", PGT_COL_TEXT, 0},
	{"total_refreshes", "REFRESHES", PGT_COL_INT, PGT_COLF_RIGHT},
	{"successful_refreshes", "SUCCESSFUL", PGT_COL_INT, PGT_COLF_RIGHT},
	{"failed_refreshes", "FAILED", PGT_COL_INT, PGT_COLF_RIGHT},
	{"total_rows_inserted", "ROWS INSERTED", PGT_COL_INT, PGT_COLF_RIGHT},
	{"total_rows_deleted", "ROWS DELETED", PGT_COL_INT, PGT_COLF_RIGHT},
	{"avg_duration_ms", "AVG DURATION", PGT_COL_MS, PGT_COLF_RIGHT},
	{"last_action", "LAST ACTION", PGT_COL_TEXT, 0},
	{"last_status", "LAST STATUS", PGT_COL_TEXT, PGT_COLF_STATUS},
};

static const PgtColumn TotalsColumns[] = {
	{"stream_tables", NULL, PGT_COL_INT, 0},
	{"total_refreshes", NULL, PGT_COL_INT, 0},
	{"successful_refreshes", NULL, PGT_COL_INT, 0},
	{"failed_refreshes", NULL, PGT_COL_INT, 0},
	{"total_rows_inserted", NULL, PGT_COL_INT, 0},
	{"total_rows_deleted", NULL, PGT_COL_INT, 0},
	{"avg_duration_ms", NULL, PGT_COL_MS, 0},
};

int
CmdStats(PGconn *conn, const PgtOptions *opts)
{
	PGresult   *res;
	PgtModel   *m;
	PgtModel   *tot;
	long long	sums[5] = {0};
	double		weighted = 0;
	long long	weight = 0;
	char		buf[64];
	int			row;

	res = ConnQuery(conn,
					"SELECT pgt_name, pgt_schema, total_refreshes,"
					" successful_refreshes, failed_refreshes,"
					" total_rows_inserted, total_rows_deleted, avg_duration_ms,"
					" last_action, last_status"
					" FROM pgtrickle.pg_stat_stream_tables"
					" ORDER BY pgt_schema, pgt_name", 0, NULL);
	if (res == NULL)
		return ConnFailureCode(conn);
	m = ModelFromResult(StatsColumns, LENGTH(StatsColumns), res);
	PQclear(res);

	for (int r = 0; r < m->nrows; r++)
	{
		const char *avg = ModelGet(m, r, 7);
		const char *n = ModelGet(m, r, 2);

		for (int i = 0; i < 5; i++)
		{
			const char *v = ModelGet(m, r, 2 + i);

			if (v)
				sums[i] += strtoll(v, NULL, 10);
		}
		if (avg && n && strtoll(n, NULL, 10) > 0)
		{
			weighted += strtod(avg, NULL) * strtoll(n, NULL, 10);
			weight += strtoll(n, NULL, 10);
		}
	}
	tot = ModelCreate(TotalsColumns, LENGTH(TotalsColumns));
	row = ModelAddRow(tot);
	snprintf(buf, sizeof(buf), "%d", m->nrows);
	ModelSet(tot, row, 0, buf);
	for (int i = 0; i < 5; i++)
	{
		snprintf(buf, sizeof(buf), "%lld", sums[i]);
		ModelSet(tot, row, 1 + i, buf);
	}
	if (weight > 0)
	{
		snprintf(buf, sizeof(buf), "%.17g", weighted / weight);
		ModelSet(tot, row, 6, buf);
	}

	if (opts->format == PGT_FORMAT_TABLE)
	{
		row = ModelAddRow(m);
		ModelSet(m, row, 0, "TOTAL");
		ModelSet(m, row, 1, "");
		for (int i = 0; i < 6; i++)
			ModelSet(m, row, 2 + i, ModelGet(tot, 0, 1 + i));
		ModelSet(m, row, 8, "");
		ModelSet(m, row, 9, "");
		OutputTable(m, stdout);
	}
	else if (opts->format == PGT_FORMAT_JSON)
	{
		json_t	   *obj = json_object();

		json_object_set_new(obj, "stream_tables", OutputModelToJson(m));
		json_object_set_new(obj, "totals", OutputRowToJson(tot, 0));
		OutputPrintJson(obj, false, stdout);
		json_decref(obj);
	}
	else
		OutputCsv(m, stdout);
	ModelFree(tot);
	ModelFree(m);
	return PGT_EXIT_OK;
}
