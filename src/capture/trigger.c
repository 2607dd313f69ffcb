/*-------------------------------------------------------------------------
 *
 * trigger.c
 *	  The capture trigger function pgtrickle._capture() and the seven
 *	  triggers that call it on each captured source.
 *
 * Statement-level AFTER INSERT / UPDATE / DELETE triggers with transition
 * tables, enabled for ordinary sessions (ENABLE: session_replication_role
 * origin or local); the same three as row-level AFTER triggers enabled
 * REPLICA, for the sessions that apply replicated changes (logical
 * replication's apply workers, which fire row triggers but no statement
 * triggers, and any session with session_replication_role = replica); and
 * one AFTER TRUNCATE trigger enabled ALWAYS (the apply worker fires
 * statement-level TRUNCATE triggers).  In each role exactly one trigger
 * per event fires: a change is captured once.  Each firing copies the rows
 * of its transition table(s), or its row, into the buffer in one batch,
 * whatever the writer's rights on the buffer.
 *
 * Two ways to write the batch, chosen per trigger when its entry is built:
 *
 * - direct (the normal case: the buffer is a bare table, as buffer.c makes
 *	 it): the transition tuples are read in C and written with
 *	 table_multi_insert, like COPY does.  No executor, no plan, no rights to
 *	 check (the same as running as the buffer's owner); per-statement cost
 *	 is a few microseconds plus the heap and WAL writes themselves.
 * - SQL (the buffer has indexes, constraints, triggers, rules or policies,
 *	 or a column type that differs): one INSERT INTO buffer ... SELECT ...
 *	 FROM <transition table>, run through SPI as the buffer's owner with the
 *	 transition tables registered, prepared once and kept.
 *
 * Entries live in a backend-local hash keyed by the trigger's OID.  A
 * relcache invalidation of the source or the buffer (DDL, but also VACUUM
 * and ANALYZE) marks an entry for a check before its next use: the column
 * map and statement are built again from the current layouts, and a kept
 * plan is replaced only when the statement text differs (the buffer gained
 * columns, a column was renamed).  The hot path builds nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/brin.h"
#include "access/genam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "access/heapam.h"
#include "access/hio.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"
#include "utils/xid8.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"
#include "compat.h"

PG_FUNCTION_INFO_V1(pgt_capture);

const CaptureTriggerSpec CaptureTriggers[CAPTURE_NTRIGGERS] = {
	{"pgt_capture_ins", CAPTURE_INSERT, false, TRIGGER_FIRES_ON_ORIGIN},
	{"pgt_capture_upd", CAPTURE_UPDATE, false, TRIGGER_FIRES_ON_ORIGIN},
	{"pgt_capture_del", CAPTURE_DELETE, false, TRIGGER_FIRES_ON_ORIGIN},
	{"pgt_capture_trunc", CAPTURE_TRUNCATE, false, TRIGGER_FIRES_ALWAYS},
	{"pgt_capture_ins_replica", CAPTURE_INSERT, true, TRIGGER_FIRES_ON_REPLICA},
	{"pgt_capture_upd_replica", CAPTURE_UPDATE, true, TRIGGER_FIRES_ON_REPLICA},
	{"pgt_capture_del_replica", CAPTURE_DELETE, true, TRIGGER_FIRES_ON_REPLICA}
};

static const char *const event_sql[CAPTURE_NEVENTS] = {
	"INSERT", "UPDATE", "DELETE", "TRUNCATE"
};

static const char *const referencing_sql[CAPTURE_NEVENTS] = {
	" REFERENCING NEW TABLE AS __pgt_new",
	" REFERENCING OLD TABLE AS __pgt_old NEW TABLE AS __pgt_new",
	" REFERENCING OLD TABLE AS __pgt_old",
	""
};

static const int16 event_type[CAPTURE_NEVENTS] = {
	TRIGGER_TYPE_INSERT, TRIGGER_TYPE_UPDATE, TRIGGER_TYPE_DELETE,
	TRIGGER_TYPE_TRUNCATE
};

/* How one capture trigger writes to its buffer. */
typedef struct CapturePlan
{
	Oid			tgoid;			/* hash key */
	bool		valid;			/* false: check before the next use */
	bool		skip;			/* a restored trigger: capture nothing */
	uint32		generation;		/* bumped by every invalidation */
	Oid			source_relid;
	Oid			buffer_relid;
	Oid			sequence_relid;
	Oid			owner;			/* the buffer's, who runs the SQL */
	bool		direct;			/* write tuples directly, not through SQL */
	Oid			xid_index;		/* direct: the buffer's index on __pgt_xid */
	int			buffer_natts;
	AttrNumber *source_attnum;	/* per buffer column: source attnum or 0 */
	char	   *sql;			/* the INSERT (TopMemoryContext) */
	SPIPlanPtr	plan;			/* prepared sql, kept; NULL until needed */
} CapturePlan;

