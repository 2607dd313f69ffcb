/*-------------------------------------------------------------------------
 *
 * full.c
 *	  FULL refresh: recompute the defining query and replace the contents.
 *
 * Old rows are deleted and the new result inserted in the caller's
 * transaction, both under the refresh's one snapshot.  Readers keep seeing
 * the old contents until commit and are never blocked: unlike TRUNCATE or
 * a heap swap this needs no ACCESS EXCLUSIVE lock, and there is no moment
 * at which the table looks empty.
 *
 * The new result is written by FullRefreshFill: the query runs as a plain
 * SELECT, which the planner may run with parallel workers as it does for
 * REFRESH MATERIALIZED VIEW (never for INSERT ... SELECT), and its rows go
 * straight into the heap and the indexes of the storage table
 * (src/refresh/README.md, "Recomputation").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "refresh/refresh.h"

/*
 * The defining query's result, as a SELECT of the storage columns; *target
 * gets their list.  Run under the refresh's pinned search_path, every name
 * in it is qualified.
 */
static char *
full_select_sql(const StreamTable *st, char **target)
{
	List	   *cols = RefreshStorageColumns(st->query_relid);
	StringInfoData list;
	ListCell   *lc;

	initStringInfo(&list);
	foreach(lc, cols)
		appendStringInfo(&list, "%s%s", list.len ? ", " : "",
						 quote_identifier(lfirst(lc)));
	*target = list.data;
	return psprintf("SELECT %s FROM (\n%s\n) q", list.data,
					DependViewQuery(st->query_relid));
}

/* The statement that fills the stream table from its defining query. */
char *
FullRefreshSql(const StreamTable *st)
{
	char	   *target;
	char	   *select = full_select_sql(st, &target);

	return psprintf("INSERT INTO %s (%s)\n%s",
					CatalogRelationName(st->relid), target, select);
}

static uint64
execute_at(const char *sql, Snapshot snapshot)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	int			rc;

	if (plan == NULL)
		elog(ERROR, "could not prepare refresh statement (%s): %s",
			 SPI_result_code_string(SPI_result), sql);
	rc = SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot,
							  false, true, 0);
	if (rc < 0)
		elog(ERROR, "refresh statement failed (%s): %s",
			 SPI_result_code_string(rc), sql);
	SPI_freeplan(plan);
	return SPI_processed;
}

/*
 * Whether rows may be written into the storage table without the executor
 * of an INSERT: nothing an INSERT would do besides writing the heap and the
 * indexes applies.  No trigger fires on INSERT but the write guard (capture
 * triggers of stream tables reading this one, the owner's own triggers,
 * foreign keys, deferred unique constraints all are triggers), no rule, no
 * row-level security, no CHECK or NOT NULL constraint, no generated
 * column, and the owner may INSERT into the whole table.  Otherwise the
 * caller runs the INSERT, which does all of it.
 */
static bool
fill_allowed(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	TriggerDesc *trigdesc = rel->trigdesc;

	if (rel->rd_rel->relkind != RELKIND_RELATION ||
		rel->rd_rel->relrowsecurity || rel->rd_rules != NULL)
		return false;
	if (constr != NULL &&
		(constr->num_check > 0 || constr->has_not_null || pgt_has_generated(constr)))
		return false;
	if (trigdesc != NULL)
	{
		Oid			guard = GuardFunction();

		for (int i = 0; i < trigdesc->numtriggers; i++)
			if (TRIGGER_FOR_INSERT(trigdesc->triggers[i].tgtype) &&
				trigdesc->triggers[i].tgfoid != guard)
				return false;
	}
	return pg_class_aclcheck(RelationGetRelid(rel), GetUserId(),
							 ACL_INSERT) == ACLCHECK_OK;
}

/*
 * The storage attribute each column of the query's result goes to, by
 * name; NULL unless every column of the storage table gets exactly one
 * column of the result, of its type (and typmod, when the column has one):
 * then an INSERT would add nothing (no default, no coercion).
 */
