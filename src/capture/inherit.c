/*-------------------------------------------------------------------------
 *
 * inherit.c
 *	  Capture of partitioned tables and inheritance parents: one buffer per
 *	  source as the engine sees it (the table named in FROM), written by the
 *	  capture triggers of that table and of every partition or child below
 *	  it.  See src/capture/README.md, "Partitioned tables and inheritance".
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
#include "catalog/pg_trigger.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "optimizer/plancat.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"

/* The parent of relid with inhseqno seqno (1: the first), or InvalidOid. */
static Oid
parent_of(Oid relid, int32 seqno)
{
	Relation	inh = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			parent = InvalidOid;

	ScanKeyInit(&key[0], Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&key[1], Anum_pg_inherits_inhseqno, BTEqualStrategyNumber,
				F_INT4EQ, Int32GetDatum(seqno));
	scan = systable_beginscan(inh, InheritsRelidSeqnoIndexId, true, NULL, 2, key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		parent = ((Form_pg_inherits) GETSTRUCT(tup))->inhparent;
	systable_endscan(scan);
	table_close(inh, AccessShareLock);
	return parent;
}

/*
 * The table at the top of relid's partition or inheritance tree: relid
 * itself when it has no parent.  A table with several parents answers its
 * first parent's root; capture refuses such trees (CaptureUnsupportedReason).
 */
Oid
CaptureRootOf(Oid relid)
{
	for (int depth = 0; depth < 1000; depth++)
	{
		Oid			parent = parent_of(relid, 1);

		if (!OidIsValid(parent))
			return relid;
		relid = parent;
	}
	elog(ERROR, "inheritance tree of relation %u is too deep", relid);
	return InvalidOid;			/* keep compiler quiet */
}

/* Whether a table has partitions or inheritance children. */
bool
CaptureHasDescendants(Oid relid)
{
	return find_inheritance_children(relid, NoLock) != NIL;
}

/* The partitions or children of root at every level, root excluded. */
static List *
descendants(Oid root, LOCKMODE mode)
{
	return list_delete_first(find_all_inheritors(root, mode, NULL));
}

/*
 * Why a tree of tables cannot be captured as one source: a table below the
 * root with several parents (its rows are read through each of them).
 * NULL when it can.
 */
const char *
CaptureTreeUnsupportedReason(Oid root)
{
	ListCell   *lc;

	foreach(lc, descendants(root, NoLock))
	{
		Oid			relid = lfirst_oid(lc);
		if (OidIsValid(parent_of(relid, 2)))
		{
			return psprintf("table %s inherits from several tables",
							CatalogRelationName(relid));
		}
		if (get_rel_relkind(relid) == RELKIND_FOREIGN_TABLE)
			return psprintf("foreign table %s is a partition",
							CatalogRelationName(relid));
	}
	return NULL;
}

/*
 * Whether every partition or child of root has the capture triggers that
 * write to root's buffer.
 */
bool
CaptureDescendantsReady(Oid root)
{
	char	   *buffer_name = CaptureBufferName(root);
	ListCell   *lc;

	foreach(lc, descendants(root, NoLock))
		if (!CaptureTriggersPresent(lfirst_oid(lc), buffer_name))
			return false;
	return true;
}

/*
 * Give every partition or child of root the capture triggers writing to
 * root's buffer.  A write to a partition fires the statement triggers of
 * the table it names only (the root's for a write through the root, with
 * every routed row in its transition tables; the partition's for a write
 * naming the partition), so each change is captured once.  The row-level
 * (replica) triggers of a partitioned table are cloned to its partitions by
 * PostgreSQL; they are kept and enabled REPLICA like the others.
 */
void
CaptureInstallDescendants(Oid root, Oid buffer_relid)
{
	ListCell   *lc;

	foreach(lc, descendants(root, ShareRowExclusiveLock))
		CaptureInstallTriggers(lfirst_oid(lc), buffer_relid);
}

/* The estimated number of rows of a source, its partitions or children included. */
double
CaptureEstimateRows(Oid relid)
{
	List	   *rels = CaptureHasDescendants(relid) ?
		find_all_inheritors(relid, NoLock, NULL) : list_make1_oid(relid);
	double		total = 0;
	ListCell   *lc;

	foreach(lc, rels)
	{
		Relation	rel;
		BlockNumber pages;
		double		tuples;
		double		allvisfrac;

		if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_PARTITIONED_TABLE)
			continue;
		rel = table_open(lfirst_oid(lc), AccessShareLock);
		estimate_rel_size(rel, NULL, &pages, &tuples, &allvisfrac);
		table_close(rel, NoLock);
		if (tuples > 0)
			total += tuples;
	}
	return total;
}

