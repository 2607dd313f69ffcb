/*-------------------------------------------------------------------------
 *
 * cmd_info.c
 *	  Commands that read: list, status, history, explain, health, stats.
 *	  Each runs the views and functions of the SQL API and hands a result
 *	  model to the renderer of --format.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "pgtrickle.h"

#define LENGTH(a) ((int) (sizeof(a) / sizeof((a)[0])))

/* ---- list (also used by watch) ---- */

const PgtColumn ListColumns[] = {
	{"name", "NAME", PGT_COL_TEXT, 0},
	{"schema", "SCHEMA", PGT_COL_TEXT, 0},
	{"status", "STATUS", PGT_COL_TEXT, PGT_COLF_STATUS},
	{"refresh_mode", "MODE", PGT_COL_TEXT, 0},
	{"schedule", "SCHEDULE", PGT_COL_TEXT, 0, "calculated"},
	{"effective_schedule", NULL, PGT_COL_TEXT, PGT_COLF_NOTABLE},
	{"is_populated", NULL, PGT_COL_BOOL, PGT_COLF_NOTABLE},
	{"stale", "STALE", PGT_COL_BOOL, 0},
	{"consecutive_errors", "ERRORS", PGT_COL_INT, PGT_COLF_RIGHT},
	{"staleness_seconds", NULL, PGT_COL_SECONDS, PGT_COLF_NOTABLE},
	{"data_timestamp", NULL, PGT_COL_TIMESTAMP, PGT_COLF_NOTABLE},
	{"last_refresh_at", "LAST REFRESH", PGT_COL_TIMESTAMP, 0},
};
const int	ListColumnCount = LENGTH(ListColumns);

const char *const ListQuery =
"SELECT pgt_name, pgt_schema, status, refresh_mode, schedule,"
" effective_schedule, is_populated, stale, consecutive_errors,"
" extract(epoch FROM staleness), data_timestamp, last_refresh_at"
" FROM pgtrickle.pg_stat_stream_tables"
" ORDER BY pgt_schema, pgt_name";

int
CmdList(PGconn *conn, const PgtOptions *opts)
{
	PGresult   *res = ConnQuery(conn, ListQuery, 0, NULL);
	PgtModel   *m;

	if (res == NULL)
		return ConnFailureCode(conn);
	m = ModelFromResult(ListColumns, ListColumnCount, res);
	PQclear(res);
	OutputModel(m, opts->format, stdout);
	ModelFree(m);
	return PGT_EXIT_OK;
}

/*
 * Exit code 0 when NAME resolves, the way the server resolves it, to a
 * stream table; otherwise report it and return 1 (or 2 if the connection
 * broke).
 */
int
InfoRequireStreamTable(PGconn *conn, const char *name)
{
	const char *params[1] = {name};
	PGresult   *res = ConnQuery(conn,
								"SELECT 1 FROM pgtrickle.pgt_stream_tables"
								" WHERE pgt_relid = pg_catalog.to_regclass($1)",
								1, params);
	bool		found;

	if (res == NULL)
		return ConnFailureCode(conn);
	found = PQntuples(res) > 0;
	PQclear(res);
	if (!found)
	{
		ReportError("stream table \"%s\" does not exist", name);
		return PGT_EXIT_SERVER;
	}
	return PGT_EXIT_OK;
}

/* ---- status ---- */

static const PgtColumn StatusColumns[] = {
	{"name", "Name", PGT_COL_TEXT, 0},
	{"schema", "Schema", PGT_COL_TEXT, 0},
	{"status", "Status", PGT_COL_TEXT, PGT_COLF_STATUS},
	{"refresh_mode", "Refresh Mode", PGT_COL_TEXT, 0},
	{"requested_refresh_mode", "Requested Mode", PGT_COL_TEXT, 0},
	{"schedule", "Schedule", PGT_COL_TEXT, 0, "calculated"},
	{"effective_schedule", "Effective Schedule", PGT_COL_TEXT, 0},
	{"cdc_mode", "CDC Mode", PGT_COL_TEXT, 0},
	{"is_populated", "Populated", PGT_COL_BOOL, 0},
	{"data_timestamp", "Data Timestamp", PGT_COL_TIMESTAMP, 0},
	{"last_refresh_at", "Last Refresh", PGT_COL_TIMESTAMP, 0},
	{"last_error_at", NULL, PGT_COL_TIMESTAMP, PGT_COLF_NOTABLE},
	{"created_at", NULL, PGT_COL_TIMESTAMP, PGT_COLF_NOTABLE},
	{"updated_at", NULL, PGT_COL_TIMESTAMP, PGT_COLF_NOTABLE},
	{"staleness_seconds", "Staleness", PGT_COL_SECONDS, 0},
	{"stale", "Stale", PGT_COL_BOOL, 0},
	{"consecutive_errors", "Consecutive Errors", PGT_COL_INT, 0},
	{"last_error_message", "Last Error", PGT_COL_TEXT, 0},
	{"total_refreshes", "Total Refreshes", PGT_COL_INT, 0},
	{"successful_refreshes", NULL, PGT_COL_INT, PGT_COLF_NOTABLE},
	{"failed_refreshes", "Failed Refreshes", PGT_COL_INT, 0},
	{"total_rows_inserted", NULL, PGT_COL_INT, PGT_COLF_NOTABLE},
	{"total_rows_deleted", NULL, PGT_COL_INT, PGT_COLF_NOTABLE},
	{"avg_duration_ms", "Avg Duration", PGT_COL_MS, 0},
	{"sources", "Source Tables", PGT_COL_TEXT, 0},	/* filled in below */
};

