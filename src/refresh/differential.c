/*-------------------------------------------------------------------------
 *
 * differential.c
 *	  One refresh of a DIFFERENTIAL stream table: decide the action, apply.
 *
 * Runs inside the owner's sandbox with the write guard lifted, under the
 * refresh's one snapshot.  The action:
 *
 *	 NO_DATA       nothing pending for any source: only the frontiers move;
 *	 FULL          a TRUNCATE of a source is pending, or the change set is a
 *				   large share of a source (pg_trickle.differential_max_change_ratio),
 *				   or it is the initial population / a query change;
 *	 DIFFERENTIAL  the delta statement of the shape.
 *
 * The caller advances the frontiers under the same snapshot afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

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

/* Run one apply statement; it returns (inserted, deleted, updated). */
static void
run_plan(SPIPlanPtr plan, Snapshot snapshot, RefreshOutcome *o)
{
	bool		isnull;
	int64		updated;

	if (SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot,
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

	run_plan(plan, snapshot, o);
	SPI_freeplan(plan);
}

/*
 * The delta statement of a stream table for these pending changes, from
 * the backend's plan cache or built and kept now.  The key holds what the
 * statement is made of (see plancache.c).
 */
static SPIPlanPtr
delta_plan(const StreamTable *st, List *pending)
{
	StringInfoData key;
	Oid		   *relids = palloc(sizeof(Oid) * (2 * list_length(pending) + 1));
	int			nrelids = 0;
	ListCell   *lc;
	SPIPlanPtr	plan;

	initStringInfo(&key);
	appendStringInfo(&key, "%u/%u", st->relid, st->query_relid);
	relids[nrelids++] = st->relid;
	foreach(lc, pending)
	{
		CapturePending *p = lfirst(lc);
		int			bits = 0;

		while (bits < 62 && ((int64) 1 << bits) < p->rows)
			bits++;
		appendStringInfo(&key, "/%u:%d", p->source_relid, p->rows == 0 ? -1 : bits);
		relids[nrelids++] = p->source_relid;
		relids[nrelids++] = CaptureBufferRelid(p->source_relid);
	}
	appendStringInfo(&key, "/%s", st->defining_query);

	plan = PlanCacheLookup(st->pgt_id, key.data);
	if (plan == NULL)
		plan = PlanCacheStore(st->pgt_id, key.data,
							  prepare(DeltaApplySql(st, DifferentialShape(st), pending)),
							  relids, nrelids);
	return plan;
}

static void
full_apply(const StreamTable *st, const DeltaShape *shape, Snapshot snapshot,
		   RefreshOutcome *o)
{
	SPIPlanPtr	plan = SPI_prepare(psprintf("DELETE FROM %s", CatalogRelationName(st->relid)),
								   0, NULL);

	if (plan == NULL ||
		SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot,
							 false, true, 0) < 0)
		elog(ERROR, "could not empty %s", st->name);
	o->rows_deleted = SPI_processed;
	SPI_freeplan(plan);
	run_apply(DeltaFullSql(st, shape), snapshot, o);
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

/* Below this many pending rows a delta is always cheaper than recomputing. */
#define DIFFERENTIAL_MIN_ROWS_FOR_COST_CHECK 1000

/* The reason outlives the SPI connection the refresh runs in. */
static const char *
reason(const char *fmt, const char *arg)
{
	return MemoryContextStrdup(CurTransactionContext, psprintf(fmt, arg));
}

void
DifferentialRefresh(const StreamTable *st, RefreshInitiator who,
					Snapshot snapshot, RefreshOutcome *o)
{
	List	   *pending;
	ListCell   *lc;
	int64		total = 0;

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

	pending = CapturePendingChanges(st->pgt_id, snapshot);
	foreach(lc, pending)
	{
		CapturePending *p = lfirst(lc);
		double		share = (double) p->rows / (double) Max(p->source_rows_estimate, 1);

		total += p->rows;
		if (p->truncated)
		{
			o->action = "FULL";
			o->reason = reason("source %s truncated", get_rel_name(p->source_relid));
			full_apply(st, DifferentialShape(st), snapshot, o);
			return;
		}
		if (p->rows > DIFFERENTIAL_MIN_ROWS_FOR_COST_CHECK &&
			share > pgt_differential_max_change_ratio)
		{
			o->action = "FULL";
			o->reason = reason(psprintf("FULL by cost: change set %.0f%%%% of source %%s", share * 100),
							   get_rel_name(p->source_relid));
			full_apply(st, DifferentialShape(st), snapshot, o);
			return;
		}
	}
	o->delta_row_count = total;
	if (total == 0)
	{
		o->action = "NO_DATA";
		o->reason = "no pending change";
		return;
	}
	o->action = "DIFFERENTIAL";
	o->reason = reason(psprintf(INT64_FORMAT " pending change%%s", total), total == 1 ? "" : "s");
	run_plan(delta_plan(st, pending), snapshot, o);
}
