/*-------------------------------------------------------------------------
 *
 * buffer.c
 *	  Change buffers: creating, extending and dropping them, and who may
 *	  read them (CaptureAttach, CaptureDetachUnused).
 *
 * One buffer pgtrickle_changes.changes_<source oid> per captured source,
 * owned by the catalog owner and closed to PUBLIC; the owners of the
 * DIFFERENTIAL stream tables that read the source may SELECT from it.
 *
 * pg_depend ties a buffer to its source: the buffer has an AUTO dependency
 * on the source, and each captured column one on the source column it
 * copies.  So dropping the source drops the buffer, dropping a captured
 * column drops its copy, and the map from buffer columns to source
 * attributes (CaptureColumnMap) survives renames.  The capture triggers
 * are INTERNAL parts of the buffer: dropping the buffer removes them, and a
 * DROP TRIGGER on its own is refused.
 *
 * Locks, always source before buffer (as writers take them), sources in
 * OID order (CaptureSources): CaptureAttach holds AccessShareLock on each
 * source, then the source's capture setup lock (lock_capture_setup), and
 * ShareRowExclusiveLock when it must install triggers or add columns;
 * CaptureDetachUnused takes AccessExclusiveLock on the source and then on
 * the buffer, and checks again with the latest snapshot that nobody reads
 * the source before dropping anything.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"

PG_FUNCTION_INFO_V1(pgt_capture_ddl_start);
PG_FUNCTION_INFO_V1(pgt_upgrade_capture);

/* FROM/WHERE of the DIFFERENTIAL consumers of a source: d and s. */
#define CONSUMERS_FROM \
	" FROM pgtrickle.pgt_dependencies d" \
	" JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
#define CONSUMERS_WHERE \
	" WHERE s.refresh_mode = 'DIFFERENTIAL'" \
	"   AND d.source_type IN ('TABLE', 'STREAM_TABLE')"
#define CONSUMERS CONSUMERS_FROM CONSUMERS_WHERE

/* Columns of a buffer that are not copies of source columns. */
static const char *const buffer_own_columns[] = {
	"__pgt_xid", "__pgt_seq", "__pgt_mult"
};

static AttrNumber *recorded_column_map(Oid buffer_relid, Oid source_relid,
									   int source_natts);
static bool internal_part_of(Oid classid, Oid objid, Oid relid);
static void record_column_dependency(Oid buffer_relid, AttrNumber bufatt,
									 Oid source_relid, AttrNumber attnum);

/* A DIFFERENTIAL stream table reading a source, and the columns it needs. */
typedef struct Consumer
{
	int64		pgt_id;
	Bitmapset  *columns;		/* source attnums, primary key included */
} Consumer;

/* How far a source is captured. */
typedef struct SourceState
{
	Oid			buffer_relid;	/* InvalidOid: no buffer */
	AttrNumber *map;			/* source attnum -> buffer attnum, or 0 */
	Bitmapset  *missing;		/* needed source attnums not in the buffer */
	bool		names_differ;	/* a buffer column lost its source's name */
	bool		triggers_ok;
} SourceState;

/*
 * Run one statement as the catalog owner, search_path pinned.  Without a
 * snapshot it sees everything this transaction did so far (read_only must
 * then be false); with one, it runs at that snapshot (read_only: exactly
 * as given; otherwise it also sees this transaction's later commands).
 * Results stay in SPI_tuptable until SPI_finish.
 */
int
CaptureExecute(const char *sql, int nargs, Oid *argtypes, Datum *values,
			   Snapshot snapshot, bool read_only)
{
	return CaptureExecuteLimited(sql, nargs, argtypes, values, snapshot,
								 read_only, 0, true);
}

/*
 * As CaptureExecute, stopping after tcount rows (0: all of them); planned
 * for each execution's values only with custom.
 */
int
CaptureExecuteLimited(const char *sql, int nargs, Oid *argtypes, Datum *values,
					  Snapshot snapshot, bool read_only, long tcount,
					  bool custom)
{
	CatalogAccess acc;
	SPIPlanPtr	plan;
	int			rc;

	CatalogBeginAccess(&acc, NULL);
	plan = CatalogPrepare(sql, nargs, argtypes, custom);
	if (snapshot != InvalidSnapshot)
		rc = SPI_execute_snapshot(plan, values, NULL, snapshot,
								  InvalidSnapshot, read_only, true, tcount);
	else
		rc = SPI_execute_plan(plan, values, NULL, read_only, tcount);
	CatalogEndAccess(&acc);
	if (rc < 0)
		elog(ERROR, "capture statement failed (%s): %s",
			 SPI_result_code_string(rc), sql);
	return rc;
}

/* The name of a source's buffer, unqualified. */
char *
CaptureBufferName(Oid source_relid)
{
	return psprintf("changes_%u", source_relid);
}

/* The buffer of a source, or InvalidOid when it has none. */
Oid
CaptureBufferRelid(Oid source_relid)
{
	Oid			nsp = get_namespace_oid(CAPTURE_SCHEMA, true);

	if (!OidIsValid(nsp))
		return InvalidOid;
	return get_relname_relid(CaptureBufferName(source_relid), nsp);
}

