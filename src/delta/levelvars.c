/*-------------------------------------------------------------------------
 *
 * levelvars.c
 *	  The columns an expression reads from one query level.
 *
 * The rules that split a query level into FROM items (semi-joins, scalar
 * subqueries) must know which columns of the level the rest of the query
 * reads, so that the new item's select list carries exactly those, in a
 * fixed order that later remapping refers to by position.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/nodeFuncs.h"

#include "delta/delta.h"

typedef struct CollectContext
{
	int			level;			/* the level, counted from the walk's start */
	int			ignore_varno;	/* a placeholder varno, not a column */
	List	   *vars;
} CollectContext;

/*
 * 1-based position in vars of the column var reads (same varno and
 * varattno), or 0.
 */
int
DeltaVarPosition(List *vars, Var *var)
{
	ListCell   *lc;
	int			k = 0;

	foreach(lc, vars)
	{
		Var		   *seen = lfirst(lc);

		k++;
		if (seen->varno == var->varno && seen->varattno == var->varattno)
			return k;
	}
	return 0;
}

static bool
collect_walker(Node *node, CollectContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if ((int) var->varlevelsup == c->level &&
			var->varno != c->ignore_varno &&
			DeltaVarPosition(c->vars, var) == 0)
		{
			var = copyObject(var);
			var->varlevelsup = 0;
			c->vars = lappend(c->vars, var);
		}
		return false;
	}
	if (IsA(node, Query))
	{
		bool		r;

		/* a sublink's query: the level is one further up from inside it */
		c->level++;
		r = query_tree_walker((Query *) node, collect_walker, c, 0);
		c->level--;
		return r;
	}
	return expression_tree_walker(node, collect_walker, c);
}

/*
 * Append to vars (copies with varlevelsup 0) the distinct columns of query
 * level "level" (relative to node) that node reads, also from inside its
 * sublinks; Vars of varno ignore_varno (0: none) are placeholders and
 * skipped.  Returns the extended list.
 */
List *
DeltaCollectLevelVars(Node *node, int level, int ignore_varno, List *vars)
{
	CollectContext c;

	c.level = level;
	c.ignore_varno = ignore_varno;
	c.vars = vars;
	(void) collect_walker(node, &c);
	return c.vars;
}
