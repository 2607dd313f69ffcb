/*-------------------------------------------------------------------------
 *
 * api.h
 *	  Shared pieces of the SQL-callable functions: argument checks, name
 *	  lookup, ownership, and the lifecycle steps used by several functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_API_H
#define PGT_API_H

#include "postgres.h"

#include "fmgr.h"
#include "nodes/primnodes.h"
#include "storage/lockdefs.h"

#include "catalog/pgt_catalog.h"
#include "delta/analyze.h"

/* names.c */
extern char *ApiArgText(FunctionCallInfo fcinfo, int argno, const char *argname);
extern RangeVar *ApiNameToRangeVar(const char *name);
extern StreamTable *ApiLookup(const char *name, LOCKMODE lockmode,
							  bool must_own);
extern void ApiCheckOwner(const StreamTable *st);
extern void ApiCheckNotInError(const StreamTable *st);
extern const char *ApiParseRefreshMode(const char *mode);
extern char *ApiParseSchedule(const char *schedule);
extern const char *ApiParseCdcMode(const char *cdc_mode);
extern const char *ApiParseStatus(const char *status);
extern char *ApiCallerSearchPath(void);
extern void ApiResolveMode(const char *stname, const char *requested,
						   const QueryAnalysis *qa, Oid owner,
						   const char **mode, const char **fallback_reason);

/* alter.c: also used by create_or_replace_stream_table */
extern void StreamTableSetQuery(StreamTable *st, const char *query);
extern void StreamTableSetMode(StreamTable *st, const char *requested);
extern void StreamTableEnableDifferential(const StreamTable *st);

#endif							/* PGT_API_H */
