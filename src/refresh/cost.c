/*-------------------------------------------------------------------------
 *
 * cost.c
 *	  The planner's estimate of a statement, for the choice between a
 *	  delta and a recomputation.
 *
 * A DIFFERENTIAL refresh of a large change set, on a table without a
 * history of measured refreshes, asks the planner what each way costs: the
 * delta statement planned for the change sets as they are (their exact
 * sizes) against the statements that recompute the query (the rewrite of
 * the table or the one that writes the difference, whichever would run),
 * each with what its writes cost, which the planner leaves out.  Both are
 * planned under the same settings, those of the delta statement, so that
 * the two numbers are in the same units (src/refresh/README.md, "Choice
 * without history").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/relation.h"
#include "executor/spi.h"
#include "executor/spi_priv.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "storage/itemid.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/resowner.h"

#include "capture/capture.h"
#include "refresh/refresh.h"

/*
 * What writing rows into a relation costs, in the planner's units.  The
 * planner charges a ModifyTable node nothing beyond its input, and an
 * INSERT of a query's rows no more than the query: writing is the same work
 * whatever plan produces the rows.  Between a delta, which writes the rows
 * that changed, and a recomputation, which deletes every row of the table
 * and writes every row again, the writes are most of the difference, so
 * both sides are charged for them, the way the planner charges the
 * corresponding reads: each row cpu_tuple_cost and its share of the pages
 * it fills at seq_page_cost (as a sequential scan reads them); each index
 * entry of an inserted row one descent of a btree, as btcostestimate
 * charges an index probe (a comparison per halving of the entries, 50
 * operator costs per page on the way down).  An updated or deleted row
 * writes no index entry (the delta's updates of a group change no indexed
 * column: HOT).
 */
double
RefreshWriteCost(Oid relid, double rows, int width, bool insert)
{
	Relation	rel;
	double		entries;
	double		levels;
	double		descent = 0;
	double		pages;
	int			nindexes = 0;

	if (rows <= 0)
		return 0;
	rel = relation_open(relid, AccessShareLock);
	entries = Max(Max(rel->rd_rel->reltuples, rows), 2);
	if (insert)
	{
		List	   *indexes = RelationGetIndexList(rel);

		nindexes = list_length(indexes);
		list_free(indexes);
	}
	relation_close(rel, AccessShareLock);

	/* about 256 entries of an 8-byte key per btree page */
	levels = ceil(log(entries) / log(256.0));
	descent = (ceil(log(entries) / log(2.0)) + (levels + 1) * 50.0) * cpu_operator_cost;
	/* a heap tuple's header and line pointer besides the data */
	pages = ceil(rows * (width + MAXALIGN(SizeofHeapTupleHeader) + sizeof(ItemIdData)) / BLCKSZ);
	return rows * cpu_tuple_cost + pages * seq_page_cost + rows * nindexes * descent;
}

/* The average width of a row of a relation, as the planner guesses it. */
int
RefreshRowWidth(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	int			width = 0;

	for (int i = 0; i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped)
			width += get_typavgwidth(TupleDescAttr(desc, i)->atttypid,
									 TupleDescAttr(desc, i)->atttypmod);
	relation_close(rel, AccessShareLock);
	return width;
}

/*
 * The planner's total cost of a prepared statement without parameters: the
 * sum over its planned statements of the top node's total cost, which
 * includes the statement's CTEs and initplans (they are charged to the top
 * node); its writes are not in it (RefreshWriteCost).  The plan made
 * here is the statement's generic plan: it is kept with the statement and
 * used when the statement runs.  *rows, when not NULL, gets the rows the
 * statement returns.
 */
