/*-------------------------------------------------------------------------
 *
 * differential.c
 *	  One refresh of a DIFFERENTIAL stream table: decide the action, apply.
 *
 * Runs inside the owner's sandbox with the write guard lifted, under the
 * refresh's one snapshot.  The action:
 *
 *	 NO_DATA       nothing pending for any source: only the frontiers move;
 *	 FULL          a TRUNCATE of a source is pending, or recomputing is
 *				   cheaper (measured costs; without them a large share of a
 *				   source, pg_trickle.differential_max_change_ratio, or the
 *				   planner's estimates), or it is the initial population / a
 *				   query change;
 *	 DIFFERENTIAL  the delta statement of the shape.
 *
 * The caller advances the frontiers under the same snapshot afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "access/htup_details.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/plancache.h"
#include "utils/resowner.h"
#include "access/relation.h"

#include "capture/capture.h"
#include "delta/delta.h"
#include "guc.h"
#include "refresh/refresh.h"

/*
 * The statement of a recomputation planned to estimate its cost
 * (planner_prefers_full), run as it was planned when recomputing is
 * chosen: at most one of them is set.
 */
typedef struct RecomputePlan
{
	SPIPlanPtr	fill;			/* FullRefreshFillPlan: the query's SELECT */
	SPIPlanPtr	insert;			/* DeltaFullSql, when the fill may not run */
	SPIPlanPtr	diff;			/* DeltaFullDiffSql: writes what differs */
} RecomputePlan;

static SPIPlanPtr
prepare(const char *sql)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);

	if (plan == NULL)
		elog(ERROR, "could not prepare differential statement (%s): %s",
			 SPI_result_code_string(SPI_result), sql);
	return plan;
}

/*
 * Run one apply statement; it returns (inserted, deleted, updated) and
 * possibly more columns, left in SPI_tuptable.
 */
static void
run_plan(SPIPlanPtr plan, Datum *values, Snapshot snapshot, RefreshOutcome *o)
{
	bool		isnull;
	int64		updated;

	if (SPI_execute_snapshot(plan, values, NULL, snapshot, InvalidSnapshot,
							 false, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "differential statement failed");
	o->rows_inserted += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));
	o->rows_deleted += DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 2, &isnull));
	updated = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 3, &isnull));
	/* an updated group is a deleted and an inserted row of the result */
	o->rows_inserted += updated;
	o->rows_deleted += updated;
}

static void
run_apply(const char *sql, Snapshot snapshot, RefreshOutcome *o)
{
	SPIPlanPtr	plan = prepare(sql);

	run_plan(plan, NULL, snapshot, o);
	SPI_freeplan(plan);
}

/*
 * What a relation looks like to a statement built from it: its attributes'
 * names, types and typmods, dropped ones included (attribute numbers).
 */
static void
append_layout(StringInfo key, Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);

	appendStringInfo(key, "/%u(", relid);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped)
			appendStringInfoString(key, "-,");
		else
			appendStringInfo(key, "%s:%u:%d:%u,", NameStr(att->attname),
							 att->atttypid, att->atttypmod, att->attcollation);
	}
	appendStringInfoChar(key, ')');
	relation_close(rel, NoLock);
}

/*
 * The delta statement of a stream table for these pending changes, from
 * the backend's plan cache or built and kept now.  The key holds all the
 * statement is made of: the defining query as deparsed now, the layouts
 * of the storage table and the sources.  The statement also depends on
 * which change sets are empty (their branches are left out) and its plan
 * on the size of each (plans for 10 and for 100,000 changed rows differ):
 * a kept plan serves change sets within a factor PLAN_SIZE_SPREAD of those
 * it was made for, empty exactly where they were (plancache.c, src/refresh/README.md "Plan
 * cache").  The statement reads change sets through pgtrickle._changes,
 * not the buffers, so nothing about a buffer is in the key: VACUUM and
 * ANALYZE of buffers, which run all the time, keep the plan.
 *
 * statement_key: what the statement is made of but the change sizes.
 */
