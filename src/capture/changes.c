/*-------------------------------------------------------------------------
 *
 * changes.c
 *	  The change set of a refresh: each source's pending buffer rows, read
 *	  once and netted, and served to the delta statement.
 *
 * A refresh first reads, for each captured source, the buffer rows its
 * frontier has not consumed (CapturePendingChanges), projected on the
 * columns the stream table's query reads (pgt_dependencies.columns_used),
 * and nets them: rows with the same binary image of those columns add up
 * their multiplicities, and images whose multiplicities cancel out are
 * dropped.  So a row inserted and deleted again, an update changed back,
 * or an update of columns the query does not read costs the refresh
 * nothing, and the query's expressions never see a transient row.
 *
 * Identity is the binary image (datum_image_eq / datum_image_hash), not the
 * types' equality and never the text form: 1.0 and 1.00, -0 and 0, 'a' and
 * 'A' under a case-insensitive collation are different images, and
 * cancelling them would leave the stream table showing an old spelling.
 * Binary-equal values are equal under any equality, so netting can only
 * be too cautious, never wrong.
 *
 * The netted rows stay in backend memory until the refresh ends.  The
 * delta statement reads them through pgtrickle._changes(pgt_id, source), a
 * set-returning function whose planner support function reports the exact
 * number of rows, so that every join term is planned for the real size of
 * its change set; the statement does not name the buffer, so VACUUM and
 * ANALYZE of a buffer do not invalidate its cached plan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "nodes/supportnodes.h"
#include "optimizer/plancat.h"
#include "storage/bufmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/xid8.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"

/* Buffers larger than this (8 kB pages) are read with a plan of their own. */
#define CAPTURE_CUSTOM_READ_BLOCKS 128

PG_FUNCTION_INFO_V1(pgt_changes);
PG_FUNCTION_INFO_V1(pgt_changes_support);

/* The netted change set of one source for one refresh. */
typedef struct ChangeSet
{
	int64		pgt_id;
	Oid			source_relid;
	Oid			reader;			/* the role the refresh runs as */
	TupleDesc	desc;			/* selected columns, then __pgt_m int8 */
	HeapTuple  *rows;
	int64		nrows;
} ChangeSet;

/* Change sets of the refresh in progress, in change_context. */
static MemoryContext change_context = NULL;
static List *change_sets = NIL;

/* One distinct image while netting. */
typedef struct NetRow
{
	Datum	   *values;
	bool	   *isnull;
	int64		mult;
	struct NetRow *next;		/* same hash */
} NetRow;

typedef struct NetBucket
{
	uint32		hash;			/* key */
	NetRow	   *rows;
} NetBucket;

static void
forget_context(void *arg pg_attribute_unused())
{
	change_context = NULL;
	change_sets = NIL;
}

/*
 * cxt, a child of TopTransactionContext, with forget to run when it goes
 * (with the transaction, or deleted), to clear the static pointers into it.
 */
static MemoryContext
with_forget(MemoryContext cxt, MemoryContextCallbackFunction forget)
{
	MemoryContextCallback *cb = MemoryContextAlloc(cxt, sizeof(MemoryContextCallback));

	cb->func = forget;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(cxt, cb);
	return cxt;
}

/*
 * The oldest writer among the pending rows each source's read returned,
 * for the prune that follows the refresh (CaptureReadOldest): whether any
 * row this refresh consumed can be consumed by all.  Kept in the
 * transaction's memory; every read of a source replaces its entry (0: no
 * row read, or not read), so an entry never outlives the refresh that
 * wrote it into another one of the same stream table.
 */
typedef struct ReadOldest
{
	int64		pgt_id;
	Oid			source_relid;
	uint64		oldest;
} ReadOldest;

static MemoryContext oldest_context = NULL;
static List *read_oldest = NIL;

static void
forget_oldest(void *arg pg_attribute_unused())
{
	oldest_context = NULL;
	read_oldest = NIL;
}