/* Whether a live source column has no buffer column in map. */
static bool
map_incomplete(const AttrNumber *map, Oid source_relid, int source_natts)
{
	for (int a = 1; a <= source_natts; a++)
	{
		HeapTuple	tup;
		bool		live;

		if (map[a] != 0)
			continue;
		tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(source_relid), Int16GetDatum(a));
		live = HeapTupleIsValid(tup) && !((Form_pg_attribute) GETSTRUCT(tup))->attisdropped;
		if (HeapTupleIsValid(tup))
			ReleaseSysCache(tup);
		if (live)
			return true;
	}
	return false;
}

/* Fill the gaps of map with the buffer columns of the same name and type. */
static void
map_by_name(AttrNumber *map, Oid buffer_relid, Oid source_relid, int source_natts)
{
	for (int a = 1; a <= source_natts; a++)
	{
		HeapTuple	stup;
		HeapTuple	btup;
		Form_pg_attribute satt;

		if (map[a] != 0)
			continue;
		stup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(source_relid), Int16GetDatum(a));
		if (!HeapTupleIsValid(stup))
			continue;
		satt = (Form_pg_attribute) GETSTRUCT(stup);
		btup = satt->attisdropped ? NULL :
			SearchSysCacheAttName(buffer_relid, NameStr(satt->attname));
		if (HeapTupleIsValid(btup))
		{
			Form_pg_attribute batt = (Form_pg_attribute) GETSTRUCT(btup);

			if (batt->atttypid == satt->atttypid && batt->attnum > 0)
				map[a] = batt->attnum;
			ReleaseSysCache(btup);
		}
		ReleaseSysCache(stup);
	}
}

/*
 * For each attribute 1..source_natts of the source, the buffer column that
 * copies it (0 when none), read from the buffer's column dependencies, and
 * by name where those are missing.
 */
AttrNumber *
CaptureColumnMap(Oid buffer_relid, Oid source_relid, int source_natts)
{
	AttrNumber *map = recorded_column_map(buffer_relid, source_relid, source_natts);

	/*
	 * Columns without such a row are matched by name and type: pg_upgrade
	 * recreates only the dependencies that DDL implies, not the ones pg_trickle
	 * records, and a buffer column always carries its source column's name
	 * (renames are followed by the event trigger in the same transaction).
	 */
	if (map_incomplete(map, source_relid, source_natts))
		map_by_name(map, buffer_relid, source_relid, source_natts);
	return map;
}

/*
 * Record again what protects a source's capture when it is missing (after
 * pg_upgrade, which recreates only the dependencies that DDL implies): each
 * buffer column's dependency on the source column it copies, and each
 * capture trigger as an internal part of the buffer.  Nothing to do when a
 * source has no buffer.
 */
void
CaptureProtect(Oid source_relid)
{
	Oid			buffer_relid = CaptureBufferRelid(source_relid);
	Relation	src;
	int			natts;
	AttrNumber *recorded;
	AttrNumber *map;
	ObjectAddress buffer;

	if (!OidIsValid(buffer_relid))
		return;
	src = table_open(source_relid, AccessShareLock);
	natts = RelationGetNumberOfAttributes(src);
	recorded = recorded_column_map(buffer_relid, source_relid, natts);
	map = CaptureColumnMap(buffer_relid, source_relid, natts);
	for (int a = 1; a <= natts; a++)
		if (map[a] > 0 && recorded[a] == 0 &&
			!TupleDescAttr(RelationGetDescr(src), a - 1)->attisdropped)
			record_column_dependency(buffer_relid, map[a], source_relid, a);

	ObjectAddressSet(buffer, RelationRelationId, buffer_relid);
	if (src->trigdesc != NULL)
		for (int i = 0; i < src->trigdesc->numtriggers; i++)
		{
			const Trigger *t = &src->trigdesc->triggers[i];
			ObjectAddress trig;

			if (strncmp(t->tgname, "pgt_capture_", 12) != 0 ||
				internal_part_of(TriggerRelationId, t->tgoid, buffer_relid))
				continue;
			ObjectAddressSet(trig, TriggerRelationId, t->tgoid);
			recordDependencyOn(&trig, &buffer, DEPENDENCY_INTERNAL);
		}
	table_close(src, NoLock);
	CommandCounterIncrement();
}

/* Whether object (classid, objid) is an internal part of relation relid. */
static bool
internal_part_of(Oid classid, Oid objid, Oid relid)
{
	Relation	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(classid));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(objid));
	scan = systable_beginscan(deprel, DependDependerIndexId, true, NULL, 2, key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		found = dep->deptype == DEPENDENCY_INTERNAL &&
			dep->refclassid == RelationRelationId && dep->refobjid == relid;
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);
	return found;
}

/*
 * For each source attribute, the buffer column that pg_depend records as
 * its copy (0: none recorded).
 */
static AttrNumber *
recorded_column_map(Oid buffer_relid, Oid source_relid, int source_natts)
{
	AttrNumber *map = palloc0(sizeof(AttrNumber) * (source_natts + 1));
	Relation	deprel;
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;

	deprel = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(buffer_relid));
	scan = systable_beginscan(deprel, DependDependerIndexId, true, NULL, 2, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

		if (dep->deptype == DEPENDENCY_AUTO &&
			dep->refclassid == RelationRelationId &&
			dep->refobjid == source_relid &&
			dep->objsubid > 0 && dep->refobjsubid > 0 &&
			dep->refobjsubid <= source_natts)
			map[dep->refobjsubid] = (AttrNumber) dep->objsubid;
	}
	systable_endscan(scan);
	table_close(deprel, AccessShareLock);
	return map;
}