static const PgtColumn SourceColumns[] = {
	{"schema", NULL, PGT_COL_TEXT, 0},
	{"name", NULL, PGT_COL_TEXT, 0},
	{"source_type", NULL, PGT_COL_TEXT, 0},
	{"cdc_mode", NULL, PGT_COL_TEXT, 0},
};

/* "public.orders (TRIGGER), public.customers (TRIGGER)" or NULL. */
static char *
sources_text(const PgtModel *src)
{
	char	   *text = NULL;

	for (int r = 0; r < src->nrows; r++)
	{
		const char *mode = ModelGet(src, r, 3);
		char	   *next = xasprintf("%s%s%s.%s (%s)", text ? text : "",
									 text ? ", " : "",
									 ModelGet(src, r, 0), ModelGet(src, r, 1),
									 mode ? mode : ModelGet(src, r, 2));

		free(text);
		text = next;
	}
	return text;
}

static void
status_table(const PgtModel *m)
{
	const char *keys[LENGTH(StatusColumns)];
	char	   *values[LENGTH(StatusColumns)];
	bool		colored[LENGTH(StatusColumns)];
	int			n = 0;
	double		now = TimeNow();

	for (int c = 0; c < m->ncols; c++)
	{
		const PgtColumn *col = &m->cols[c];
		const char *val = ModelGet(m, 0, c);

		if (col->flags & PGT_COLF_NOTABLE)
			continue;
		keys[n] = col->header;
		colored[n] = (col->flags & PGT_COLF_STATUS) != 0;
		if (val && col->type == PGT_COL_TIMESTAMP)
			values[n] = TimeAbsolute(val, now);
		else if (val && col->type == PGT_COL_INT &&
				 strstr(col->key, "refreshes") != NULL)
			values[n] = TimeThousands(val);
		else if (val && col->type == PGT_COL_TEXT)
			values[n] = xstrdup(val);	/* keep an error's line breaks */
		else
			values[n] = OutputFormatCell(col, val);
		n++;
	}
	OutputKeyValues(keys, values, colored, n, stdout);
	for (int i = 0; i < n; i++)
		free(values[i]);
}

int
CmdStatus(PGconn *conn, const PgtOptions *opts)
{
	const char *params[1] = {opts->name};
	const char *idparam[1];
	PGresult   *res;
	PgtModel   *m;
	PgtModel   *src;
	int			rc;

	if ((rc = InfoRequireStreamTable(conn, opts->name)) != PGT_EXIT_OK)
		return rc;
	res = ConnQuery(conn,
					"SELECT i.pgt_name, i.pgt_schema, i.status, i.refresh_mode,"
					" i.requested_refresh_mode, i.schedule, i.effective_schedule,"
					" i.cdc_mode, i.is_populated, i.data_timestamp,"
					" i.last_refresh_at, i.last_error_at, i.created_at,"
					" i.updated_at, extract(epoch FROM i.staleness), i.stale,"
					" i.consecutive_errors, i.last_error_message,"
					" s.total_refreshes, s.successful_refreshes,"
					" s.failed_refreshes, s.total_rows_inserted,"
					" s.total_rows_deleted, s.avg_duration_ms, NULL::text, i.pgt_id"
					" FROM pgtrickle.stream_tables_info i"
					" LEFT JOIN pgtrickle.pg_stat_stream_tables s"
					"   ON s.pgt_id = i.pgt_id"
					" WHERE i.pgt_relid = pg_catalog.to_regclass($1)",
					1, params);
	if (res == NULL)
		return ConnFailureCode(conn);
	if (PQntuples(res) == 0)
	{
		/* dropped between the two queries */
		PQclear(res);
		ReportError("stream table \"%s\" does not exist", opts->name);
		return PGT_EXIT_SERVER;
	}
	m = ModelFromResult(StatusColumns, LENGTH(StatusColumns), res);
	idparam[0] = PQgetvalue(res, 0, LENGTH(StatusColumns));
	{
		PGresult   *sres = ConnQuery(conn,
									 "SELECT n.nspname, c.relname, d.source_type,"
									 " d.cdc_mode"
									 " FROM pgtrickle.pgt_dependencies d"
									 " JOIN pg_catalog.pg_class c"
									 "   ON c.oid = d.source_relid"
									 " JOIN pg_catalog.pg_namespace n"
									 "   ON n.oid = c.relnamespace"
									 " WHERE d.pgt_id = $1 ORDER BY 1, 2",
									 1, idparam);

		PQclear(res);
		if (sres == NULL)
		{
			ModelFree(m);
			return ConnFailureCode(conn);
		}
		src = ModelFromResult(SourceColumns, LENGTH(SourceColumns), sres);
		PQclear(sres);
	}

	{
		char	   *text = sources_text(src);

		ModelSet(m, 0, m->ncols - 1, text);
		free(text);
	}
	if (opts->format == PGT_FORMAT_TABLE)
		status_table(m);
	else if (opts->format == PGT_FORMAT_JSON)
	{
		json_t	   *obj = OutputRowToJson(m, 0);

		json_object_set_new(obj, "sources", OutputModelToJson(src));
		OutputPrintJson(obj, false, stdout);
		json_decref(obj);
	}
	else
		OutputCsv(m, stdout);
	ModelFree(src);
	ModelFree(m);
	return PGT_EXIT_OK;
}

