/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The only place where pg_trickle looks at PG_VERSION_NUM.
 *
 * pg_trickle is built and tested on PostgreSQL 15; each difference in the
 * server API up to 18 that the code meets is bridged here.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_COMPAT_H
#define PGT_COMPAT_H

#include "postgres.h"

#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "utils/acl.h"
#include "utils/regproc.h"

#if PG_VERSION_NUM < 150000
#error "pg_trickle needs PostgreSQL 15 or later"
#endif

/* Ownership checks became generic in 16. */
#if PG_VERSION_NUM >= 160000
#define pgt_class_ownercheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define pgt_class_ownercheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

/* stringToQualifiedNameList grew a soft-error context in 16. */
#if PG_VERSION_NUM >= 160000
#define pgt_string_to_qualified_name_list(s) stringToQualifiedNameList((s), NULL)
#else
#define pgt_string_to_qualified_name_list(s) stringToQualifiedNameList(s)
#endif

/* Index AMs that cache state across index_insert calls clean up in 17. */
#if PG_VERSION_NUM >= 170000
#define pgt_index_insert_cleanup(index, info) index_insert_cleanup((index), (info))
#else
#define pgt_index_insert_cleanup(index, info) ((void) 0)
#endif

/*
 * Privileges of one query level: on the range table entries up to 15, on
 * RTEPermissionInfo (Query.rteperminfos) from 16.
 */
static inline void
pgt_query_check_as_current_user(Query *query)
{
	ListCell   *lc;

#if PG_VERSION_NUM >= 160000
	foreach(lc, query->rteperminfos)
		lfirst_node(RTEPermissionInfo, lc)->checkAsUser = InvalidOid;
#else
	foreach(lc, query->rtable)
		lfirst_node(RangeTblEntry, lc)->checkAsUser = InvalidOid;
#endif
}

/* ExecCheckRTPerms became ExecCheckPermissions in 16. */
#if PG_VERSION_NUM >= 160000
#define pgt_query_check_permissions(query) \
	((void) ExecCheckPermissions((query)->rtable, (query)->rteperminfos, true))
#else
#define pgt_query_check_permissions(query) \
	((void) ExecCheckRTPerms((query)->rtable, true))
#endif

/* ExecutorRun lost its execute_once argument in 18. */
#if PG_VERSION_NUM >= 180000
#define PGT_EXECUTOR_RUN_ONCE_PARAM
#define PGT_EXECUTOR_RUN_ONCE_ARG
#else
#define PGT_EXECUTOR_RUN_ONCE_PARAM , bool execute_once
#define PGT_EXECUTOR_RUN_ONCE_ARG , execute_once
#endif

/* Safe search_path for code that runs on behalf of someone else. */
#define PGT_SAFE_SEARCH_PATH "pg_catalog, pg_temp"

#endif							/* PGT_COMPAT_H */