/*
 * The lock that keeps the set of consumers of a source steady for pruning.
 * CaptureAttach takes it in AccessShareLock mode before the snapshot of a
 * new consumer's first refresh and keeps it to commit, so that no prune
 * deletes rows the new consumer (not yet visible to others) will need;
 * CapturePrune tries AccessExclusiveLock and skips when it cannot have it.
 */
bool
CaptureLockConsumers(Oid source_relid, LOCKMODE mode, bool wait)
{
	LOCKTAG		tag;

	/* an object lock on the source that nothing else in PostgreSQL takes */
	SET_LOCKTAG_OBJECT(tag, MyDatabaseId, RelationRelationId, source_relid, 1);
	return LockAcquire(&tag, mode, false, !wait) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * The lock that serialises changes to the capture of a source: whoever
 * attaches a consumer to it takes this lock (ExclusiveLock on a second
 * object lock of the source, held to commit) before it looks at or locks
 * the buffer.  Without it two creates over one source deadlocked: one held
 * the buffer (it had looked at it, or pruned it after its first refresh)
 * and waited for SHARE ROW EXCLUSIVE on the source to add a column, while
 * the other held that and waited for ACCESS EXCLUSIVE on the buffer.
 * Writers and refreshes never take it: they are not blocked by a create
 * that merely joins a capture.
 */
static void
lock_capture_setup(Oid source_relid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, MyDatabaseId, RelationRelationId, source_relid, 2);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

const char *
CaptureUnsupportedReason(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Form_pg_class cls;
	const char *reason = NULL;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	cls = (Form_pg_class) GETSTRUCT(tup);
	if (cls->relnamespace == PG_CATALOG_NAMESPACE ||
		cls->relnamespace == PG_TOAST_NAMESPACE ||
		cls->relnamespace == get_namespace_oid("pgtrickle", true) ||
		cls->relnamespace == get_namespace_oid(CAPTURE_SCHEMA, true))
		/* no trigger fires for the server's or the extension's own writes */
		reason = "system catalogs cannot be captured";
	else if (cls->relkind == RELKIND_FOREIGN_TABLE)
		reason = "foreign tables cannot be captured";
	else if (cls->relkind == RELKIND_MATVIEW)
		reason = "materialized views cannot be captured";
	else if (cls->relkind != RELKIND_RELATION &&
			 cls->relkind != RELKIND_PARTITIONED_TABLE)
		reason = "only tables can be captured";
	else if (cls->relpersistence == RELPERSISTENCE_TEMP)
		reason = "temporary tables cannot be captured";
	/*
	 * A partition or child is captured with its root, into the root's buffer
	 * (inherit.c); read on its own it would need triggers of its own, and
	 * a write through the root fires only the root's statement triggers.
	 */
	else if (cls->relispartition)
		reason = "partitions cannot be captured on their own (read them through their partitioned table)";
	else if (has_superclass(relid))
		reason = "inheritance children cannot be captured on their own (read them through their parent)";
	ReleaseSysCache(tup);
	if (reason == NULL && CaptureHasDescendants(relid))
		reason = CaptureTreeUnsupportedReason(relid);
	return reason;
}

static void
check_capturable(Oid relid)
{
	const char *reason = CaptureUnsupportedReason(relid);

	if (reason != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s", reason),
				 errdetail("Table %s is read by a stream table with refresh mode DIFFERENTIAL.",
						   CatalogRelationName(relid)),
				 errhint("Use refresh_mode => 'FULL' or 'AUTO' for stream tables that read it.")));
}

/* Attnums of a relation's primary key columns. */
static Bitmapset *
primary_key_columns(Relation rel)
{
	Bitmapset  *raw = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	Bitmapset  *cols = NULL;
	int			i = -1;

	while ((i = bms_next_member(raw, i)) >= 0)
	{
		int			attnum = i + FirstLowInvalidHeapAttributeNumber;

		if (attnum > 0)
			cols = bms_add_member(cols, attnum);
	}
	return cols;
}

/*
 * The DIFFERENTIAL consumers of a source, each with the attnums it reads
 * plus the primary key.
 */
static List *
read_consumers(Oid source_relid, Bitmapset *pk)
{
	MemoryContext outer = CurrentMemoryContext;
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(source_relid)};
	List	   *result = NIL;
	Consumer   *cur = NULL;

	SPI_connect();
	CaptureExecute("SELECT d.pgt_id, a.attnum"
				   CONSUMERS_FROM
				   " LEFT JOIN LATERAL ("
				   "   SELECT a.attnum FROM pg_catalog.unnest(d.columns_used) u(name)"
				   "   JOIN pg_catalog.pg_attribute a"
				   "     ON a.attrelid = d.source_relid AND a.attname = u.name"
				   "    WHERE a.attnum > 0 AND NOT a.attisdropped) a ON true"
				   CONSUMERS_WHERE
				   "   AND d.source_relid = $1"
				   " ORDER BY d.pgt_id",
				   1, argtypes, values, InvalidSnapshot, false);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		int64		pgt_id = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		Datum		attnum = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		MemoryContext spi = MemoryContextSwitchTo(outer);

		if (cur == NULL || cur->pgt_id != pgt_id)
		{
			cur = palloc0(sizeof(Consumer));
			cur->pgt_id = pgt_id;
			cur->columns = bms_copy(pk);
			result = lappend(result, cur);
		}
		if (!isnull)
			cur->columns = bms_add_member(cur->columns, DatumGetInt16(attnum));
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return result;
}

