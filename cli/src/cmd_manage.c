/*-------------------------------------------------------------------------
 *
 * cmd_manage.c
 *	  Commands that change things: create, drop, refresh, alter, pause,
 *	  resume, and verify (which refreshes before it compares).  Each is one
 *	  call of an API function; user text only ever travels as a parameter.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pgtrickle.h"

/* A call with named arguments, built from constant SQL fragments. */
typedef struct CallBuilder
{
	char		sql[512];
	const char *params[8];
	int			nparams;
} CallBuilder;

static void
call_start(CallBuilder *b, const char *function, const char *name)
{
	snprintf(b->sql, sizeof(b->sql), "SELECT pgtrickle.%s(name => $1", function);
	b->params[0] = name;
	b->nparams = 1;
}

static void
call_arg(CallBuilder *b, const char *argname, const char *value)
{
	size_t		len = strlen(b->sql);

	if (value == NULL)
		return;
	b->params[b->nparams++] = value;
	snprintf(b->sql + len, sizeof(b->sql) - len, ", %s => $%d",
			 argname, b->nparams);
}

static void
call_literal(CallBuilder *b, const char *fragment)
{
	size_t		len = strlen(b->sql);

	snprintf(b->sql + len, sizeof(b->sql) - len, "%s", fragment);
}

static int
call_run(PGconn *conn, CallBuilder *b)
{
	PGresult   *res;

	call_literal(b, ")");
	res = ConnQuery(conn, b->sql, b->nparams, b->params);
	if (res == NULL)
		return ConnFailureCode(conn);
	PQclear(res);
	return PGT_EXIT_OK;
}

/* The success report of an action, in the chosen format. */
static void
report_action(const PgtOptions *opts, const char *verb)
{
	switch (opts->format)
	{
		case PGT_FORMAT_TABLE:
			printf("%s stream table \"%s\".\n", verb, opts->name);
			break;
		case PGT_FORMAT_JSON:
			{
				json_t	   *obj = json_object();

				json_object_set_new(obj, "ok", json_true());
				json_object_set_new(obj, "command", json_string(opts->command));
				json_object_set_new(obj, "name", json_string(opts->name));
				OutputPrintJson(obj, false, stdout);
				json_decref(obj);
			}
			break;
		case PGT_FORMAT_CSV:
			fputs("ok,command,name\ntrue,", stdout);
			OutputCsvField(opts->command, stdout);
			fputc(',', stdout);
			OutputCsvField(opts->name, stdout);
			fputc('\n', stdout);
			break;
	}
}

/* Whole contents of PATH ("-" = stdin), or NULL after reporting why. */
static char *
read_query_file(const char *path)
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char	   *buf = NULL;
	size_t		len = 0;
	size_t		cap = 0;
	size_t		n;

	if (f == NULL)
	{
		ReportError("could not open file \"%s\" for reading: %s",
					path, strerror(errno));
		return NULL;
	}
	do
	{
		if (cap - len < 4096)
		{
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			if (buf == NULL)
			{
				ReportError("out of memory");
				exit(PGT_EXIT_SERVER);
			}
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	if (ferror(f))
	{
		ReportError("could not read file \"%s\": %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	}
	else
		buf[len] = '\0';
	if (f != stdin)
		fclose(f);
	return buf;
}

/* The query of --query or --file; *owned is set when it must be freed. */
static int
get_query(const PgtOptions *opts, const char **query, char **owned)
{
	*owned = NULL;
	*query = opts->query;
	if (opts->file)
	{
		*owned = read_query_file(opts->file);
		if (*owned == NULL)
			return PGT_EXIT_SERVER;
		*query = *owned;
	}
	return PGT_EXIT_OK;
}

int
CmdCreate(PGconn *conn, const PgtOptions *opts)
{
	CallBuilder b;
	const char *query;
	char	   *owned;
	int			rc;

	if ((rc = get_query(opts, &query, &owned)) != PGT_EXIT_OK)
		return rc;
	call_start(&b, "create_stream_table", opts->name);
	call_arg(&b, "query", query);
	call_arg(&b, "schedule", opts->schedule);
	call_arg(&b, "refresh_mode", opts->mode);
	call_arg(&b, "cdc_mode", opts->cdc_mode);
	if (opts->no_initialize)
		call_literal(&b, ", initialize => false");
	rc = call_run(conn, &b);
	free(owned);
	if (rc == PGT_EXIT_OK)
		report_action(opts, "Created");
	return rc;
}

int
CmdAlter(PGconn *conn, const PgtOptions *opts)
{
	CallBuilder b;
	const char *query;
	char	   *owned;
	int			rc;

	if ((rc = get_query(opts, &query, &owned)) != PGT_EXIT_OK)
		return rc;
	call_start(&b, "alter_stream_table", opts->name);
	call_arg(&b, "schedule", opts->schedule);
	call_arg(&b, "refresh_mode", opts->mode);
	call_arg(&b, "status", opts->status);
	call_arg(&b, "query", query);
	rc = call_run(conn, &b);
	free(owned);
	if (rc == PGT_EXIT_OK)
		report_action(opts, "Altered");
	return rc;
}

int
CmdDrop(PGconn *conn, const PgtOptions *opts)
{
	CallBuilder b;
	int			rc;

	call_start(&b, "drop_stream_table", opts->name);
	if (opts->cascade)
		call_literal(&b, ", \"cascade\" => true");
	rc = call_run(conn, &b);
	if (rc == PGT_EXIT_OK)
		report_action(opts, "Dropped");
	return rc;
}

/* The one-argument actions. */
static int
simple_action(PGconn *conn, const PgtOptions *opts, const char *function,
			  const char *verb)
{
	CallBuilder b;
	int			rc;

	call_start(&b, function, opts->name);
	rc = call_run(conn, &b);
	if (rc == PGT_EXIT_OK)
		report_action(opts, verb);
	return rc;
}

int
CmdRefresh(PGconn *conn, const PgtOptions *opts)
{
	return simple_action(conn, opts, "refresh_stream_table", "Refreshed");
}

int
CmdPause(PGconn *conn, const PgtOptions *opts)
{
	return simple_action(conn, opts, "pause_stream_table", "Paused");
}

int
CmdResume(PGconn *conn, const PgtOptions *opts)
{
	return simple_action(conn, opts, "resume_stream_table", "Resumed");
}

static const PgtColumn VerifyColumns[] = {
	{"side", "SIDE", PGT_COL_TEXT, 0},
	{"row_data", "ROW", PGT_COL_JSON, 0},
};

int
CmdVerify(PGconn *conn, const PgtOptions *opts)
{
	const char *params[1] = {opts->name};
	PGresult   *res;
	PgtModel   *m;
	int			rc;

	res = ConnQuery(conn,
					"SELECT side, row_data FROM pgtrickle.verify_stream_table($1)",
					1, params);
	if (res == NULL)
		return ConnFailureCode(conn);
	m = ModelFromResult(VerifyColumns, 2, res);
	PQclear(res);
	rc = m->nrows > 0 ? PGT_EXIT_WARNING : PGT_EXIT_OK;
	if (opts->format == PGT_FORMAT_TABLE)
	{
		if (m->nrows == 0)
			printf("Stream table \"%s\" is consistent.\n", opts->name);
		else
		{
			OutputTable(m, stdout);
			printf("%d %s.\n", m->nrows, m->nrows == 1 ? "row differs" : "rows differ");
		}
	}
	else
		OutputModel(m, opts->format, stdout);
	ModelFree(m);
	return rc;
}