/* Tuples per table_multi_insert call, and bytes. */
#define CAPTURE_BATCH_TUPLES 1000
#define CAPTURE_BATCH_BYTES (64 * 1024)
/* From this many rows on, write through a bulk-insert ring buffer. */
#define CAPTURE_BULK_ROWS 1000

static HTAB *capture_plans = NULL;
static bool capture_plans_stale = false;	/* some entry is invalid */

static void
capture_relcache_callback(Datum arg pg_attribute_unused(), Oid relid)
{
	HASH_SEQ_STATUS status;
	CapturePlan *p;

	if (capture_plans == NULL)
		return;
	hash_seq_init(&status, capture_plans);
	while ((p = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || p->source_relid == relid ||
			p->buffer_relid == relid || p->sequence_relid == relid)
		{
			p->valid = false;
			p->generation++;
			capture_plans_stale = true;
		}
	}
}

static void
init_plans(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(CapturePlan);
	capture_plans = hash_create("pg_trickle capture plans", 64, &ctl,
								HASH_ELEM | HASH_BLOBS);
	CacheRegisterRelcacheCallback(capture_relcache_callback, (Datum) 0);
}

static void
free_entry(CapturePlan *p)
{
	if (p->plan != NULL)
		SPI_freeplan(p->plan);
	if (p->sql != NULL)
		pfree(p->sql);
	if (p->source_attnum != NULL)
		pfree(p->source_attnum);
	p->plan = NULL;
	p->sql = NULL;
	p->source_attnum = NULL;
}

/* Forget plans of buffers that no longer exist. */
static void
sweep_plans(void)
{
	HASH_SEQ_STATUS status;
	CapturePlan *p;
	List	   *gone = NIL;
	ListCell   *lc;

	capture_plans_stale = false;
	hash_seq_init(&status, capture_plans);
	while ((p = hash_seq_search(&status)) != NULL)
		if (!p->valid && OidIsValid(p->buffer_relid) &&
			!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(p->buffer_relid)))
			gone = lappend_oid(gone, p->tgoid);
	foreach(lc, gone)
	{
		Oid			tgoid = lfirst_oid(lc);

		p = hash_search(capture_plans, &tgoid, HASH_FIND, NULL);
		free_entry(p);
		hash_search(capture_plans, &tgoid, HASH_REMOVE, NULL);
	}
	list_free(gone);
}

/*
 * The INSERT that copies the captured columns of the transition table(s)
 * into the buffer: $1 the writer's top-level xid8, $2 the sequence value.
 */
static char *
insert_sql(CaptureEvent event, Relation src, Relation buf,
		   const Trigger *trigger)
{
	TupleDesc	desc = RelationGetDescr(src);
	AttrNumber *map = CaptureColumnMap(RelationGetRelid(buf),
									   RelationGetRelid(src), desc->natts);
	StringInfoData cols;
	StringInfoData vals;
	char	   *target;

	initStringInfo(&cols);
	initStringInfo(&vals);
	for (int a = 1; a <= desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a - 1);

		if (map[a] == 0 || att->attisdropped ||
			map[a] > RelationGetNumberOfAttributes(buf))
			continue;
		appendStringInfo(&cols, ", %s",
						 quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(buf),
																map[a] - 1)->attname)));
		appendStringInfo(&vals, ", %s", quote_identifier(NameStr(att->attname)));
	}
	target = psprintf("INSERT INTO %s (__pgt_xid, __pgt_seq, __pgt_mult%s)",
					  quote_qualified_identifier(CAPTURE_SCHEMA,
												 RelationGetRelationName(buf)),
					  cols.data);
	switch (event)
	{
		case CAPTURE_INSERT:
			return psprintf("%s SELECT $1, $2, 1%s FROM %s", target, vals.data,
							quote_identifier(trigger->tgnewtable));
		case CAPTURE_DELETE:
			return psprintf("%s SELECT $1, $2, -1%s FROM %s", target, vals.data,
							quote_identifier(trigger->tgoldtable));
		case CAPTURE_UPDATE:
			return psprintf("%s SELECT $1, $2, -1%s FROM %s"
							" UNION ALL SELECT $1, $2, 1%s FROM %s",
							target, vals.data, quote_identifier(trigger->tgoldtable),
							vals.data, quote_identifier(trigger->tgnewtable));
		case CAPTURE_TRUNCATE:
		case CAPTURE_NEVENTS:
			break;
	}
	return psprintf("INSERT INTO %s (__pgt_xid, __pgt_seq, __pgt_mult)"
					" VALUES ($1, $2, 0)",
					quote_qualified_identifier(CAPTURE_SCHEMA,
											   RelationGetRelationName(buf)));
}

/*
 * The buffer's BRIN index on its writers (as buffer.c makes it: named
 * CAPTURE_XID_INDEX_PREFIX and the source's OID, one column, the xid8 as
 * bigint), InvalidOid when it has none; *other is set when it has any other
 * index, which the direct path would not maintain.
 */
