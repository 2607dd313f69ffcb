/*-------------------------------------------------------------------------
 *
 * setop.c
 *	  The rule for UNION, INTERSECT and EXCEPT (distinct at the root of the
 *	  set operation tree): the per-row counts of the inputs as hidden state.
 *
 * A set operation tree whose root is UNION, INTERSECT or EXCEPT without ALL
 * keeps, per distinct row, how many copies each leaf of the tree has; the
 * row is in the result when a predicate over those counts holds.  So
 *
 *	  L1 op ... op Ln
 *
 * is rewritten into the aggregate shape
 *
 *	  SELECT s.c1 AS <name1>, ... FROM
 *		(SELECT x.c1::<type1>, ..., 1, 0, ... FROM (L1) x(c1, ...)
 *		 UNION ALL ... ) s(c1, ..., i1, ..., in)
 *	  GROUP BY s.c1, ... HAVING C(root) > 0
 *
 * whose hidden state is the sum of each leaf's indicator (its count), kept
 * incrementally by the aggregate engine (apply.c); see src/delta/README.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/parsenodes.h"
#include "lib/stringinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/ruleutils.h"

#include "delta/delta.h"

/* The leaves of the tree, left to right (RangeTblRef *). */
static List *
collect_leaves(Node *node, List *leaves)
{
	SetOperationStmt *op;

	if (IsA(node, RangeTblRef))
		return lappend(leaves, node);
	op = castNode(SetOperationStmt, node);
	leaves = collect_leaves(op->larg, leaves);
	return collect_leaves(op->rarg, leaves);
}

/*
 * C(node): the number of copies of the group's row in node's result, as an
 * int8 SQL expression over the leaf counts sum(s.i<k>).  *leaf numbers the
 * leaves left to right, as collect_leaves does.
 */
static void
count_sql(Node *node, int *leaf, StringInfo out)
{
	SetOperationStmt *op;
	StringInfoData l;
	StringInfoData r;

	if (IsA(node, RangeTblRef))
	{
		appendStringInfo(out, "pg_catalog.sum(s.i%d)", ++(*leaf));
		return;
	}
	op = castNode(SetOperationStmt, node);
	initStringInfo(&l);
	initStringInfo(&r);
	count_sql(op->larg, leaf, &l);
	count_sql(op->rarg, leaf, &r);
	switch (op->op)
	{
		case SETOP_UNION:
			if (op->all)		/* m + n */
				appendStringInfo(out, "(%s OPERATOR(pg_catalog.+) %s)", l.data, r.data);
			else				/* present in either */
				appendStringInfo(out,
								 "(CASE WHEN %s OPERATOR(pg_catalog.>) 0 OR %s OPERATOR(pg_catalog.>) 0"
								 " THEN 1 ELSE 0 END)::pg_catalog.int8", l.data, r.data);
			break;
		case SETOP_INTERSECT:
			if (op->all)		/* min(m, n) */
				appendStringInfo(out, "LEAST(%s, %s)", l.data, r.data);
			else				/* present in both */
				appendStringInfo(out,
								 "(CASE WHEN %s OPERATOR(pg_catalog.>) 0 AND %s OPERATOR(pg_catalog.>) 0"
								 " THEN 1 ELSE 0 END)::pg_catalog.int8", l.data, r.data);
			break;
		case SETOP_EXCEPT:
			if (op->all)		/* max(m - n, 0) */
				appendStringInfo(out, "GREATEST(%s OPERATOR(pg_catalog.-) %s, 0::pg_catalog.int8)",
								 l.data, r.data);
			else				/* present on the left only */
				appendStringInfo(out,
								 "(CASE WHEN %s OPERATOR(pg_catalog.>) 0 AND %s OPERATOR(pg_catalog.=) 0"
								 " THEN 1 ELSE 0 END)::pg_catalog.int8", l.data, r.data);
			break;
		default:
			elog(ERROR, "unrecognized set operation: %d", (int) op->op);
	}
}

/*
 * If q is a set operation whose root is UNION, INTERSECT or EXCEPT without
 * ALL, return it rewritten into the equivalent grouped query (see above);
 * otherwise return q unchanged (UNION ALL trees are the SPJ shape's, and
 * what is not supported is refused by DeltaSupported with its own reason).
 */
Query *
DeltaSetOpQuery(Query *q)
{
	SetOperationStmt *top;
	List	   *leaves;
	StringInfoData sql;
	StringInfoData names;
	StringInfoData inner;
	ListCell   *lc;
	int			ncols;
	int			nleaves;
	int			i;
	int			k;
	int			leaf = 0;

	if (q->setOperations == NULL)
		return q;
	top = castNode(SetOperationStmt, q->setOperations);
	if (top->all || q->limitCount || q->limitOffset || q->hasRecursive ||
		q->rowMarks != NIL)
		return q;

	ncols = list_length(top->colTypes);
	leaves = collect_leaves((Node *) top, NIL);
	nleaves = list_length(leaves);

	/* c1, ..., cn */
	initStringInfo(&names);
	for (i = 1; i <= ncols; i++)
		appendStringInfo(&names, "%sc%d", i > 1 ? ", " : "", i);

	/* each leaf, its columns cast to the set operation's, and indicators */
	initStringInfo(&inner);
	k = 0;
	foreach(lc, leaves)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_node(RangeTblRef, lc)->rtindex, q->rtable);
		ListCell   *lt;
		ListCell   *lm;
		int			j;

		k++;
		Assert(rte->rtekind == RTE_SUBQUERY);
		appendStringInfo(&inner, "%sSELECT ", k > 1 ? " UNION ALL " : "");
		i = 0;
		forboth(lt, top->colTypes, lm, top->colTypmods)
		{
			i++;
			appendStringInfo(&inner, "x.c%d::%s, ", i,
							 format_type_extended(lfirst_oid(lt), lfirst_int(lm),
												  FORMAT_TYPE_TYPEMOD_GIVEN |
												  FORMAT_TYPE_FORCE_QUALIFY));
		}
		for (j = 1; j <= nleaves; j++)
			appendStringInfo(&inner, "%s%d", j > 1 ? ", " : "", j == k ? 1 : 0);
		appendStringInfo(&inner, " FROM (%s) x(%s)",
						 pg_get_querydef(rte->subquery, false), names.data);
	}

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	i = 0;
	foreach(lc, q->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		i++;
		appendStringInfo(&sql, "%ss.c%d AS %s", i > 1 ? ", " : "", i,
						 quote_identifier(tle->resname));
	}
	appendStringInfo(&sql, " FROM (%s) s(%s", inner.data, names.data);
	for (k = 1; k <= nleaves; k++)
		appendStringInfo(&sql, ", i%d", k);
	appendStringInfoString(&sql, ") GROUP BY ");
	for (i = 1; i <= ncols; i++)
		appendStringInfo(&sql, "%ss.c%d", i > 1 ? ", " : "", i);
	appendStringInfoString(&sql, " HAVING ");
	count_sql((Node *) top, &leaf, &sql);
	appendStringInfoString(&sql, " OPERATOR(pg_catalog.>) 0");

	return DeltaParseQuery(sql.data);
}