/* How far the source is captured, for the columns the consumers need. */
static SourceState
read_state(Relation src, List *consumers)
{
	Oid			source_relid = RelationGetRelid(src);
	TupleDesc	desc = RelationGetDescr(src);
	SourceState st = {0};
	Bitmapset  *needed = NULL;
	ListCell   *lc;
	Relation	buf;
	int			a;

	foreach(lc, consumers)
		needed = bms_add_members(needed, ((Consumer *) lfirst(lc))->columns);

	st.buffer_relid = CaptureBufferRelid(source_relid);
	if (!OidIsValid(st.buffer_relid))
	{
		st.missing = needed;
		return st;
	}
	st.map = CaptureColumnMap(st.buffer_relid, source_relid, desc->natts);
	a = -1;
	while ((a = bms_next_member(needed, a)) >= 0)
		if (st.map[a] == 0)
			st.missing = bms_add_member(st.missing, a);

	buf = table_open(st.buffer_relid, AccessShareLock);
	for (a = 1; a <= desc->natts; a++)
	{
		if (st.map[a] == 0 || st.map[a] > RelationGetNumberOfAttributes(buf))
			continue;
		if (strcmp(NameStr(TupleDescAttr(desc, a - 1)->attname),
				   NameStr(TupleDescAttr(RelationGetDescr(buf), st.map[a] - 1)->attname)) != 0)
			st.names_differ = true;
	}
	table_close(buf, NoLock);

	st.triggers_ok = CaptureTriggersPresent(source_relid,
											CaptureBufferName(source_relid)) &&
		CaptureDescendantsReady(source_relid);
	return st;
}

static char *
qualified_buffer(Oid source_relid)
{
	return quote_qualified_identifier(CAPTURE_SCHEMA,
									  CaptureBufferName(source_relid));
}

/*
 * The definition of the buffer column copying attribute att: the same name
 * and collation, the type without domains (a buffer holds NULLs a NOT NULL
 * domain would refuse, in TRUNCATE markers and in rows written before the
 * column was captured).
 */
static char *
column_definition(Form_pg_attribute att)
{
	int32		typmod = att->atttypmod;
	Oid			type = getBaseTypeAndTypmod(att->atttypid, &typmod);
	char	   *sql;

	for (size_t i = 0; i < lengthof(buffer_own_columns); i++)
		if (strcmp(NameStr(att->attname), buffer_own_columns[i]) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of table %s cannot be captured",
							NameStr(att->attname),
							CatalogRelationName(att->attrelid)),
					 errdetail("pg_trickle reserves that name for change buffers.")));

	sql = psprintf("%s %s", quote_identifier(NameStr(att->attname)),
				   format_type_extended(type, typmod,
										FORMAT_TYPE_TYPEMOD_GIVEN |
										FORMAT_TYPE_FORCE_QUALIFY));
	if (OidIsValid(att->attcollation))
	{
		HeapTuple	tup = SearchSysCache1(COLLOID,
										  ObjectIdGetDatum(att->attcollation));
		Form_pg_collation coll;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for collation %u", att->attcollation);
		coll = (Form_pg_collation) GETSTRUCT(tup);
		sql = psprintf("%s COLLATE %s", sql,
					   quote_qualified_identifier(get_namespace_name(coll->collnamespace),
												  NameStr(coll->collname)));
		ReleaseSysCache(tup);
	}
	return sql;
}

/* Record that buffer column bufatt copies source attribute attnum. */
static void
record_column_dependency(Oid buffer_relid, AttrNumber bufatt,
						 Oid source_relid, AttrNumber attnum)
{
	ObjectAddress col;
	ObjectAddress srccol;

	ObjectAddressSubSet(col, RelationRelationId, buffer_relid, bufatt);
	ObjectAddressSubSet(srccol, RelationRelationId, source_relid, attnum);
	recordDependencyOn(&col, &srccol, DEPENDENCY_AUTO);
}

/*
 * Add copies of the source attributes in cols to the buffer (creating the
 * buffer when there is none) and record their dependencies.
 */
/*
 * The index a refresh reads its range of writers through.  BRIN: rows
 * arrive in xid order, and keeping it costs a writer almost nothing (no
 * entry per row, unlike a btree).  xid8 has no BRIN operator class; its
 * value as bigint orders the same (capture/trigger.c computes it).
 */
static char *
xid_index_sql(Oid source_relid)
{
	return psprintf("CREATE INDEX IF NOT EXISTS " CAPTURE_XID_INDEX_PREFIX "%u ON %s USING brin"
					" (((__pgt_xid::pg_catalog.text)::pg_catalog.int8)) WITH (pages_per_range = 16)",
					source_relid, qualified_buffer(source_relid));
}

