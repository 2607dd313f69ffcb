/*-------------------------------------------------------------------------
 *
 * refresh.h
 *	  The refresh executor: bringing one stream table up to date.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_REFRESH_H
#define PGT_REFRESH_H

#include "postgres.h"

#include "executor/spi.h"
#include "utils/snapshot.h"

#include "catalog/pgt_catalog.h"

typedef enum RefreshInitiator
{
	REFRESH_MANUAL,
	REFRESH_SCHEDULER,
	REFRESH_INITIAL,
	REFRESH_REINITIALIZE,		/* after a change of the defining query */
	REFRESH_MODE_SWITCH			/* after a switch to DIFFERENTIAL */
} RefreshInitiator;

/* A refresh running as the stream table's owner (sandbox.c). */
typedef struct Sandbox
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} Sandbox;

extern void SandboxEnter(Sandbox *sb, Oid relid);
extern void SandboxLeave(Sandbox *sb);
extern Oid	SandboxOwner(Oid relid);
extern void SandboxCheckPrivileges(Oid query_relid);
extern char *SandboxRowSecurityReason(List *relids, Oid role);

/* guard.c */
extern void GuardAllowWrites(Oid relid);
extern void GuardForbidWrites(void);
extern void GuardInstall(Oid relid);
extern void GuardInit(void);
extern Oid	GuardFunction(void);

/* full.c */
extern char *FullRefreshSql(const StreamTable *st);
extern bool FullRefreshFill(Oid relid, const char *select, const char *target,
							Snapshot snapshot, int64 *rows_inserted);
extern SPIPlanPtr FullRefreshFillPlan(Oid relid, const char *select,
									  const char *target);
extern void FullRefreshFillRun(Oid relid, SPIPlanPtr plan, Snapshot snapshot,
							   int64 *rows_inserted);
extern void FullRefreshApply(const StreamTable *st, Snapshot snapshot,
							 int64 *rows_inserted, int64 *rows_deleted);

/* executor.c */
extern List *RefreshStorageColumns(Oid relid);
extern void RefreshLockSources(const StreamTable *st);
extern Snapshot RefreshTakeSnapshot(void);
extern void RefreshExecute(const StreamTable *st, RefreshInitiator who,
						   Snapshot snapshot);
extern void RefreshProbe(const StreamTable *st);

/* plancache.c */
/* the statements of a refresh that are kept (plancache.c) */
#define PLAN_DELTA 0			/* the delta statement */
#define PLAN_RECOMPUTE 1		/* recomputation of groups it could not merge */
/* a kept delta plan serves change sets up to this factor from its own */
#define PLAN_SIZE_SPREAD 2
extern SPIPlanPtr PlanCacheLookup(int64 pgt_id, int kind, const char *key,
								  const int64 *sizes, int nsizes);
extern SPIPlanPtr PlanCacheStore(int64 pgt_id, int kind, const char *key,
								 const int64 *sizes, int nsizes,
								 SPIPlanPtr plan);

/* differential.c */
struct DeltaShape;
/* cost.c */
extern double RefreshPlanCost(SPIPlanPtr plan, double *rows);
extern double RefreshWriteCost(Oid relid, double rows, int width, bool insert);
extern int	RefreshRowWidth(Oid relid);
extern void RefreshRememberDeltaCost(int64 pgt_id, const char *key, List *pending,
									 double cost);
extern bool RefreshDeltaCostBound(int64 pgt_id, const char *key, List *pending,
								  double *bound, int64 *then);

extern struct DeltaShape *DifferentialShape(const StreamTable *st);
extern void DifferentialRefresh(const StreamTable *st, RefreshInitiator who,
								Snapshot snapshot, RefreshOutcome *o);

/* unlogged.c */
extern bool RefreshUnloggedLost(const StreamTable *st, char **relname);
extern void RefreshUnloggedMark(const StreamTable *st);

#endif							/* PGT_REFRESH_H */
