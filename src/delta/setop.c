/*-------------------------------------------------------------------------
 *
 * setop.c
 *	  The rules for UNION, INTERSECT [ALL] and EXCEPT [ALL]: SQL's
 *	  multiplicities as a function C of the counts of a row in the leaves.
 *
 * A set operation tree whose root is UNION, INTERSECT or EXCEPT without ALL
 * (at the top of the defining query) keeps, per distinct row, how many
 * copies each leaf of the tree has; the row is in the result when
 * C(root) > 0.  So
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
 * (each column cast to the set operation's type and collation), whose
 * hidden state is the sum of each leaf's indicator (its count), kept
 * incrementally by the aggregate engine (apply.c).
 *
 * Any other tree with an operator other than UNION ALL (INTERSECT ALL or
 * EXCEPT ALL at the root, a set operation under UNION ALL or in a
 * subquery) has a multiset delta: for each row a leaf's change touches,
 * C(counts now) - C(counts before) copies, the counts now counted in the
 * leaves and the counts before derived from them and the leaves' deltas.
 *
 * See src/delta/README.md, "Set operations".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_operator.h"
#include "nodes/parsenodes.h"
#include "lib/stringinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

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

/* Does the tree contain a set operation other than UNION ALL? */
static bool
has_counted_op(Node *node)
{
	SetOperationStmt *op;

	if (!IsA(node, SetOperationStmt))
		return false;
	op = (SetOperationStmt *) node;
	if (op->op != SETOP_UNION || !op->all)
		return true;
	return has_counted_op(op->larg) || has_counted_op(op->rarg);
}

/*
 * alias.<prefix>i cast to the set operation's i-th column type and
 * collation, so that rows compare as the set operation compares them.
 */
static char *
cast_column(SetOperationStmt *top, int i, const char *alias, const char *prefix)
{
	Oid			coll = list_nth_oid(top->colCollations, i - 1);
	char	   *col;

	col = psprintf("%s.%s%d::%s", alias, prefix, i,
				   format_type_extended(list_nth_oid(top->colTypes, i - 1),
										list_nth_int(top->colTypmods, i - 1),
										FORMAT_TYPE_TYPEMOD_GIVEN |
										FORMAT_TYPE_FORCE_QUALIFY));
	if (OidIsValid(coll))
		col = psprintf("%s COLLATE %s", col, generate_collation_name(coll));
	return col;
}

/* All columns, as cast_column. */
static char *
cast_columns(SetOperationStmt *top, const char *alias, const char *prefix)
{
	StringInfoData buf;
	int			n = list_length(top->colTypes);

	initStringInfo(&buf);
	for (int i = 1; i <= n; i++)
		appendStringInfo(&buf, "%s%s", i > 1 ? ", " : "", cast_column(top, i, alias, prefix));
	return buf.data;
}

/*
 * OPERATOR(schema.=) of the equality the set operation compares a column
 * of this type with (the type's default equality, as for grouping), named
 * so that no search_path can change it.
 */
static char *
equality_operator(Oid type)
{
	TypeCacheEntry *tc = lookup_type_cache(type, TYPECACHE_EQ_OPR);
	HeapTuple	tup;
	Form_pg_operator op;
	char	   *name;

	if (!OidIsValid(tc->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("could not identify an equality operator for type %s",
						format_type_be(type))));
	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(tc->eq_opr));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", tc->eq_opr);
	op = (Form_pg_operator) GETSTRUCT(tup);
	name = psprintf("OPERATOR(%s.%s)", quote_identifier(get_namespace_name(op->oprnamespace)),
					NameStr(op->oprname));
	ReleaseSysCache(tup);
	return name;
}

typedef enum LeafCount
{
	LEAF_STATE,					/* sum(s.i<k>): the aggregate's state */
	LEAF_NEW,					/* n.n<k>: copies in the leaf now */
	LEAF_OLD					/* n.n<k> - g.d<k>: before the change */
} LeafCount;

/*
 * C(node): the number of copies of a row in node's result, as an int8 SQL
 * expression over the leaves' counts of it (written as which says).
 * *leaf numbers the leaves left to right, as collect_leaves does.
 */
