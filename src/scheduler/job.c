/*-------------------------------------------------------------------------
 *
 * job.c
 *	  One scheduled refresh: announce it, run it, record how it ended.
 *
 * Runs in a refresh worker (or in the scheduler itself when no worker can
 * be started).  Each step is its own transaction: the RUNNING history row
 * is committed first so that a crash leaves a trace, the refresh is one
 * transaction so that a crash leaves no partial state, and a failure is
 * recorded in a new transaction after the refresh rolled back.  A failure
 * is classified: an error the query itself causes (data, syntax,
 * privileges) sets ERROR at once; others count towards SUSPENDED and are
 * retried with back-off (the due query reads the back-off from
 * consecutive_errors and last_error_at, so it survives restarts).
 *
 * The refresh runs with the settings a session of the stream table's owner
 * would have in this database (ALTER DATABASE, ALTER ROLE, ALTER ROLE ...
 * IN DATABASE, read again for every refresh; ALTER SYSTEM by reload) and with
 * statement_timeout armed over its transaction, as postgres.c arms it for
 * a statement; lock_timeout needs nothing (the lock manager reads it).
 * Cancel (SIGINT) and terminate (SIGTERM) requests are served by the
 * interrupt checks of the executor and of our own loops.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_db_role_setting.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "catalog/pgt_catalog.h"
#include "guc.h"
#include "refresh/refresh.h"
#include "scheduler/worker.h"

/*
 * Whether an error can heal by retrying: conflicts, timeouts, resources,
 * cancellations.  Data, syntax, privilege and feature errors, and program
 * limits (statement too complex, stack depth), come from the query and its
 * data and will come again.
 */
static bool
error_is_transient(int sqlerrcode)
{
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_TRANSACTION_ROLLBACK:	/* serialization, deadlock */
		case ERRCODE_INSUFFICIENT_RESOURCES:
		case ERRCODE_OPERATOR_INTERVENTION: /* canceled, admin shutdown */
		case ERRCODE_CONNECTION_EXCEPTION:
		case ERRCODE_SYSTEM_ERROR:
			return true;
		default:
			break;
	}
	return sqlerrcode == ERRCODE_LOCK_NOT_AVAILABLE ||
		sqlerrcode == ERRCODE_OBJECT_IN_USE;
}

static void
begin_step(void)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
}

static void
end_step(void)
{
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * ProcessGUCArray, but quiet about what cannot be set now (a session gets a
 * WARNING at connection; a refresh would raise ERROR, every time): a
 * parameter that can only be set at connection start, a bad value.
 */
static void
apply_setting_array(ArrayType *array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *name;
		char	   *value;

		if (nulls[i])
			continue;
		ParseLongOption(TextDatumGetCString(elems[i]), &name, &value);
		if (value != NULL)
			(void) set_config_option(name, value, PGC_SUSET, PGC_S_SESSION,
									 GUC_ACTION_SAVE, true, DEBUG1, false);
	}
}

/*
 * Apply the settings of one pg_db_role_setting row (databaseid, roleid) as
 * SET LOCAL would: source SESSION, saved and undone at the end of the
 * caller's GUC nest level.  Not with the sources InitPostgres uses
 * (PGC_S_DATABASE and so on): those also become the reset values, which no
 * nest level undoes, so a value would stay in the worker after its ALTER
 * ... RESET.
 */
static void
apply_setting_row(Relation rel, Snapshot snapshot, Oid databaseid, Oid roleid)
{
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&keys[0], Anum_pg_db_role_setting_setdatabase,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(databaseid));
	ScanKeyInit(&keys[1], Anum_pg_db_role_setting_setrole,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(roleid));
	scan = systable_beginscan(rel, DbRoleSettingDatidRolidIndexId, true,
							  snapshot, 2, keys);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		datum = heap_getattr(tup, Anum_pg_db_role_setting_setconfig,
										 RelationGetDescr(rel), &isnull);

		if (!isnull)
			apply_setting_array(DatumGetArrayTypeP(datum));
	}
	systable_endscan(scan);
}

/*
 * Apply the settings a new session of the stream table's owner would get
 * in this database from pg_db_role_setting, lowest precedence first (all
 * roles and databases, this database, the owner, the owner in this
 * database: what InitPostgres applies, in reverse order of precedence, so
 * that the later win).  Read for every refresh, so that an ALTER DATABASE /
 * ALTER ROLE made after this worker connected counts, and so that each
 * stream table gets its own owner's settings.  The caller's GUC nest level
 * undoes them.
 */