static Oid
add_columns(Relation src, Oid buffer_relid, Bitmapset *cols)
{
	Oid			source_relid = RelationGetRelid(src);
	TupleDesc	desc = RelationGetDescr(src);
	StringInfoData sql;
	int			a = -1;
	bool		create = !OidIsValid(buffer_relid);

	if (!create && bms_is_empty(cols))
		return buffer_relid;
	initStringInfo(&sql);
	if (create)
		appendStringInfo(&sql, "CREATE TABLE %s (__pgt_xid pg_catalog.xid8 NOT NULL,"
						 " __pgt_seq pg_catalog.int8 NOT NULL,"
						 " __pgt_mult pg_catalog.int2 NOT NULL",
						 qualified_buffer(source_relid));
	else
		appendStringInfo(&sql, "ALTER TABLE %s", qualified_buffer(source_relid));
	while ((a = bms_next_member(cols, a)) >= 0)
	{
		char	   *def = column_definition(TupleDescAttr(desc, a - 1));

		if (create)
			appendStringInfo(&sql, ", %s", def);
		else
			appendStringInfo(&sql, "%s ADD COLUMN %s",
							 bms_next_member(cols, -1) == a ? "" : ",", def);
	}
	if (create)
		appendStringInfo(&sql, ") USING heap; %s", xid_index_sql(source_relid));

	SPI_connect();
	CaptureExecute(sql.data, 0, NULL, NULL, InvalidSnapshot, false);
	SPI_finish();
	CommandCounterIncrement();

	if (create)
	{
		ObjectAddress buffer;
		ObjectAddress source;

		buffer_relid = CaptureBufferRelid(source_relid);
		if (!OidIsValid(buffer_relid))
			elog(ERROR, "change buffer of relation %u was not created", source_relid);
		ObjectAddressSet(buffer, RelationRelationId, buffer_relid);
		ObjectAddressSet(source, RelationRelationId, source_relid);
		recordDependencyOn(&buffer, &source, DEPENDENCY_AUTO);
	}
	a = -1;
	while ((a = bms_next_member(cols, a)) >= 0)
	{
		const char *name = NameStr(TupleDescAttr(desc, a - 1)->attname);
		AttrNumber	bufatt = get_attnum(buffer_relid, name);

		if (bufatt == InvalidAttrNumber)
			elog(ERROR, "column \"%s\" was not added to the change buffer", name);
		record_column_dependency(buffer_relid, bufatt, source_relid, a);
	}
	CommandCounterIncrement();
	return buffer_relid;
}

/*
 * Give buffer columns the current names of the source columns they copy
 * (after a RENAME COLUMN of the source), in two steps so that names can
 * be swapped.
 */
static void
rename_columns(Relation src, Oid buffer_relid, AttrNumber *map)
{
	TupleDesc	desc = RelationGetDescr(src);
	char	   *buffer = qualified_buffer(RelationGetRelid(src));
	List	   *renamed = NIL;
	ListCell   *lc;

	SPI_connect();
	for (int a = 1; a <= desc->natts; a++)
	{
		char	   *bufname;

		if (map[a] == 0)
			continue;
		bufname = get_attname(buffer_relid, map[a], false);
		if (strcmp(bufname, NameStr(TupleDescAttr(desc, a - 1)->attname)) == 0)
			continue;
		CaptureExecute(psprintf("ALTER TABLE %s RENAME COLUMN %s TO \"__pgt_renaming_%d\"",
								buffer, quote_identifier(bufname), a),
					   0, NULL, NULL, InvalidSnapshot, false);
		renamed = lappend_int(renamed, a);
	}
	foreach(lc, renamed)
	{
		int			a = lfirst_int(lc);

		CaptureExecute(psprintf("ALTER TABLE %s RENAME COLUMN \"__pgt_renaming_%d\" TO %s",
								buffer, a,
								quote_identifier(NameStr(TupleDescAttr(desc, a - 1)->attname))),
					   0, NULL, NULL, InvalidSnapshot, false);
	}
	SPI_finish();
	CommandCounterIncrement();
}

/*
 * Close a buffer to everybody but its owner, the catalog owner: nobody else
 * reads a buffer (a refresh reads it as the catalog owner, see changes.c).
 * A buffer holds columns captured for every consumer of its source, and a
 * grant would outlive a REVOKE on the source or a change of a consumer's
 * owner.  Grants found here come from releases that granted SELECT to the
 * owners of consumers, from default privileges, or from a superuser.
 */
static void
close_buffer(Oid buffer_relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(buffer_relid)};
	List	   *stmts = NIL;
	ListCell   *lc;

	SPI_connect();
	CaptureExecute("SELECT DISTINCT pg_catalog.format('REVOKE ALL ON TABLE %s FROM %s',"
				   "        c.oid::pg_catalog.regclass,"
				   "        CASE WHEN a.grantee = 0 THEN 'PUBLIC'"
				   "             ELSE pg_catalog.quote_ident(r.rolname) END)"
				   "   FROM pg_catalog.pg_class c,"
				   "        pg_catalog.aclexplode(c.relacl) a"
				   "        LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee"
				   "  WHERE c.oid = $1 AND a.grantee <> c.relowner",
				   1, argtypes, values, InvalidSnapshot, false);
	for (uint64 i = 0; i < SPI_processed; i++)
		stmts = lappend(stmts, SPI_getvalue(SPI_tuptable->vals[i],
											SPI_tuptable->tupdesc, 1));
	foreach(lc, stmts)
		CaptureExecute(lfirst(lc), 0, NULL, NULL, InvalidSnapshot, false);
	SPI_finish();
}