static void
note_read_oldest(int64 pgt_id, Oid source_relid, uint64 oldest)
{
	ListCell   *lc;
	ReadOldest *r;
	MemoryContext old;

	foreach(lc, read_oldest)
	{
		r = lfirst(lc);
		if (r->pgt_id == pgt_id && r->source_relid == source_relid)
		{
			r->oldest = oldest;
			return;
		}
	}
	if (oldest_context == NULL)
		oldest_context = with_forget(AllocSetContextCreate(TopTransactionContext,
														   "pg_trickle read horizons",
														   ALLOCSET_SMALL_SIZES),
									 forget_oldest);
	old = MemoryContextSwitchTo(oldest_context);
	r = palloc(sizeof(ReadOldest));
	r->pgt_id = pgt_id;
	r->source_relid = source_relid;
	r->oldest = oldest;
	read_oldest = lappend(read_oldest, r);
	MemoryContextSwitchTo(old);
}

/*
 * The xid8 (as uint64) of the oldest writer of the rows the last read of
 * source by pgt_id's refresh in this transaction returned; 0 when it read
 * none.  The entry is consumed.
 */
uint64
CaptureReadOldest(int64 pgt_id, Oid source_relid)
{
	ListCell   *lc;

	foreach(lc, read_oldest)
	{
		ReadOldest *r = lfirst(lc);

		if (r->pgt_id == pgt_id && r->source_relid == source_relid)
		{
			uint64		oldest = r->oldest;

			read_oldest = foreach_delete_current(read_oldest, lc);
			pfree(r);
			return oldest;
		}
	}
	return 0;
}

/*
 * Drop the change sets of the refresh that read them.  Also happens by
 * itself at the end of the transaction.
 */
void
CaptureForgetChanges(void)
{
	if (change_context != NULL)
		MemoryContextDelete(change_context);
	change_context = NULL;
	change_sets = NIL;
}

static MemoryContext
changes_memory(void)
{
	if (change_context == NULL)
		change_context = with_forget(AllocSetContextCreate(TopTransactionContext,
														   "pg_trickle change sets",
														   ALLOCSET_DEFAULT_SIZES),
									 forget_context);
	return change_context;
}

static ChangeSet *
find_change_set(int64 pgt_id, Oid source_relid)
{
	ListCell   *lc;

	foreach(lc, change_sets)
	{
		ChangeSet  *cs = lfirst(lc);

		if (cs->pgt_id == pgt_id && cs->source_relid == source_relid)
			return cs;
	}
	return NULL;
}

/*
 * The source attributes a stream table's query reads, in attnum order
 * (pgt_dependencies.columns_used, which PostgreSQL keeps in step with
 * renames through the defining view), and whether it has a frontier.
 */
static Bitmapset *
read_columns(int64 pgt_id, Oid source_relid, bool *has_frontier,
			 Datum *oldest, bool *lost)
{
	Oid			argtypes[2] = {INT8OID, OIDOID};
	Datum		values[2] = {Int64GetDatum(pgt_id), ObjectIdGetDatum(source_relid)};
	MemoryContext outer = CurrentMemoryContext;
	Bitmapset  *cols = NULL;
	Datum	   *names;
	bool	   *nulls;
	int			n;
	bool		isnull;

	SPI_connect();
	/* a lookup by key: its plan is the same for every key, kept (generic) */
	CatalogRun("SELECT d.frontier IS NOT NULL, d.columns_used,"
			   "       (LEAST(pg_catalog.pg_snapshot_xmin(d.frontier), d.frontier_xid)"
			   "        ::pg_catalog.text)::pg_catalog.int8,"
			   "       d.frontier_lost_at IS NOT NULL"
			   "  FROM pgtrickle.pgt_dependencies d"
			   " WHERE d.pgt_id = $1 AND d.source_relid = $2",
			   2, argtypes, values, NULL, false);
	*has_frontier = false;
	if (lost != NULL)
		*lost = false;
	if (SPI_processed == 1)
	{
		Datum		used;

		if (lost != NULL)
			*lost = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 4, &isnull));

		*has_frontier = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1, &isnull));
		if (oldest != NULL)
		{
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
			MemoryContext spi = MemoryContextSwitchTo(outer);

			/* int8: by value where float8 is */
			*oldest = isnull ? (Datum) 0 : datumCopy(d, FLOAT8PASSBYVAL, 8);
			MemoryContextSwitchTo(spi);
			if (isnull)
				*has_frontier = false;
		}
		used = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		if (!isnull)
		{
			deconstruct_array(DatumGetArrayTypeP(used), TEXTOID, -1, false,
							  TYPALIGN_INT, &names, &nulls, &n);
			for (int i = 0; i < n; i++)
			{
				AttrNumber	a;

				if (nulls[i])
					continue;
				a = get_attnum(source_relid, TextDatumGetCString(names[i]));
				if (a == InvalidAttrNumber)
					elog(ERROR, "column \"%s\" of relation %u read by stream table " INT64_FORMAT " does not exist",
						 TextDatumGetCString(names[i]), source_relid, pgt_id);
				{
					MemoryContext spi = MemoryContextSwitchTo(outer);

					cols = bms_add_member(cols, a);
					MemoryContextSwitchTo(spi);
				}
			}
		}
	}
	SPI_finish();
	return cols;
}

