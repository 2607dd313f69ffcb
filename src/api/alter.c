/*-------------------------------------------------------------------------
 *
 * alter.c
 *	  alter_stream_table, pause_stream_table and resume_stream_table.
 *
 * A new defining query is applied in place, in one transaction: readers see
 * the old contents until the new ones commit.  When the output columns stay
 * the same (names, types, order) only the defining view is replaced and the
 * storage table refilled; otherwise the storage table's columns are changed
 * with ALTER TABLE (it keeps its OID, grants and the indexes on surviving
 * columns; new columns go at the end).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/ruleutils.h"

#include "api/api.h"
#include "capture/capture.h"
#include "delta/delta.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(pgt_alter_stream_table);
PG_FUNCTION_INFO_V1(pgt_pause_stream_table);
PG_FUNCTION_INFO_V1(pgt_resume_stream_table);

static char *
column_type_sql(Oid type, int32 typmod, Oid collation)
{
	char	   *sql = format_type_with_typemod(type, typmod);

	if (OidIsValid(collation) && collation != get_typcollation(type))
		sql = psprintf("%s COLLATE %s", sql, generate_collation_name(collation));
	return sql;
}

/* Whether a relation's columns are the query's, in order, names and types. */
static bool
same_columns(Oid relid, const QueryAnalysis *qa)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	int			pos = 0;
	bool		same = true;

	for (int i = 0; i < desc->natts && same; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			continue;
		same = pos < list_length(qa->colnames) &&
			strcmp(NameStr(att->attname), list_nth(qa->colnames, pos)) == 0 &&
			att->atttypid == list_nth_oid(qa->coltypes, pos) &&
			att->atttypmod == list_nth_int(qa->coltypmods, pos) &&
			att->attcollation == list_nth_oid(qa->colcollations, pos);
		pos++;
	}
	table_close(rel, AccessShareLock);
	return same && pos == list_length(qa->colnames);
}

/*
 * ALTER TABLE subcommands that give the storage table the output columns of
 * a new query, matching columns by name; "" when names and types match.
 */
static char *
storage_changes(Oid relid, const QueryAnalysis *qa)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData cmds;

	initStringInfo(&cmds);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		int			j = 0;
		bool		found = false;
		ListCell   *lc;

		/* hidden columns belong to the differential engine */
		if (att->attisdropped || strncmp(NameStr(att->attname), "__pgt_", 6) == 0)
			continue;
		foreach(lc, qa->colnames)
		{
			if (strcmp(NameStr(att->attname), lfirst(lc)) == 0)
			{
				found = true;
				break;
			}
			j++;
		}
		if (!found)
			appendStringInfo(&cmds, "%sDROP COLUMN %s", cmds.len ? ", " : "",
							 quote_identifier(NameStr(att->attname)));
		else if (att->atttypid != list_nth_oid(qa->coltypes, j) ||
				 att->atttypmod != list_nth_int(qa->coltypmods, j) ||
				 att->attcollation != list_nth_oid(qa->colcollations, j))
			appendStringInfo(&cmds, "%sALTER COLUMN %s TYPE %s USING NULL",
							 cmds.len ? ", " : "",
							 quote_identifier(NameStr(att->attname)),
							 column_type_sql(list_nth_oid(qa->coltypes, j),
											 list_nth_int(qa->coltypmods, j),
											 list_nth_oid(qa->colcollations, j)));
	}

	for (int j = 0; j < list_length(qa->colnames); j++)
	{
		const char *name = list_nth(qa->colnames, j);
		bool		found = false;

		for (int i = 0; i < desc->natts && !found; i++)
			found = !TupleDescAttr(desc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(desc, i)->attname), name) == 0;
		if (!found)
			appendStringInfo(&cmds, "%sADD COLUMN %s %s", cmds.len ? ", " : "",
							 quote_identifier(name),
							 column_type_sql(list_nth_oid(qa->coltypes, j),
											 list_nth_int(qa->coltypmods, j),
											 list_nth_oid(qa->colcollations, j)));
	}
	table_close(rel, AccessShareLock);
	return cmds.data;
}

/*
 * Make a stream table ready for differential refresh: the hidden columns of
 * its shape and capture on its sources.  Its next refresh must be a full
 * one (initial population or REINITIALIZE), which sets the frontiers.
 */
void
StreamTableEnableDifferential(const StreamTable *st)
{
	DeltaPrepareStorage(st, DifferentialShape(st));
	CaptureAttach(st->pgt_id);
}

/*
 * Replace the defining query of a stream table and refill it.  The caller
 * holds at least ExclusiveLock on the storage table.
 */