/* Forget the frontier of a consumer: its next refresh must be a full one. */
static void
reset_frontier(int64 pgt_id, Oid source_relid)
{
	Oid			argtypes[2] = {INT8OID, OIDOID};
	Datum		values[2] = {Int64GetDatum(pgt_id), ObjectIdGetDatum(source_relid)};

	SPI_connect();
	CaptureExecute("UPDATE pgtrickle.pgt_dependencies"
				   "   SET frontier = NULL, frontier_xid = NULL, frontier_seq = NULL"
				   " WHERE pgt_id = $1 AND source_relid = $2",
				   2, argtypes, values, InvalidSnapshot, false);
	SPI_finish();
}

/*
 * Forget every frontier of a consumer: its next refresh recomputes (the
 * definition of a view it reads changed, catalog/viewsource.c).
 */
void
CaptureResetFrontiers(int64 pgt_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};

	SPI_connect();
	CaptureExecute("UPDATE pgtrickle.pgt_dependencies"
				   "   SET frontier = NULL, frontier_xid = NULL, frontier_seq = NULL"
				   " WHERE pgt_id = $1 AND frontier IS NOT NULL",
				   1, argtypes, values, InvalidSnapshot, false);
	SPI_finish();
}

/* Whether a consumer has no frontier for a source. */
static bool
frontier_missing(int64 pgt_id, Oid source_relid)
{
	Oid			argtypes[2] = {INT8OID, OIDOID};
	Datum		values[2] = {Int64GetDatum(pgt_id), ObjectIdGetDatum(source_relid)};
	bool		missing;

	SPI_connect();
	CaptureExecute("SELECT 1 FROM pgtrickle.pgt_dependencies"
				   " WHERE pgt_id = $1 AND source_relid = $2 AND frontier IS NULL",
				   2, argtypes, values, InvalidSnapshot, false);
	missing = SPI_processed > 0;
	SPI_finish();
	return missing;
}

/*
 * A consumer whose frontier starts now reads, in its first refresh, the
 * source at the transaction's snapshot.  With REPEATABLE READ or
 * SERIALIZABLE that snapshot is older than the locks taken here: a change
 * committed in between would be neither in the refresh nor captured.
 */
static void
check_fresh_snapshot(Oid source_relid)
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot start capturing changes of %s in a %s transaction",
						CatalogRelationName(source_relid),
						XactIsoLevel == XACT_SERIALIZABLE ? "SERIALIZABLE" : "REPEATABLE READ"),
				 errdetail("Changes committed after the transaction's snapshot was taken would be lost."),
				 errhint("Create the stream table, or switch it to DIFFERENTIAL, in a READ COMMITTED transaction.")));
}

static void
attach_source(int64 pgt_id, Oid source_relid)
{
	Relation	src;
	List	   *consumers;
	SourceState st;
	bool		reset_all = false;
	Bitmapset  *added = NULL;
	ListCell   *lc;

	/* a concurrent CaptureDetachUnused holding the source goes first */
	src = table_open(source_relid, AccessShareLock);
	check_capturable(source_relid);
	/* before anything else of this source's capture is looked at or locked */
	lock_capture_setup(source_relid);
	CaptureLockConsumers(source_relid, AccessShareLock, true);

	consumers = read_consumers(source_relid, primary_key_columns(src));
	st = read_state(src, consumers);
	if (!OidIsValid(st.buffer_relid) || !st.triggers_ok ||
		!bms_is_empty(st.missing) || st.names_differ)
	{
		/* as CREATE TRIGGER would; then look again, things may have moved */
		LockRelationOid(source_relid, ShareRowExclusiveLock);
		consumers = read_consumers(source_relid, primary_key_columns(src));
		st = read_state(src, consumers);

		if (!OidIsValid(st.buffer_relid) || !st.triggers_ok ||
			!bms_is_empty(st.missing))
			check_fresh_snapshot(source_relid);
		if (OidIsValid(st.buffer_relid) && st.names_differ)
			rename_columns(src, st.buffer_relid, st.map);
		if (!OidIsValid(st.buffer_relid) || !bms_is_empty(st.missing))
		{
			reset_all = !OidIsValid(st.buffer_relid);
			added = st.missing;
			st.buffer_relid = add_columns(src, st.buffer_relid, st.missing);
		}
		if (!st.triggers_ok)
		{
			/* changes may have been missed: every consumer starts over */
			CaptureInstallTriggers(source_relid, st.buffer_relid);
			/* partitions and children write to the same buffer (inherit.c) */
			CaptureInstallDescendants(source_relid, st.buffer_relid);
			reset_all = true;
		}
		foreach(lc, consumers)
		{
			Consumer   *c = lfirst(lc);

			if (reset_all || bms_overlap(c->columns, added))
				reset_frontier(c->pgt_id, source_relid);
		}
	}
	if (frontier_missing(pgt_id, source_relid))
		check_fresh_snapshot(source_relid);
	close_buffer(st.buffer_relid);
	table_close(src, NoLock);
}