static void
statement_key(const StreamTable *st, List *pending, StringInfo key)
{
	ListCell   *lc;

	appendStringInfo(key, "%u", st->query_relid);
	append_layout(key, st->relid);
	foreach(lc, pending)
		append_layout(key, ((CapturePending *) lfirst(lc))->source_relid);
	appendStringInfo(key, "/%s", st->defining_query);
	/* and what the views it reads are defined as now */
	DeltaViewsKey(st->query_relid, key);
}

static SPIPlanPtr
delta_plan(const StreamTable *st, List *pending, StringInfo key)
{
	StringInfoData base;
	ListCell   *lc;
	SPIPlanPtr	plan;
	int64	   *sizes = palloc(sizeof(int64) * Max(list_length(pending), 1));
	int			n = 0;

	initStringInfo(&base);
	statement_key(st, pending, &base);

	/* the key of the recomputation: the same without the change sets */
	appendStringInfoString(key, base.data);
	foreach(lc, pending)
		sizes[n++] = ((CapturePending *) lfirst(lc))->rows;

	plan = PlanCacheLookup(st->pgt_id, PLAN_DELTA, base.data, sizes, n);
	if (plan == NULL)
	{
		StringInfoData what;

		initStringInfo(&what);
		for (int i = 0; i < n; i++)
			appendStringInfo(&what, "%s" INT64_FORMAT, i > 0 ? ", " : "", sizes[i]);
		elog(DEBUG1, "stream table %s: delta statement planned for change sets of %s rows",
			 st->name, what.data);
		/* SHOW pg_trickle.delta_statements_built: tests count them */
		if (pgt_delta_statements_built < PG_INT32_MAX)
			pgt_delta_statements_built++;
		plan = PlanCacheStore(st->pgt_id, PLAN_DELTA, base.data, sizes, n,
							  prepare(DeltaApplySql(st, DifferentialShape(st), pending)));
	}
	return plan;
}

/*
 * The statement that recomputes the groups the delta statement left
 * (min/max that lost their extreme, groups under HAVING), kept per backend
 * like the delta statement but planned for each execution: its parameters
 * are the groups' keys, and how many there are decides the plan.
 */
static SPIPlanPtr
recompute_plan(const StreamTable *st, const char *key)
{
	SPIPlanPtr	plan = PlanCacheLookup(st->pgt_id, PLAN_RECOMPUTE, key, NULL, 0);

	if (plan == NULL)
	{
		List	   *argtypes;
		char	   *sql = DeltaRecomputeSql(st, DifferentialShape(st), &argtypes);
		Oid		   *types = palloc(sizeof(Oid) * Max(list_length(argtypes), 1));
		int			i = 0;
		ListCell   *lc;

		if (sql == NULL)
			elog(ERROR, "stream table %s has no groups to recompute", st->name);
		foreach(lc, argtypes)
			types[i++] = lfirst_oid(lc);
		plan = SPI_prepare_cursor(sql, i, types, CURSOR_OPT_CUSTOM_PLAN);
		if (plan == NULL)
			elog(ERROR, "could not prepare recomputation (%s): %s",
				 SPI_result_code_string(SPI_result), sql);
		plan = PlanCacheStore(st->pgt_id, PLAN_RECOMPUTE, key, NULL, 0, plan);
	}
	return plan;
}

/*
 * Run the delta statement with the settings chosen for it, then the
 * recomputation of the groups it returned, if any.  JIT is off: a delta
 * statement does little work per row and runs once per refresh, and
 * compiling it cost a second or more, many times the refresh itself.
 * random_page_cost is 1.1: the statement probes indexes for the few rows
 * each change reaches, on pages the changes just touched.  The plans are
 * made and run under these settings.
 */