/*
 * The output of pgtrickle._changes for a source and a column selection:
 * each selected column with the type, typmod and collation of its copy in
 * the buffer (a domain's base type), then __pgt_m.
 */
static TupleDesc
change_set_desc(Relation buf, const AttrNumber *map, Bitmapset *cols)
{
	TupleDesc	desc = CreateTemplateTupleDesc(bms_num_members(cols) + 1);
	int			a = -1;
	int			i = 0;

	while ((a = bms_next_member(cols, a)) >= 0)
	{
		Form_pg_attribute batt = TupleDescAttr(RelationGetDescr(buf), map[a] - 1);

		i++;
		TupleDescInitEntry(desc, i, psprintf("__pgt_c%d", a),
						   batt->atttypid, batt->atttypmod, 0);
		TupleDescInitEntryCollation(desc, i, batt->attcollation);
	}
	TupleDescInitEntry(desc, i + 1, "__pgt_m", INT8OID, -1, 0);
	return desc;
}

/* The captured-column map of a source, checked against a selection. */
static AttrNumber *
checked_map(Relation src, Relation buf, Bitmapset *cols)
{
	AttrNumber *map = CaptureColumnMap(RelationGetRelid(buf), RelationGetRelid(src),
									   RelationGetNumberOfAttributes(src));
	int			a = -1;

	while ((a = bms_next_member(cols, a)) >= 0)
		if (a > RelationGetNumberOfAttributes(src) || map[a] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("column \"%s\" of table %s is not captured",
							get_attname(RelationGetRelid(src), a, false),
							CatalogRelationName(RelationGetRelid(src))),
					 errhint("Set the stream tables that read it to refresh mode FULL and back to DIFFERENTIAL.")));
	return map;
}

static uint32
image_hash(Datum *values, bool *isnull, TupleDesc desc, int n)
{
	uint32		h = 0;

	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		uint32		v = isnull[i] ? 0x9e3779b9 :
			datum_image_hash(values[i], att->attbyval, att->attlen);

		h = hash_combine(h, v);
	}
	return h;
}

static bool
image_equal(NetRow *r, Datum *values, bool *isnull, TupleDesc desc, int n)
{
	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (r->isnull[i] != isnull[i])
			return false;
		if (!isnull[i] &&
			!datum_image_eq(r->values[i], values[i], att->attbyval, att->attlen))
			return false;
	}
	return true;
}

/*
 * Read the pending rows of one source at snapshot and net them into a
 * change set.  Returns NULL (and sets *truncated) when a TRUNCATE marker
 * is pending: the refresh will be a full one.
 */