/*
 * A TRUNCATE marker in a buffer: the next refresh of each of its consumers
 * recomputes (its rows changed without DML that the triggers saw).
 */
static void
write_marker(Oid buffer_relid)
{
	SPI_connect();
	CaptureExecute(psprintf("INSERT INTO %s (__pgt_xid, __pgt_seq, __pgt_mult)"
							" VALUES (pg_catalog.pg_current_xact_id(),"
							"         pg_catalog.nextval('%s.%s'), 0)",
							quote_qualified_identifier(CAPTURE_SCHEMA, get_rel_name(buffer_relid)),
							CAPTURE_SCHEMA, CAPTURE_SEQUENCE),
				   0, NULL, NULL, InvalidSnapshot, false);
	SPI_finish();
}

/* Whether a table (its partitions or children included) has a row. */
static bool
has_rows(Oid relid)
{
	bool		found;

	SPI_connect();
	CaptureExecute(psprintf("SELECT 1 FROM %s LIMIT 1", CatalogRelationName(relid)),
				   0, NULL, NULL, InvalidSnapshot, true);
	found = SPI_processed > 0;
	SPI_finish();
	return found;
}

/*
 * Drop the capture triggers of a table that left a captured tree (they are
 * internal parts of the buffer: the dependency goes first, as in
 * CaptureInstallTriggers).
 */
static void
drop_triggers(Oid relid)
{
	Relation	rel = table_open(relid, ShareRowExclusiveLock);
	List	   *tgoids = NIL;
	ListCell   *lc;

	if (rel->trigdesc != NULL)
		for (int i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			const Trigger *t = &rel->trigdesc->triggers[i];

			/* a clone goes with its parent's trigger (DETACH drops it) */
			if (strncmp(t->tgname, "pgt_capture_", 12) == 0 && !t->tgisclone)
				tgoids = lappend_oid(tgoids, t->tgoid);
		}
	table_close(rel, NoLock);
	foreach(lc, tgoids)
	{
		ObjectAddress trig;

		deleteDependencyRecordsForClass(TriggerRelationId, lfirst_oid(lc),
										RelationRelationId, DEPENDENCY_INTERNAL);
		deleteDependencyRecordsForClass(TriggerRelationId, lfirst_oid(lc),
										RelationRelationId, DEPENDENCY_AUTO);
		CommandCounterIncrement();
		ObjectAddressSet(trig, TriggerRelationId, lfirst_oid(lc));
		performDeletion(&trig, DROP_RESTRICT, PERFORM_DELETION_INTERNAL);
		CommandCounterIncrement();
	}
}

/* Whether the source a buffer belongs to is read by an armed stream table. */
static bool
armed_source(Oid buffer_relid)
{
	unsigned int source;

	if (sscanf(get_rel_name(buffer_relid), "changes_%u", &source) != 1)
		return false;
	return CatalogAny("SELECT 1 FROM pgtrickle.pgt_dependencies d"
					  "  JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
					  " WHERE d.source_relid = $1 AND s.refresh_mode = 'DIFFERENTIAL'"
					  "   AND " CATALOG_ARMED("s"),
					  OIDOID, ObjectIdGetDatum((Oid) source));
}

/*
 * After DDL that may have changed a partition or inheritance tree (CREATE
 * TABLE ... PARTITION OF / INHERITS, ATTACH / DETACH PARTITION, [NO]
 * INHERIT): every table in a captured tree gets the triggers writing to its
 * root's buffer, and a table that left one loses them.  A table that joins
 * with rows, or leaves, changes what its root holds without any captured
 * write: its root's buffer gets a TRUNCATE marker, so the readers
 * recompute at their next refresh.  Called from the ProcessUtility hook
 * (refresh/guard.c) once such a command has run.
 */