static int
delta_settings(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	(void) set_config_option("random_page_cost", "1.1", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

static void
run_delta(const StreamTable *st, List *pending, Snapshot snapshot,
		  RefreshOutcome *o)
{
	int			nestlevel = delta_settings();
	StringInfoData key;
	SPIPlanPtr	plan;
	TupleDesc	desc;
	HeapTuple	row;
	int			nkeys;
	bool		isnull;

	initStringInfo(&key);
	plan = delta_plan(st, pending, &key);
	run_plan(plan, NULL, snapshot, o);

	/* columns 4..: the keys of the groups to recompute (or whether) */
	desc = SPI_tuptable->tupdesc;
	row = SPI_tuptable->vals[0];
	nkeys = desc->natts - 3;
	if (nkeys > 0 && !heap_attisnull(row, 4, desc))
	{
		Datum	   *values = palloc(sizeof(Datum) * nkeys);
		bool		scalar = (TupleDescAttr(desc, 3)->atttypid == BOOLOID);

		for (int i = 0; i < nkeys; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, 3 + i);

			values[i] = datumCopy(SPI_getbinval(row, desc, 4 + i, &isnull),
								  att->attbyval, att->attlen);
		}
		if (!scalar || DatumGetBool(values[0]))
			run_plan(recompute_plan(st, key.data), scalar ? NULL : values,
					 snapshot, o);
	}
	AtEOXact_GUC(true, nestlevel);
}

/*
 * Recompute writing only the rows or groups that differ (DeltaFullDiffSql):
 * downstream stream tables then receive a small change.
 */
static void
recompute_apply(const StreamTable *st, const DeltaShape *shape, Snapshot snapshot,
				RefreshOutcome *o, const RecomputePlan *planned)
{
	if (planned != NULL && planned->diff != NULL)
	{
		run_plan(planned->diff, NULL, snapshot, o);
		SPI_freeplan(planned->diff);
	}
	else
		run_apply(DeltaFullDiffSql(st, shape), snapshot, o);
	o->delta_row_count = o->rows_inserted + o->rows_deleted;
}

/*
 * Whether an error of the delta statement can come from evaluating an
 * expression over a combination of rows that never existed together: a
 * join term pairs OLD rows of one source with NEW rows of another, and an
 * expression over such a pair (a division, a cast, a user function that
 * refuses an input) can raise where the query itself, over rows that do
 * coexist, does not.  Data exceptions (class 22), errors raised by
 * PL/pgSQL functions (class P0), and 21000 (a scalar subquery without an
 * aggregate meeting more than one row, src/delta/sublink.c).  Anything else (cancellation, lock and
 * serialization failures, resources, permissions) is no matter of values
 * and is raised as it is.
 */
static bool
error_from_values(int sqlerrcode)
{
	return ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_DATA_EXCEPTION ||
		ERRCODE_TO_CATEGORY(sqlerrcode) == ERRCODE_PLPGSQL_ERROR ||
		sqlerrcode == ERRCODE_CARDINALITY_VIOLATION;
}

/*
 * Run the delta statement in a subtransaction.  When it fails on a value
 * (error_from_values) the subtransaction is rolled back and this refresh
 * recomputes instead, recording why in its history: the recomputation
 * evaluates the query over rows that exist, so it succeeds when the query
 * does, and raises the query's own error when the query itself fails.
 */
static void
run_delta_or_recompute(const StreamTable *st, List *pending, Snapshot snapshot,
					   RefreshOutcome *o)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		run_delta(st, pending, snapshot, o);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcontext);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
	PG_END_TRY();
	if (edata == NULL)
		return;
	if (!error_from_values(edata->sqlerrcode))
		ReThrowError(edata);

	o->rows_inserted = o->rows_deleted = 0;
	o->action = "FULL";
	o->reason = MemoryContextStrdup(CurTransactionContext,
									psprintf("the delta raised %s (SQLSTATE %s) on rows that did not exist together: recomputed",
											 edata->message,
											 unpack_sql_state(edata->sqlerrcode)));
	recompute_apply(st, DifferentialShape(st), snapshot, o, NULL);
}