static ChangeSet *
read_change_set(int64 pgt_id, Oid source_relid, Bitmapset *cols, Datum oldest,
				Snapshot snapshot, double max_rows, bool *truncated,
				int64 *raw_rows)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {oldest};
	MemoryContext mem = changes_memory();
	MemoryContext work;
	MemoryContext old;
	Relation	src = table_open(source_relid, AccessShareLock);
	Oid			buffer_relid = CaptureBufferRelid(source_relid);
	Relation	buf;
	AttrNumber *map;
	TupleDesc	desc;
	int			ncols = bms_num_members(cols);
	StringInfoData sql;
	HASHCTL		ctl;
	HTAB	   *net;
	HASH_SEQ_STATUS seq;
	NetBucket  *bucket;
	ChangeSet  *cs;
	int			a = -1;
	bool		custom;
	uint64		oldest_read = 0;

	if (!OidIsValid(buffer_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("changes of table %s are not captured",
						CatalogRelationName(source_relid)),
				 errdetail("Stream table " INT64_FORMAT " reads it with refresh mode DIFFERENTIAL.",
						   pgt_id),
				 errhint("Set the stream table to refresh mode FULL and back to DIFFERENTIAL.")));
	buf = table_open(buffer_relid, AccessShareLock);
	map = checked_map(src, buf, cols);
	old = MemoryContextSwitchTo(mem);
	desc = change_set_desc(buf, map, cols);
	MemoryContextSwitchTo(old);

	initStringInfo(&sql);
	appendStringInfo(&sql, "WITH %s SELECT __pgt_b.__pgt_mult",
					 CaptureFrontierCte(pgt_id, source_relid, "__pgt_f"));
	while ((a = bms_next_member(cols, a)) >= 0)
		appendStringInfo(&sql, ", __pgt_b.%s",
						 quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(buf),
																map[a] - 1)->attname)));
	/*
	 * Planning the read for each refresh's horizon (so that the planner can
	 * take the index on __pgt_xid) costs about 0.6 ms a source, a tenth of a
	 * small refresh, and buys nothing while the buffer is small: every plan
	 * is then a sequential scan of a few pages.  Only a buffer grown past
	 * CAPTURE_CUSTOM_READ_BLOCKS (rows kept for a lagging consumer) is
	 * planned per read; others keep the plan PostgreSQL's plan cache
	 * settles on.
	 */
	custom = RelationGetNumberOfBlocks(buf) > CAPTURE_CUSTOM_READ_BLOCKS;

	/*
	 * Rows older than the frontier's xmin and its own transaction are
	 * consumed.  In a large buffer the index on __pgt_xid skips them,
	 * however many a lagging consumer keeps: the condition is then on the
	 * index's expression.  In a small one, which is read whole anyway, it
	 * compares the xid8 itself, sparing the expression's conversion to
	 * text and back for every row.
	 */
	appendStringInfoString(&sql, ", __pgt_b.__pgt_xid");
	appendStringInfo(&sql, " FROM %s __pgt_b, __pgt_f WHERE %s OPERATOR(pg_catalog.>=) $1 AND %s",
					 quote_qualified_identifier(CAPTURE_SCHEMA, RelationGetRelationName(buf)),
					 custom ? CAPTURE_XID_KEY("__pgt_b") : "__pgt_b.__pgt_xid",
					 CapturePendingCondition("__pgt_b", "__pgt_f"));
	if (!custom)
	{
		argtypes[0] = XID8OID;
		args[0] = FullTransactionIdGetDatum(FullTransactionIdFromU64((uint64) DatumGetInt64(oldest)));
	}
	table_close(buf, NoLock);
	table_close(src, NoLock);

	work = AllocSetContextCreate(CurrentMemoryContext, "pg_trickle netting",
								 ALLOCSET_DEFAULT_SIZES);
	ctl.keysize = sizeof(uint32);
	ctl.entrysize = sizeof(NetBucket);
	ctl.hcxt = work;
	net = hash_create("pg_trickle netting", 1024, &ctl,
					  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	*truncated = false;
	SPI_connect();
	/*
	 * Under a limit, one row beyond it is all the decision needs: a change
	 * set of a 1 % change of TPC-H's lineitem was read whole (60,000 rows
	 * at SF 1) only to be discarded, and then again.
	 */
	CaptureExecuteLimited(sql.data, 1, argtypes, args, snapshot, true,
						  max_rows >= 0 ? (long) Min(max_rows, (double) (LONG_MAX - 1)) + 1 : 0,
						  custom);
	*raw_rows = SPI_processed;
	if (max_rows >= 0 && (double) SPI_processed > max_rows)
	{
		/* the refresh will recompute: netting would be wasted */
		SPI_finish();
		MemoryContextDelete(work);
		return NULL;
	}
	for (uint64 r = 0; r < SPI_processed && !*truncated; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	tdesc = SPI_tuptable->tupdesc;
		Datum		values[MaxTupleAttributeNumber];
		bool		isnull[MaxTupleAttributeNumber];
		bool		found;
		int16		mult;
		uint32		h;
		NetRow	   *row;
		uint64		writer;

		CHECK_FOR_INTERRUPTS();
		heap_deform_tuple(tup, tdesc, values, isnull);
		mult = DatumGetInt16(values[0]);
		if (mult == 0)
		{
			*truncated = true;
			break;
		}
		writer = U64FromFullTransactionId(DatumGetFullTransactionId(values[ncols + 1]));
		if (oldest_read == 0 || writer < oldest_read)
			oldest_read = writer;
		h = image_hash(values + 1, isnull + 1, desc, ncols);
		bucket = hash_search(net, &h, HASH_ENTER, &found);
		if (!found)
			bucket->rows = NULL;
		for (row = bucket->rows; row != NULL; row = row->next)
			if (image_equal(row, values + 1, isnull + 1, desc, ncols))
				break;
		if (row == NULL)
		{
			old = MemoryContextSwitchTo(work);
			row = palloc(sizeof(NetRow));
			row->values = palloc(sizeof(Datum) * Max(ncols, 1));
			row->isnull = palloc(sizeof(bool) * Max(ncols, 1));
			for (int i = 0; i < ncols; i++)
			{
				Form_pg_attribute att = TupleDescAttr(desc, i);

				row->isnull[i] = isnull[i + 1];
				row->values[i] = isnull[i + 1] ? (Datum) 0 :
					datumCopy(values[i + 1], att->attbyval, att->attlen);
			}
			row->mult = 0;
			row->next = bucket->rows;
			bucket->rows = row;
			MemoryContextSwitchTo(old);
		}
		row->mult += mult;
	}
	SPI_finish();
	if (*truncated)
	{
		MemoryContextDelete(work);
		return NULL;
	}

	old = MemoryContextSwitchTo(mem);
	cs = palloc0(sizeof(ChangeSet));
	cs->pgt_id = pgt_id;
	cs->source_relid = source_relid;
	cs->reader = GetUserId();
	cs->desc = desc;
	cs->rows = palloc(sizeof(HeapTuple) * Max(hash_get_num_entries(net), 1));
	MemoryContextSwitchTo(old);

	{
		Size		capacity = Max(hash_get_num_entries(net), 1);
		Datum	   *values = palloc(sizeof(Datum) * (ncols + 1));
		bool	   *isnull = palloc(sizeof(bool) * (ncols + 1));

		hash_seq_init(&seq, net);
		while ((bucket = hash_seq_search(&seq)) != NULL)
		{
			NetRow	   *row;

			for (row = bucket->rows; row != NULL; row = row->next)
			{
				CHECK_FOR_INTERRUPTS();
				if (row->mult == 0)
					continue;
				if ((Size) cs->nrows >= capacity)
				{
					capacity *= 2;
					cs->rows = repalloc(cs->rows, sizeof(HeapTuple) * capacity);
				}
				memcpy(values, row->values, sizeof(Datum) * ncols);
				memcpy(isnull, row->isnull, sizeof(bool) * ncols);
				values[ncols] = Int64GetDatum(row->mult);
				isnull[ncols] = false;
				old = MemoryContextSwitchTo(mem);
				cs->rows[cs->nrows++] = heap_form_tuple(desc, values, isnull);
				MemoryContextSwitchTo(old);
			}
		}
	}
	MemoryContextDelete(work);
	old = MemoryContextSwitchTo(mem);
	change_sets = lappend(change_sets, cs);
	MemoryContextSwitchTo(old);
	note_read_oldest(pgt_id, source_relid, oldest_read);
	return cs;
}

