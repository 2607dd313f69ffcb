/*-------------------------------------------------------------------------
 *
 * onqual.c
 *	  Subqueries in ON conditions, moved to where the other rules take them.
 *
 * The semi-join, sublink and scalar-subquery rules work on a query level's
 * WHERE (and select list).  A subquery in a join's ON condition is moved
 * there when that is an identity:
 *
 *	* a conjunct of an inner join that no outer join can null goes to the
 *	  level's WHERE: a row the inner join drops for it is a row the WHERE
 *	  drops, and no outer join above can bring it back NULL-extended;
 *	* a conjunct of a LEFT (RIGHT) join that reads only its nullable side,
 *	  when that side is one range table entry, becomes a WHERE of a subquery
 *	  wrapping that entry: a nullable row the condition rejects matches no
 *	  preserved row, which is what happens to a row that is not there, and
 *	  unmatched nullable rows never reach the result.
 *
 * Everything else (a conjunct reading the preserved side, both sides, or
 * under a FULL join) stays and is refused by the semi-join rule's checks
 * with its own reason.  The defining query itself is never changed: this is
 * the form the delta rules read (FULL refresh and a projection's
 * recomputation run the query as written).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/attmap.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "delta/delta.h"

/* Whether a conjunct reads, of this level, at most range table entry rti. */
static bool
reads_only(Node *cond, int rti)
{
	Bitmapset  *rels = pull_varnos_of_level(NULL, cond, 0);

	return bms_is_empty(rels) ||
		(bms_membership(rels) == BMS_SINGLETON && bms_is_member(rti, rels));
}

/* A conjunct to move into the nullable side it reads (range table entry rti). */
typedef struct Filter
{
	int			rti;
	Node	   *cond;
} Filter;

/*
 * Range table entry rti of q replaced by SELECT <its live columns> FROM
 * <it> WHERE cond.  The Vars of q that read the entry are renumbered when
 * a relation's dropped columns are left out (a subquery has none), so q is
 * returned anew; cond keeps the relation's own attribute numbers, being
 * moved into the subquery over it.
 */
static Query *
filter_entry(Query *q, int rti, Node *cond)
{
	RangeTblEntry *rte = rt_fetch(rti, q->rtable);
	RangeTblEntry *inner = copyObject(rte);
	int			ncols = list_length(rte->eref->colnames);
	AttrMap    *map = make_attrmap(ncols);
	List	   *tlist = NIL;
	List	   *names = NIL;
	bool		dropped = false;
	bool		whole_row;
	RangeTblRef *ref = makeNode(RangeTblRef);
	Query	   *sub;
	AttrNumber	attno = 0;
	ListCell   *lc;

	foreach(lc, rte->eref->colnames)
	{
		const char *name = strVal(lfirst(lc));
		Oid			type;
		int32		typmod;
		Oid			coll;

		attno++;
		/* a relation's dropped column: left out, the Vars renumbered below */
		if (name[0] == '\0')
		{
			dropped = true;
			continue;
		}
		DeltaItemColumnType(rte, attno, &type, &typmod, &coll);
		tlist = lappend(tlist,
						makeTargetEntry((Expr *) makeVar(1, attno, type, typmod, coll, 0),
										list_length(tlist) + 1, pstrdup(name), false));
		names = lappend(names, makeString(pstrdup(name)));
		map->attnums[attno - 1] = list_length(tlist);
	}

	/* the condition moves one level down: its Vars of rti become Vars of 1 */
	cond = copyObject(cond);
	IncrementVarSublevelsUp(cond, 1, 1);
	ChangeVarNodes(cond, rti, 1, 0);
	ref->rtindex = 1;

	sub = makeNode(Query);
	sub->commandType = CMD_SELECT;
	sub->querySource = QSRC_ORIGINAL;
	sub->canSetTag = true;
	sub->rtable = list_make1(inner);
	pgt_query_copy_perminfos(sub, q);
	sub->jointree = makeFromExpr(list_make1(ref), cond);
	sub->targetList = tlist;
	sub->hasSubLinks = true;

	if (dropped)
	{
		q = (Query *) map_variable_attnos((Node *) q, rti, 0, map, InvalidOid, &whole_row);
		rte = rt_fetch(rti, q->rtable);
	}
	if (rte->alias == NULL)
		rte->alias = makeAlias(rte->eref->aliasname, NIL);
	DeltaMakeSubqueryRte(rte, sub);
	rte->eref = makeAlias(rte->eref->aliasname, names);
	return q;
}

