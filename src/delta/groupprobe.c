/*-------------------------------------------------------------------------
 *
 * groupprobe.c
 *	  A grouped subquery read only for the group keys a term's other rows
 *	  carry.
 *
 * In a term Δ(other item) ⋈ NEW(G), G a subquery with GROUP BY, PostgreSQL
 * does not push the join condition into G: it aggregates G's whole input.
 * When the term's conditions hold a conjunct "G.k op x" — k an output
 * column of G that is a GROUP BY expression, op an equality, x an
 * expression of items G may see — G is read as a LATERAL subquery with the
 * conjunct added to its HAVING ("k_expr op x"), which the planner moves
 * to G's WHERE and so reaches an index on the group key, once per outer
 * row.  The same conjunct added to a grouped subquery probed by EXISTS
 * keeps PostgreSQL from pulling the probe up into a join (so the key is
 * again a parameter of the probe).  See src/delta/README.md, "Grouped
 * subqueries read by key".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/lsyscache.h"

#include "delta/delta.h"

typedef struct OtherSideContext
{
	int			varno;			/* G: never read by the other side */
	Bitmapset  *visible;		/* items of this level the other side may read */
} OtherSideContext;

/*
 * Whether an expression can be moved into G as the other side of a key
 * condition: it reads no column of G, of this level only the visible
 * items (outer levels freely: they stay outer), and holds nothing that
 * cannot move one level down (aggregates, sublinks, placeholders).
 */
static bool
other_side_walker(Node *node, OtherSideContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varlevelsup > 0)
			return false;
		return var->varno == c->varno ||
			!bms_is_member(var->varno, c->visible);
	}
	if (IsA(node, Aggref) || IsA(node, GroupingFunc) ||
		IsA(node, WindowFunc) || IsA(node, SubLink) ||
		IsA(node, PlaceHolderVar) || IsA(node, Param))
		return true;
	return expression_tree_walker(node, other_side_walker, c);
}

/* G's output column attno as a GROUP BY expression of G, or NULL. */
static Expr *
group_key_expr(Query *sub, AttrNumber attno)
{
	TargetEntry *tle;
	ListCell   *lc;

	if (!DeltaIsGrouped(sub) || sub->groupClause == NIL ||
		sub->groupingSets != NIL || sub->hasTargetSRFs ||
		attno <= 0 || attno > list_length(sub->targetList))
		return NULL;
	tle = list_nth_node(TargetEntry, sub->targetList, attno - 1);
	if (tle->resjunk || tle->resno != attno || tle->ressortgroupref == 0)
		return NULL;
	foreach(lc, sub->groupClause)
		if (lfirst_node(SortGroupClause, lc)->tleSortGroupRef == tle->ressortgroupref)
			return tle->expr;
	return NULL;
}

/*
 * The subquery a plain projection reads and the column its output column
 * attno is, or NULL: one subquery in FROM, no WHERE, no grouping, no
 * DISTINCT, LIMIT, set operation or set-returning function (such as the
 * "SELECT s.* FROM (grouped subquery) s" of a grouped IN, scalar.c).
 */
static RangeTblEntry *
projected_subquery(Query *sub, AttrNumber *attno)
{
	FromExpr   *f = sub->jointree;
	RangeTblEntry *rte;
	TargetEntry *tle;
	Node	   *e;

	if (sub->setOperations || sub->hasAggs || sub->groupClause ||
		sub->distinctClause || sub->havingQual || sub->limitCount ||
		sub->limitOffset || sub->hasTargetSRFs || sub->hasWindowFuncs ||
		sub->hasSubLinks || sub->cteList ||
		f == NULL || f->quals != NULL || list_length(f->fromlist) != 1 ||
		!IsA(linitial(f->fromlist), RangeTblRef))
		return NULL;
	rte = rt_fetch(linitial_node(RangeTblRef, f->fromlist)->rtindex, sub->rtable);
	if (rte->rtekind != RTE_SUBQUERY ||
		*attno <= 0 || *attno > list_length(sub->targetList))
		return NULL;
	tle = list_nth_node(TargetEntry, sub->targetList, *attno - 1);
	e = (Node *) tle->expr;
	if (tle->resjunk || tle->resno != *attno || !IsA(e, Var) ||
		((Var *) e)->varlevelsup != 0 ||
		((Var *) e)->varno != linitial_node(RangeTblRef, f->fromlist)->rtindex)
		return NULL;
	*attno = ((Var *) e)->varattno;
	return rte;
}

