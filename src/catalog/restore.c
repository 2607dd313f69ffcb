/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Catalog rows that a dump brings back: pointed at the restored objects
 *	  and set up again ("re-armed") once the restore has finished.
 *
 * pg_dump writes the rows of pgt_stream_tables (a configuration table of
 * the extension), the storage tables, the defining views, the capture
 * triggers and even the change buffers, but not what only pg_trickle
 * records: the internal dependency of each defining view on its storage
 * table, the dependencies of buffers on their sources, and the frontiers
 * (pgt_dependencies is not dumped: it is derived from the views, and its
 * frontiers name transactions of the dumped cluster).  A row is *armed*
 * when that internal dependency exists (CATALOG_ARMED); re-arming it:
 *
 * 1. points pgt_relid and pgt_query_relid at the storage table
 *    pgt_schema.pgt_name and the view pgtrickle_defs.st_<pgt_id> (the
 *    BEFORE INSERT trigger on the catalog does this already when the
 *    restore's COPY arrives, unless triggers were disabled for it);
 * 2. records the internal dependency again;
 * 3. derives pgt_dependencies (DependSync): no frontier, so the next
 *    refresh recomputes;
 * 4. for a DIFFERENTIAL table, drops the restored buffer of each source
 *    that no stream table has a frontier for (its rows carry transaction
 *    ids of another cluster), then sets capture up (CaptureAttach), which
 *    replaces the restored triggers that name the dumped buffers.
 *
 * When: the scheduler re-arms a row once the restore has created the
 * objects pg_dump writes after all data (the write guard on the storage
 * table, the capture triggers on each table the query reads), so nothing it
 * sets up collides with a statement of the restore still to come; any API
 * call naming the stream table re-arms it at once.  Until then the
 * scheduler leaves the table alone, and its write guard lets a data-only
 * restore fill it.  After pg_upgrade (which keeps OIDs, catalog rows and
 * buffers but not that dependency) the same steps keep the frontiers and
 * buffers, so the next refresh stays DIFFERENTIAL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"
#include "scheduler/worker.h"

PG_FUNCTION_INFO_V1(pgt_catalog_restore);

#define DEFS_SCHEMA "pgtrickle_defs"

/* The defining view of pgt_id, by name; InvalidOid when missing. */
static Oid
view_by_name(int64 pgt_id)
{
	Oid			nsp = get_namespace_oid(DEFS_SCHEMA, true);

	if (!OidIsValid(nsp))
		return InvalidOid;
	return get_relname_relid(psprintf("st_" INT64_FORMAT, pgt_id), nsp);
}

/* The table schema.name; InvalidOid when missing or not a table. */
static Oid
table_by_name(const char *schema, const char *name)
{
	Oid			nsp = get_namespace_oid(schema, true);
	Oid			relid;

	if (!OidIsValid(nsp))
		return InvalidOid;
	relid = get_relname_relid(name, nsp);
	if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_RELATION)
		return InvalidOid;
	return relid;
}

/* Whether pgt_stream_tables has a row for pgt_id. */
static bool
catalog_row_exists(int64 pgt_id)
{
	return CatalogAny("SELECT 1 FROM pgtrickle.pgt_stream_tables WHERE pgt_id = $1",
					  INT8OID, Int64GetDatum(pgt_id));
}

/*
 * BEFORE INSERT on pgt_stream_tables, pgt_refresh_history and
 * pgt_refresh_totals.
 *
 * A stream table row is pointed at the storage table and the defining view
 * of its names.  For a row pg_trickle inserts itself the OIDs are those
 * already; for a row a restore brings back they were the dumped
 * database's.  The restore's data comes after all tables and views exist,
 * so a row whose storage table does not exist belongs to a part of the
 * dump that is not restored (pg_dump --schema with --extension pg_trickle):
 * it is left out, and so are the history rows of the stream tables left
 * out (their foreign key would fail the whole COPY).  A missing defining
 * view (schema pgtrickle_defs not in the dump) is created again when the
 * row is re-armed.  Wakes the scheduler, which re-arms the row once the
 * restore is done.
 */