void
CaptureAttach(int64 pgt_id)
{
	/* called once the stream table's mode is DIFFERENTIAL */
	List	   *sources = CaptureSources(pgt_id);
	ListCell   *lc;

	foreach(lc, sources)
		attach_source(pgt_id, lfirst_oid(lc));
}

/*
 * Whether any DIFFERENTIAL stream table reads a source, by the latest
 * snapshot (after the caller's locks, whatever the isolation level).
 */
static bool
source_still_read(Oid source_relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(source_relid)};
	bool		read;

	SPI_connect();
	CaptureExecute("SELECT 1" CONSUMERS "   AND d.source_relid = $1",
				   1, argtypes, values, GetLatestSnapshot(), true);
	read = SPI_processed > 0;
	SPI_finish();
	return read;
}

/* Drop a buffer that nobody reads; its triggers go with it. */
static void
drop_buffer(Oid buffer_relid, Oid source_relid)
{
	ObjectAddress buffer;

	/* source first, as writers lock them */
	LockRelationOid(source_relid, AccessExclusiveLock);
	LockRelationOid(buffer_relid, AccessExclusiveLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(buffer_relid)) ||
		source_still_read(source_relid))
		return;
	ObjectAddressSet(buffer, RelationRelationId, buffer_relid);
	performDeletion(&buffer, DROP_RESTRICT,
					PERFORM_DELETION_INTERNAL | PERFORM_DELETION_QUIETLY);
	CommandCounterIncrement();
}

/*
 * Drop the buffer of a source when no stream table has a frontier for it:
 * no refresh then relies on its rows (each consumer's next refresh
 * recomputes), and the rows of a buffer a restore brought back carry
 * transaction ids of the dumped cluster, which must never be compared with
 * this one's.  For re-arming restored stream tables (catalog/restore.c).
 */
void
CaptureDiscardStaleBuffer(Oid source_relid)
{
	Oid			buffer_relid = CaptureBufferRelid(source_relid);
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(source_relid)};
	bool		relied_on;
	ObjectAddress buffer;

	if (!OidIsValid(buffer_relid))
		return;
	/* source first, as writers lock them; no writer meanwhile */
	LockRelationOid(source_relid, ShareRowExclusiveLock);
	LockRelationOid(buffer_relid, AccessExclusiveLock);
	SPI_connect();
	CaptureExecute("SELECT 1 FROM pgtrickle.pgt_dependencies"
				   " WHERE source_relid = $1 AND frontier IS NOT NULL",
				   1, argtypes, values, GetLatestSnapshot(), true);
	relied_on = SPI_processed > 0;
	SPI_finish();
	if (relied_on || !SearchSysCacheExists1(RELOID, ObjectIdGetDatum(buffer_relid)))
		return;
	ObjectAddressSet(buffer, RelationRelationId, buffer_relid);
	performDeletion(&buffer, DROP_RESTRICT,
					PERFORM_DELETION_INTERNAL | PERFORM_DELETION_QUIETLY);
	CommandCounterIncrement();
}

static void
detach_unused(bool drop)
{
	List	   *unused = NIL;
	List	   *granted = NIL;
	ListCell   *lc;
	MemoryContext outer = CurrentMemoryContext;

	{
		SPI_connect();
		/*
		 * Buffers of sources nobody reads, and buffers that somebody besides
		 * their owner has rights on.
		 */
		CaptureExecute("WITH buf AS ("
					   "   SELECT b.oid, b.relowner, b.relacl,"
					   "          pg_catalog.substr(b.relname::pg_catalog.text, 9)::pg_catalog.oid AS src"
					   "     FROM pg_catalog.pg_class b"
					   "    WHERE b.relnamespace = '" CAPTURE_SCHEMA "'::pg_catalog.regnamespace"
					   "      AND b.relkind = 'r' AND b.relname ~ '^changes_[0-9]+$'),"
					   " want AS ("
					   "   SELECT DISTINCT d.source_relid AS src"
					   CONSUMERS "),"
					   " state AS ("
					   "   SELECT buf.oid, buf.src,"
					   "          NOT EXISTS (SELECT 1 FROM want w WHERE w.src = buf.src)"
		/* without its index: a restore has not finished with it */
					   "          AND EXISTS (SELECT 1 FROM pg_catalog.pg_index i"
					   "                       WHERE i.indrelid = buf.oid) AS unused,"
					   "          EXISTS (SELECT 1 FROM pg_catalog.aclexplode(buf.relacl) a"
					   "                   WHERE a.grantee <> buf.relowner) AS granted"
					   "     FROM buf)"
					   " SELECT oid, src, unused FROM state WHERE unused OR granted",
					   0, NULL, NULL, InvalidSnapshot, false);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			bool		isnull;
			Oid			buffer_relid = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
			Oid			source_relid = DatumGetObjectId(SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull));
			bool		nobody = DatumGetBool(SPI_getbinval(tup, SPI_tuptable->tupdesc, 3, &isnull));
			MemoryContext spi = MemoryContextSwitchTo(outer);

			if (nobody && !drop)
				;				/* perhaps a restore's, before its catalog rows */
			else if (nobody)
			{
				unused = lappend_oid(unused, buffer_relid);
				unused = lappend_oid(unused, source_relid);
			}
			else
				granted = lappend_oid(granted, buffer_relid);
			MemoryContextSwitchTo(spi);
		}
		/* a stream table that is not DIFFERENTIAL keeps no frontier */
		CaptureExecute("UPDATE pgtrickle.pgt_dependencies d"
					   "   SET frontier = NULL, frontier_xid = NULL, frontier_seq = NULL"
					   "  FROM pgtrickle.pgt_stream_tables s"
					   " WHERE s.pgt_id = d.pgt_id AND s.refresh_mode <> 'DIFFERENTIAL'"
					   "   AND d.frontier IS NOT NULL",
					   0, NULL, NULL, InvalidSnapshot, false);
		SPI_finish();

		for (int i = 0; i < list_length(unused); i += 2)
			drop_buffer(list_nth_oid(unused, i), list_nth_oid(unused, i + 1));
		foreach(lc, granted)
			close_buffer(lfirst_oid(lc));
	}
}

