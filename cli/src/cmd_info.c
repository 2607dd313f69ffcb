/*-------------------------------------------------------------------------
 *
 * cmd_info.c
 *	  Commands that read one or all stream tables: list, status, history,
 *	  explain.  Each runs the views and functions of the SQL API and hands a
 *	  result model to the renderer of --format.
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