/*
 * Rewrite the table: DELETE every row, write the query's result.  planned,
 * when not NULL, holds the statement planned for the estimate of this
 * recomputation (planner_prefers_full), which runs instead of planning the
 * query again.
 */
static void
full_apply(const StreamTable *st, const DeltaShape *shape, Snapshot snapshot,
		   RefreshOutcome *o, const RecomputePlan *planned)
{
	SPIPlanPtr	plan = SPI_prepare(psprintf("DELETE FROM %s", CatalogRelationName(st->relid)),
								   0, NULL);
	char	   *target;
	char	   *select;
	int64		inserted;

	if (plan == NULL ||
		SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot,
							 false, true, 0) < 0)
		elog(ERROR, "could not empty %s", st->name);
	o->rows_deleted = SPI_processed;
	SPI_freeplan(plan);
	if (planned != NULL && planned->fill != NULL)
	{
		FullRefreshFillRun(st->relid, planned->fill, snapshot, &inserted);
		o->rows_inserted += inserted;
	}
	else if (planned != NULL && planned->insert != NULL)
	{
		run_plan(planned->insert, NULL, snapshot, o);
		SPI_freeplan(planned->insert);
	}
	else
	{
		select = DeltaFullSelectSql(st, shape, &target);
		if (!FullRefreshFill(st->relid, select, target, snapshot, &inserted))
			run_apply(DeltaFullSql(st, shape), snapshot, o);
		else
			o->rows_inserted += inserted;
	}
	o->delta_row_count = o->rows_inserted + o->rows_deleted;
}

/*
 * The shape of a DIFFERENTIAL stream table's query, which must still be one
 * the engine supports.
 */
DeltaShape *
DifferentialShape(const StreamTable *st)
{
	char	   *reason;
	DeltaShape *shape = DeltaBuildShape(DependViewQuery(st->query_relid), &reason);

	if (shape == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("stream table %s cannot be refreshed differentially",
						CatalogRelationName(st->relid)),
				 errdetail("Differential refresh is not possible: %s.", reason),
				 errhint("Use pgtrickle.alter_stream_table(name, refresh_mode => 'FULL').")));
	return shape;
}

/*
 * Whether a recomputation chosen for the pending changes (by cost, or
 * because a change set cannot be applied) rewrites the whole table
 * (full_apply: DELETE, INSERT of the query's result) rather than writing
 * only the rows that differ (recompute_apply).  Writing the difference
 * exists for the stream tables that read this one: they receive a small
 * change instead of the whole table deleted and inserted.  Without such a
 * reader nobody consumes the difference, and finding it costs the
 * consolidation of the query's result with the stored rows: measured at
 * 3 to 10 times a FULL refresh of the same query (src/refresh/README.md).
 */
static bool
recompute_rewrites_all(const StreamTable *st)
{
	return DependReaders(st->relid) == NIL;
}

/*
 * The recomputation for pending changes, as recompute_rewrites_all says;
 * planned is what planner_prefers_full planned for it, or NULL.
 */
static void
recompute_pending(const StreamTable *st, Snapshot snapshot, RefreshOutcome *o,
				  const RecomputePlan *planned)
{
	if (recompute_rewrites_all(st))
		full_apply(st, DifferentialShape(st), snapshot, o, planned);
	else
		recompute_apply(st, DifferentialShape(st), snapshot, o, planned);
}

/*
 * The planner's estimate of the recomputation recompute_pending runs, with
 * its writes, planned under the session's settings (those it runs with):
 * the statement is left in *planned, to run if recomputing is chosen.
 * deleting is what the rewrite's DELETE costs with its writes.
 */