List *
CapturePendingChanges(int64 pgt_id, Snapshot snapshot, double max_rows)
{
	List	   *sources = CaptureSources(pgt_id);
	List	   *result = NIL;
	ListCell   *lc;
	double		left = max_rows;

	foreach(lc, sources)
	{
		Oid			source_relid = lfirst_oid(lc);
		CapturePending *p = palloc0(sizeof(CapturePending));
		bool		has_frontier;
		Datum		oldest;
		Bitmapset  *cols = read_columns(pgt_id, source_relid, &has_frontier, &oldest,
										&p->lost);
		ChangeSet  *cs = find_change_set(pgt_id, source_relid);

		p->source_relid = source_relid;
		p->unread = !has_frontier;
		if (!has_frontier || p->lost)
		{
			p->truncated = true;	/* never refreshed since capture started,
									 * or pending changes discarded */
			note_read_oldest(pgt_id, source_relid, 0);
		}
		else
		{
			int64		raw = 0;

			if (cs == NULL)
			{
				note_read_oldest(pgt_id, source_relid, 0);
				cs = read_change_set(pgt_id, source_relid, cols, oldest, snapshot,
									 left, &p->truncated, &raw);
			}
			if (cs == NULL && !p->truncated && left >= 0)
			{
				p->over_limit = true;
				p->rows = raw;
			}
			if (left >= 0)
				left = Max(left - raw, 0);
			if (cs != NULL)
				for (int64 i = 0; i < cs->nrows; i++)
				{
					bool		isnull;
					int64		m = DatumGetInt64(heap_getattr(cs->rows[i], cs->desc->natts,
															   cs->desc, &isnull));

					p->rows += m < 0 ? -m : m;
				}
		}
		/* partitions and children included (inherit.c) */
		p->source_rows_estimate = (int64) CaptureEstimateRows(source_relid);
		result = lappend(result, p);
	}
	return result;
}