static void
apply_owner_settings(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;
	Relation	rel;
	Snapshot	snapshot;

	if (!HeapTupleIsValid(tup))
		return;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	rel = table_open(DbRoleSettingRelationId, AccessShareLock);
	snapshot = RegisterSnapshot(GetCatalogSnapshot(DbRoleSettingRelationId));
	apply_setting_row(rel, snapshot, InvalidOid, InvalidOid);
	apply_setting_row(rel, snapshot, MyDatabaseId, InvalidOid);
	apply_setting_row(rel, snapshot, InvalidOid, owner);
	apply_setting_row(rel, snapshot, MyDatabaseId, owner);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
}

/*
 * Arm statement_timeout for the refresh, counted from the start of its
 * transaction (as postgres.c counts it from the start of a statement).
 */
static void
arm_statement_timeout(void)
{
	if (StatementTimeout > 0)
	{
		TimestampTz fin = TimestampTzPlusMilliseconds(GetCurrentStatementStartTimestamp(),
													  StatementTimeout);

		if (fin <= GetCurrentTimestamp())
			fin = GetCurrentTimestamp();
		enable_timeout_at(STATEMENT_TIMEOUT, fin);
	}
}

/*
 * Disarm it.  A cancel that arrives after the refresh ended (the timeout
 * firing late, or pg_cancel_backend) has no statement left to cancel: it
 * is dropped, as a session drops one that arrives while it is idle.
 */
static void
disarm_statement_timeout(void)
{
	if (get_timeout_active(STATEMENT_TIMEOUT))
		disable_timeout(STATEMENT_TIMEOUT, false);
	QueryCancelPending = false;
}

/* Record a failed refresh; errors here are logged, never thrown. */
static void
record_failure(int64 pgt_id, const char *name, TimestampTz started, ErrorData *edata)
{
	PG_TRY();
	{
		begin_step();
		(void) CatalogRecordFailure(pgt_id, started, edata->message,
									error_is_transient(edata->sqlerrcode),
									pgt_max_consecutive_errors);
		end_step();
		ereport(LOG,
				(errmsg("pg_trickle: refresh of %s failed: %s",
						name ? name : psprintf("stream table " INT64_FORMAT, pgt_id),
						edata->message)));
	}
	PG_CATCH();
	{
		/* not even the failure could be written: log and go on */
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
}

/*
 * Refresh one stream table if it is still ACTIVE (or INITIALIZING) and no
 * other session holds it.
 */
void
RefreshJob(int64 pgt_id)
{
	MemoryContext cxt = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;
	TimestampTz started = GetCurrentTimestamp();
	char	   *volatile name = NULL;
	volatile bool busy = false;
	volatile bool ran = false;
	int64		refresh_id;

	/* announced first, in its own transaction: a crash leaves a trace */
	begin_step();
	refresh_id = CatalogStartRunning(pgt_id);
	end_step();
	CatalogSetRunning(refresh_id);

	PG_TRY();
	{
		StreamTable *st;
		int			nestlevel;

		begin_step();
		nestlevel = NewGUCNestLevel();
		st = CatalogGetById(pgt_id);
		if (st != NULL)
			apply_owner_settings(st->relid);
		arm_statement_timeout();
		if (st != NULL && !ConditionalLockRelationOid(st->relid, ExclusiveLock))
			busy = true;
		else if (st != NULL)
		{
			/* re-read under the lock: a concurrent alter or drop wins */
			st = CatalogGetById(pgt_id);
			if (st != NULL && (strcmp(st->status, "ACTIVE") == 0 ||
							   strcmp(st->status, "INITIALIZING") == 0))
			{
				name = MemoryContextStrdup(cxt, CatalogRelationName(st->relid));
				pgstat_report_activity(STATE_RUNNING,
									   psprintf("pg_trickle: refreshing %s", name));
				RefreshExecute(st, REFRESH_SCHEDULER, NULL);
				ran = true;
			}
		}
		disarm_statement_timeout();
		AtEOXact_GUC(false, nestlevel);
		end_step();
	}
	PG_CATCH();
	{
		disarm_statement_timeout();
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	pgstat_report_activity(STATE_IDLE, NULL);

	if (edata == NULL && ran)
	{
		/* the refresh completed its announcement in its own transaction */
		CatalogSetRunning(0);
		return;
	}
	if (edata == NULL)
	{
		CatalogSetRunning(0);
		/* a busy table says so; the announcement of one no longer due goes */
		begin_step();
		CatalogEndRunning(refresh_id, busy);
		end_step();
		return;
	}

	record_failure(pgt_id, name, started, edata);
	CatalogSetRunning(0);
	FreeErrorData(edata);
}