static double
recompute_cost(const StreamTable *st, bool rewrite, double stored, int width,
			   double deleting, RecomputePlan *planned)
{
	double		cost;

	if (rewrite)
	{
		/* what full_apply runs: empty the table, write the query's rows */
		DeltaShape *shape = DifferentialShape(st);
		char	   *target;
		char	   *select = DeltaFullSelectSql(st, shape, &target);
		double		rows = stored;

		cost = deleting;
		planned->fill = FullRefreshFillPlan(st->relid, select, target);
		if (planned->fill != NULL)
			cost += RefreshPlanCost(planned->fill, &rows);
		else
		{
			/* the INSERT returns a count: take the rows it replaces */
			planned->insert = prepare(DeltaFullSql(st, shape));
			cost += RefreshPlanCost(planned->insert, NULL);
		}
		return cost + RefreshWriteCost(st->relid, rows, width, true);
	}
	/* writes only what differs: not known before it runs */
	planned->diff = prepare(DeltaFullDiffSql(st, DifferentialShape(st)));
	return RefreshPlanCost(planned->diff, NULL);
}

/*
 * Whether the planner finds recomputing cheaper than the delta for these
 * pending changes (a table without measured refreshes, more than
 * DIFFERENTIAL_MIN_ROWS_FOR_COST_CHECK changes).  Each statement is planned
 * at most once, as it would run, and the plan made for the estimate is the
 * one that runs (src/refresh/README.md, "Choice without history"):
 *
 * the recomputation under the session's settings, those it runs with (as
 * REFRESH MATERIALIZED VIEW), left in *planned when recomputing wins;
 *
 * the delta statement for these change sets' sizes, under its own settings
 * (delta_settings), kept in the backend's plan cache: it runs next if the
 * delta wins.
 *
 * Planning the delta statement can cost a hundred times more than planning
 * the query (TPC-H q20: 450 ms against 3 ms), so it is skipped when a bound
 * decides without it: when the delta statement was planned before in this
 * backend for other change sets (RefreshDeltaCostBound) and the least it
 * can cost for these is above the recomputation's estimate, FULL.  The
 * recomputation is planned first then; otherwise after the delta.
 *
 * Sets o's action and reason when recomputing wins; otherwise *estimate
 * says what was compared, for the DIFFERENTIAL refresh's reason.
 */