/*
 * The subquery a delta reads a source's change through: one column per
 * attribute of the source in attnum order (the netted value of a column
 * the query reads, a typed NULL for the others, NULL::int4
 * "__pgt_dropped_<attnum>" for a dropped one), then __pgt_m.
 */
char *
CaptureDeltaSubquery(int64 pgt_id, Oid source_relid)
{
	Relation	src = table_open(source_relid, AccessShareLock);
	TupleDesc	sdesc = RelationGetDescr(src);
	Oid			buffer_relid = CaptureBufferRelid(source_relid);
	bool		has_frontier;
	Bitmapset  *cols = read_columns(pgt_id, source_relid, &has_frontier, NULL, NULL);
	Relation	buf;
	AttrNumber *map;
	TupleDesc	desc;
	StringInfoData sql;
	StringInfoData defs;
	int			i = 0;

	if (!OidIsValid(buffer_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("changes of table %s are not captured",
						CatalogRelationName(source_relid)),
				 errhint("Set the stream table to refresh mode FULL and back to DIFFERENTIAL.")));
	buf = table_open(buffer_relid, AccessShareLock);
	map = checked_map(src, buf, cols);
	desc = change_set_desc(buf, map, cols);
	table_close(buf, NoLock);

	initStringInfo(&sql);
	initStringInfo(&defs);
	appendStringInfoString(&sql, "SELECT ");
	for (int a = 1; a <= sdesc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(sdesc, a - 1);

		if (att->attisdropped)
			appendStringInfo(&sql, "NULL::pg_catalog.int4 AS \"__pgt_dropped_%d\", ", a);
		else if (bms_is_member(a, cols))
			appendStringInfo(&sql, "__pgt_c.__pgt_c%d AS %s, ", a,
							 quote_identifier(NameStr(att->attname)));
		else
		{
			int32		typmod = att->atttypmod;
			Oid			type = getBaseTypeAndTypmod(att->atttypid, &typmod);

			appendStringInfo(&sql, "NULL::%s AS %s, ",
							 format_type_extended(type, typmod,
												  FORMAT_TYPE_TYPEMOD_GIVEN |
												  FORMAT_TYPE_FORCE_QUALIFY),
							 quote_identifier(NameStr(att->attname)));
		}
	}
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		appendStringInfo(&defs, "%s%s %s", i > 0 ? ", " : "",
						 quote_identifier(NameStr(att->attname)),
						 format_type_extended(att->atttypid, att->atttypmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN |
											  FORMAT_TYPE_FORCE_QUALIFY));
		if (OidIsValid(att->attcollation) &&
			att->attcollation != get_typcollation(att->atttypid))
			appendStringInfo(&defs, " COLLATE %s",
							 generate_collation_name(att->attcollation));
	}
	appendStringInfo(&sql, "__pgt_c.__pgt_m"
					 " FROM pgtrickle._changes('" INT64_FORMAT "'::pg_catalog.int8,"
					 " '%u'::pg_catalog.oid) AS __pgt_c(%s)",
					 pgt_id, source_relid, defs.data);
	table_close(src, NoLock);
	return sql.data;
}