static Oid
xid_index_of(Relation src, Relation buf, bool *other)
{
	List	   *indexes = RelationGetIndexList(buf);
	char	   *name = psprintf(CAPTURE_XID_INDEX_PREFIX "%u", RelationGetRelid(src));
	ListCell   *lc;
	Oid			found = InvalidOid;

	*other = false;
	foreach(lc, indexes)
	{
		Relation	ind = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = ind->rd_index;

		if (OidIsValid(found) || ind->rd_rel->relam != BRIN_AM_OID ||
			strcmp(RelationGetRelationName(ind), name) != 0 ||
			form->indnatts != 1 || form->indkey.values[0] != 0 ||
			TupleDescAttr(RelationGetDescr(ind), 0)->atttypid != INT8OID ||
			!form->indisvalid || !form->indisready ||
			!heap_attisnull(ind->rd_indextuple, Anum_pg_index_indpred, NULL))
			*other = true;
		else
			found = RelationGetRelid(ind);
		index_close(ind, AccessShareLock);
	}
	list_free(indexes);
	return found;
}

/*
 * Whether tuples can be written to the buffer directly: a heap with nothing
 * else to maintain (no constraints, triggers, rules, policies, indexes
 * other than the one on __pgt_xid, whose entries are made here) and every
 * captured column of the type its source column stores.
 */
static bool
direct_possible(Relation src, Relation buf, const AttrNumber *source_attnum)
{
	TupleDesc	bdesc = RelationGetDescr(buf);
	bool		other_index;

	(void) xid_index_of(src, buf, &other_index);
	if (buf->rd_rel->relam != HEAP_TABLE_AM_OID ||
		other_index || buf->rd_rel->relhasrules ||
		buf->rd_rel->relhastriggers || buf->rd_rel->relrowsecurity ||
		(bdesc->constr != NULL && bdesc->constr->num_check > 0) ||
		bdesc->natts < 3 ||
		TupleDescAttr(bdesc, 0)->atttypid != XID8OID ||
		TupleDescAttr(bdesc, 1)->atttypid != INT8OID ||
		TupleDescAttr(bdesc, 2)->atttypid != INT2OID)
		return false;
	for (int i = 3; i < bdesc->natts; i++)
	{
		Form_pg_attribute batt = TupleDescAttr(bdesc, i);
		Form_pg_attribute satt;
		int32		typmod;

		if (batt->attisdropped || source_attnum[i] == 0)
		{
			/* written as NULL */
			if (!batt->attisdropped && (batt->attnotnull || batt->atthasdef ||
										batt->attgenerated))
				return false;
			continue;
		}
		satt = TupleDescAttr(RelationGetDescr(src), source_attnum[i] - 1);
		typmod = satt->atttypmod;
		if (getBaseTypeAndTypmod(satt->atttypid, &typmod) != batt->atttypid ||
			typmod != batt->atttypmod || batt->attgenerated)
			return false;
	}
	return true;
}

/*
 * Whether an armed DIFFERENTIAL stream table reads the source (then its
 * changes must be captured).
 */
static bool
source_captured(Oid source_relid)
{
	return CatalogAny("SELECT 1 FROM pgtrickle.pgt_dependencies d"
					  "  JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
					  " WHERE d.source_relid = $1 AND s.refresh_mode = 'DIFFERENTIAL'"
					  "   AND " CATALOG_ARMED("s"),
					  OIDOID, ObjectIdGetDatum(source_relid));
}

/*
 * Bring an entry up to date: find the buffer, map its columns to the
 * source's, decide how to write, build the INSERT, and drop a kept plan
 * whose text changed.
 */