static bool
planner_prefers_full(const StreamTable *st, List *pending, int64 total,
					 RefreshOutcome *o, RecomputePlan *planned,
					 const char **estimate)
{
	int			nestlevel;
	StringInfoData key;
	StringInfoData statement;
	SPIPlanPtr	plan;
	double		delta_cost;
	double		delta_writes;
	double		full_cost = 0;
	double		deleting;
	double		bound;
	int64		then;
	bool		full_planned = false;
	const char *what;
	int			width = RefreshRowWidth(st->relid);
	bool		rewrite = recompute_rewrites_all(st);
	double		stored;
	double		delete_cost;

	memset(planned, 0, sizeof(RecomputePlan));

	/* the rows stored now: what a rewrite deletes */
	plan = prepare(psprintf("DELETE FROM %s", CatalogRelationName(st->relid)));
	delete_cost = RefreshPlanCost(plan, &stored);
	SPI_freeplan(plan);
	what = rewrite ? "rewriting the table" : "recomputing";
	/* a rewrite's DELETE and what deleting every row writes */
	deleting = rewrite ?
		delete_cost + RefreshWriteCost(st->relid, stored, width, false) : 0;

	/*
	 * About one row of the table written per change row, and no more rows
	 * than the table holds: an aggregate's changes net per group (README).
	 */
	delta_writes = RefreshWriteCost(st->relid, Min((double) total, Max(stored, 1)),
									width, true);

	initStringInfo(&statement);
	statement_key(st, pending, &statement);
	if (RefreshDeltaCostBound(st->pgt_id, statement.data, pending, &bound, &then))
	{
		full_cost = recompute_cost(st, rewrite, stored, width, deleting, planned);
		full_planned = true;
		if (bound + delta_writes > full_cost)
		{
			elog(DEBUG1, "stream table %s: %lld changes, planner cost at least %.0f for the delta, %.0f for %s",
				 st->name, (long long) total, bound + delta_writes, full_cost, what);
			o->action = "FULL";
			o->reason = MemoryContextStrdup(CurTransactionContext,
											psprintf("FULL by cost: " INT64_FORMAT " changes, planner estimate at least %.0f for the delta (planned for " INT64_FORMAT " changes) against %.0f for %s",
													 total, bound + delta_writes, then,
													 full_cost, what));
			return true;
		}
	}

	/* the delta, under its settings */
	nestlevel = delta_settings();
	initStringInfo(&key);
	delta_cost = RefreshPlanCost(delta_plan(st, pending, &key), NULL);
	AtEOXact_GUC(true, nestlevel);
	RefreshRememberDeltaCost(st->pgt_id, statement.data, pending, delta_cost);
	delta_cost += delta_writes;

	if (!full_planned)
		full_cost = recompute_cost(st, rewrite, stored, width, deleting, planned);

	elog(DEBUG1, "stream table %s: %lld changes, planner cost %.0f for the delta, %.0f for %s",
		 st->name, (long long) total, delta_cost, full_cost, what);
	if (delta_cost <= full_cost)
	{
		if (planned->fill != NULL)
			SPI_freeplan(planned->fill);
		if (planned->insert != NULL)
			SPI_freeplan(planned->insert);
		if (planned->diff != NULL)
			SPI_freeplan(planned->diff);
		memset(planned, 0, sizeof(RecomputePlan));
		*estimate = MemoryContextStrdup(CurTransactionContext,
										psprintf("planner estimate %.0f for the delta against %.0f for %s",
												 delta_cost, full_cost, what));
		return false;
	}
	o->action = "FULL";
	o->reason = MemoryContextStrdup(CurTransactionContext,
									psprintf("FULL by cost: " INT64_FORMAT " changes, planner estimate %.0f for the delta against %.0f for %s",
											 total, delta_cost, full_cost, what));
	return true;
}

/* Below this many pending rows a delta is always cheaper than recomputing. */
#define DIFFERENTIAL_MIN_ROWS_FOR_COST_CHECK 1000

/* The reason outlives the SPI connection the refresh runs in. */
static const char *
reason(const char *fmt, const char *arg)
{
	return MemoryContextStrdup(CurTransactionContext, psprintf(fmt, arg));
}

/* Why pending changes of a source cannot be applied (p->truncated). */
static const char *
recompute_reason(const CapturePending *p)
{
	const char *source = get_rel_name(p->source_relid);

	if (p->lost)
		return reason("pending changes of %s discarded (pg_trickle.max_buffer_rows)",
					  source);
	if (p->unread)
		return reason("capture of %s started since the last refresh", source);

	/*
	 * The marker does not say which: a partition or child that joins with
	 * rows or leaves changes the tree's contents without a captured write
	 * (src/capture/README.md, "Trees that change").
	 */
	if (get_rel_relkind(p->source_relid) == RELKIND_PARTITIONED_TABLE ||
		has_subclass(p->source_relid))
		return reason("source %s truncated, or a partition or child of it attached, detached or dropped",
					  source);
	return reason("source %s truncated", source);
}

/*
 * The pending changes, or the decision to recompute instead.  Small change
 * sets (the common case) are read and netted at once.  A larger one is
 * weighed with what this table's refreshes measured lately: the cost per
 * change row of its recent DIFFERENTIAL refreshes against the duration of
 * its recent recomputations gives the number of changes beyond which
 * recomputing is cheaper, and a change set found to be larger while being
 * read is not netted at all.  Without that history (a new table) the
 * change set's share of a source (pg_trickle.differential_max_change_ratio)
 * and then the planner (planner_prefers_full) decide.  Returns NIL and sets o's
 * action and reason when the refresh must recompute (*planned then holds
 * what the planner planned for it, if anything); *estimate is set when the
 * planner was asked and the delta won.
 */
