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
 */
static SPIPlanPtr
delta_plan(const StreamTable *st, List *pending, StringInfo key)
{
	StringInfoData base;
	ListCell   *lc;
	SPIPlanPtr	plan;
	int64	   *sizes = palloc(sizeof(int64) * Max(list_length(pending), 1));
	int			n = 0;

	initStringInfo(&base);
	appendStringInfo(&base, "%u", st->query_relid);
	append_layout(&base, st->relid);
	foreach(lc, pending)
		append_layout(&base, ((CapturePending *) lfirst(lc))->source_relid);
	appendStringInfo(&base, "/%s", st->defining_query);
	/* and what the views it reads are defined as now */
	DeltaViewsKey(st->query_relid, &base);

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
				RefreshOutcome *o)
{
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
	recompute_apply(st, DifferentialShape(st), snapshot, o);
}

static void
full_apply(const StreamTable *st, const DeltaShape *shape, Snapshot snapshot,
		   RefreshOutcome *o)
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
	select = DeltaFullSelectSql(st, shape, &target);
	if (!FullRefreshFill(st->relid, select, target, snapshot, &inserted))
		run_apply(DeltaFullSql(st, shape), snapshot, o);
	else
		o->rows_inserted += inserted;
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

/* The recomputation for pending changes, as recompute_rewrites_all says. */
static void
recompute_pending(const StreamTable *st, Snapshot snapshot, RefreshOutcome *o)
{
	if (recompute_rewrites_all(st))
		full_apply(st, DifferentialShape(st), snapshot, o);
	else
		recompute_apply(st, DifferentialShape(st), snapshot, o);
}

/*
 * Whether the planner finds recomputing cheaper than the delta for these
 * pending changes (a table without measured refreshes, more than
 * DIFFERENTIAL_MIN_ROWS_FOR_COST_CHECK changes).  The delta statement is
 * planned as it would run: for these change sets' sizes, under its own
 * settings (the plan is kept and runs next if the delta wins); the
 * recomputation is planned under the same settings so that both costs are
 * in the same units.  Sets o's action and reason when recomputing wins.
 */
static bool
planner_prefers_full(const StreamTable *st, List *pending, int64 total,
					 RefreshOutcome *o)
{
	int			nestlevel = delta_settings();
	StringInfoData key;
	SPIPlanPtr	full;
	double		delta_cost;
	double		full_cost;
	const char *what;
	int			width = RefreshRowWidth(st->relid);
	double		stored;
	double		delete_cost;

	initStringInfo(&key);
	/* the rows stored now: what a rewrite deletes */
	full = prepare(psprintf("DELETE FROM %s", CatalogRelationName(st->relid)));
	delete_cost = RefreshPlanCost(full, &stored);
	SPI_freeplan(full);

	/*
	 * About one row of the table written per change row, and no more rows
	 * than the table holds: an aggregate's changes net per group (README).
	 */
	delta_cost = RefreshPlanCost(delta_plan(st, pending, &key), NULL) +
		RefreshWriteCost(st->relid, Min((double) total, Max(stored, 1)), width, true);
	if (recompute_rewrites_all(st))
	{
		/* what full_apply runs: empty the table, write the query's rows */
		DeltaShape *shape = DifferentialShape(st);
		char	   *target;
		char	   *select = DeltaFullSelectSql(st, shape, &target);
		double		rows = stored;

		full_cost = delete_cost + RefreshWriteCost(st->relid, stored, width, false);
		full = FullRefreshFillPlan(st->relid, select, target);
		if (full != NULL)
			full_cost += RefreshPlanCost(full, &rows);
		else
		{
			/* the INSERT returns a count: take the rows it replaces */
			full = prepare(DeltaFullSql(st, shape));
			full_cost += RefreshPlanCost(full, NULL);
		}
		full_cost += RefreshWriteCost(st->relid, rows, width, true);
		what = "rewriting the table";
	}
	else
	{
		/* writes only what differs: not known before it runs */
		full = prepare(DeltaFullDiffSql(st, DifferentialShape(st)));
		full_cost = RefreshPlanCost(full, NULL);
		what = "recomputing";
	}
	SPI_freeplan(full);
	AtEOXact_GUC(true, nestlevel);

	elog(DEBUG1, "stream table %s: %lld changes, planner cost %.0f for the delta, %.0f for %s",
		 st->name, (long long) total, delta_cost, full_cost, what);
	if (delta_cost <= full_cost)
		return false;
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
 * action and reason when the refresh must recompute.
 */
static List *
pending_or_recompute(const StreamTable *st, Snapshot snapshot, RefreshOutcome *o)
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
		planner_prefers_full(st, pending, total, o))
		return NIL;
	return pending;
}

static void differential_refresh(const StreamTable *st, RefreshInitiator who,
								 Snapshot snapshot, RefreshOutcome *o);

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

	if (who == REFRESH_INITIAL || !st->is_populated)
	{
		o->action = "FULL";
		o->reason = "initial population";
		full_apply(st, DifferentialShape(st), snapshot, o);
		return;
	}
	if (who == REFRESH_REINITIALIZE || who == REFRESH_MODE_SWITCH)
	{
		o->action = "REINITIALIZE";
		o->reason = who == REFRESH_REINITIALIZE ? "defining query changed"
			: "switched to DIFFERENTIAL";
		full_apply(st, DifferentialShape(st), snapshot, o);
		return;
	}
	if (RefreshUnloggedLost(st, &unlogged))
	{
		/* src/refresh/unlogged.c: its buffer rows go with the frontier */
		o->action = "FULL";
		o->reason = reason("unlogged relation %s may have been emptied by crash recovery",
						   unlogged);
		recompute_apply(st, DifferentialShape(st), snapshot, o);
		return;
	}

	if (rls != NULL || rls_was != NULL)
	{
		o->action = "FULL";
		o->reason = rls != NULL ? rls :
			"row-level security no longer applies to the owner";
		recompute_apply(st, DifferentialShape(st), snapshot, o);
		return;
	}

	pending = pending_or_recompute(st, snapshot, o);
	if (o->action != NULL)
	{
		recompute_pending(st, snapshot, o);
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
	o->reason = reason(psprintf(INT64_FORMAT " pending change%%s", total), total == 1 ? "" : "s");
	run_delta_or_recompute(st, pending, snapshot, o);
}

