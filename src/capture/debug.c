/*-------------------------------------------------------------------------
 *
 * debug.c
 *	  SQL-callable wrappers around the capture API, for trying it out by
 *	  hand.  NOT part of the extension: not in the Makefile's OBJS.  Build it
 *	  as a separate module against a server that preloads pg_trickle, e.g.
 *
 *	  gcc -shared -fPIC -I src -isystem $(pg_config --includedir-server) \
 *		  -o capture_debug.so src/capture/debug.c
 *
 *	  CREATE FUNCTION capture_attach(bigint) RETURNS void
 *		LANGUAGE c AS '/path/capture_debug.so', 'capture_attach';
 *	  CREATE FUNCTION capture_detach_unused() RETURNS void
 *		LANGUAGE c AS '/path/capture_debug.so', 'capture_detach_unused';
 *	  CREATE FUNCTION capture_delta_sql(bigint, regclass) RETURNS text
 *		LANGUAGE c AS '/path/capture_debug.so', 'capture_delta_sql';
 *	  CREATE FUNCTION capture_pending(bigint)
 *		RETURNS TABLE (source regclass, rows bigint, truncated boolean,
 *					   estimate bigint)
 *		LANGUAGE c AS '/path/capture_debug.so', 'capture_pending';
 *	  CREATE FUNCTION capture_advance(bigint) RETURNS void
 *		LANGUAGE c AS '/path/capture_debug.so', 'capture_advance';
 *	  CREATE FUNCTION capture_prune(bigint) RETURNS void
 *		LANGUAGE c AS '/path/capture_debug.so', 'capture_prune';
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/snapmgr.h"

#include "capture/capture.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(capture_attach);
PG_FUNCTION_INFO_V1(capture_detach_unused);
PG_FUNCTION_INFO_V1(capture_delta_sql);
PG_FUNCTION_INFO_V1(capture_pending);
PG_FUNCTION_INFO_V1(capture_advance);
PG_FUNCTION_INFO_V1(capture_prune);

Datum
capture_attach(PG_FUNCTION_ARGS)
{
	CaptureAttach(PG_GETARG_INT64(0));
	PG_RETURN_VOID();
}

Datum
capture_detach_unused(PG_FUNCTION_ARGS)
{
	(void) fcinfo;
	CaptureDetachUnused();
	PG_RETURN_VOID();
}

Datum
capture_delta_sql(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(CaptureDeltaSubquery(PG_GETARG_INT64(0),
														  PG_GETARG_OID(1))));
}

Datum
capture_pending(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Snapshot	snapshot;
	List	   *pending;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	pending = CapturePendingChanges(PG_GETARG_INT64(0), snapshot);
	UnregisterSnapshot(snapshot);
	foreach(lc, pending)
	{
		CapturePending *p = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};

		values[0] = ObjectIdGetDatum(p->source_relid);
		values[1] = Int64GetDatum(p->rows);
		values[2] = BoolGetDatum(p->truncated);
		values[3] = Int64GetDatum(p->source_rows_estimate);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

Datum
capture_advance(PG_FUNCTION_ARGS)
{
	Snapshot	snapshot;

	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetTransactionSnapshot());
	CaptureAdvanceFrontiers(PG_GETARG_INT64(0), snapshot);
	UnregisterSnapshot(snapshot);
	PG_RETURN_VOID();
}

Datum
capture_prune(PG_FUNCTION_ARGS)
{
	CapturePrune(PG_GETARG_INT64(0));
	PG_RETURN_VOID();
}