static AttrNumber *
fill_map(Relation rel, TupleDesc result)
{
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber *attnos = palloc0(sizeof(AttrNumber) * Max(result->natts, 1));
	int			filled = 0;

	for (int i = 0; i < result->natts; i++)
	{
		Form_pg_attribute out = TupleDescAttr(result, i);

		for (int j = 0; j < desc->natts; j++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, j);

			if (att->attisdropped ||
				strcmp(NameStr(att->attname), NameStr(out->attname)) != 0)
				continue;
			if (att->atttypid != out->atttypid ||
				(att->atttypmod >= 0 && att->atttypmod != out->atttypmod))
				return NULL;
			attnos[i] = att->attnum;
			break;
		}
		if (attnos[i] == InvalidAttrNumber)
			return NULL;
		for (int k = 0; k < i; k++)
			if (attnos[k] == attnos[i])
				return NULL;
		filled++;
	}
	for (int j = 0; j < desc->natts; j++)
		if (!TupleDescAttr(desc, j)->attisdropped)
			filled--;
	return filled == 0 ? attnos : NULL;
}

/* Receives the query's rows and writes them into the storage table. */
typedef struct FillReceiver
{
	DestReceiver pub;
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;		/* a row in the storage table's layout */
	AttrNumber *attnos;			/* fill_map */
	BulkInsertState bistate;
	CommandId	cid;
	int64		rows;
} FillReceiver;

static bool
fill_receive(TupleTableSlot *in, DestReceiver *self)
{
	FillReceiver *f = (FillReceiver *) self;
	TupleTableSlot *slot = f->slot;
	MemoryContext old;

	ExecClearTuple(slot);
	slot_getallattrs(in);
	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	for (int i = 0; i < in->tts_tupleDescriptor->natts; i++)
	{
		slot->tts_values[f->attnos[i] - 1] = in->tts_values[i];
		slot->tts_isnull[f->attnos[i] - 1] = in->tts_isnull[i];
	}
	ExecStoreVirtualTuple(slot);

	old = MemoryContextSwitchTo(GetPerTupleMemoryContext(f->estate));
	table_tuple_insert(f->rel, slot, f->cid, 0, f->bistate);
	if (f->rri->ri_NumIndices > 0)
		pgt_exec_insert_index_tuples(f->rri, slot, f->estate);
	MemoryContextSwitchTo(old);
	ResetPerTupleExprContext(f->estate);
	f->rows++;
	return true;
}

static void
fill_startup(DestReceiver *self pg_attribute_unused(),
			 int operation pg_attribute_unused(),
			 TupleDesc typeinfo pg_attribute_unused())
{
}

static void
fill_shutdown(DestReceiver *self pg_attribute_unused())
{
}

static void
fill_destroy(DestReceiver *self pg_attribute_unused())
{
}

/*
 * The statement FullRefreshFill runs: select (a SELECT whose output columns
 * are named, in order, by target: storage columns), planned as a SELECT
 * that may run in parallel, like the query of REFRESH MATERIALIZED VIEW
 * (PostgreSQL plans no INSERT ... SELECT in parallel).  NULL when an INSERT
 * would do more than writing the rows into the heap and the indexes
 * (fill_allowed, fill_map): the caller then runs the INSERT.
 */
SPIPlanPtr
FullRefreshFillPlan(Oid relid, const char *select, const char *target)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	SPIPlanPtr	plan;
	CachedPlanSource *source;

	if (!fill_allowed(rel))
	{
		table_close(rel, NoLock);
		return NULL;
	}
	plan = SPI_prepare_cursor(psprintf("SELECT * FROM (%s) f(%s)", select, target),
							  0, NULL, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "could not prepare the recomputation (%s)",
			 SPI_result_code_string(SPI_result));
	source = linitial(SPI_plan_get_plan_sources(plan));
	if (source->resultDesc == NULL || fill_map(rel, source->resultDesc) == NULL)
	{
		SPI_freeplan(plan);
		plan = NULL;
	}
	table_close(rel, NoLock);
	return plan;
}