/*
 * Add "k_expr op x" to the HAVING of the grouped subquery whose output
 * column attno is a GROUP BY expression k_expr, sub itself or under plain
 * projections (depth: how many levels x moves down).
 */
static bool
add_key_condition(Query *sub, AttrNumber attno, OpExpr *op, bool g_left,
				  Node *x, int depth)
{
	Expr	   *key = group_key_expr(sub, attno);
	OpExpr	   *cond;
	Node	   *g;
	Node	  **slot;

	if (key == NULL)
	{
		RangeTblEntry *rte = projected_subquery(sub, &attno);

		return rte != NULL &&
			add_key_condition(rte->subquery, attno, op, g_left, x, depth + 1);
	}

	/* k_expr op x, x depth levels further out, G's relabelling kept */
	cond = copyObject(op);
	x = copyObject(x);
	IncrementVarSublevelsUp(x, depth, 0);
	g = copyObject(g_left ? linitial(op->args) : lsecond(op->args));
	slot = &g;
	while (IsA(*slot, RelabelType))
		slot = (Node **) &((RelabelType *) *slot)->arg;
	*slot = (Node *) copyObject(key);
	cond->args = g_left ? list_make2(g, x) : list_make2(x, g);
	sub->havingQual = make_and_qual(sub->havingQual, (Node *) cond);
	return true;
}

/* Whether node is (a relabelling of) a column of G; its attno. */
static bool
is_column_of(Node *node, int varno, AttrNumber *attno)
{
	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	if (node == NULL || !IsA(node, Var) ||
		((Var *) node)->varno != varno || ((Var *) node)->varlevelsup != 0)
		return false;
	*attno = ((Var *) node)->varattno;
	return true;
}

static void
collect_conjuncts(Node *qual, List **out)
{
	if (qual == NULL)
		return;
	if (IsA(qual, List))
	{
		ListCell   *lc;

		foreach(lc, (List *) qual)
			collect_conjuncts(lfirst(lc), out);
	}
	else if (is_andclause(qual))
		collect_conjuncts((Node *) ((BoolExpr *) qual)->args, out);
	else
		*out = lappend(*out, qual);
}

/*
 * Add to G (the subquery of range table entry varno) one HAVING conjunct
 * per condition "G.k op x" among quals: k a GROUP BY output column, op an
 * equality (mergejoinable or hashjoinable: the operator a join of k and x
 * would be planned with), x readable from G (other_side_walker), moved
 * one level down.  Returns whether one was added.
 *
 * Exact for any such conjunct: every row of the term satisfies it, and a
 * grouping expression in HAVING has the value the output column has, so
 * "G HAVING k_expr op x" holds exactly the rows of G the conjunct keeps.
 */
bool
DeltaGroupedRestrict(Query *sub, int varno, Node *quals, Bitmapset *visible)
{
	List	   *conjuncts = NIL;
	ListCell   *lc;
	bool		added = false;
	OtherSideContext c = {varno, visible};

	collect_conjuncts(quals, &conjuncts);
	foreach(lc, conjuncts)
	{
		OpExpr	   *op = (OpExpr *) lfirst(lc);
		Node	   *l;
		Node	   *r;
		Node	   *x;
		AttrNumber	attno;
		bool		g_left;

		if (!IsA(op, OpExpr) || list_length(op->args) != 2 || op->opretset)
			continue;
		l = linitial(op->args);
		r = lsecond(op->args);
		if (!op_mergejoinable(op->opno, exprType(l)) &&
			!op_hashjoinable(op->opno, exprType(l)))
			continue;
		if (is_column_of(l, varno, &attno))
		{
			g_left = true;
			x = r;
		}
		else if (is_column_of(r, varno, &attno))
		{
			g_left = false;
			x = l;
		}
		else
			continue;
		if (other_side_walker(x, &c) || contain_volatile_functions(x))
			continue;
		if (add_key_condition(sub, attno, op, g_left, x, 1))
			added = true;
	}
	return added;
}