/* ---- history ---- */

static const PgtColumn HistoryColumns[] = {
	{"refresh_id", "ID", PGT_COL_INT, PGT_COLF_RIGHT},
	{"data_timestamp", NULL, PGT_COL_TIMESTAMP, PGT_COLF_NOTABLE},
	{"start_time", "STARTED", PGT_COL_TIMESTAMP, 0},
	{"end_time", NULL, PGT_COL_TIMESTAMP, PGT_COLF_NOTABLE},
	{"action", "ACTION", PGT_COL_TEXT, 0},
	{"status", "STATUS", PGT_COL_TEXT, PGT_COLF_STATUS},
	{"rows_inserted", "INSERTED", PGT_COL_INT, PGT_COLF_RIGHT},
	{"rows_deleted", "DELETED", PGT_COL_INT, PGT_COLF_RIGHT},
	{"duration_ms", "DURATION", PGT_COL_MS, PGT_COLF_RIGHT},
	{"error_message", "ERROR", PGT_COL_TEXT, PGT_COLF_TRUNC},
	{"initiated_by", "BY", PGT_COL_TEXT, 0},
};

int
CmdHistory(PGconn *conn, const PgtOptions *opts)
{
	char		limit[16];
	const char *params[2] = {opts->name, limit};
	PGresult   *res;
	PgtModel   *m;
	int			rc;

	if ((rc = InfoRequireStreamTable(conn, opts->name)) != PGT_EXIT_OK)
		return rc;
	snprintf(limit, sizeof(limit), "%d", opts->limit > 0 ? opts->limit : 20);
	res = ConnQuery(conn,
					"SELECT refresh_id, data_timestamp, start_time, end_time,"
					" action, status, rows_inserted, rows_deleted, duration_ms,"
					" error_message, initiated_by"
					" FROM pgtrickle.get_refresh_history($1, $2::integer)",
					2, params);
	if (res == NULL)
		return ConnFailureCode(conn);
	m = ModelFromResult(HistoryColumns, LENGTH(HistoryColumns), res);
	PQclear(res);
	OutputModel(m, opts->format, stdout);
	ModelFree(m);
	return PGT_EXIT_OK;
}

/* ---- explain ---- */

static const PgtColumn ExplainColumns[] = {
	{"property", "PROPERTY", PGT_COL_TEXT, 0},
	{"value", "VALUE", PGT_COL_TEXT, 0},
};

static void
explain_table(const PgtModel *m)
{
	int			width = 0;

	for (int r = 0; r < m->nrows; r++)
	{
		int			len = (int) strlen(ModelGet(m, r, 0));

		if (len > width)
			width = len;
	}
	for (int r = 0; r < m->nrows; r++)
	{
		const char *prop = ModelGet(m, r, 0);
		const char *val = ModelGet(m, r, 1);

		if (val && strchr(val, '\n'))
		{
			/* a query or plan: its own lines, indented */
			printf("%s:\n    ", prop);
			for (const char *p = val; *p; p++)
			{
				putchar(*p);
				if (*p == '\n')
					fputs("    ", stdout);
			}
			putchar('\n');
		}
		else
			printf("%s:%*s %s\n", prop, width - (int) strlen(prop), "",
				   val ? val : "-");
	}
}

int
CmdExplain(PGconn *conn, const PgtOptions *opts)
{
	const char *params[1] = {opts->name};
	PGresult   *res;
	PgtModel   *m;
	int			rc;

	if ((rc = InfoRequireStreamTable(conn, opts->name)) != PGT_EXIT_OK)
		return rc;
	res = ConnQuery(conn, "SELECT property, value FROM pgtrickle.explain_st($1)",
					1, params);
	if (res == NULL)
		return ConnFailureCode(conn);
	m = ModelFromResult(ExplainColumns, LENGTH(ExplainColumns), res);
	PQclear(res);
	if (opts->format == PGT_FORMAT_TABLE)
		explain_table(m);
	else if (opts->format == PGT_FORMAT_JSON)
	{
		json_t	   *obj = json_object();

		for (int r = 0; r < m->nrows; r++)
			json_object_set_new(obj, ModelGet(m, r, 0),
								OutputCellToJson(&ExplainColumns[1],
												 ModelGet(m, r, 1)));
		OutputPrintJson(obj, false, stdout);
		json_decref(obj);
	}
	else
		OutputCsv(m, stdout);
	ModelFree(m);
	return PGT_EXIT_OK;
}

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