/*
 * Insert the rows of select into the storage table, under snapshot, as the
 * current user (FullRefreshFillPlan).  Each row is written into the heap (a
 * bulk-insert state, as CREATE TABLE AS and COPY use) and its index entries
 * inserted as an INSERT would, unique and exclusion constraints checked.
 * Returns false, having written nothing, when the INSERT must run instead.
 */
bool
FullRefreshFill(Oid relid, const char *select, const char *target,
				Snapshot snapshot, int64 *rows_inserted)
{
	SPIPlanPtr	plan = FullRefreshFillPlan(relid, select, target);

	if (plan == NULL)
		return false;
	FullRefreshFillRun(relid, plan, snapshot, rows_inserted);
	return true;
}

/*
 * Run a statement made by FullRefreshFillPlan (FullRefreshFill), and free
 * it.  A caller that planned it to estimate its cost runs the plan made
 * then (src/refresh/README.md, "Choice without history").
 */
void
FullRefreshFillRun(Oid relid, SPIPlanPtr plan, Snapshot snapshot,
				   int64 *rows_inserted)
{
	Relation	rel;
	SPIExecuteOptions options;
	FillReceiver f;
	int			rc;

	rel = table_open(relid, RowExclusiveLock);
	memset(&f, 0, sizeof(f));
	f.attnos = fill_map(rel, ((CachedPlanSource *)
							  linitial(SPI_plan_get_plan_sources(plan)))->resultDesc);
	f.pub.receiveSlot = fill_receive;
	f.pub.rStartup = fill_startup;
	f.pub.rShutdown = fill_shutdown;
	f.pub.rDestroy = fill_destroy;
	f.pub.mydest = DestNone;	/* the sender need not know */
	f.rel = rel;
	f.estate = CreateExecutorState();
	f.rri = makeNode(ResultRelInfo);
	InitResultRelInfo(f.rri, rel, 1, NULL, 0);
	ExecOpenIndices(f.rri, false);
	f.slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsVirtual);
	f.bistate = GetBulkInsertState();
	f.cid = GetCurrentCommandId(true);

	/*
	 * The rows are written while the query may run in parallel mode, where
	 * no transaction id can be assigned: take it now (the DELETE before
	 * took none when the table was empty).
	 */
	(void) GetCurrentTransactionId();

	/* read_only: run under exactly this snapshot, the active one */
	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = &f.pub;
	PushActiveSnapshot(snapshot);
	rc = SPI_execute_plan_extended(plan, &options);
	PopActiveSnapshot();
	if (rc < 0)
		elog(ERROR, "the recomputation failed (%s)", SPI_result_code_string(rc));

	FreeBulkInsertState(f.bistate);
	table_finish_bulk_insert(rel, 0);
	ExecDropSingleTupleTableSlot(f.slot);
	ExecCloseIndices(f.rri);
	FreeExecutorState(f.estate);
	SPI_freeplan(plan);
	table_close(rel, NoLock);

	/* the rows are seen by what the refresh runs next */
	CommandCounterIncrement();
	*rows_inserted = f.rows;
}

void
FullRefreshApply(const StreamTable *st, Snapshot snapshot,
				 int64 *rows_inserted, int64 *rows_deleted)
{
	char	   *target;
	char	   *select = full_select_sql(st, &target);

	*rows_deleted = execute_at(psprintf("DELETE FROM %s",
										CatalogRelationName(st->relid)),
							   snapshot);
	if (!FullRefreshFill(st->relid, select, target, snapshot, rows_inserted))
		*rows_inserted = execute_at(FullRefreshSql(st), snapshot);
}