static void
refresh_entry(CapturePlan *p, TriggerData *trigdata, CaptureEvent event)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	src = trigdata->tg_relation;
	uint32		generation = p->generation;
	Oid			root;
	Oid			nsp;
	Oid			buffer_relid;
	Relation	buf;
	AttrNumber *map;
	AttrNumber *source_attnum;
	char	   *sql;

	if (trigger->tgnargs != 1)
		elog(ERROR, "trigger \"%s\" on %s must pass the change buffer's name to pgtrickle._capture()",
			 trigger->tgname, RelationGetRelationName(src));
	if ((event != CAPTURE_TRUNCATE && event != CAPTURE_DELETE && trigger->tgnewtable == NULL) ||
		((event == CAPTURE_DELETE || event == CAPTURE_UPDATE) && trigger->tgoldtable == NULL))
		elog(ERROR, "trigger \"%s\" on %s lacks its transition tables",
			 trigger->tgname, RelationGetRelationName(src));

	/*
	 * A trigger a restore brought back names the buffer of the dumped
	 * source's OID: it captures nothing until re-arming replaces it
	 * (catalog/restore.c; the stream tables it served recompute then).
	 */
	root = CaptureRootOf(RelationGetRelid(src));	/* partitions: inherit.c */
	if (strcmp(trigger->tgargs[0], CaptureBufferName(root)) != 0)
	{
		p->skip = true;
		return;
	}
	nsp = get_namespace_oid(CAPTURE_SCHEMA, false);
	buffer_relid = get_relname_relid(trigger->tgargs[0], nsp);
	if (!OidIsValid(buffer_relid) && !source_captured(root))
	{
		/* likewise, when the OIDs of the dumped and restored source agree */
		p->skip = true;
		return;
	}
	if (!OidIsValid(buffer_relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("change buffer %s of table %s does not exist",
						quote_qualified_identifier(CAPTURE_SCHEMA, trigger->tgargs[0]),
						RelationGetRelationName(src)),
				 errhint("Set the stream tables that read table %s to refresh mode FULL and back to DIFFERENTIAL.",
						 RelationGetRelationName(src))));
	LockRelationOid(buffer_relid, RowExclusiveLock);
	buf = relation_open(buffer_relid, NoLock);
	if (buf->rd_rel->relkind != RELKIND_RELATION)
		elog(ERROR, "change buffer %s is not a table", RelationGetRelationName(buf));

	/* invert the map: for each buffer column, the source column it copies */
	map = CaptureColumnMap(buffer_relid, RelationGetRelid(src),
						   RelationGetNumberOfAttributes(src));
	source_attnum = MemoryContextAllocZero(TopMemoryContext,
										   sizeof(AttrNumber) * RelationGetNumberOfAttributes(buf));
	for (int a = 1; a <= RelationGetNumberOfAttributes(src); a++)
		if (map[a] > 3 && map[a] <= RelationGetNumberOfAttributes(buf) &&
			!TupleDescAttr(RelationGetDescr(src), a - 1)->attisdropped)
			source_attnum[map[a] - 1] = a;

	sql = insert_sql(event, src, buf, trigger);
	if (p->plan != NULL && strcmp(p->sql, sql) != 0)
	{
		SPI_freeplan(p->plan);
		p->plan = NULL;
	}
	if (p->sql != NULL)
		pfree(p->sql);
	p->sql = MemoryContextStrdup(TopMemoryContext, sql);
	if (p->source_attnum != NULL)
		pfree(p->source_attnum);
	p->source_attnum = source_attnum;
	p->buffer_natts = RelationGetNumberOfAttributes(buf);
	p->direct = direct_possible(src, buf, source_attnum);
	{
		bool		other_index;

		p->xid_index = xid_index_of(src, buf, &other_index);
	}
	p->source_relid = RelationGetRelid(src);
	p->buffer_relid = buffer_relid;
	p->owner = buf->rd_rel->relowner;
	p->sequence_relid = get_relname_relid(CAPTURE_SEQUENCE, nsp);
	if (!OidIsValid(p->sequence_relid))
		elog(ERROR, "sequence %s.%s does not exist", CAPTURE_SCHEMA, CAPTURE_SEQUENCE);
	relation_close(buf, NoLock);

	/* an invalidation that arrived meanwhile means: check again next time */
	p->valid = (p->generation == generation);
}

/*
 * The direct path's writes of one firing: the transition rows formed as
 * buffer tuples, written in batches with table_multi_insert, and the index
 * entries on __pgt_xid made once the last batch is written.
 *
 * Index entries: every row of a statement has the writer's xid, and a BRIN
 * entry summarises a range of heap pages, not a row, so one index_insert
 * per page range the statement wrote to has the effect of one per row
 * (each further call for the same range and value finds the summary
 * already covering it) at a fraction of the cost: each call looks its range
 * up in the revmap, locks pages and deforms the summary (in PostgreSQL 15
 * and 16 it also sets up its revmap access anew), which cost bulk DML
 * about as much as forming the buffer tuples.  The calls come after all
 * heap tuples of the firing exist: a summarisation running meanwhile
 * either reads them from the heap or is handed the value by our call
 * (brin.c's placeholder protocol), as with one call per row right after
 * each insert.  Each call passes the first tuple
 * the firing put into that range (the one autosummarize looks at).
 */
typedef struct CaptureWriter
{
	CapturePlan *p;
	Relation	buf;
	TupleDesc	bdesc;
	CommandId	cid;
	BulkInsertState bistate;	/* NULL: small firings */
	TupleTableSlot **slots;		/* one batch */
	int			nslots;
	int			nbatch;
	Size		bytes;
	Datum	   *values;			/* of the buffer tuple being formed */
	bool	   *isnull;
	int			last_attnum;	/* the last source column copied */
	/* the BRIN index on __pgt_xid, if any, and the ranges written to */
	Relation	index;
	IndexInfo  *index_info;
	BlockNumber pages_per_range;
	BlockNumber last_range;
	ItemPointerData *range_tids;	/* first tuple written in each range */
	int			nranges;
	int			maxranges;
} CaptureWriter;

