/*-------------------------------------------------------------------------
 *
 * names.c
 *	  Argument checks shared by the SQL-callable functions.
 *
 * Names of stream tables are SQL identifiers, possibly qualified, parsed by
 * PostgreSQL's own identifier rules: '"My Schema"."Order Totals"' works and
 * nothing is ever split on '.' by hand.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"

#include "api/api.h"
#include "compat.h"
#include "guc.h"
#include "scheduler/schedule.h"

/*
 * A text argument as a C string; NULL when the argument is NULL and argname
 * is NULL, an error when it is NULL and argname names it (a required one).
 */
char *
ApiArgText(FunctionCallInfo fcinfo, int argno, const char *argname)
{
	if (PG_ARGISNULL(argno))
	{
		if (argname != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("argument \"%s\" must not be null", argname)));
		return NULL;
	}
	return text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

RangeVar *
ApiNameToRangeVar(const char *name)
{
	List	   *names = pgt_string_to_qualified_name_list(name);

	if (list_length(names) > 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("improper qualified name (too many dotted names): %s", name)));
	return makeRangeVarFromNameList(names);
}

static char *
rangevar_text(const RangeVar *rv)
{
	return rv->schemaname ? psprintf("%s.%s", rv->schemaname, rv->relname)
		: pstrdup(rv->relname);
}

/*
 * Find a stream table by name and lock its storage table.  The lock is taken
 * before the catalog row is read, so a concurrent drop or rename is seen.
 */
StreamTable *
ApiLookup(const char *name, LOCKMODE lockmode)
{
	RangeVar   *rv = ApiNameToRangeVar(name);
	Oid			relid;
	StreamTable *st;

	relid = RangeVarGetRelidExtended(rv, lockmode, RVR_MISSING_OK, NULL, NULL);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("stream table \"%s\" does not exist", rangevar_text(rv))));
	st = CatalogGetByRelid(relid);
	if (st == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("\"%s\" is not a stream table", rangevar_text(rv))));
	return st;
}

void
ApiCheckOwner(const StreamTable *st)
{
	if (!pgt_class_ownercheck(st->relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of stream table %s",
						quote_qualified_identifier(st->schema, st->name))));
}

void
ApiCheckNotInError(const StreamTable *st)
{
	if (strcmp(st->status, "ERROR") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("stream table %s is in ERROR status",
						quote_qualified_identifier(st->schema, st->name)),
				 errhint("Fix the cause, then call pgtrickle.resume_stream_table().")));
}

/* A keyword argument, upper-cased, if it is one of the allowed words. */
static const char *
parse_keyword(const char *value, const char *argname, const char *const *allowed)
{
	char	   *trimmed = pstrdup(value);
	char	   *p;
	int			len;

	while (*trimmed == ' ' || *trimmed == '\t' || *trimmed == '\n')
		trimmed++;
	len = strlen(trimmed);
	while (len > 0 && (trimmed[len - 1] == ' ' || trimmed[len - 1] == '\t' ||
					   trimmed[len - 1] == '\n'))
		trimmed[--len] = '\0';
	for (p = trimmed; *p; p++)
		*p = pg_ascii_toupper((unsigned char) *p);
	for (int i = 0; allowed[i] != NULL; i++)
		if (strcmp(trimmed, allowed[i]) == 0)
			return allowed[i];
	{
		StringInfoData list;

		initStringInfo(&list);
		for (int i = 0; allowed[i] != NULL; i++)
			appendStringInfo(&list, "%s'%s'", i > 0 ? ", " : "", allowed[i]);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s \"%s\"", argname, value),
				 errhint("Valid values are %s.", list.data)));
	}
	return NULL;				/* keep compiler quiet */
}

const char *
ApiParseRefreshMode(const char *mode)
{
	static const char *const modes[] = {"FULL", "DIFFERENTIAL", "AUTO", NULL};

	return parse_keyword(mode, "refresh_mode", modes);
}