static void
count_sql(Node *node, int *leaf, LeafCount which, StringInfo out)
{
	SetOperationStmt *op;
	StringInfoData l;
	StringInfoData r;

	if (IsA(node, RangeTblRef))
	{
		++(*leaf);
		if (which == LEAF_STATE)
			appendStringInfo(out, "pg_catalog.sum(s.i%d)", *leaf);
		else if (which == LEAF_NEW)
			appendStringInfo(out, "n.n%d", *leaf);
		else
			appendStringInfo(out, "(n.n%d OPERATOR(pg_catalog.-) g.d%d)", *leaf, *leaf);
		return;
	}
	op = castNode(SetOperationStmt, node);
	initStringInfo(&l);
	initStringInfo(&r);
	count_sql(op->larg, leaf, which, &l);
	count_sql(op->rarg, leaf, which, &r);
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
 * otherwise return q unchanged (its delta is the counting rule below, or
 * for UNION ALL alone the sum of its branches' deltas).
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
		int			j;

		k++;
		Assert(rte->rtekind == RTE_SUBQUERY);
		appendStringInfo(&inner, "%sSELECT %s, ", k > 1 ? " UNION ALL " : "",
						 cast_columns(top, "x", "c"));
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
	count_sql((Node *) top, &leaf, LEAF_STATE, &sql);
	appendStringInfoString(&sql, " OPERATOR(pg_catalog.>) 0");

	return DeltaParseQuery(sql.data);
}

/*
 * Does the delta of q need the counting rule below?  (A set operation tree
 * with an operator other than UNION ALL; UNION ALL alone is the sum of its
 * branches' deltas, rewrite.c.)
 */
bool
DeltaSetOpCounts(Query *q)
{
	return q->setOperations != NULL && has_counted_op(q->setOperations);
}

/*
 * The delta of a set operation tree as a multiset: for each distinct row r
 * that a leaf's change touches, C_new(r) - C_old(r) copies, where each
 * leaf's count now, n_k, is counted in the leaf (at the refresh snapshot)
 * and its count before is n_k - d_k, d_k being the net change of the leaf
 * for r (see src/delta/README.md).
 */
char *
DeltaSetOpCountSql(DeltaContext *ctx, Query *q)
{
	SetOperationStmt *top = castNode(SetOperationStmt, q->setOperations);
	List	   *leaves = collect_leaves((Node *) top, NIL);
	int			ncols = list_length(top->colTypes);
	int			nleaves = list_length(leaves);
	StringInfoData deltas;
	StringInfoData counts;
	StringInfoData match;
	StringInfoData match_eq;
	StringInfoData nonull;
	StringInfoData cnew;
	StringInfoData cold;
	StringInfoData names;
	StringInfoData gcols;
	StringInfoData sums;
	StringInfoData dnames;
	ListCell   *lc;
	int			k = 0;
	int			leaf;

	initStringInfo(&names);
	initStringInfo(&gcols);
	for (int i = 1; i <= ncols; i++)
	{
		appendStringInfo(&names, "%sc%d", i > 1 ? ", " : "", i);
		appendStringInfo(&gcols, "%sg.c%d", i > 1 ? ", " : "", i);
	}
	initStringInfo(&sums);
	for (int j = 1; j <= nleaves; j++)
		appendStringInfo(&sums, ", pg_catalog.sum(u.d%d)::pg_catalog.int8", j);

	/*
	 * A row of x equal to g's, as set operations compare (NULLs equal):
	 * with the type's equality when g has no NULL (an index probe of the
	 * leaf's source), else equal or both NULL, column by column.
	 */
	initStringInfo(&nonull);
	initStringInfo(&match_eq);
	initStringInfo(&match);
	for (int i = 1; i <= ncols; i++)
	{
		char	   *xc = cast_column(top, i, "x", "c");
		char	   *eq = equality_operator(list_nth_oid(top->colTypes, i - 1));

		appendStringInfo(&nonull, "%sg.c%d IS NOT NULL", i > 1 ? " AND " : "", i);
		appendStringInfo(&match_eq, "%s(%s) %s g.c%d",
						 i > 1 ? " AND " : "", xc, eq, i);
		appendStringInfo(&match, "%s((%s) %s g.c%d OR ((%s) IS NULL AND g.c%d IS NULL))",
						 i > 1 ? " AND " : "", xc, eq, i, xc, i);
	}
	initStringInfo(&dnames);
	for (int j = 1; j <= nleaves; j++)
		appendStringInfo(&dnames, ", d%d", j);

	initStringInfo(&deltas);
	initStringInfo(&counts);
	foreach(lc, leaves)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_node(RangeTblRef, lc)->rtindex, q->rtable);

		k++;
		appendStringInfo(&deltas, "%sSELECT %s", k > 1 ? " UNION ALL " : "",
						 cast_columns(top, "d", "__pgt_c"));
		for (int j = 1; j <= nleaves; j++)
			appendStringInfo(&deltas, ", %s", j == k ? "d.__pgt_m" : "0::pg_catalog.int8");
		appendStringInfo(&deltas, " FROM (%s) d(%s, __pgt_m)",
						 DeltaSql(ctx, rte->subquery), DeltaPositionalNames(ncols));
		{
			char	   *leafsql = pg_get_querydef(rte->subquery, false);

			appendStringInfo(&counts,
							 "%sCASE WHEN %s"
							 " THEN (SELECT pg_catalog.count(*) FROM (%s) x(%s) WHERE %s)"
							 " ELSE (SELECT pg_catalog.count(*) FROM (%s) x(%s) WHERE %s) END AS n%d",
							 k > 1 ? ", " : "", nonull.data,
							 leafsql, names.data, match_eq.data,
							 leafsql, names.data, match.data, k);
		}
	}

	initStringInfo(&cnew);
	initStringInfo(&cold);
	leaf = 0;
	count_sql((Node *) top, &leaf, LEAF_NEW, &cnew);
	leaf = 0;
	count_sql((Node *) top, &leaf, LEAF_OLD, &cold);

	return psprintf("SELECT t.* FROM (SELECT %s, %s OPERATOR(pg_catalog.-) %s AS m"
					" FROM (SELECT %s%s FROM (%s) u(%s%s) GROUP BY %s) g(%s%s)"
					" CROSS JOIN LATERAL (SELECT %s) n) t"
					" WHERE t.m OPERATOR(pg_catalog.<>) 0",
					gcols.data, cnew.data, cold.data,
					names.data, sums.data, deltas.data, names.data,
					dnames.data, names.data, names.data,
					dnames.data, counts.data);
}
