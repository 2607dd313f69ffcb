/*-------------------------------------------------------------------------
 *
 * guard.c
 *	  Stream tables are written by refreshes only.
 *
 * Every storage table carries a statement-level BEFORE trigger (enabled
 * ALWAYS, so session_replication_role does not switch it off) that refuses
 * INSERT, UPDATE, DELETE, TRUNCATE and COPY unless the statement is the
 * refresh engine's own write of that very table.
 *
 * "The engine's own": the refresh lifts the guard for one table and one
 * statement nesting level, the level of the statements it runs itself.
 * Every statement that executes inside them runs at a deeper level: a
 * function called by the defining query, a trigger on the stream table, a
 * COPY or TRUNCATE run by a function.  The level counts the executor runs
 * (ExecutorRun, ExecutorFinish) and utility statements (ProcessUtility)
 * under way in this backend; the BEFORE STATEMENT trigger fires in one of
 * them.
 *
 * Until a restored catalog row is re-armed (catalog/restore.c) the guard
 * lets writes through: a data-only restore loads the table's rows, and
 * re-arming makes the next refresh a full one anyway.
 *
 * The owner cannot take the guard away (event trigger
 * pgtrickle_guard_ddl_start): no DISABLE, DROP or demotion of the guard
 * trigger, and no inheritance or partitioning through which rows would
 * reach or leave the table without its statement triggers firing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "capture/capture.h"
#include "catalog/pgt_catalog.h"
#include "compat.h"
#include "refresh/refresh.h"

PG_FUNCTION_INFO_V1(pgt_guard_write);
PG_FUNCTION_INFO_V1(pgt_guard_ddl_start);

/* the stream table a refresh in this backend is writing, if any */
static Oid	writing_relid = InvalidOid;

/* the nesting level of the refresh's own statements */
static int	writing_level = -1;

/* executor runs and utility statements under way, nested */
static int	nesting_level = 0;

static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/*
 * Lift the guard of one table for the statements the caller runs next,
 * at this nesting level (not for what runs inside them).
 */
void
GuardAllowWrites(Oid relid)
{
	writing_relid = relid;
	writing_level = nesting_level + 1;
}

void
GuardForbidWrites(void)
{
	writing_relid = InvalidOid;
	writing_level = -1;
}

static void
guard_executor_run(QueryDesc *queryDesc, ScanDirection direction, uint64 count
				   PGT_EXECUTOR_RUN_ONCE_PARAM)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(queryDesc, direction, count
							  PGT_EXECUTOR_RUN_ONCE_ARG);
		else
			standard_ExecutorRun(queryDesc, direction, count
								 PGT_EXECUTOR_RUN_ONCE_ARG);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
guard_executor_finish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_executor_finish)
			prev_executor_finish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

static void
guard_process_utility(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	/* rows of a dropped partition or child leave its root (capture/inherit.c) */
	CaptureBeforeDrop(pstmt->utilityStmt);
	nesting_level++;
	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
		/* a partition or child joined or left a tree (capture/inherit.c) */
		if (CaptureTreeDDL(pstmt->utilityStmt))
			CaptureSyncTrees();
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/* Count statement nesting in this backend (from _PG_init). */
void
GuardInit(void)
{
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = guard_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = guard_executor_finish;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = guard_process_utility;
}

/*
 * Put the guard on a new storage table.
 */
void
GuardInstall(Oid relid)
{
	char	   *table = CatalogRelationName(relid);
	CatalogAccess acc;

	SPI_connect();
	CatalogBeginAccess(&acc, NULL);
	if (SPI_execute(psprintf("CREATE TRIGGER pgt_write_guard"
							 " BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s"
							 " FOR EACH STATEMENT"
							 " EXECUTE FUNCTION pgtrickle._guard_write()", table),
					false, 0) < 0 ||
		SPI_execute(psprintf("ALTER TABLE %s ENABLE ALWAYS TRIGGER pgt_write_guard",
							 table), false, 0) < 0)
		elog(ERROR, "could not install the write guard on %s", table);
	CatalogEndAccess(&acc);
	SPI_finish();
}

Datum
pgt_guard_write(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		elog(ERROR, "pgt_guard_write must be called as a trigger");

	/*
	 * A table whose catalog row a restore has not re-armed yet (or not
	 * brought yet) is being restored: a data-only restore fills it.
	 */
	if ((RelationGetRelid(trigdata->tg_relation) != writing_relid ||
		 nesting_level != writing_level) &&
		RestoreRelationArmed(RelationGetRelid(trigdata->tg_relation)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot modify stream table \"%s\"",
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("The contents of a stream table are maintained by pg_trickle from its defining query."),
				 errhint("Change its source tables and call pgtrickle.refresh_stream_table(), or change the query with pgtrickle.alter_stream_table().")));
	return PointerGetDatum(NULL);
}

/* pgtrickle._guard_write(), the function of every guard trigger. */
Oid
GuardFunction(void)
{
	return LookupFuncName(list_make2(makeString("pgtrickle"),
									 makeString("_guard_write")),
						  0, NULL, true);
}

/*
 * The guard trigger of a relation: the trigger calling
 * pgtrickle._guard_write(), whatever its name.  InvalidOid when there is
 * none (not a stream table).
 */
static Oid
guard_trigger(Oid relid, const char *tgname)
{
	Oid			guard_fn;
	Relation	tgrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	Oid			found = InvalidOid;

	if (!OidIsValid(relid))
		return InvalidOid;
	guard_fn = GuardFunction();
	if (!OidIsValid(guard_fn))
		return InvalidOid;

	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger trig = (Form_pg_trigger) GETSTRUCT(tup);

		if (trig->tgfoid == guard_fn &&
			(tgname == NULL || strcmp(NameStr(trig->tgname), tgname) == 0))
		{
			found = trig->oid;
			break;
		}
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);
	return found;
}

