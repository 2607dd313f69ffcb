/*-------------------------------------------------------------------------
 *
 * frontier.c
 *	  Snapshot frontiers: which buffer rows a refresh consumes, recording
 *	  what it consumed, and pruning what every consumer has consumed.
 *
 * A buffer row is consumed by the frontier (F, F_xid, F_seq) of a stream
 * table when it was written by the transaction of that refresh before the
 * refresh (__pgt_xid = F_xid and __pgt_seq <= F_seq), or by another
 * transaction that had committed at snapshot F (pg_visible_in_snapshot).
 * A refresh at snapshot S consumes the rows it sees at S that its frontier
 * has not consumed.  The own-transaction case is decided by the sequence
 * alone: in a pg_snapshot a transaction's own xid can look running (it is
 * at or above xmax when it is the newest), so visibility cannot decide it.
 *
 * A NULL frontier (new consumer, or capture restarted) has consumed
 * nothing: the consumer's next refresh is a full one, and until then it
 * holds back pruning of its sources.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "optimizer/plancat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "capture/capture.h"
#include "catalog/catalog.h"

/* Whether buffer row b is pending for frontier f (both aliases). */
#define PENDING(b, f) \
	"CASE WHEN " b ".__pgt_xid OPERATOR(pg_catalog.=) " f ".frontier_xid" \
	" THEN " b ".__pgt_seq OPERATOR(pg_catalog.>) " f ".frontier_seq" \
	" ELSE NOT pg_catalog.pg_visible_in_snapshot(" b ".__pgt_xid, " f ".frontier) END"

/* The captured sources of a stream table, by OID. */
List *
CaptureSources(int64 pgt_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};
	List	   *sources = NIL;
	MemoryContext outer = CurrentMemoryContext;

	SPI_connect();
	CaptureExecute("SELECT source_relid FROM pgtrickle.pgt_dependencies"
				   " WHERE pgt_id = $1 AND source_type IN ('TABLE', 'STREAM_TABLE')"
				   " ORDER BY source_relid",
				   1, argtypes, values, InvalidSnapshot, false);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc,
														   1, &isnull));
		MemoryContext spi = MemoryContextSwitchTo(outer);

		sources = lappend_oid(sources, relid);
		MemoryContextSwitchTo(spi);
	}
	SPI_finish();
	return sources;
}

static Oid
buffer_of(int64 pgt_id, Oid source_relid)
{
	Oid			buffer_relid = CaptureBufferRelid(source_relid);

	if (!OidIsValid(buffer_relid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("changes of table %s are not captured",
						CatalogRelationName(source_relid)),
				 errdetail("Stream table " INT64_FORMAT " reads it with refresh mode DIFFERENTIAL.",
						   pgt_id),
				 errhint("Set the stream table to refresh mode FULL and back to DIFFERENTIAL.")));
	return buffer_relid;
}

/* The one-row subquery of the frontier of (pgt_id, source), aliased f. */
static char *
frontier_subquery(int64 pgt_id, Oid source_relid, const char *alias)
{
	return psprintf("(SELECT d.frontier, d.frontier_xid, d.frontier_seq"
					"   FROM pgtrickle.pgt_dependencies d"
					"  WHERE d.pgt_id OPERATOR(pg_catalog.=) '" INT64_FORMAT "'::pg_catalog.int8"
					"    AND d.source_relid OPERATOR(pg_catalog.=) '%u'::pg_catalog.oid) %s",
					pgt_id, source_relid, alias);
}