double
RefreshPlanCost(SPIPlanPtr plan, double *rows)
{
	CachedPlan *cplan = SPI_plan_get_cached_plan(plan);
	double		cost = 0;
	ListCell   *lc;

	if (cplan == NULL)
		elog(ERROR, "could not plan a statement for its cost");
	if (rows != NULL)
		*rows = 0;
	foreach(lc, cplan->stmt_list)
	{
		PlannedStmt *stmt = lfirst_node(PlannedStmt, lc);

		if (stmt->planTree == NULL)
			continue;
		cost += stmt->planTree->total_cost;
		if (rows != NULL)
			*rows += stmt->planTree->plan_rows;
	}
	/* SPI_plan_get_cached_plan counted it for a kept statement only */
	ReleaseCachedPlan(cplan, plan->saved ? CurrentResourceOwner : NULL);
	return cost;
}

/*
 * The planner's estimate of a table's delta statement, remembered from the
 * last time it was planned in this backend: the key of the statement
 * without the change sizes (the defining query, the layouts: delta_plan in
 * differential.c), the change rows of each source it was planned for, and
 * its cost without writes.  One per stream table, in a context of its own.
 */
typedef struct DeltaEstimate
{
	int64		pgt_id;
	char	   *key;
	int			nsources;
	Oid		   *sources;
	int64	   *rows;
	double		cost;
} DeltaEstimate;

static MemoryContext estimates_context = NULL;
static List *estimates = NIL;

static DeltaEstimate *
find_estimate(int64 pgt_id)
{
	ListCell   *lc;

	foreach(lc, estimates)
	{
		DeltaEstimate *e = lfirst(lc);

		if (e->pgt_id == pgt_id)
			return e;
	}
	return NULL;
}

/* Remember the cost of pgt_id's delta statement planned for pending. */
void
RefreshRememberDeltaCost(int64 pgt_id, const char *key, List *pending, double cost)
{
	DeltaEstimate *e = find_estimate(pgt_id);
	MemoryContext old;
	ListCell   *lc;
	int			i = 0;

	if (estimates_context == NULL)
		estimates_context = AllocSetContextCreate(TopMemoryContext,
												  "pg_trickle delta estimates",
												  ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(estimates_context);
	if (e == NULL)
	{
		e = palloc0(sizeof(DeltaEstimate));
		e->pgt_id = pgt_id;
		estimates = lappend(estimates, e);
	}
	else
	{
		pfree(e->key);
		pfree(e->sources);
		pfree(e->rows);
	}
	e->key = pstrdup(key);
	e->nsources = list_length(pending);
	e->sources = palloc(sizeof(Oid) * Max(e->nsources, 1));
	e->rows = palloc(sizeof(int64) * Max(e->nsources, 1));
	foreach(lc, pending)
	{
		CapturePending *p = lfirst(lc);

		e->sources[i] = p->source_relid;
		e->rows[i++] = p->rows;
	}
	e->cost = cost;
	MemoryContextSwitchTo(old);
}

/*
 * The least the delta statement of pgt_id can cost for pending, from the
 * estimate remembered for the same statement (same key) planned for other
 * change sets, without planning it: false when there is none.  The delta
 * has one term per changed source, and a term costs a fixed part plus a
 * part that grows with the change rows of its source; a term never gets
 * cheaper with more rows.  So the cost for the pending rows is at least the
 * remembered cost times the smallest ratio, over the sources that had
 * changes then, of their change rows now to then (capped at 1): a change
 * set at least as large in every source costs at least as much, and one
 * half as large at least half (src/refresh/README.md, "Choice without
 * history").  *then gets the change rows the estimate was made for.
 */
bool
RefreshDeltaCostBound(int64 pgt_id, const char *key, List *pending,
					  double *bound, int64 *then)
{
	DeltaEstimate *e = find_estimate(pgt_id);
	double		factor = 1;

	if (e == NULL || strcmp(e->key, key) != 0)
		return false;
	*then = 0;
	for (int i = 0; i < e->nsources; i++)
	{
		ListCell   *lc;
		int64		now = 0;

		if (e->rows[i] == 0)
			continue;
		*then += e->rows[i];
		foreach(lc, pending)
		{
			CapturePending *p = lfirst(lc);

			if (p->source_relid == e->sources[i])
				now = p->rows;
		}
		factor = Min(factor, (double) now / (double) e->rows[i]);
	}
	*bound = e->cost * factor;
	return true;
}