Datum
pgt_catalog_restore(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tup;
	int			cols[2];
	Datum		values[2];
	bool		nulls[2] = {false, false};
	bool		isnull;
	int64		pgt_id;
	char	   *schema;
	char	   *name;
	Oid			storage;
	Oid			view;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		elog(ERROR, "pgtrickle._catalog_restore() must be called by a BEFORE INSERT row trigger");

	desc = RelationGetDescr(trigdata->tg_relation);
	tup = trigdata->tg_trigtuple;
	pgt_id = DatumGetInt64(SPI_getbinval(tup, desc, SPI_fnumber(desc, "pgt_id"), &isnull));
	if (isnull)
		return PointerGetDatum(tup);	/* the NOT NULL constraint speaks */
	if (strcmp(RelationGetRelationName(trigdata->tg_relation), "pgt_stream_tables") != 0)
		return catalog_row_exists(pgt_id) ? PointerGetDatum(tup) : PointerGetDatum(NULL);

	schema = SPI_getvalue(tup, desc, SPI_fnumber(desc, "pgt_schema"));
	name = SPI_getvalue(tup, desc, SPI_fnumber(desc, "pgt_name"));
	if (schema == NULL || name == NULL)
		return PointerGetDatum(tup);

	storage = table_by_name(schema, name);
	if (!OidIsValid(storage))
	{
		ereport(NOTICE,
				(errmsg("stream table %s is not restored: its table is not part of the restore",
						quote_qualified_identifier(schema, name))));
		return PointerGetDatum(NULL);
	}
	view = view_by_name(pgt_id);

	cols[0] = SPI_fnumber(desc, "pgt_relid");
	cols[1] = SPI_fnumber(desc, "pgt_query_relid");
	values[0] = ObjectIdGetDatum(storage);
	values[1] = ObjectIdGetDatum(OidIsValid(view) ? view : InvalidOid);
	LauncherWakeAtCommit();
	return PointerGetDatum(heap_modify_tuple_by_cols(tup, desc, 2, cols,
													 values, nulls));
}

/* Whether the catalog row of pgt_id is armed. */
bool
RestoreIsArmed(int64 pgt_id)
{
	return CatalogAny("SELECT 1 FROM pgtrickle.pgt_stream_tables s"
					  " WHERE s.pgt_id = $1 AND " CATALOG_ARMED("s"),
					  INT8OID, Int64GetDatum(pgt_id));
}

/* Whether relid is the storage table of an armed stream table. */
bool
RestoreRelationArmed(Oid relid)
{
	return CatalogAny("SELECT 1 FROM pgtrickle.pgt_stream_tables s"
					  " WHERE s.pgt_relid = $1 AND " CATALOG_ARMED("s"),
					  OIDOID, ObjectIdGetDatum(relid));
}

/*
 * Re-arm the catalog row of pgt_id (see the head of this file); nothing
 * when it is armed.  Takes ExclusiveLock on the storage table, as a
 * refresh does.  Refuses (55000) when the storage table or the defining
 * view of the row's names does not exist.
 */