const char *
ApiParseStatus(const char *status)
{
	static const char *const statuses[] = {"ACTIVE", "PAUSED", NULL};

	return parse_keyword(status, "status", statuses);
}

/*
 * cdc_mode: NULL takes pg_trickle.cdc_mode.  Only trigger capture exists;
 * 'wal' and 'auto' are reserved for capture through logical decoding.
 */
const char *
ApiParseCdcMode(const char *cdc_mode)
{
	static const char *const modes[] = {"TRIGGER", "WAL", "AUTO", NULL};
	const char *mode;

	if (cdc_mode == NULL)
		mode = pgt_cdc_mode == PGT_CDC_TRIGGER ? "TRIGGER" :
			pgt_cdc_mode == PGT_CDC_WAL ? "WAL" : "AUTO";
	else
		mode = parse_keyword(cdc_mode, "cdc_mode", modes);
	if (strcmp(mode, "TRIGGER") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cdc_mode \"%s\" is not supported yet", asc_tolower(mode, strlen(mode))),
				 errdetail("Changes are captured by triggers; capture through logical decoding is reserved for a later version."),
				 errhint("Use cdc_mode => 'trigger'.")));
	return "trigger";
}

/*
 * A schedule as stored: trimmed, or NULL for CALCULATED.
 */
char *
ApiParseSchedule(const char *schedule)
{
	Schedule	parsed;
	char	   *trimmed;
	int			len;

	if (schedule == NULL)
		return NULL;
	ScheduleParseOrError(schedule, pgt_min_schedule_seconds, &parsed);
	if (parsed.kind == SCHEDULE_CALCULATED)
		return NULL;
	trimmed = pstrdup(schedule);
	while (*trimmed == ' ' || *trimmed == '\t' || *trimmed == '\n')
		trimmed++;
	len = strlen(trimmed);
	while (len > 0 && (trimmed[len - 1] == ' ' || trimmed[len - 1] == '\t' ||
					   trimmed[len - 1] == '\n'))
		trimmed[--len] = '\0';
	return trimmed;
}

/*
 * The caller's search_path spelled out as a list of schemas, so that names in
 * a query resolve the same when a statement later runs as another role
 * ("$user" would otherwise name that role).  Temporary schemas are left out:
 * stream tables never read temporary tables.
 */
char *
ApiCallerSearchPath(void)
{
	List	   *path = fetch_search_path(true);
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, path)
	{
		Oid			nsp = lfirst_oid(lc);

		if (isAnyTempNamespace(nsp))
			continue;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
						 quote_identifier(get_namespace_name(nsp)));
	}
	if (buf.len == 0)
		appendStringInfoString(&buf, "pg_catalog");
	return buf.data;
}

/*
 * The refresh mode in effect for a requested one.  An explicit DIFFERENTIAL
 * that the engine cannot honour is an error; AUTO falls back to FULL and
 * says why.
 */
void
ApiResolveMode(const char *stname, const char *requested, const QueryAnalysis *qa,
			   const char **mode, const char **fallback_reason)
{
	*fallback_reason = NULL;
	if (strcmp(requested, "FULL") == 0 || qa->differential_ok)
	{
		*mode = strcmp(requested, "FULL") == 0 ? "FULL" : "DIFFERENTIAL";
		return;
	}
	if (strcmp(requested, "DIFFERENTIAL") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("stream table %s cannot be refreshed differentially", stname),
				 errdetail("Differential refresh is not possible: %s.",
						   qa->not_differential_reason),
				 errhint("Use refresh_mode => 'FULL', or 'AUTO' to fall back to FULL refresh.")));
	ereport(NOTICE,
			(errmsg("stream table %s will be refreshed FULL", stname),
			 errdetail("Differential refresh is not possible: %s.",
					   qa->not_differential_reason)));
	*mode = "FULL";
	*fallback_reason = qa->not_differential_reason;
}
