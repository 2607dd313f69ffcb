/*-------------------------------------------------------------------------
 *
 * dbguard.c
 *	  Schedulers never stand in the way of database-level DDL.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE
 * DATABASE ... TEMPLATE need a database free of connections.  Before they
 * run, the database's scheduler is stopped and held off for a while
 * (LauncherHoldDatabase); the launcher starts it again afterwards.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"

#include "scheduler/worker.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

static Oid
database_named(const char *name)
{
	return name ? get_database_oid(name, true) : InvalidOid;
}

static void
guard_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			  ProcessUtilityContext context, ParamListInfo params,
			  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (IsA(stmt, DropdbStmt))
		LauncherHoldDatabase(database_named(((DropdbStmt *) stmt)->dbname));
	else if (IsA(stmt, RenameStmt) && ((RenameStmt *) stmt)->renameType == OBJECT_DATABASE)
		LauncherHoldDatabase(database_named(((RenameStmt *) stmt)->subname));
	else if (IsA(stmt, AlterDatabaseStmt))
		LauncherHoldDatabase(database_named(((AlterDatabaseStmt *) stmt)->dbname));
	else if (IsA(stmt, CreatedbStmt))
	{
		ListCell   *lc;

		foreach(lc, ((CreatedbStmt *) stmt)->options)
		{
			DefElem    *opt = lfirst_node(DefElem, lc);

			if (strcmp(opt->defname, "template") == 0)
				LauncherHoldDatabase(database_named(defGetString(opt)));
		}
	}

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

void
DatabaseGuardInit(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = guard_utility;
}