static List *
pending_or_recompute(const StreamTable *st, Snapshot snapshot, RefreshOutcome *o,
					 RecomputePlan *planned, const char **estimate)
{
	List	   *pending = CapturePendingChanges(st->pgt_id, snapshot,
												DIFFERENTIAL_MIN_ROWS_FOR_COST_CHECK);
	double		ms_per_row;
	double		full_ms;
	bool		known;
	int64		total = 0;
	ListCell   *lc;

	foreach(lc, pending)
	{
		CapturePending *p = lfirst(lc);

		if (p->truncated)
		{
			o->action = "FULL";
			o->reason = recompute_reason(p);
			return NIL;
		}
		if (p->over_limit)
			break;
		total += p->rows;
	}
	if (lc == NULL)
		return pending;			/* all small: netted */

	known = CatalogRefreshCosts(st->pgt_id, &ms_per_row, &full_ms) && ms_per_row > 0;
	pending = CapturePendingChanges(st->pgt_id, snapshot,
									known ? Max(full_ms / ms_per_row,
												DIFFERENTIAL_MIN_ROWS_FOR_COST_CHECK) : -1);
	total = 0;
	foreach(lc, pending)
	{
		CapturePending *p = lfirst(lc);

		total += p->rows;
		if (p->truncated)
		{
			o->action = "FULL";
			o->reason = recompute_reason(p);
			return NIL;
		}
	}
	foreach(lc, pending)
	{
		CapturePending *p = lfirst(lc);
		double		share = (double) p->rows / (double) Max(p->source_rows_estimate, 1);

		if (p->over_limit)
		{
			o->action = "FULL";
			o->reason = MemoryContextStrdup(CurTransactionContext,
											psprintf("FULL by cost: over %lld changes, about %.0f ms differential against %.0f ms recomputing",
													 (long long) total, ms_per_row * total, full_ms));
			return NIL;
		}
		if (!known && share > pgt_differential_max_change_ratio)
		{
			o->action = "FULL";
			o->reason = reason(psprintf("FULL by cost: change set %.0f%%%% of source %%s", share * 100),
							   get_rel_name(p->source_relid));
			return NIL;
		}
	}
	if (!known && total > DIFFERENTIAL_MIN_ROWS_FOR_COST_CHECK &&
		planner_prefers_full(st, pending, total, o, planned, estimate))
		return NIL;
	return pending;
}

static void differential_refresh(const StreamTable *st, RefreshInitiator who,
								 Snapshot snapshot, RefreshOutcome *o);

/*
 * Statistics of a storage table just filled with the query's result (its
 * initial population, a reinitialization): ANALYZE, as one does after
 * loading a table.  Every delta statement probes the storage table (by
 * __pgt_row_id, by group key), and every choice without history plans
 * those probes: without statistics the planner takes each probe of a
 * never-analyzed table for 1/200 of its rows (a default selectivity), so a
 * projection's delta of 1,200 changes was estimated above rewriting its
 * 60,000 rows, and bench/'s outer join recomputed at 1 % where its delta
 * is about twice as fast (src/refresh/README.md, "Choice without
 * history").  Autovacuum analyzes the table too, but only later: the
 * first refreshes come before it.  ANALYZE reads a sample of at most 300
 * rows per statistics target (30,000 by default), so its cost is bounded
 * whatever the table's size; it counts the rows this transaction wrote.
 */