void
RestoreRearm(int64 pgt_id)
{
	StreamTable *st = CatalogGetById(pgt_id);
	char	   *qualified;
	Oid			storage;
	Oid			view;
	Oid			argtypes[3] = {INT8OID, OIDOID, OIDOID};
	Datum		values[3];

	if (st == NULL)
		return;
	qualified = quote_qualified_identifier(st->schema, st->name);
	storage = table_by_name(st->schema, st->name);
	if (!OidIsValid(storage))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("stream table %s cannot be set up: its storage table does not exist",
						qualified),
				 errdetail("Its catalog row was restored without the table."),
				 errhint("Restore the table too, or drop the stream table with pgtrickle.drop_stream_table().")));

	LockRelationOid(storage, ExclusiveLock);
	if (RestoreIsArmed(pgt_id))
		return;

	/*
	 * A dump of single schemas lacks pgtrickle_defs: the catalog keeps the
	 * query as PostgreSQL deparsed it, every name qualified.
	 */
	view = view_by_name(pgt_id);
	if (!OidIsValid(view))
		view = DependCreateDefiningView(pgt_id, st->defining_query,
										"pg_catalog, pg_temp", storage);
	else
	{
		ObjectAddress view_addr;
		ObjectAddress table_addr;

		ObjectAddressSet(view_addr, RelationRelationId, view);
		ObjectAddressSet(table_addr, RelationRelationId, storage);
		recordDependencyOn(&view_addr, &table_addr, DEPENDENCY_INTERNAL);
	}
	CommandCounterIncrement();

	values[0] = Int64GetDatum(pgt_id);
	values[1] = ObjectIdGetDatum(storage);
	values[2] = ObjectIdGetDatum(view);
	SPI_connect();
	CatalogRun("UPDATE pgtrickle.pgt_stream_tables"
			   "   SET pgt_relid = $2, pgt_query_relid = $3"
			   " WHERE pgt_id = $1 AND (pgt_relid, pgt_query_relid) <> ($2, $3)",
			   3, argtypes, values, NULL, false);
	SPI_finish();
	CommandCounterIncrement();

	DependSync(pgt_id);
	CommandCounterIncrement();

	st = CatalogGetById(pgt_id);
	if (strcmp(st->refresh_mode, "DIFFERENTIAL") == 0)
	{
		ListCell   *lc;

		foreach(lc, CaptureSources(pgt_id))
			CaptureDiscardStaleBuffer(lfirst_oid(lc));
		CaptureAttach(pgt_id);
		foreach(lc, CaptureSources(pgt_id))
			CaptureProtect(lfirst_oid(lc));
	}
	ereport(LOG,
			(errmsg("stream table %s set up after a restore or upgrade", qualified)));
}

/* Stream tables whose re-arming failed, warned about once per process. */
static List *warned = NIL;

static bool
warned_about(int64 pgt_id)
{
	ListCell   *lc;
	MemoryContext old;
	int64	   *p;

	foreach(lc, warned)
		if (*(int64 *) lfirst(lc) == pgt_id)
			return true;
	old = MemoryContextSwitchTo(TopMemoryContext);
	p = palloc(sizeof(int64));
	*p = pgt_id;
	warned = lappend(warned, p);
	MemoryContextSwitchTo(old);
	return false;
}