/* Whether a range table entry can become a subquery over itself. */
static bool
wrappable(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION || rte->rtekind == RTE_SUBQUERY;
}

static void
move_conditions(Query *q, Node *jtnode, bool nullable, List **where, List **filters)
{
	JoinExpr   *j;
	List	   *keep = NIL;
	ListCell   *lc;

	if (IsA(jtnode, FromExpr))
	{
		foreach(lc, ((FromExpr *) jtnode)->fromlist)
			move_conditions(q, lfirst(lc), nullable, where, filters);
		return;
	}
	if (!IsA(jtnode, JoinExpr))
		return;
	j = (JoinExpr *) jtnode;
	move_conditions(q, j->larg,
					nullable || j->jointype == JOIN_RIGHT || j->jointype == JOIN_FULL,
					where, filters);
	move_conditions(q, j->rarg,
					nullable || j->jointype == JOIN_LEFT || j->jointype == JOIN_FULL,
					where, filters);
	/* USING and NATURAL deparse from their column lists, not from quals */
	if (j->quals == NULL || j->usingClause != NIL || j->isNatural ||
		!checkExprHasSubLink(j->quals))
		return;

	foreach(lc, make_ands_implicit((Expr *) j->quals))
	{
		Node	   *cond = lfirst(lc);
		Node	   *side = j->jointype == JOIN_LEFT ? j->rarg : j->larg;

		if (!checkExprHasSubLink(cond))
			keep = lappend(keep, cond);
		else if (j->jointype == JOIN_INNER && !nullable)
			*where = lappend(*where, cond);
		else if ((j->jointype == JOIN_LEFT || j->jointype == JOIN_RIGHT) &&
				 IsA(side, RangeTblRef) &&
				 wrappable(rt_fetch(((RangeTblRef *) side)->rtindex, q->rtable)) &&
				 reads_only(cond, ((RangeTblRef *) side)->rtindex))
		{
			Filter	   *f = palloc(sizeof(Filter));

			f->rti = ((RangeTblRef *) side)->rtindex;
			f->cond = cond;
			*filters = lappend(*filters, f);
		}
		else
			keep = lappend(keep, cond);
	}
	if (keep != NIL)
		j->quals = (Node *) make_ands_explicit(keep);
	else
		j->quals = j->jointype == JOIN_INNER ? NULL : makeBoolConst(true, false);
}

static Query *
rewrite_level(Query *q)
{
	ListCell   *lc;
	List	   *where = NIL;
	List	   *filters = NIL;

	foreach(lc, q->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_SUBQUERY)
			rte->subquery = rewrite_level(rte->subquery);
	}
	if (!q->hasSubLinks || q->jointree == NULL || q->setOperations != NULL)
		return q;
	move_conditions(q, (Node *) q->jointree, false, &where, &filters);
	if (where != NIL)
	{
		if (q->jointree->quals != NULL)
			where = lcons(q->jointree->quals, where);
		q->jointree->quals = (Node *) make_ands_explicit(where);
	}
	/* one subquery per nullable entry, with all of its conditions */
	while (filters != NIL)
	{
		Filter	   *first = linitial(filters);
		List	   *conds = NIL;
		List	   *rest = NIL;

		foreach(lc, filters)
		{
			Filter	   *f = lfirst(lc);

			if (f->rti == first->rti)
				conds = lappend(conds, f->cond);
			else
				rest = lappend(rest, f);
		}
		q = filter_entry(q, first->rti, (Node *) make_ands_explicit(conds));
		filters = rest;
	}
	return q;
}

/*
 * The query with each subquery of an ON condition that can be moved moved
 * (at every level of subqueries in FROM); q is changed in place.
 */
Query *
DeltaOnQualRewrite(Query *q)
{
	return rewrite_level(q);
}