static void
analyze_storage(const StreamTable *st)
{
	if (SPI_execute(psprintf("ANALYZE %s", CatalogRelationName(st->relid)),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not analyze %s", st->name);
}

/*
 * Whether row-level security applies to the owner (the current user, in the
 * sandbox) on a source.  Change buffers hold every row written, also those
 * the owner's policies hide, and no policy filters them: while it applies,
 * every refresh recomputes the query as the owner, under the policies, like
 * a FULL refresh (changes of the policies are then followed too).  The
 * stream table's fallback_reason remembers it, so that the first refresh
 * after it stops applying recomputes once more: rows that were hidden are in
 * no change set.  Capture goes on meanwhile and the frontiers advance.
 */
static const char *
row_security(const StreamTable *st, const char **was)
{
	char	   *why = SandboxRowSecurityReason(CatalogSourceRelids(st->pgt_id),
											   GetUserId());
	const char *now = why ? reason("%s", why) : NULL;

	*was = st->fallback_reason;
	if ((now == NULL) != (*was == NULL) ||
		(now != NULL && strcmp(now, *was) != 0))
		CatalogSetModes(st->pgt_id, st->refresh_mode, st->requested_mode, now);
	return now;
}

/*
 * The change sets read here stay in memory until the caller ends the
 * refresh (CaptureForgetChanges, also on error).
 */
void
DifferentialRefresh(const StreamTable *st, RefreshInitiator who,
					Snapshot snapshot, RefreshOutcome *o)
{
	/* whatever this refresh does, it leaves the table equal to its query */
	differential_refresh(st, who, snapshot, o);
	RefreshUnloggedMark(st);
}

static void
differential_refresh(const StreamTable *st, RefreshInitiator who,
					 Snapshot snapshot, RefreshOutcome *o)
{
	List	   *pending;
	ListCell   *lc;
	int64		total = 0;
	const char *rls_was;
	const char *rls = row_security(st, &rls_was);
	char	   *unlogged;
	RecomputePlan planned;
	const char *estimate = NULL;

	if (who == REFRESH_INITIAL || !st->is_populated)
	{
		o->action = "FULL";
		o->reason = "initial population";
		full_apply(st, DifferentialShape(st), snapshot, o, NULL);
		analyze_storage(st);
		return;
	}
	if (who == REFRESH_REINITIALIZE || who == REFRESH_MODE_SWITCH)
	{
		o->action = "REINITIALIZE";
		o->reason = who == REFRESH_REINITIALIZE ? "defining query changed"
			: "switched to DIFFERENTIAL";
		full_apply(st, DifferentialShape(st), snapshot, o, NULL);
		analyze_storage(st);
		return;
	}
	if (RefreshUnloggedLost(st, &unlogged))
	{
		/* src/refresh/unlogged.c: its buffer rows go with the frontier */
		o->action = "FULL";
		o->reason = reason("unlogged relation %s may have been emptied by crash recovery",
						   unlogged);
		recompute_apply(st, DifferentialShape(st), snapshot, o, NULL);
		return;
	}

	if (rls != NULL || rls_was != NULL)
	{
		o->action = "FULL";
		o->reason = rls != NULL ? rls :
			"row-level security no longer applies to the owner";
		recompute_apply(st, DifferentialShape(st), snapshot, o, NULL);
		return;
	}

	memset(&planned, 0, sizeof(planned));
	pending = pending_or_recompute(st, snapshot, o, &planned, &estimate);
	if (o->action != NULL)
	{
		recompute_pending(st, snapshot, o, &planned);
		return;
	}
	foreach(lc, pending)
		total += ((CapturePending *) lfirst(lc))->rows;
	o->delta_row_count = total;
	if (total == 0)
	{
		o->action = "NO_DATA";
		o->reason = "no pending change";
		return;
	}
	o->action = "DIFFERENTIAL";
	o->reason = reason(psprintf(INT64_FORMAT " pending change%%s", total),
					   total == 1 ? "" : "s");
	/* the planner was asked: what it compared */
	if (estimate != NULL)
		o->reason = MemoryContextStrdup(CurTransactionContext,
										psprintf("%s (%s)", o->reason, estimate));
	run_delta_or_recompute(st, pending, snapshot, o);
}