/* Range table indexes of the leaf items under a join tree node. */
static void
leaf_items(Node *node, Bitmapset **out)
{
	List	   *items = NIL;
	ListCell   *lc;

	DeltaJoinTreeItems(node, &items);
	foreach(lc, items)
		*out = bms_add_member(*out, lfirst_int(lc));
}

/* Every join of the tree is inner, and its conditions (all filters). */
static bool
inner_quals(Node *node, List **quals)
{
	if (node == NULL || IsA(node, RangeTblRef))
		return true;
	if (IsA(node, FromExpr))
	{
		FromExpr   *f = (FromExpr *) node;
		ListCell   *lc;

		foreach(lc, f->fromlist)
			if (!inner_quals(lfirst(lc), quals))
				return false;
		if (f->quals)
			*quals = lappend(*quals, f->quals);
		return true;
	}
	if (IsA(node, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) node;

		if (j->jointype != JOIN_INNER ||
			!inner_quals(j->larg, quals) || !inner_quals(j->rarg, quals))
			return false;
		if (j->quals)
			*quals = lappend(*quals, j->quals);
		return true;
	}
	return false;
}

/* The inner join whose right input is item varno, or NULL. */
static JoinExpr *
join_with_right(Node *node, int varno)
{
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
		{
			JoinExpr   *j = join_with_right(lfirst(lc), varno);

			if (j)
				return j;
		}
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) node;

		if (IsA(j->rarg, RangeTblRef) &&
			((RangeTblRef *) j->rarg)->rtindex == varno)
			return j;
		if ((j = join_with_right(j->larg, varno)) != NULL)
			return j;
		return join_with_right(((JoinExpr *) node)->rarg, varno);
	}
	return NULL;
}

/*
 * In one join term t (its items at the given versions), read each grouped
 * subquery that stays NEW only for the keys the rest of the term carries:
 * LATERAL, with the key conditions in its HAVING.  G must be an item of
 * the top FROM list (moved to its end, so that it sees every other item)
 * or the right input of an inner join (it sees the left input); every
 * join of the term must be inner, so that each condition is a filter of
 * the whole term.  Otherwise, or without an equality on a group key, the
 * term stays as it is.
 */
void
DeltaGroupedProbeTerm(Query *t, List *items, const ItemVersion *versions)
{
	List	   *quals = NIL;
	Bitmapset  *movable = NULL;

	if (!inner_quals((Node *) t->jointree, &quals))
		return;

	/* items that may move to the end (LATERAL): none reads another */
	for (int j = 0; j < list_length(items); j++)
	{
		RangeTblEntry *rte = rt_fetch(list_nth_int(items, j), t->rtable);

		if (versions[j] == V_NEW && rte->rtekind == RTE_SUBQUERY)
			movable = bms_add_member(movable, list_nth_int(items, j));
	}
	for (int j = 0; j < list_length(items); j++)
	{
		int			varno = list_nth_int(items, j);
		RangeTblEntry *rte = rt_fetch(varno, t->rtable);
		Bitmapset  *visible = NULL;
		RangeTblRef *top = NULL;
		JoinExpr   *join = NULL;
		ListCell   *lc;

		if (versions[j] != V_NEW || rte->rtekind != RTE_SUBQUERY ||
			rte->lateral)
			continue;
		foreach(lc, t->jointree->fromlist)
			if (IsA(lfirst(lc), RangeTblRef) &&
				((RangeTblRef *) lfirst(lc))->rtindex == varno)
				top = lfirst(lc);
		if (top != NULL)
		{
			leaf_items((Node *) t->jointree, &visible);
			visible = bms_del_members(visible, movable);
		}
		else if ((join = join_with_right((Node *) t->jointree, varno)) != NULL)
			leaf_items(join->larg, &visible);
		else
			continue;
		visible = bms_del_member(visible, varno);
		if (!DeltaGroupedRestrict(rte->subquery, varno, (Node *) quals, visible))
			continue;
		rte->lateral = true;
		if (top != NULL)
			t->jointree->fromlist = lappend(list_delete_ptr(t->jointree->fromlist, top),
											top);
	}
}
