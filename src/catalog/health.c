/*-------------------------------------------------------------------------
 *
 * health.c
 *	  What check_cdc_health needs to know of a change buffer and cannot
 *	  read as its caller: how many of the buffer's rows one stream table has
 *	  not consumed yet, and how big the buffer is.
 *
 * check_cdc_health itself is SQL (sql/pg_trickle--0.2.0.sql, section
 * "Observability") and runs with its caller's rights: the catalog tables,
 * pg_class and pg_trigger are readable by everyone.  Buffers are not (they
 * hold copies of source rows), so the count runs here as the catalog owner
 * and only the count comes out.
 *
 * A health check must not hang behind DDL: the buffer is locked only if
 * that can be done at once; otherwise both values are NULL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "catalog/pgt_catalog.h"

PG_FUNCTION_INFO_V1(pgt_cdc_buffer_usage);

/*
 * The change buffer of a source, pgtrickle_changes.changes_<source oid>
 * (src/capture/README.md), or InvalidOid when there is none.
 */
static Oid
buffer_relid(Oid source_relid)
{
	Oid			nsp = get_namespace_oid("pgtrickle_changes", true);
	char		name[NAMEDATALEN];

	if (!OidIsValid(nsp))
		return InvalidOid;
	snprintf(name, sizeof(name), "changes_%u", source_relid);
	return get_relname_relid(name, nsp);
}

/*
 * Rows of the buffer of source_relid that stream table pgt_id has not
 * consumed, at the current snapshot: all of them when it has no frontier,
 * else those its frontier does not cover (the rule of src/capture/README.md,
 * "Frontiers").  TRUNCATE markers count as rows.
 */
static int64
pending_rows(int64 pgt_id, Oid source_relid, Oid buffer)
{
	Oid			argtypes[2] = {INT8OID, OIDOID};
	Datum		values[2];
	CatalogAccess acc;
	char	   *sql;
	int			rc;
	bool		isnull;
	int64		count;

	values[0] = Int64GetDatum(pgt_id);
	values[1] = ObjectIdGetDatum(source_relid);
	sql = psprintf("SELECT pg_catalog.count(*)"
				   "  FROM %s b, pgtrickle.pgt_dependencies f"
				   " WHERE f.pgt_id OPERATOR(pg_catalog.=) $1"
				   "   AND f.source_relid OPERATOR(pg_catalog.=) $2"
				   "   AND (f.frontier IS NULL OR"
				   "        CASE WHEN b.__pgt_xid OPERATOR(pg_catalog.=) f.frontier_xid"
				   "             THEN b.__pgt_seq OPERATOR(pg_catalog.>) f.frontier_seq"
				   "             ELSE NOT pg_catalog.pg_visible_in_snapshot(b.__pgt_xid, f.frontier)"
				   "        END)",
				   quote_qualified_identifier(get_namespace_name(get_rel_namespace(buffer)),
											  get_rel_name(buffer)));

	SPI_connect();
	CatalogBeginAccess(&acc, NULL);
	rc = SPI_execute_with_args(sql, 2, argtypes, values, NULL, true, 0);
	CatalogEndAccess(&acc);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not count the pending rows of %s: %s",
			 get_rel_name(buffer), SPI_result_code_string(rc));
	count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return count;
}

/*
 * pgtrickle._cdc_buffer_usage(pgt_id bigint, source_relid oid,
 *							   OUT pending_rows bigint, OUT total_bytes bigint)
 *
 * Both NULL when the source has no buffer, or when its buffer is locked
 * against readers at the moment (DDL on it in progress).
 */
Datum
pgt_cdc_buffer_usage(PG_FUNCTION_ARGS)
{
	int64		pgt_id = PG_GETARG_INT64(0);
	Oid			source_relid = PG_GETARG_OID(1);
	TupleDesc	desc;
	Datum		values[2] = {0, 0};
	bool		nulls[2] = {true, true};
	Oid			buffer = buffer_relid(source_relid);

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	desc = BlessTupleDesc(desc);

	if (OidIsValid(buffer) &&
		ConditionalLockRelationOid(buffer, AccessShareLock))
	{
		/* dropped between the lookup and the lock? */
		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(buffer)))
		{
			values[0] = Int64GetDatum(pending_rows(pgt_id, source_relid, buffer));
			values[1] = DirectFunctionCall1(pg_total_relation_size,
											ObjectIdGetDatum(buffer));
			nulls[0] = nulls[1] = false;
		}
		else
			UnlockRelationOid(buffer, AccessShareLock);
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