/*
 * pgtrickle._changes(pgt_id, source): the netted change set the refresh in
 * progress read for that source.  Only the refresh itself (its role, during
 * the refresh) gets rows; anyone else an error.
 */
Datum
pgt_changes(PG_FUNCTION_ARGS)
{
	int64		pgt_id = PG_GETARG_INT64(0);
	Oid			source_relid = PG_GETARG_OID(1);
	ChangeSet  *cs = find_change_set(pgt_id, source_relid);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	expected;

	if (cs == NULL || cs->reader != GetUserId())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pgtrickle._changes() can only be called by a refresh")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	expected = rsinfo->setDesc;
	if (expected->natts != cs->desc->natts)
		elog(ERROR, "change set of relation %u has %d columns, the statement expects %d",
			 source_relid, cs->desc->natts, expected->natts);
	for (int i = 0; i < expected->natts; i++)
		if (TupleDescAttr(expected, i)->atttypid != TupleDescAttr(cs->desc, i)->atttypid)
			elog(ERROR, "change set of relation %u: column %d has type %u, the statement expects %u",
				 source_relid, i + 1, TupleDescAttr(cs->desc, i)->atttypid,
				 TupleDescAttr(expected, i)->atttypid);
	for (int64 i = 0; i < cs->nrows; i++)
		tuplestore_puttuple(rsinfo->setResult, cs->rows[i]);
	return (Datum) 0;
}

/*
 * Planner support of pgtrickle._changes: the number of rows of the change
 * set, when the refresh being planned has read it.
 */
Datum
pgt_changes_support(PG_FUNCTION_ARGS)
{
	Node	   *req = (Node *) PG_GETARG_POINTER(0);

	if (IsA(req, SupportRequestRows))
	{
		SupportRequestRows *r = (SupportRequestRows *) req;
		FuncExpr   *fe = (FuncExpr *) r->node;

		if (fe != NULL && IsA(fe, FuncExpr) && list_length(fe->args) == 2 &&
			IsA(linitial(fe->args), Const) && IsA(lsecond(fe->args), Const) &&
			!castNode(Const, linitial(fe->args))->constisnull &&
			!castNode(Const, lsecond(fe->args))->constisnull)
		{
			ChangeSet  *cs = find_change_set(DatumGetInt64(castNode(Const, linitial(fe->args))->constvalue),
											 DatumGetObjectId(castNode(Const, lsecond(fe->args))->constvalue));

			if (cs != NULL)
			{
				r->rows = Max(cs->nrows, 1);
				PG_RETURN_POINTER(r);
			}
		}
	}
	PG_RETURN_POINTER(NULL);
}
