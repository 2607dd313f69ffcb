/*-------------------------------------------------------------------------
 *
 * cost.c
 *	  The planner's estimate of a statement, for the choice between a
 *	  delta and a recomputation.
 *
 * A DIFFERENTIAL refresh of a large change set, on a table without a
 * history of measured refreshes, asks the planner what each way costs: the
 * delta statement planned for the change sets as they are (their exact
 * sizes) against the statement that recomputes the query and writes the
 * difference.  Both are planned under the same settings, those of the
 * delta statement, so that the two numbers are in the same units
 * (src/refresh/README.md, "Action").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "executor/spi_priv.h"
#include "nodes/plannodes.h"
#include "utils/plancache.h"
#include "utils/resowner.h"

#include "refresh/refresh.h"

/*
 * The planner's total cost of a prepared statement without parameters: the
 * sum over its planned statements of the top node's total cost, which
 * includes the statement's CTEs and initplans (they are charged to the top
 * node).  The plan made here is the statement's generic plan: it is kept
 * with the statement and used when the statement runs.
 */
double
RefreshPlanCost(SPIPlanPtr plan)
{
	CachedPlan *cplan = SPI_plan_get_cached_plan(plan);
	double		cost = 0;
	ListCell   *lc;

	if (cplan == NULL)
		elog(ERROR, "could not plan a statement for its cost");
	foreach(lc, cplan->stmt_list)
	{
		PlannedStmt *stmt = lfirst_node(PlannedStmt, lc);

		if (stmt->planTree != NULL)
			cost += stmt->planTree->total_cost;
	}
	/* SPI_plan_get_cached_plan counted it for a kept statement only */
	ReleaseCachedPlan(cplan, plan->saved ? CurrentResourceOwner : NULL);
	return cost;
}