static void
writer_begin(CaptureWriter *w, CapturePlan *p, int64 nrows, Datum xid,
			 Datum seq)
{
	memset(w, 0, sizeof(CaptureWriter));
	w->p = p;
	w->buf = table_open(p->buffer_relid, RowExclusiveLock);

	/*
	 * A copy of the buffer's descriptor, not reference-counted: slots made
	 * with the relcache's pin it each, a resource owner entry per slot.
	 */
	w->bdesc = CreateTupleDescCopy(RelationGetDescr(w->buf));
	w->cid = GetCurrentCommandId(true);
	if (nrows > CAPTURE_BULK_ROWS)
	{
		/*
		 * Keep the target page pinned between batches, but without the
		 * bulk-write ring: the next refresh reads these pages, they had
		 * better stay in shared buffers.
		 */
		w->bistate = GetBulkInsertState();
		FreeAccessStrategy(w->bistate->strategy);
		w->bistate->strategy = NULL;
	}

	/* slots for one batch, shared by both transition tables of an UPDATE */
	w->nslots = (int) Min(Max(nrows, 1), CAPTURE_BATCH_TUPLES);
	w->slots = palloc(sizeof(TupleTableSlot *) * w->nslots);
	for (int i = 0; i < w->nslots; i++)
		w->slots[i] = MakeSingleTupleTableSlot(w->bdesc, &TTSOpsHeapTuple);

	/* what every tuple of the firing has: xid, seq; NULL where not copied */
	w->values = palloc(sizeof(Datum) * w->bdesc->natts);
	w->isnull = palloc(sizeof(bool) * w->bdesc->natts);
	w->values[0] = xid;
	w->values[1] = seq;
	w->isnull[0] = w->isnull[1] = w->isnull[2] = false;
	for (int i = 3; i < w->bdesc->natts; i++)
	{
		w->values[i] = (Datum) 0;
		w->isnull[i] = true;
		w->last_attnum = Max(w->last_attnum, p->source_attnum[i]);
	}

	if (OidIsValid(p->xid_index))
	{
		w->index = index_open(p->xid_index, RowExclusiveLock);
		Assert(w->index->rd_rel->relam == BRIN_AM_OID);
		w->index_info = BuildIndexInfo(w->index);
		w->pages_per_range = BrinGetPagesPerRange(w->index);
		w->last_range = InvalidBlockNumber;
		w->maxranges = 8;
		w->range_tids = palloc(sizeof(ItemPointerData) * w->maxranges);
	}
}

/* Write the batch, and note the page ranges it went to. */
static void
writer_flush(CaptureWriter *w)
{
	if (w->nbatch == 0)
		return;
	table_multi_insert(w->buf, w->slots, w->nbatch, w->cid, 0, w->bistate);
	for (int i = 0; i < w->nbatch; i++)
	{
		TupleTableSlot *slot = w->slots[i];

		if (w->index != NULL)
		{
			BlockNumber range = ItemPointerGetBlockNumber(&slot->tts_tid) /
				w->pages_per_range;

			if (range != w->last_range)
			{
				if (w->nranges == w->maxranges)
				{
					w->maxranges *= 2;
					w->range_tids = repalloc(w->range_tids,
											 sizeof(ItemPointerData) * w->maxranges);
				}
				w->range_tids[w->nranges++] = slot->tts_tid;
				w->last_range = range;
			}
		}
		ExecClearTuple(slot);
	}
	w->nbatch = 0;
	w->bytes = 0;
}

/* Add the buffer tuple of w->values / w->isnull to the batch. */
static void
writer_put(CaptureWriter *w)
{
	HeapTuple	tuple = heap_form_tuple(w->bdesc, w->values, w->isnull);

	w->bytes += tuple->t_len;
	ExecStoreHeapTuple(tuple, w->slots[w->nbatch++], true);
	if (w->nbatch == w->nslots || w->bytes >= CAPTURE_BATCH_BYTES)
		writer_flush(w);
}

/*
 * Append the rows of one transition table to the buffer with multiplicity
 * mult.  Values are copied as they are: each captured buffer column has the
 * type its source column stores (a domain's base type).  Out-of-line
 * values of the source are fetched and stored again by the heap's toaster.
 */
