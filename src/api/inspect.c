/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  verify_stream_table, explain_st and get_refresh_history.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "api/api.h"
#include "capture/capture.h"
#include "delta/delta.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(pgt_verify_stream_table);
PG_FUNCTION_INFO_V1(pgt_explain_st);
PG_FUNCTION_INFO_V1(pgt_get_refresh_history);

/*
 * The rows in which a stream table and its defining query differ, as a
 * multiset.  Rows are compared by their text form, which every type has
 * (json, point and others have no equality operator).  Internal __pgt_*
 * columns are not selected.
 */
static char *
verify_sql(const StreamTable *st)
{
	List	   *cols = RefreshStorageColumns(st->query_relid);
	StringInfoData list;
	ListCell   *lc;

	initStringInfo(&list);
	foreach(lc, cols)
		appendStringInfo(&list, "%s%s", list.len ? ", " : "",
						 quote_identifier(lfirst(lc)));
	/* r.* names the whole row even when the query has a column "r" */
	return psprintf("WITH q AS (SELECT (r.*)::text AS t, to_jsonb(r.*) AS j"
					"             FROM (\n%s\n) r),"
					" s AS (SELECT (r.*)::text AS t, to_jsonb(r.*) AS j"
					"         FROM (SELECT %s FROM %s) r),"
					" qg AS (SELECT t, min(j::text) AS j, count(*) AS n FROM q GROUP BY t),"
					" sg AS (SELECT t, min(j::text) AS j, count(*) AS n FROM s GROUP BY t)"
					" SELECT 'missing'::text, qg.j::jsonb"
					"   FROM qg LEFT JOIN sg ON sg.t = qg.t,"
					"        generate_series(1, qg.n - coalesce(sg.n, 0))"
					" UNION ALL"
					" SELECT 'extra'::text, sg.j::jsonb"
					"   FROM sg LEFT JOIN qg ON qg.t = sg.t,"
					"        generate_series(1, sg.n - coalesce(qg.n, 0))",
					DependViewQuery(st->query_relid), list.data,
					CatalogRelationName(st->relid));
}

Datum
pgt_verify_stream_table(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StreamTable *st = ApiLookup(ApiArgText(fcinfo, 0, "name"), ExclusiveLock, true);
	Snapshot	snapshot;
	SPIPlanPtr	plan;
	Sandbox		sb;

	ApiCheckOwner(st);
	ApiCheckNotInError(st);
	InitMaterializedSRF(fcinfo, 0);

	/* refresh, then compare at the refresh's own snapshot */
	RefreshLockSources(st);
	snapshot = RefreshTakeSnapshot();
	RefreshExecute(st, REFRESH_MANUAL, snapshot);

	SPI_connect();
	SandboxEnter(&sb, st->relid);
	plan = SPI_prepare(verify_sql(st), 0, NULL);
	if (plan == NULL ||
		SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot,
							 false, false, 0) < 0)
		elog(ERROR, "could not compare stream table with its query");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[2];
		bool		nulls[2];

		values[0] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &nulls[0]);
		values[1] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &nulls[1]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	SandboxLeave(&sb);
	SPI_finish();
	UnregisterSnapshot(snapshot);
	return (Datum) 0;
}

static void
put_property(ReturnSetInfo *rsinfo, const char *property, const char *value)
{
	Datum		values[2];
	bool		nulls[2] = {false, value == NULL};

	values[0] = CStringGetTextDatum(property);
	values[1] = value ? CStringGetTextDatum(value) : (Datum) 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* The statement a differential refresh runs, built as the owner would. */
static char *
differential_sql(const StreamTable *st)
{
	Sandbox		sb;
	char	   *sql;

	SandboxEnter(&sb, st->relid);
	sql = DeltaApplySql(st, DifferentialShape(st),
						CapturePendingChanges(st->pgt_id, GetActiveSnapshot(), -1));
	CaptureForgetChanges();
	SandboxLeave(&sb);
	return sql;
}

/*
 * The statement that recomputes the groups a differential refresh cannot
 * merge (min/max that lost their extreme, groups under HAVING); NULL when
 * the query has none.  Its parameters are the groups' keys, one array per
 * key column.
 */
static char *
recompute_sql(const StreamTable *st)
{
	Sandbox		sb;
	char	   *sql;
	List	   *argtypes;

	SandboxEnter(&sb, st->relid);
	sql = DeltaRecomputeSql(st, DifferentialShape(st), &argtypes);
	SandboxLeave(&sb);
	return sql;
}

Datum
pgt_explain_st(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StreamTable *st = ApiLookup(ApiArgText(fcinfo, 0, "name"), AccessShareLock, false);
	QueryAnalysis *qa;
	Sandbox		sb;
	char	   *effective;

	InitMaterializedSRF(fcinfo, 0);

	/* analysed as the owner, who can always see the sources */
	SandboxEnter(&sb, st->relid);
	qa = AnalyzeDefiningQuery(st->defining_query);
	SandboxLeave(&sb);

	put_property(rsinfo, "refresh_mode", st->refresh_mode);
	put_property(rsinfo, "requested_refresh_mode", st->requested_mode);
	put_property(rsinfo, "status", st->status);
	put_property(rsinfo, "is_populated", st->is_populated ? "true" : "false");
	put_property(rsinfo, "defining_query", st->defining_query);
	put_property(rsinfo, "original_query", st->original_query);
	put_property(rsinfo, "sources", CatalogSourcesText(st->pgt_id));
	put_property(rsinfo, "differential_supported",
				 qa->differential_ok ? "true" : "false");
	/* the query may be supported and the owner still not allowed to capture */
	put_property(rsinfo, "fallback_reason",
				 qa->differential_ok ? st->fallback_reason : qa->not_differential_reason);
	put_property(rsinfo, "full_refresh_sql", FullRefreshSql(st));
	put_property(rsinfo, "differential_refresh_sql",
				 strcmp(st->refresh_mode, "DIFFERENTIAL") == 0 ?
				 differential_sql(st) : NULL);
	put_property(rsinfo, "differential_recompute_sql",
				 strcmp(st->refresh_mode, "DIFFERENTIAL") == 0 ?
				 recompute_sql(st) : NULL);
	put_property(rsinfo, "schedule", st->schedule ? st->schedule : "calculated");
	effective = CatalogEffectiveSchedule(st->pgt_id);
	put_property(rsinfo, "effective_schedule", effective);
	put_property(rsinfo, "cdc_mode", st->cdc_mode);
	return (Datum) 0;
}

Datum
pgt_get_refresh_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	StreamTable *st = ApiLookup(ApiArgText(fcinfo, 0, "name"), AccessShareLock, false);
	int			max_rows = PG_ARGISNULL(1) ? 20 : PG_GETARG_INT32(1);

	if (max_rows < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows must not be negative")));
	InitMaterializedSRF(fcinfo, 0);
	CatalogHistory(st->pgt_id, max_rows, rsinfo->setResult, rsinfo->setDesc);
	return (Datum) 0;
}