char *
CaptureDeltaSubquery(int64 pgt_id, Oid source_relid)
{
	Relation	src = table_open(source_relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(src);
	Oid			buffer_relid = buffer_of(pgt_id, source_relid);
	Relation	buf = table_open(buffer_relid, AccessShareLock);
	AttrNumber *map = CaptureColumnMap(buffer_relid, source_relid, desc->natts);
	StringInfoData sql;
	StringInfoData image;
	StringInfoData pick;

	initStringInfo(&sql);
	initStringInfo(&image);
	initStringInfo(&pick);
	appendStringInfoString(&sql, "SELECT ");
	for (int a = 1; a <= desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a - 1);
		char	   *name = att->attisdropped ?
			psprintf("\"__pgt_dropped_%d\"", a) :
			pstrdup(quote_identifier(NameStr(att->attname)));

		appendStringInfo(&image, "%s__pgt_c.%s", a > 1 ? ", " : "", name);
		appendStringInfo(&pick, "(pg_catalog.array_agg(__pgt_c.%s))[1] AS %s, ",
						 name, name);
		if (att->attisdropped)
			appendStringInfo(&sql, "NULL::pg_catalog.int4 AS \"__pgt_dropped_%d\", ", a);
		else if (map[a] != 0)
			appendStringInfo(&sql, "__pgt_b.%s AS %s, ",
							 quote_identifier(NameStr(TupleDescAttr(RelationGetDescr(buf),
																	map[a] - 1)->attname)),
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
	appendStringInfo(&sql,
					 "__pgt_b.__pgt_mult::pg_catalog.int8 AS __pgt_m"
					 " FROM %s __pgt_b, %s"
					 " WHERE __pgt_b.__pgt_mult OPERATOR(pg_catalog.<>) 0"
					 "   AND " PENDING("__pgt_b", "__pgt_f"),
					 quote_qualified_identifier(CAPTURE_SCHEMA, RelationGetRelationName(buf)),
					 frontier_subquery(pgt_id, source_relid, "__pgt_f"));
	table_close(buf, NoLock);
	table_close(src, NoLock);

	/*
	 * Net the changes per row image (the text of the row, as the apply step
	 * identifies rows): a row inserted and deleted again since the last
	 * refresh, or changed and changed back, cancels out here, before the
	 * query's expressions see it.  Otherwise such a transient row could make
	 * the refresh fail (say, a division by a zero that is no longer there)
	 * where the query over the current data succeeds.
	 */
	return psprintf("SELECT %spg_catalog.sum(__pgt_c.__pgt_m)::pg_catalog.int8 AS __pgt_m"
					" FROM (%s) __pgt_c GROUP BY ROW(%s)::pg_catalog.text"
					" HAVING pg_catalog.sum(__pgt_c.__pgt_m) OPERATOR(pg_catalog.<>) 0",
					pick.data, sql.data, image.data);
}

List *
CapturePendingChanges(int64 pgt_id, Snapshot snapshot)
{
	List	   *sources = CaptureSources(pgt_id);
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, sources)
	{
		Oid			source_relid = lfirst_oid(lc);
		Oid			buffer_relid = buffer_of(pgt_id, source_relid);
		CapturePending *p = palloc0(sizeof(CapturePending));
		Relation	src;
		BlockNumber pages;
		double		tuples;
		double		allvisfrac;
		bool		isnull;

		/* a missing frontier row reads as "no frontier" */
		SPI_connect();
		CaptureExecute(psprintf("SELECT coalesce(bool_or(__pgt_f.frontier IS NULL), true),"
								"       count(__pgt_b.__pgt_mult) FILTER"
								"         (WHERE __pgt_b.__pgt_mult OPERATOR(pg_catalog.<>) 0),"
								"       coalesce(bool_or(__pgt_b.__pgt_mult OPERATOR(pg_catalog.=) 0), false)"
								"  FROM %s"
								"  LEFT JOIN %s __pgt_b ON " PENDING("__pgt_b", "__pgt_f"),
								frontier_subquery(pgt_id, source_relid, "__pgt_f"),
								quote_qualified_identifier(CAPTURE_SCHEMA,
														   get_rel_name(buffer_relid))),
					   0, NULL, NULL, snapshot, true);
		if (SPI_processed != 1)
			elog(ERROR, "could not count the pending changes of relation %u", source_relid);
		p->source_relid = source_relid;
		p->truncated = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												  SPI_tuptable->tupdesc, 1, &isnull)) ||
			DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 3, &isnull));
		p->rows = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, 2, &isnull));
		SPI_finish();

		src = table_open(source_relid, AccessShareLock);
		estimate_rel_size(src, NULL, &pages, &tuples, &allvisfrac);
		table_close(src, NoLock);
		p->source_rows_estimate = (int64) tuples;
		result = lappend(result, p);
	}
	return result;
}

/*
 * Runs with the refresh's snapshot as the active one, so
 * pg_current_snapshot() is that snapshot.
 */
void
CaptureAdvanceFrontiers(int64 pgt_id, Snapshot snapshot)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1] = {Int64GetDatum(pgt_id)};

	SPI_connect();
	CaptureExecute("UPDATE pgtrickle.pgt_dependencies d"
				   "   SET frontier = CASE WHEN s.refresh_mode = 'DIFFERENTIAL'"
				   "                       THEN pg_catalog.pg_current_snapshot() END,"
				   "       frontier_xid = CASE WHEN s.refresh_mode = 'DIFFERENTIAL'"
				   "                           THEN pg_catalog.pg_current_xact_id() END,"
				   "       frontier_seq = CASE WHEN s.refresh_mode = 'DIFFERENTIAL'"
				   "                           THEN pg_catalog.nextval('" CAPTURE_SCHEMA "." CAPTURE_SEQUENCE "'::pg_catalog.regclass) END"
				   "  FROM pgtrickle.pgt_stream_tables s"
				   " WHERE s.pgt_id = d.pgt_id AND d.pgt_id = $1"
				   "   AND d.source_type IN ('TABLE', 'STREAM_TABLE')",
				   1, argtypes, values, snapshot, false);
	SPI_finish();
}

/*
 * The DELETE must see every consumer that committed before it took the
 * consumer lock: a transaction snapshot may be older than that, so pruning
 * happens only in READ COMMITTED (the next such refresh catches up).
 */
void
CapturePrune(int64 pgt_id)
{
	List	   *sources;
	ListCell   *lc;

	if (IsolationUsesXactSnapshot())
		return;
	sources = CaptureSources(pgt_id);

	foreach(lc, sources)
	{
		Oid			source_relid = lfirst_oid(lc);
		Oid			buffer_relid = CaptureBufferRelid(source_relid);
		Oid			argtypes[1] = {OIDOID};
		Datum		values[1] = {ObjectIdGetDatum(source_relid)};

		/* another prune, or a consumer being added: prune next time */
		if (!OidIsValid(buffer_relid) ||
			!CaptureLockConsumers(source_relid, AccessExclusiveLock, false))
			continue;
		SPI_connect();
		CaptureExecute(psprintf("DELETE FROM %s __pgt_b"
								" WHERE NOT EXISTS ("
								"   SELECT 1 FROM pgtrickle.pgt_dependencies d"
								"     JOIN pgtrickle.pgt_stream_tables s ON s.pgt_id = d.pgt_id"
								"    WHERE d.source_relid = $1"
								"      AND s.refresh_mode = 'DIFFERENTIAL'"
								"      AND d.source_type IN ('TABLE', 'STREAM_TABLE')"
								"      AND (d.frontier IS NULL OR " PENDING("__pgt_b", "d") "))",
								quote_qualified_identifier(CAPTURE_SCHEMA,
														   get_rel_name(buffer_relid))),
					   1, argtypes, values, InvalidSnapshot, false);
		SPI_finish();
	}
}