static void
writer_add_rows(CaptureWriter *w, Relation src, Tuplestorestate *rows,
				int16 mult)
{
	TupleTableSlot *in = MakeSingleTupleTableSlot(RelationGetDescr(src),
												  &TTSOpsMinimalTuple);
	const AttrNumber *source_attnum = w->p->source_attnum;
	int			readptr;

	w->values[2] = Int16GetDatum(mult);

	/* a read pointer of our own: other triggers read the same tuplestore */
	readptr = tuplestore_alloc_read_pointer(rows, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(rows, readptr);
	tuplestore_rescan(rows);

	while (tuplestore_gettupleslot(rows, true, false, in))
	{
		/* deform only up to the last captured column */
		slot_getsomeattrs(in, w->last_attnum);
		for (int i = 3; i < w->bdesc->natts; i++)
		{
			AttrNumber	a = source_attnum[i];

			if (a != 0)
			{
				w->values[i] = in->tts_values[a - 1];
				w->isnull[i] = in->tts_isnull[a - 1];
			}
		}
		/* copies the values out of the tuplestore's memory */
		writer_put(w);
	}
	ExecDropSingleTupleTableSlot(in);
}

/* The TRUNCATE marker: no columns. */
static void
writer_add_marker(CaptureWriter *w)
{
	w->values[2] = Int16GetDatum(0);
	for (int i = 3; i < w->bdesc->natts; i++)
		w->isnull[i] = true;
	writer_put(w);
}

static void
writer_end(CaptureWriter *w)
{
	writer_flush(w);
	if (w->index != NULL)
	{
		bool		isnull = false;

		/* the index's value: the xid8 as bigint (CAPTURE_XID_KEY) */
		Datum		key = Int64GetDatum((int64) U64FromFullTransactionId(DatumGetFullTransactionId(w->values[0])));

		for (int i = 0; i < w->nranges; i++)
			index_insert(w->index, &key, &isnull, &w->range_tids[i], w->buf,
						 UNIQUE_CHECK_NO, false, w->index_info);
		pgt_index_insert_cleanup(w->index, w->index_info);
		index_close(w->index, NoLock);
	}
	if (w->bistate != NULL)
	{
		FreeBulkInsertState(w->bistate);
		table_finish_bulk_insert(w->buf, 0);
	}
	for (int i = 0; i < w->nslots; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	table_close(w->buf, NoLock);
}

static void
insert_direct(CapturePlan *p, TriggerData *trigdata, CaptureEvent event,
			  Datum xid, Datum seq)
{
	Relation	src = trigdata->tg_relation;
	int64		nrows = 0;
	CaptureWriter w;

	if (trigdata->tg_oldtable != NULL && event != CAPTURE_INSERT)
		nrows += tuplestore_tuple_count(trigdata->tg_oldtable);
	if (trigdata->tg_newtable != NULL && event != CAPTURE_DELETE)
		nrows += tuplestore_tuple_count(trigdata->tg_newtable);

	writer_begin(&w, p, nrows, xid, seq);
	switch (event)
	{
		case CAPTURE_INSERT:
			writer_add_rows(&w, src, trigdata->tg_newtable, 1);
			break;
		case CAPTURE_DELETE:
			writer_add_rows(&w, src, trigdata->tg_oldtable, -1);
			break;
		case CAPTURE_UPDATE:
			writer_add_rows(&w, src, trigdata->tg_oldtable, -1);
			writer_add_rows(&w, src, trigdata->tg_newtable, 1);
			break;
		case CAPTURE_TRUNCATE:
		case CAPTURE_NEVENTS:
			writer_add_marker(&w);
			break;
	}
	writer_end(&w);
}

/*
 * The same through SQL: the INSERT, prepared once, run as the buffer's
 * owner (the writer may not even see its schema) with the transition
 * tables registered under their names.
 */
static void
insert_sql_plan(CapturePlan *p, TriggerData *trigdata, Datum xid, Datum seq)
{
	Oid			save_userid;
	int			save_sec_context;
	Datum		values[2] = {xid, seq};
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "could not register the transition tables");
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(p->owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (p->plan == NULL)
	{
		Oid			argtypes[2] = {XID8OID, INT8OID};
		int			nestlevel = NewGUCNestLevel();
		SPIPlanPtr	plan;

		(void) set_config_option("search_path", PGT_SAFE_SEARCH_PATH,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		plan = SPI_prepare_cursor(p->sql, 2, argtypes, CURSOR_OPT_GENERIC_PLAN);
		AtEOXact_GUC(true, nestlevel);
		if (plan == NULL)
			elog(ERROR, "could not prepare change capture (%s): %s",
				 SPI_result_code_string(SPI_result), p->sql);
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "could not keep the change capture plan");
		p->plan = plan;
	}
	rc = SPI_execute_plan(p->plan, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "change capture failed (%s): %s", SPI_result_code_string(rc), p->sql);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	SPI_finish();
}

static CaptureEvent
fired_event(TriggerData *trigdata)
{
	TriggerEvent ev = trigdata->tg_event;

	if (!TRIGGER_FIRED_AFTER(ev) ||
		(TRIGGER_FIRED_FOR_ROW(ev) && TRIGGER_FIRED_BY_TRUNCATE(ev)))
		elog(ERROR, "pgtrickle._capture() must be fired AFTER an event");
	if (TRIGGER_FIRED_BY_INSERT(ev))
		return CAPTURE_INSERT;
	if (TRIGGER_FIRED_BY_UPDATE(ev))
		return CAPTURE_UPDATE;
	if (TRIGGER_FIRED_BY_DELETE(ev))
		return CAPTURE_DELETE;
	return CAPTURE_TRUNCATE;
}

static bool
nothing_changed(TriggerData *trigdata, CaptureEvent event)
{
	switch (event)
	{
		case CAPTURE_INSERT:
			return trigdata->tg_newtable != NULL &&
				tuplestore_tuple_count(trigdata->tg_newtable) == 0;
		case CAPTURE_DELETE:
			return trigdata->tg_oldtable != NULL &&
				tuplestore_tuple_count(trigdata->tg_oldtable) == 0;
		case CAPTURE_UPDATE:
			return trigdata->tg_newtable != NULL && trigdata->tg_oldtable != NULL &&
				tuplestore_tuple_count(trigdata->tg_newtable) == 0 &&
				tuplestore_tuple_count(trigdata->tg_oldtable) == 0;
		case CAPTURE_TRUNCATE:
		case CAPTURE_NEVENTS:
			break;
	}
	return false;
}

/*
 * A row-level firing as if it were a statement's: its row(s) in one-row
 * transition tables under the names the statement triggers use, so that
 * both kinds write through the same code (and the same SQL, when the
 * buffer needs it).
 */
static TriggerData *
row_as_transition_tables(TriggerData *trigdata, CaptureEvent event)
{
	TriggerData *td = palloc(sizeof(TriggerData));
	Trigger    *trigger = palloc(sizeof(Trigger));

	*td = *trigdata;
	*trigger = *trigdata->tg_trigger;
	td->tg_trigger = trigger;
	td->tg_oldtable = NULL;
	td->tg_newtable = NULL;
	trigger->tgoldtable = NULL;
	trigger->tgnewtable = NULL;
	if (event == CAPTURE_UPDATE || event == CAPTURE_DELETE)
	{
		trigger->tgoldtable = "__pgt_old";
		td->tg_oldtable = tuplestore_begin_heap(false, false, work_mem);
		tuplestore_puttuple(td->tg_oldtable, trigdata->tg_trigtuple);
	}
	if (event == CAPTURE_UPDATE || event == CAPTURE_INSERT)
	{
		trigger->tgnewtable = "__pgt_new";
		td->tg_newtable = tuplestore_begin_heap(false, false, work_mem);
		tuplestore_puttuple(td->tg_newtable,
							event == CAPTURE_UPDATE ? trigdata->tg_newtuple :
							trigdata->tg_trigtuple);
	}
	return td;
}

/*
 * pgtrickle._capture(buffer name): copy the rows a statement (or, for the
 * REPLICA triggers, a row change) wrote into the source's change buffer.
 */
Datum
pgt_capture(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	CaptureEvent event;
	CapturePlan *p;
	bool		found;
	Datum		xid;
	Datum		seq;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "pgtrickle._capture() must be called as a trigger");
	event = fired_event(trigdata);
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		trigdata = row_as_transition_tables(trigdata, event);
	if (nothing_changed(trigdata, event))
		return PointerGetDatum(NULL);

	if (capture_plans == NULL)
		init_plans();
	if (capture_plans_stale)
		sweep_plans();
	p = hash_search(capture_plans, &trigdata->tg_trigger->tgoid, HASH_ENTER, &found);
	if (!found)
	{
		memset(((char *) p) + sizeof(Oid), 0, sizeof(CapturePlan) - sizeof(Oid));
		p->valid = false;
	}
	if (p->valid)
	{
		/* taking the lock may deliver invalidations */
		LockRelationOid(p->buffer_relid, RowExclusiveLock);
	}
	if (!p->valid)
	{
		/* never kept valid while skipping: re-arming changes no trigger */
		p->skip = false;
		refresh_entry(p, trigdata, event);
		if (p->skip)
			return PointerGetDatum(NULL);
	}

	xid = FullTransactionIdGetDatum(GetTopFullTransactionId());
	/* the sequence belongs to the catalog owner, not to the writer */
	seq = Int64GetDatum(nextval_internal(p->sequence_relid, false));
	if (p->direct)
		insert_direct(p, trigdata, event, xid, seq);
	else
		insert_sql_plan(p, trigdata, xid, seq);
	return PointerGetDatum(NULL);
}

/* ---- installing the triggers ---- */

static Oid
capture_function(void)
{
	return LookupFuncName(list_make2(makeString("pgtrickle"), makeString("_capture")),
						  0, NULL, false);
}

/* Whether trigger t is capture trigger spec, writing to buffer. */
static bool
trigger_is_right(const Trigger *t, const CaptureTriggerSpec *spec,
				 const char *buffer_name, Oid func)
{
	CaptureEvent event = spec->event;

	if (spec->row)
		return t->tgfoid == func &&
			t->tgtype == (event_type[event] | TRIGGER_TYPE_ROW) &&
			t->tgnargs == 1 && strcmp(t->tgargs[0], buffer_name) == 0 &&
			t->tgnattr == 0 && t->tgqual == NULL &&
			t->tgnewtable == NULL && t->tgoldtable == NULL;
	return t->tgfoid == func &&
		t->tgtype == event_type[event] &&
		t->tgnargs == 1 && strcmp(t->tgargs[0], buffer_name) == 0 &&
		t->tgnattr == 0 && t->tgqual == NULL &&
		((event != CAPTURE_INSERT && event != CAPTURE_UPDATE) ||
		 (t->tgnewtable != NULL && strcmp(t->tgnewtable, "__pgt_new") == 0)) &&
		((event != CAPTURE_DELETE && event != CAPTURE_UPDATE) ||
		 (t->tgoldtable != NULL && strcmp(t->tgoldtable, "__pgt_old") == 0));
}

static const Trigger *
find_trigger(Relation rel, const char *name)
{
	TriggerDesc *td = rel->trigdesc;

	if (td == NULL)
		return NULL;
	for (int i = 0; i < td->numtriggers; i++)
		if (strcmp(td->triggers[i].tgname, name) == 0)
			return &td->triggers[i];
	return NULL;
}

/* Whether the capture triggers exist, are right and are enabled right. */
bool
CaptureTriggersPresent(Oid source_relid, const char *buffer_name)
{
	Relation	rel = table_open(source_relid, AccessShareLock);
	Oid			func = capture_function();
	bool		ok = true;

	for (int i = 0; i < CAPTURE_NTRIGGERS && ok; i++)
	{
		const Trigger *t = find_trigger(rel, CaptureTriggers[i].name);

		ok = t != NULL && t->tgenabled == CaptureTriggers[i].enabled &&
			trigger_is_right(t, &CaptureTriggers[i], buffer_name, func);
	}
	table_close(rel, NoLock);
	return ok;
}

/* ALTER TABLE ... ENABLE [ALWAYS | REPLICA] TRIGGER, without the utility command. */
static void
set_enabled(Oid source_relid, Oid tgoid, char enabled)
{
	Relation	tgrel = table_open(TriggerRelationId, RowExclusiveLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(tgoid));
	scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "could not find trigger %u", tgoid);
	if (((Form_pg_trigger) GETSTRUCT(tup))->tgenabled != enabled)
	{
		HeapTuple	copy = heap_copytuple(tup);

		((Form_pg_trigger) GETSTRUCT(copy))->tgenabled = enabled;
		CatalogTupleUpdate(tgrel, &copy->t_self, copy);
		heap_freetuple(copy);
		CacheInvalidateRelcacheByRelid(source_relid);
	}
	InvokeObjectPostAlterHook(TriggerRelationId, tgoid, 0);
	systable_endscan(scan);
	table_close(tgrel, RowExclusiveLock);
	CommandCounterIncrement();
}