void
CaptureDetachUnused(bool drop)
{
	/* dropping a buffer fires no event trigger, but be safe */
	static bool running = false;

	if (running || !OidIsValid(get_namespace_oid(CAPTURE_SCHEMA, true)))
		return;
	running = true;
	PG_TRY();
	{
		detach_unused(drop);
	}
	PG_FINALLY();
	{
		running = false;
	}
	PG_END_TRY();
}

/*
 * ddl_command_start on ALTER TABLE: refuse to change the type of a
 * captured column.  Its copy in the buffer depends on it, and PostgreSQL
 * would only say "unexpected object depending on column".
 */
Datum
pgt_capture_ddl_start(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	AlterTableStmt *stmt;
	Oid			relid;
	Oid			buffer_relid;
	ListCell   *lc;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "pgt_capture_ddl_start must be called as an event trigger");
	trigdata = (EventTriggerData *) fcinfo->context;
	if (!IsA(trigdata->parsetree, AlterTableStmt))
		PG_RETURN_VOID();
	stmt = (AlterTableStmt *) trigdata->parsetree;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) || !OidIsValid(buffer_relid = CaptureBufferRelid(relid)))
		PG_RETURN_VOID();

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst(lc);
		AttrNumber	attnum;
		AttrNumber *map;

		if (cmd->subtype != AT_AlterColumnType || cmd->name == NULL)
			continue;
		attnum = get_attnum(relid, cmd->name);
		if (attnum <= 0)
			continue;
		map = CaptureColumnMap(buffer_relid, relid, attnum);
		if (map[attnum] != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot change the type of column \"%s\" of table %s",
							cmd->name, CatalogRelationName(relid)),
					 errdetail("Changes of the column are captured for stream tables with refresh mode DIFFERENTIAL."),
					 errhint("Set the stream tables that read table %s to refresh mode FULL first.",
							 CatalogRelationName(relid))));
	}
	PG_RETURN_VOID();
}

/*
 * Every source some DIFFERENTIAL stream table captures, by OID, in the
 * caller's memory context.
 */
List *
CaptureCapturedSources(void)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *sources = NIL;

	SPI_connect();
	CatalogRun("SELECT DISTINCT d.source_relid FROM pgtrickle.pgt_dependencies d"
			   "  JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
			   " WHERE s.refresh_mode = 'DIFFERENTIAL'"
			   "   AND d.source_type IN ('TABLE', 'STREAM_TABLE')"
			   " ORDER BY 1",
			   0, NULL, NULL, NULL, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			source_relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
																	 SPI_tuptable->tupdesc, 1,
																	 &isnull));
		MemoryContext spi = MemoryContextSwitchTo(caller);	/* outlives SPI */

		sources = lappend_oid(sources, source_relid);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return sources;
}

/*
 * ALTER EXTENSION pg_trickle UPDATE from 0.1.0: every change buffer and the
 * capture triggers of its source become what this version creates (the
 * xid index, the triggers for session_replication_role = replica, no
 * grants), without touching any frontier: each source is held in SHARE ROW
 * EXCLUSIVE mode, as CREATE TRIGGER does, while its triggers change, so no
 * write falls between the old triggers and the new ones and the pending
 * changes stay exactly right.
 */
Datum
pgt_upgrade_capture(PG_FUNCTION_ARGS)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, CaptureCapturedSources())
	{
		Oid			source_relid = lfirst_oid(lc);
		Oid			buffer_relid;

		LockRelationOid(source_relid, ShareRowExclusiveLock);
		buffer_relid = CaptureBufferRelid(source_relid);
		if (!OidIsValid(buffer_relid))
			continue;			/* check_cdc_health reports it; a refresh repairs it */
		SPI_connect();
		CaptureExecute(xid_index_sql(source_relid), 0, NULL, NULL, InvalidSnapshot, false);
		SPI_finish();
		CommandCounterIncrement();
		CaptureInstallTriggers(source_relid, buffer_relid);
		close_buffer(buffer_relid);
		n++;
	}
	PG_RETURN_INT32(n);
}