void
CaptureSyncTrees(void)
{
	MemoryContext outer = CurrentMemoryContext;
	List	   *tables = NIL;
	List	   *buffers = NIL;
	ListCell   *lc;
	ListCell   *lc2;

	if (!CatalogExists())
		return;
	/* every table with a capture trigger, and the buffer it writes to */
	SPI_connect();
	CaptureExecute("SELECT DISTINCT t.tgrelid,"
				   "       pg_catalog.to_regclass(pg_catalog.quote_ident('" CAPTURE_SCHEMA "') || '.' ||"
				   "           pg_catalog.split_part(pg_catalog.encode(t.tgargs, 'escape'), '\\000', 1))"
				   "  FROM pg_catalog.pg_trigger t"
				   " WHERE t.tgname OPERATOR(pg_catalog.~) '^pgt_capture_'"
				   "   AND t.tgfoid = 'pgtrickle._capture()'::pg_catalog.regprocedure"
				   " ORDER BY 1",
				   0, NULL, NULL, InvalidSnapshot, true);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull1;
		bool		isnull2;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull1));
		Datum		buf = SPI_getbinval(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 2, &isnull2);
		MemoryContext spi = MemoryContextSwitchTo(outer);

		tables = lappend_oid(tables, relid);
		buffers = lappend_oid(buffers, isnull2 ? InvalidOid : DatumGetObjectId(buf));
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();

	/* tables that left the tree whose root's buffer they write */
	forboth(lc, tables, lc2, buffers)
	{
		Oid			relid = lfirst_oid(lc);
		Oid			buffer_relid = lfirst_oid(lc2);
		Oid			root = CaptureRootOf(relid);

		if (!OidIsValid(buffer_relid) ||
			strcmp(get_rel_name(buffer_relid), CaptureBufferName(relid)) == 0 ||
			strcmp(get_rel_name(buffer_relid), CaptureBufferName(root)) == 0)
			continue;
		/*
		 * A restored trigger names the buffer of the dumped database's OID:
		 * re-arming replaces it (catalog/restore.c).  Only a table whose
		 * buffer's source (changes_<OID>) is a source armed stream tables
		 * read has left that source's tree.
		 */
		if (!armed_source(buffer_relid))
			continue;
		drop_triggers(relid);
		write_marker(buffer_relid);
	}

	/* captured roots: every table below them has the triggers */
	forboth(lc, tables, lc2, buffers)
	{
		Oid			root = lfirst_oid(lc);
		Oid			buffer_relid = lfirst_oid(lc2);
		ListCell   *lc3;

		if (!OidIsValid(buffer_relid) ||
			strcmp(get_rel_name(buffer_relid), CaptureBufferName(root)) != 0 ||
			!CaptureHasDescendants(root))
			continue;
		foreach(lc3, descendants(root, ShareRowExclusiveLock))
		{
			Oid			relid = lfirst_oid(lc3);

			if (CaptureTriggersPresent(relid, CaptureBufferName(root)))
				continue;
			if (CaptureBufferRelid(relid) != InvalidOid)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot make table %s part of captured table %s",
								CatalogRelationName(relid), CatalogRelationName(root)),
						 errdetail("A stream table with refresh mode DIFFERENTIAL reads table %s itself.",
								   CatalogRelationName(relid)),
						 errhint("Use refresh_mode => 'FULL' for the stream tables that read it.")));
			{
				const char *why = CaptureTreeUnsupportedReason(root);

				if (why != NULL)
					ereport(ERROR,
							(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
							 errmsg("cannot capture changes of table %s: %s",
									CatalogRelationName(root), why),
							 errdetail("Table %s is read by a stream table with refresh mode DIFFERENTIAL.",
									   CatalogRelationName(root)),
							 errhint("Use refresh_mode => 'FULL' or 'AUTO' for stream tables that read it.")));
			}
			if (has_rows(relid))
				write_marker(buffer_relid);
			CaptureInstallTriggers(relid, buffer_relid);
		}
	}
}

/*
 * Whether a utility statement may change a partition or inheritance tree.
 */
bool
CaptureTreeDDL(Node *stmt)
{
	ListCell   *lc;

	if (IsA(stmt, CreateStmt))
		return ((CreateStmt *) stmt)->partbound != NULL ||
			((CreateStmt *) stmt)->inhRelations != NIL;
	if (!IsA(stmt, AlterTableStmt))
		return false;
	foreach(lc, ((AlterTableStmt *) stmt)->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AttachPartition || cmd->subtype == AT_DetachPartition ||
			cmd->subtype == AT_DetachPartitionFinalize ||
			cmd->subtype == AT_AddInherit || cmd->subtype == AT_DropInherit)
			return true;
	}
	return false;
}

/*
 * Before DROP TABLE of a partition or child of a captured tree: its rows
 * leave the root without any captured write, so the root's buffer gets a
 * TRUNCATE marker (rolled back with the DROP if that fails).
 */
void
CaptureBeforeDrop(Node *stmt)
{
	DropStmt   *drop = (DropStmt *) stmt;
	ListCell   *lc;

	if (!IsA(stmt, DropStmt) || drop->removeType != OBJECT_TABLE || !CatalogExists())
		return;
	foreach(lc, drop->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);
		Oid			root;
		Oid			buffer_relid;

		if (!OidIsValid(relid))
			continue;
		root = CaptureRootOf(relid);
		if (root == relid)
			continue;
		buffer_relid = CaptureBufferRelid(root);
		if (OidIsValid(buffer_relid) &&
			CaptureTriggersPresent(relid, CaptureBufferName(root)))
			write_marker(buffer_relid);
	}
}
