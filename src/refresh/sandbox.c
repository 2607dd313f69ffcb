/*-------------------------------------------------------------------------
 *
 * sandbox.c
 *	  Running a refresh as the stream table's owner, restricted.
 *
 * Like REFRESH MATERIALIZED VIEW: the owner's rights, a security-restricted
 * operation (no SET ROLE, no temporary objects, no changes of session state
 * that outlive the refresh) and search_path pinned to pg_catalog, so that a
 * function called by the query never runs with the rights of whoever asked
 * for the refresh.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "compat.h"
#include "refresh/refresh.h"

static Oid
relation_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

void
SandboxEnter(Sandbox *sb, Oid relid)
{
	GetUserIdAndSecContext(&sb->save_userid, &sb->save_sec_context);
	SetUserIdAndSecContext(relation_owner(relid),
						   sb->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	sb->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", PGT_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

void
SandboxLeave(Sandbox *sb)
{
	/* undo whatever the query's functions set */
	AtEOXact_GUC(false, sb->save_nestlevel);
	SetUserIdAndSecContext(sb->save_userid, sb->save_sec_context);
}