/* Re-arm one row in a subtransaction; a failure is a WARNING. */
static void
rearm_guarded(int64 pgt_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		RestoreRearm(pgt_id);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		if (!warned_about(pgt_id))
			ereport(WARNING,
					(errcode(edata->sqlerrcode),
					 errmsg("could not set up restored stream table %s: %s",
							psprintf(INT64_FORMAT, pgt_id), edata->message),
					 edata->hint ? errhint("%s", edata->hint) : 0));
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/*
 * The scheduler's pass, in a transaction: point rows at the objects of
 * their names (for a restore that ran with triggers disabled), then re-arm
 * each row whose restore has finished: its storage table has its write
 * guard and, for a DIFFERENTIAL table, every table its query reads has all
 * its capture triggers (pg_dump writes both after all data).  Returns how
 * many rows are still not armed.
 */
int
RestoreRearmReady(void)
{
	MemoryContext outer = CurrentMemoryContext;
	List	   *ready = NIL;
	int			waiting = 0;
	ListCell   *lc;

	SPI_connect();
	CatalogRun("UPDATE pgtrickle.pgt_stream_tables s"
			   "   SET pgt_relid = c.oid, pgt_query_relid = v.oid"
			   "  FROM pg_catalog.pg_class c, pg_catalog.pg_namespace n, pg_catalog.pg_class v"
			   " WHERE n.oid = c.relnamespace AND n.nspname = s.pgt_schema"
			   "   AND c.relname = s.pgt_name AND c.relkind = 'r'"
			   "   AND v.relnamespace = '" DEFS_SCHEMA "'::pg_catalog.regnamespace"
			   "   AND v.relname = 'st_' || s.pgt_id"
			   "   AND (s.pgt_relid, s.pgt_query_relid) <> (c.oid, v.oid)"
			   "   AND NOT " CATALOG_ARMED("s"),
			   0, NULL, NULL, NULL, false);
	CatalogRun(psprintf("SELECT s.pgt_id,"
						"       EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g"
						"                WHERE g.tgrelid = s.pgt_relid"
						"                  AND g.tgname = 'pgt_write_guard')"
	/*
	 * and the sequence of history ids is restored past the restored rows: a
	 * refresh of the re-armed table writes a history row (pg_restore -j
	 * creates triggers while it still loads other data)
	 */
						"       AND (SELECT coalesce(pg_catalog.max(h.refresh_id), 0)"
						"              FROM pgtrickle.pgt_refresh_history h)"
						"           <= coalesce(pg_catalog.pg_sequence_last_value("
						"                 'pgtrickle.pgt_refresh_history_refresh_id_seq'), 0)"
						"       AND (s.refresh_mode <> 'DIFFERENTIAL' OR NOT EXISTS ("
	/* the tables read directly and through views (views as sources) */
						"         WITH RECURSIVE reach(relid) AS ("
						"           SELECT s.pgt_query_relid"
						"          UNION"
						"           SELECT d.refobjid FROM reach x"
						"             JOIN pg_catalog.pg_rewrite r ON r.ev_class = x.relid"
						"             JOIN pg_catalog.pg_depend d"
						"               ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
						"              AND d.objid = r.oid"
						"              AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
						"              AND d.refobjid <> x.relid"
						"             JOIN pg_catalog.pg_class v ON v.oid = d.refobjid AND v.relkind = 'v')"
						"         SELECT 1 FROM reach x"
						"           JOIN pg_catalog.pg_rewrite r ON r.ev_class = x.relid"
						"           JOIN pg_catalog.pg_depend d"
						"             ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
						"            AND d.objid = r.oid"
						"            AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
						"           JOIN pg_catalog.pg_class c ON c.oid = d.refobjid AND c.relkind IN ('r', 'p')"
	/* and their partitions and children (capture/inherit.c) */
						"          WHERE EXISTS ("
						"            WITH RECURSIVE tree(relid) AS ("
						"              SELECT c.oid"
						"             UNION"
						"              SELECT i.inhrelid FROM tree t"
						"                JOIN pg_catalog.pg_inherits i ON i.inhparent = t.relid)"
						"            SELECT 1 FROM tree t"
						"             WHERE (SELECT pg_catalog.count(*) FROM pg_catalog.pg_trigger g"
						"                     WHERE g.tgrelid = t.relid"
						"                       AND g.tgname OPERATOR(pg_catalog.~) '^pgt_capture_')"
						"                   < %d)))"
						"  FROM pgtrickle.pgt_stream_tables s"
						" WHERE NOT " CATALOG_ARMED("s")
						" ORDER BY s.pgt_id",
						CAPTURE_NTRIGGERS),
			   0, NULL, NULL, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		bool		ok = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 2, &isnull));

		if (ok && !isnull)
		{
			MemoryContext spi = MemoryContextSwitchTo(outer);
			int64	   *p = palloc(sizeof(int64));

			*p = id;
			ready = lappend(ready, p);
			MemoryContextSwitchTo(spi);
		}
		else
			waiting++;
	}
	SPI_finish();

	/* upstream first: ids grow with creation, and a source is older */
	foreach(lc, ready)
	{
		int64		id = *(int64 *) lfirst(lc);

		rearm_guarded(id);
		if (!RestoreIsArmed(id))
			waiting++;
	}
	/* the restored buffers of the dumped sources' OIDs */
	if (ready != NIL)
		CaptureDetachUnused(true);
	return waiting;
}
