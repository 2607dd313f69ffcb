/*-------------------------------------------------------------------------
 *
 * inspect.c
 *	  verify_stream_table, explain_st and get_refresh_history.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "api/api.h"
#include "capture/capture.h"
#include "delta/delta.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(pgt_verify_stream_table);
PG_FUNCTION_INFO_V1(pgt_explain_st);
PG_FUNCTION_INFO_V1(pgt_get_refresh_history);

/*
 * How verify_stream_table compares one column: by the type's own equality
 * (0.00 = 0, -0 = 0, NaN = NaN, equal under a case-insensitive collation,
 * distinct floats distinct whatever extra_float_digits says) whenever the
 * type has a default btree opclass, so that EXCEPT ALL can sort it; by its
 * text otherwise (json, point and others have no equality operator).
 */
static bool
compare_by_text(Oid typid)
{
	TypeCacheEntry *tc = lookup_type_cache(typid,
										   TYPECACHE_EQ_OPR | TYPECACHE_LT_OPR);

	return !OidIsValid(tc->eq_opr) || !OidIsValid(tc->lt_opr);
}

/*
 * The rows in which a stream table and its defining query differ, as a
 * multiset (EXCEPT ALL both ways: NULLs match NULLs, duplicates count).
 * Columns are compared positionally under internal names c1..cn and shown
 * under their own names; internal __pgt_* columns are not selected.
 */
static char *
verify_sql(const StreamTable *st)
{
	Relation	view = table_open(st->query_relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(view);
	StringInfoData qcols,
				scols,
				shown;
	int			n = 0;

	initStringInfo(&qcols);
	initStringInfo(&scols);
	initStringInfo(&shown);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = quote_identifier(NameStr(att->attname));
		bool		text = compare_by_text(att->atttypid);

		if (att->attisdropped)
			continue;
		n++;
		appendStringInfo(&qcols, "%sr.c%d%s AS c%d", n > 1 ? ", " : "",
						 n, text ? "::text" : "", n);
		appendStringInfo(&scols, "%s%s%s AS c%d", n > 1 ? ", " : "",
						 name, text ? "::text" : "", n);
		if (text)
			appendStringInfo(&shown, "%sd.c%d::%s AS %s", n > 1 ? ", " : "",
							 n, format_type_be(att->atttypid), name);
		else
			appendStringInfo(&shown, "%sd.c%d AS %s", n > 1 ? ", " : "",
							 n, name);
	}
	table_close(view, AccessShareLock);

	/* r(c1, ..., cn) renames the query's columns, whatever they are called */
	{
		StringInfoData alias;

		initStringInfo(&alias);
		for (int i = 1; i <= n; i++)
			appendStringInfo(&alias, "%sc%d", i > 1 ? ", " : "", i);
		return psprintf("WITH q AS MATERIALIZED (SELECT %s FROM (\n%s\n) r(%s)),"
						" s AS MATERIALIZED (SELECT %s FROM %s)"
						" SELECT 'missing'::text,"
						"        (SELECT to_jsonb(x.*) FROM (SELECT %s) x)"
						"   FROM (TABLE q EXCEPT ALL TABLE s) d"
						" UNION ALL"
						" SELECT 'extra'::text,"
						"        (SELECT to_jsonb(x.*) FROM (SELECT %s) x)"
						"   FROM (TABLE s EXCEPT ALL TABLE q) d",
						qcols.data, DependViewQuery(st->query_relid), alias.data,
						scols.data, CatalogRelationName(st->relid),
						shown.data, shown.data);
	}
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

/* Per aggregate, how a differential refresh maintains it (moreagg.c). */
static char *
aggregate_maintenance(const StreamTable *st)
{
	Sandbox		sb;
	char	   *text;

	SandboxEnter(&sb, st->relid);
	text = DeltaAggMaintenance(DifferentialShape(st));
	SandboxLeave(&sb);
	return text;
}

/*
 * How a differential refresh maintains the scalar subqueries and grouped
 * subqueries of the query (delta/scalar.c, delta/grouped.c); NULL when it
 * has none.
 */
static char *
subquery_maintenance(const StreamTable *st)
{
	Sandbox		sb;
	char	   *text;

	SandboxEnter(&sb, st->relid);
	text = DeltaSubqueryMaintenance(DependViewQuery(st->query_relid));
	SandboxLeave(&sb);
	return text;
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
	AnalyzeRowSecurity(qa, GetUserId());
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
	put_property(rsinfo, "aggregate_maintenance",
				 strcmp(st->refresh_mode, "DIFFERENTIAL") == 0 ?
				 aggregate_maintenance(st) : NULL);
	put_property(rsinfo, "schedule", st->schedule ? st->schedule : "calculated");
	effective = CatalogEffectiveSchedule(st->pgt_id);
	put_property(rsinfo, "effective_schedule", effective);
	put_property(rsinfo, "cdc_mode", st->cdc_mode);
	put_property(rsinfo, "subquery_maintenance",
				 strcmp(st->refresh_mode, "DIFFERENTIAL") == 0 ?
				 subquery_maintenance(st) : NULL);
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