/*
 * Give a source its capture triggers (replacing wrong ones), each enabled
 * as CaptureTriggers says, as internal parts of the buffer.  The caller
 * holds ShareRowExclusiveLock on the source.
 */
void
CaptureInstallTriggers(Oid source_relid, Oid buffer_relid)
{
	/* a partition's or child's triggers write to its root's buffer */
	char	   *buffer_name = get_rel_name(buffer_relid);
	char	   *source = CatalogRelationName(source_relid);
	Oid			func = capture_function();
	ObjectAddress buffer;

	ObjectAddressSet(buffer, RelationRelationId, buffer_relid);
	for (int i = 0; i < CAPTURE_NTRIGGERS; i++)
	{
		const CaptureTriggerSpec *spec = &CaptureTriggers[i];
		Relation	rel = table_open(source_relid, ShareRowExclusiveLock);
		const Trigger *t = find_trigger(rel, spec->name);
		bool		right = t != NULL && trigger_is_right(t, spec, buffer_name, func);
		Oid			tgoid = t != NULL ? t->tgoid : InvalidOid;
		ObjectAddress trig;

		table_close(rel, NoLock);
		if (OidIsValid(tgoid) && !right)
		{
			/* somebody else's trigger with our name, or a stale one */
			deleteDependencyRecordsForClass(TriggerRelationId, tgoid,
											RelationRelationId, DEPENDENCY_INTERNAL);
			CommandCounterIncrement();
			ObjectAddressSet(trig, TriggerRelationId, tgoid);
			performDeletion(&trig, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
			CommandCounterIncrement();
			tgoid = InvalidOid;
		}
		if (!OidIsValid(tgoid))
		{
			SPI_connect();
			CaptureExecute(psprintf("CREATE TRIGGER %s AFTER %s ON %s%s"
									" FOR EACH %s"
									" EXECUTE FUNCTION pgtrickle._capture(%s)",
									spec->name, event_sql[spec->event], source,
									spec->row ? "" : referencing_sql[spec->event],
									spec->row ? "ROW" : "STATEMENT",
									quote_literal_cstr(buffer_name)),
						   0, NULL, NULL, InvalidSnapshot, false);
			SPI_finish();
			CommandCounterIncrement();
			tgoid = get_trigger_oid(source_relid, spec->name, false);
			ObjectAddressSet(trig, TriggerRelationId, tgoid);
			/*
			 * A partition's or child's triggers go with the buffer, but must
			 * not take the buffer with them when the table is dropped
			 * (inherit.c): AUTO, not INTERNAL.
			 */
			recordDependencyOn(&trig, &buffer,
							   strcmp(buffer_name, CaptureBufferName(source_relid)) == 0 ?
							   DEPENDENCY_INTERNAL : DEPENDENCY_AUTO);
		}
		set_enabled(source_relid, tgoid, spec->enabled);
	}
}