void
StreamTableSetQuery(StreamTable *st, const char *query)
{
	char	   *qualified = quote_qualified_identifier(st->schema, st->name);
	char	   *search_path = ApiCallerSearchPath();
	QueryAnalysis *qa = AnalyzeDefiningQuery(query);
	const char *mode;
	const char *fallback;
	char	   *changes;
	StreamTable *updated;
	Oid			owner = SandboxOwner(st->relid);

	AnalyzeRowSecurity(qa, owner);
	ApiResolveMode(qualified, st->requested_mode, qa, owner, &mode, &fallback);

	/* the storage table matches the defining view by names and types */
	if (same_columns(st->query_relid, qa))
		DependReplaceDefiningView(st->query_relid, qa->body, search_path);
	else
	{
		changes = storage_changes(st->relid, qa);
		DependDropDefiningView(st->query_relid, st->relid);
		if (changes[0] != '\0')
		{
			SPI_connect();
			if (SPI_execute(psprintf("ALTER TABLE %s %s",
									 CatalogRelationName(st->relid), changes),
							false, 0) < 0)
				elog(ERROR, "could not change the columns of %s", qualified);
			SPI_finish();
		}
		st->query_relid = DependCreateDefiningView(st->pgt_id, qa->body,
												   search_path, st->relid);
	}
	CatalogSetQuery(st->pgt_id, query, st->query_relid);
	CatalogSetModes(st->pgt_id, mode, st->requested_mode, fallback);
	DependSync(st->pgt_id);
	DependCheckCycle(st->pgt_id);

	updated = CatalogGetByRelid(st->relid);
	if (strcmp(mode, "DIFFERENTIAL") == 0)
		StreamTableEnableDifferential(updated);
	else
		DeltaDropStorage(updated);
	CaptureDetachUnused(true);
	RefreshExecute(updated, REFRESH_REINITIALIZE, NULL);
}

/*
 * Change the requested refresh mode.
 */
void
StreamTableSetMode(StreamTable *st, const char *requested)
{
	QueryAnalysis *qa;
	const char *mode;
	const char *fallback;
	Oid			owner = SandboxOwner(st->relid);

	qa = AnalyzeDefiningQuery(st->defining_query);
	AnalyzeRowSecurity(qa, owner);
	ApiResolveMode(quote_qualified_identifier(st->schema, st->name),
				   requested, qa, owner, &mode, &fallback);
	/* a DIFFERENTIAL table that recomputed for row-level security still must */
	if (fallback == NULL && strcmp(mode, "DIFFERENTIAL") == 0 &&
		strcmp(st->refresh_mode, "DIFFERENTIAL") == 0)
		fallback = st->fallback_reason;
	CatalogSetModes(st->pgt_id, mode, requested, fallback);
	if (strcmp(mode, st->refresh_mode) == 0)
		return;
	st = CatalogGetByRelid(st->relid);
	if (strcmp(mode, "DIFFERENTIAL") == 0)
	{
		StreamTableEnableDifferential(st);
		RefreshExecute(st, REFRESH_MODE_SWITCH, NULL);
	}
	else
	{
		/* the contents stay right; only the differential machinery goes */
		DeltaDropStorage(st);
		CaptureDetachUnused(true);
	}
}

Datum
pgt_alter_stream_table(PG_FUNCTION_ARGS)
{
	char	   *name = ApiArgText(fcinfo, 0, "name");
	char	   *schedule_arg = ApiArgText(fcinfo, 1, NULL);
	char	   *mode_arg = ApiArgText(fcinfo, 2, NULL);
	char	   *status_arg = ApiArgText(fcinfo, 3, NULL);
	char	   *query = ApiArgText(fcinfo, 4, NULL);
	char	   *schedule = NULL;
	const char *mode = NULL;
	const char *status = NULL;
	StreamTable *st;

	/* check every argument before touching anything */
	(void) ApiNameToRangeVar(name);
	if (schedule_arg)
		schedule = ApiParseSchedule(schedule_arg);
	if (mode_arg)
		mode = ApiParseRefreshMode(mode_arg);
	if (status_arg)
		status = ApiParseStatus(status_arg);

	st = ApiLookup(name, ExclusiveLock, true);
	ApiCheckOwner(st);

	if (schedule_arg)
		CatalogSetSchedule(st->pgt_id, schedule);
	if (status)
		CatalogSetStatus(st->pgt_id,
						 strcmp(status, "PAUSED") == 0 ? "PAUSED" :
						 st->is_populated ? "ACTIVE" : "INITIALIZING",
						 strcmp(status, "ACTIVE") == 0);
	/* a new query is checked against the new mode */
	if (mode)
		st->requested_mode = (char *) mode;
	if (query)
		StreamTableSetQuery(st, query);
	else if (mode)
		StreamTableSetMode(st, mode);
	PG_RETURN_VOID();
}

Datum
pgt_pause_stream_table(PG_FUNCTION_ARGS)
{
	StreamTable *st = ApiLookup(ApiArgText(fcinfo, 0, "name"), AccessShareLock, true);

	ApiCheckOwner(st);
	CatalogSetStatus(st->pgt_id, "PAUSED", false);
	PG_RETURN_VOID();
}

Datum
pgt_resume_stream_table(PG_FUNCTION_ARGS)
{
	StreamTable *st = ApiLookup(ApiArgText(fcinfo, 0, "name"), AccessShareLock, true);

	ApiCheckOwner(st);
	CatalogSetStatus(st->pgt_id, st->is_populated ? "ACTIVE" : "INITIALIZING",
					 true);
	PG_RETURN_VOID();
}