static Oid
guarded_relation(RangeVar *rv)
{
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);

	return OidIsValid(guard_trigger(relid, NULL)) ? relid : InvalidOid;
}

static void
refuse_guard_change(Oid relid)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("cannot disable or drop the write guard of stream table %s",
					CatalogRelationName(relid)),
			 errdetail("Trigger pgt_write_guard keeps the contents of the stream table as its defining query makes them."),
			 errhint("Drop the stream table with pgtrickle.drop_stream_table() to remove its guard.")));
}

static void
refuse_inheritance(Oid relid, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("stream table %s cannot %s", CatalogRelationName(relid), what),
			 errdetail("Rows would reach or leave a stream table through an inheritance parent or child without its refreshes.")));
}

static void
check_alter_table(AlterTableStmt *stmt)
{
	Oid			relid = guarded_relation(stmt->relation);
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_EnableTrig:
			case AT_EnableReplicaTrig:
			case AT_DisableTrig:
				/* ENABLE ALWAYS is what the guard is; anything else demotes it */
				if (OidIsValid(relid) && cmd->name != NULL &&
					OidIsValid(guard_trigger(relid, cmd->name)))
					refuse_guard_change(relid);
				break;
			case AT_EnableTrigAll:
			case AT_DisableTrigAll:
			case AT_EnableTrigUser:
			case AT_DisableTrigUser:
				if (OidIsValid(relid))
					refuse_guard_change(relid);
				break;
			case AT_AddInherit:
				if (OidIsValid(relid))
					refuse_inheritance(relid, "inherit from another table");
				else
				{
					Oid			parent = guarded_relation((RangeVar *) cmd->def);

					if (OidIsValid(parent))
						refuse_inheritance(parent, "have inheritance children");
				}
				break;
			case AT_AttachPartition:
				{
					Oid			child = guarded_relation(castNode(PartitionCmd, cmd->def)->name);

					if (OidIsValid(child))
						refuse_inheritance(child, "be a partition");
					if (OidIsValid(relid))
						refuse_inheritance(relid, "have partitions");
				}
				break;
			default:
				break;
		}
	}
}

static void
check_create_table(CreateStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->inhRelations)
	{
		Oid			parent = guarded_relation(lfirst_node(RangeVar, lc));

		if (OidIsValid(parent))
			refuse_inheritance(parent, stmt->partbound ? "have partitions" :
							   "have inheritance children");
	}
}

static void
check_drop_trigger(DropStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		List	   *names = lfirst(lc);
		List	   *relname;
		Oid			relid;

		if (list_length(names) < 2)
			continue;
		relname = list_truncate(list_copy(names), list_length(names) - 1);
		relid = RangeVarGetRelid(makeRangeVarFromNameList(relname), NoLock, true);
		if (OidIsValid(guard_trigger(relid, strVal(llast(names)))))
			refuse_guard_change(relid);
	}
}

/*
 * ddl_command_start on ALTER TABLE, ALTER FOREIGN TABLE, CREATE TABLE,
 * CREATE FOREIGN TABLE and DROP TRIGGER: refuse what would take the write
 * guard away from a stream table, superusers included.
 */
Datum
pgt_guard_ddl_start(PG_FUNCTION_ARGS)
{
	Node	   *parsetree;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "pgt_guard_ddl_start must be called as an event trigger");
	parsetree = ((EventTriggerData *) fcinfo->context)->parsetree;

	if (IsA(parsetree, AlterTableStmt))
		check_alter_table((AlterTableStmt *) parsetree);
	else if (IsA(parsetree, CreateStmt))
		check_create_table((CreateStmt *) parsetree);
	else if (IsA(parsetree, CreateForeignTableStmt))
		check_create_table(&((CreateForeignTableStmt *) parsetree)->base);
	else if (IsA(parsetree, DropStmt) &&
			 ((DropStmt *) parsetree)->removeType == OBJECT_TRIGGER)
		check_drop_trigger((DropStmt *) parsetree);
	PG_RETURN_VOID();
}
