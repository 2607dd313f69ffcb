/*-------------------------------------------------------------------------
 *
 * rewrite.c
 *	  The delta of a query, as SQL, by rewriting its analysed tree.
 *
 * For each FROM item X there are three versions: NEW(X), X as it is at the
 * refresh snapshot; DELTA(X), its pending change with multiplicity __pgt_m;
 * and OLD(X) = NEW(X) UNION ALL DELTA(X) with the multiplicity negated, the
 * state at the previous refresh.  The delta of a join of items 1..n is
 *
 *	 sum over i of  OLD(1..i-1) x DELTA(i) x NEW(i+1..n)
 *
 * each term's multiplicity being the product of its items'.  A term is the
 * original query with the range table entries of items 1..i replaced by
 * subqueries whose output columns keep the attribute numbers of the items,
 * so every Var, qual and expression of the query stays as it is; the term is
 * then deparsed with pg_get_querydef.  No user text is pasted into SQL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parsetree.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#include "capture/capture.h"
#include "compat.h"
#include "delta/delta.h"

/*
 * What stands in for a source's change set when the statement is built only
 * to be measured (DeltaStatementTooLarge), before anything is captured:
 * the columns a change set has, named and typed as
 * CaptureDeltaSubquery names them (each as NULL, as it gives the columns
 * the query does not read; a source's own column named like __pgt_m,
 * which no differentiable query reads, renamed), and __pgt_m.
 */
static char *
stand_in_delta_sql(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData sql;

	initStringInfo(&sql);
	appendStringInfoString(&sql, "SELECT ");
	for (int a = 1; a <= desc->natts; a++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, a - 1);
		int32		typmod = att->atttypmod;
		Oid			type;

		if (att->attisdropped)
		{
			appendStringInfo(&sql, "NULL::pg_catalog.int4 AS \"__pgt_dropped_%d\", ", a);
			continue;
		}
		type = getBaseTypeAndTypmod(att->atttypid, &typmod);
		/* a column named like ours (which no query may read) another name */
		appendStringInfo(&sql, "NULL::%s AS %s, ",
						 format_type_extended(type, typmod,
											  FORMAT_TYPE_TYPEMOD_GIVEN |
											  FORMAT_TYPE_FORCE_QUALIFY),
						 strncmp(NameStr(att->attname), "__pgt_", 6) == 0 ?
						 psprintf("\"__pgt_column_%d\"", a) :
						 quote_identifier(NameStr(att->attname)));
	}
	appendStringInfoString(&sql, "1::pg_catalog.int8 AS __pgt_m");
	table_close(rel, AccessShareLock);
	return sql.data;
}

/*
 * The pending change of a captured source: the netted change set the
 * refresh read (capture/changes.c), whose exact size the planner learns
 * from pgtrickle._changes' support function, so each term starts from it
 * and probes the other items' indexes.  A source with nothing pending
 * drops out of the plan.
 */
char *
DeltaSourceDeltaSql(DeltaContext *ctx, Oid relid)
{
	char	   *sql;
	ListCell   *lc;

	/*
	 * The size check (DeltaStatementTooLarge) builds the statement before
	 * anything is captured: the relation itself stands in for its change
	 * set, with the same columns.
	 */
	if (ctx->pgt_id == 0)
		return stand_in_delta_sql(relid);
	sql = CaptureDeltaSubquery(ctx->pgt_id, relid);

	foreach(lc, ctx->pending)
	{
		CapturePending *p = lfirst(lc);

		if (p->source_relid == relid && p->rows == 0)
			return psprintf("SELECT * FROM (%s) x LIMIT 0", sql);
	}
	return sql;
}


/* The column names of a query's non-junk output, in order. */
static List *
output_names(Query *q)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, q->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk)
			names = lappend(names, makeString(pstrdup(tle->resname ? tle->resname : "?column?")));
	}
	return names;
}

/* A comma-separated list of positional column aliases __pgt_c1..n. */
char *
DeltaPositionalNames(int n)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 1; i <= n; i++)
		appendStringInfo(&buf, "%s__pgt_c%d", i > 1 ? ", " : "", i);
	return buf.data;
}

/*
 * Versions of a base relation.  Their output keeps the relation's attribute
 * numbers: columns 1..natts (dropped ones as NULL placeholders), then
 * __pgt_m.
 */
char *
DeltaRelationColumns(Oid relid, const char *alias)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (i > 0)
			appendStringInfoString(&buf, ", ");
		if (att->attisdropped)
			appendStringInfo(&buf, "NULL::pg_catalog.int4 AS __pgt_dropped_%d", i + 1);
		else
			appendStringInfo(&buf, "%s.%s", alias,
							 quote_identifier(NameStr(att->attname)));
	}
	table_close(rel, AccessShareLock);
	return buf.data;
}

static char *
relation_old_sql(DeltaContext *ctx, Oid relid)
{
	char	   *name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												  get_rel_name(relid));

	return psprintf("SELECT %s, 1::pg_catalog.int8 AS __pgt_m FROM %s r"
					" UNION ALL SELECT %s, -d.__pgt_m FROM (%s) d",
					DeltaRelationColumns(relid, "r"), name,
					DeltaRelationColumns(relid, "d"),
					DeltaSourceDeltaSql(ctx, relid));
}

/* Versions of a subquery in FROM: its columns, then __pgt_m. */
static char *
subquery_old_sql(DeltaContext *ctx, Query *sub)
{
	int			n = list_length(output_names(sub));
	char	   *aliases = DeltaPositionalNames(n);

	StringInfoData dcols;

	initStringInfo(&dcols);
	for (int i = 1; i <= n; i++)
		appendStringInfo(&dcols, "d.__pgt_c%d, ", i);
	return psprintf("SELECT s.*, 1::pg_catalog.int8 AS __pgt_m FROM (%s) s(%s)"
					" UNION ALL SELECT %s-d.__pgt_m FROM (%s) d(%s, __pgt_m)",
					pg_get_querydef(sub, false), aliases,
					dcols.data, DeltaSql(ctx, sub), aliases);
}

/*
 * Turn a range table entry (a relation, a view or a subquery) into the
 * subquery sub, in place, so the Vars pointing at it stay valid.  Nothing of
 * a relation's identity is kept: the subquery's own relations carry their
 * locks and permissions.
 */
void
DeltaMakeSubqueryRte(RangeTblEntry *rte, Query *sub)
{
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = sub;
	rte->security_barrier = false;
	rte->relid = InvalidOid;
	rte->relkind = 0;
	rte->rellockmode = 0;
	rte->tablesample = NULL;
	rte->inh = false;
	pgt_rte_clear_permissions(rte);
}

/*
 * Replace a range table entry by a subquery producing the same columns plus
 * __pgt_m; the Vars pointing at it keep their attribute numbers.
 */
void
DeltaReplaceWithSubquery(RangeTblEntry *rte, const char *sql)
{
	Query	   *sub = DeltaParseQuery(sql);
	List	   *colnames = list_copy(rte->eref->colnames);
	bool		was_subquery = (rte->rtekind == RTE_SUBQUERY);

	if (rte->alias == NULL)
		rte->alias = makeAlias(rte->eref->aliasname, NIL);
	DeltaMakeSubqueryRte(rte, sub);
	rte->eref = makeAlias(rte->eref->aliasname,
						  lappend(colnames, makeString(pstrdup("__pgt_m"))));

	/*
	 * A subquery's versions name their columns positionally: the deparsed
	 * alias must rename them back.  A relation's versions already carry its
	 * column names (and "" for dropped ones, which must not be printed).
	 */
	rte->alias->colnames = was_subquery ? list_copy(rte->eref->colnames) : NIL;
}

/* Leaf items of a join tree, in order: range table indexes. */
void
DeltaJoinTreeItems(Node *node, List **items)
{
	if (node == NULL)
		return;
	if (IsA(node, RangeTblRef))
		*items = lappend_int(*items, ((RangeTblRef *) node)->rtindex);
	else if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			DeltaJoinTreeItems(lfirst(lc), items);
	}
	else if (IsA(node, JoinExpr))
	{
		DeltaJoinTreeItems(((JoinExpr *) node)->larg, items);
		DeltaJoinTreeItems(((JoinExpr *) node)->rarg, items);
	}
	else
		elog(ERROR, "unexpected join tree node %d", (int) nodeTag(node));
}

/* Whether an item can change at all (VALUES and functions cannot). */
bool
DeltaItemChanges(RangeTblEntry *rte)
{
	return rte->rtekind == RTE_RELATION || rte->rtekind == RTE_SUBQUERY;
}

Expr *
DeltaInt8Product(Expr *left, Expr *right)
{
	Oid			opno = OpernameGetOprid(list_make1(makeString("*")), INT8OID, INT8OID);
	OpExpr	   *op;

	if (left == NULL)
		return right;
	op = (OpExpr *) make_opclause(opno, INT8OID, false, left, right,
								  InvalidOid, InvalidOid);
	set_opfuncid(op);
	return (Expr *) op;
}

/* At most this many earlier items are split into NEW and NEG_DELTA terms. */
#define MAX_SPLIT_ITEMS 5

/*
 * Whether a query reads a relation with pending changes anywhere: in FROM,
 * in subqueries in FROM and in subqueries in expressions (EXISTS, IN).
 */
static bool
pending_walker(Node *node, DeltaContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		return rte->rtekind == RTE_RELATION && DeltaItemPending(ctx, rte);
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, pending_walker, ctx,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, pending_walker, ctx);
}

/* Whether a FROM item has pending changes (true when unknown). */
bool
DeltaItemPending(DeltaContext *ctx, RangeTblEntry *rte)
{
	if (rte->rtekind == RTE_RELATION)
	{
		ListCell   *lc;

		foreach(lc, ctx->pending)
		{
			CapturePending *p = lfirst(lc);

			if (p->source_relid == rte->relid)
				return p->rows > 0;
		}
		return true;
	}
	if (rte->rtekind == RTE_SUBQUERY)
		return pending_walker((Node *) rte->subquery, ctx);
	return false;
}

static char *
relation_neg_delta_sql(DeltaContext *ctx, Oid relid)
{
	return psprintf("SELECT %s, -d.__pgt_m AS __pgt_m FROM (%s) d",
					DeltaRelationColumns(relid, "d"), DeltaSourceDeltaSql(ctx, relid));
}

/*
 * Whether a query has a semi- or anti-join condition (a sublink left in a
 * WHERE after the rewrites of sublink.c and scalar.c) at any depth: its
 * delta then reads its rest-of-the-query's delta in three terms, and
 * several sublinks nest that.
 */
static bool
has_sublink_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		/*
		 * Not below a grouping: a grouped subquery's delta is read by key,
		 * the reading term's conditions pushed into it (groupprobe.c), which
		 * a once-item would stop; a sublink in it (scalar.c's restriction to
		 * the keys the outer query can meet, TPC-H Q17) does not multiply
		 * the copies the way a semi-join of the item itself does.
		 */
		if (q->hasAggs || q->groupClause != NIL)
			return false;
		if (q->hasSubLinks)
			return true;
		return query_tree_walker(q, has_sublink_walker, context, 0);
	}
	return expression_tree_walker(node, has_sublink_walker, context);
}

/*
 * The delta of a subquery item.  When the subquery holds a semi- or
 * anti-join (has_sublink_walker), its delta is evaluated once per
 * statement: every term that reads the item at its DELTA or NEG_DELTA
 * version reads the same once-item (once.c).  A semi-join reads K's delta
 * in K's own delta, in term (a) and in term (b) over NEG_DELTA(K), and a
 * WHERE with two sublinks nests that (TPC-H Q21: the four-table join's
 * delta was computed eight times).  Any other subquery (a join, an outer
 * join item, a projection) keeps a copy per term, as before: a copy lets
 * the planner push the reading term's conditions into it, below its joins
 * and into its grouped subqueries (src/delta/README.md, "A subquery item's
 * delta once per statement", says what that kept).
 */
static char *
subquery_delta_sql(DeltaContext *ctx, Query *sub)
{
	char	   *sql = DeltaSql(ctx, sub);

	if (!has_sublink_walker((Node *) sub, NULL))
		return sql;
	return DeltaOnceSql(ctx, sql);
}

static char *
subquery_neg_delta_sql(DeltaContext *ctx, Query *sub)
{
	int			n = list_length(output_names(sub));
	StringInfoData dcols;

	initStringInfo(&dcols);
	for (int i = 1; i <= n; i++)
		appendStringInfo(&dcols, "d.__pgt_c%d, ", i);
	return psprintf("SELECT %s-d.__pgt_m FROM (%s) d(%s, __pgt_m)",
					dcols.data, subquery_delta_sql(ctx, sub), DeltaPositionalNames(n));
}

/*
 * The SQL of one version of a FROM item (a relation or a subquery): its
 * columns at their attribute numbers, then __pgt_m.  V_NEW has none: the
 * item stays as it is.
 */
char *
DeltaVersionSql(DeltaContext *ctx, RangeTblEntry *rte, ItemVersion version)
{
	bool		rel = (rte->rtekind == RTE_RELATION);

	switch (version)
	{
		case V_NEW:
			break;
		case V_DELTA:
			return rel ? DeltaSourceDeltaSql(ctx, rte->relid)
				: subquery_delta_sql(ctx, rte->subquery);
		case V_NEG_DELTA:
			return rel ? relation_neg_delta_sql(ctx, rte->relid)
				: subquery_neg_delta_sql(ctx, rte->subquery);
		case V_OLD:
			return rel ? relation_old_sql(ctx, rte->relid)
				: subquery_old_sql(ctx, rte->subquery);
	}
	elog(ERROR, "no SQL for the NEW version of a FROM item");
	return NULL;
}

/*
 * A bound on the SQL a delta statement is built from (the terms of every
 * level, counted as they are deparsed).  Each LEFT JOIN to a grouped
 * subquery at a query level (a scalar subquery, EXISTS or IN used as a
 * value: scalar.c, sublink.c) nests the level once more, and its delta
 * repeats the inner level's in about three terms: five such joins at one
 * level made a statement that took over 9 GB of memory to build (and
 * would not have run).  Every query of the tests and of TPC-H passes the
 * check with a wide margin.
 */
#define DELTA_MAX_SQL_BYTES (16 * 1024 * 1024)
#define DELTA_TOO_LARGE_DETAIL \
	"Each scalar subquery, EXISTS or IN used as a value joins its query level to a grouped subquery, and each such join makes the delta statement about three times larger"

static Size delta_sql_bytes = 0;

/*
 * A term as SQL: the query t (already rewritten) with its non-junk output
 * columns and the multiplicity mult as __pgt_m.
 */
char *
DeltaTermSql(Query *t, Expr *mult)
{
	List	   *tlist = NIL;
	ListCell   *lc;
	int			resno = 0;
	char	   *sql;

	CHECK_FOR_INTERRUPTS();
	foreach(lc, t->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		tle = flatCopyTargetEntry(tle);
		tle->resno = ++resno;
		tle->ressortgroupref = 0;
		tlist = lappend(tlist, tle);
	}
	if (mult == NULL)
		mult = (Expr *) makeConst(INT8OID, -1, InvalidOid, 8, Int64GetDatum(1), false, true);
	tlist = lappend(tlist, makeTargetEntry(mult, ++resno, pstrdup("__pgt_m"), false));
	t->targetList = tlist;
	t->sortClause = NIL;
	sql = pg_get_querydef(t, false);
	delta_sql_bytes += strlen(sql);
	if (delta_sql_bytes > DELTA_MAX_SQL_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the delta statement of this query exceeds %d MB",
						DELTA_MAX_SQL_BYTES / (1024 * 1024)),
				 errdetail("%s.", DELTA_TOO_LARGE_DETAIL),
				 errhint("Use refresh_mode => 'FULL', or read some of the subqueries from a stream table of their own.")));
	return sql;
}

/*
 * One join term: each item read in the given version; the multiplicity is
 * the product of the non-NEW items'.
 */
static char *
join_term_sql(DeltaContext *ctx, Query *q, List *items, const ItemVersion *versions)
{
	Query	   *t = copyObject(q);
	Expr	   *mult = NULL;

	for (int j = 0; j < list_length(items); j++)
	{
		int			rtindex = list_nth_int(items, j);
		RangeTblEntry *rte = rt_fetch(rtindex, t->rtable);

		if (versions[j] == V_NEW)
			continue;
		DeltaReplaceWithSubquery(rte, DeltaVersionSql(ctx, rte, versions[j]));
		mult = DeltaInt8Product(mult,
								(Expr *) makeVar(rtindex, list_length(rte->eref->colnames),
												 INT8OID, -1, InvalidOid, 0));
	}
	/* grouped subqueries read only for the keys the term carries */
	DeltaGroupedProbeTerm(t, items, versions);
	return DeltaTermSql(t, mult);
}

/*
 * The terms that start from item i's delta.  The items before it are at
 * their OLD version, OLD = NEW + NEG_DELTA: each is split into a term with
 * the plain item — which the planner reaches by index probes driven by the
 * delta — and one with its negated delta, small against small.  Items with
 * nothing pending are only NEW; beyond MAX_SPLIT_ITEMS changed items the
 * rest stay OLD in one subquery.
 */
static void
item_terms(DeltaContext *ctx, Query *q, List *items, int i, StringInfo out)
{
	int			n = list_length(items);
	ItemVersion *versions = palloc(sizeof(ItemVersion) * n);
	int		   *split = palloc(sizeof(int) * n);
	int			nsplit = 0;

	for (int j = 0; j < n; j++)
	{
		RangeTblEntry *rte = rt_fetch(list_nth_int(items, j), q->rtable);

		versions[j] = V_NEW;
		if (j == i)
			versions[j] = V_DELTA;
		else if (j < i && DeltaItemChanges(rte) && DeltaItemPending(ctx, rte))
		{
			if (nsplit < MAX_SPLIT_ITEMS)
				split[nsplit++] = j;
			else
				versions[j] = V_OLD;
		}
	}
	for (int mask = 0; mask < (1 << nsplit); mask++)
	{
		for (int k = 0; k < nsplit; k++)
			versions[split[k]] = (mask & (1 << k)) ? V_NEG_DELTA : V_NEW;
		if (out->len > 0)
			appendStringInfoString(out, " UNION ALL ");
		appendStringInfo(out, "(%s)", join_term_sql(ctx, q, items, versions));
	}
}

/* The delta of a UNION ALL: its branches' deltas, cast to the union's types. */
static void
setop_delta(DeltaContext *ctx, Query *q, Node *node, StringInfo out)
{
	if (IsA(node, RangeTblRef))
	{
		RangeTblEntry *rte = rt_fetch(((RangeTblRef *) node)->rtindex, q->rtable);
		SetOperationStmt *top = (SetOperationStmt *) q->setOperations;
		List	   *names = output_names(rte->subquery);
		StringInfoData cols;
		ListCell   *lt;
		ListCell   *lm;
		int			i = 0;

		initStringInfo(&cols);
		forboth(lt, top->colTypes, lm, top->colTypmods)
		{
			appendStringInfo(&cols, "%sd.__pgt_c%d::%s", i > 0 ? ", " : "", i + 1,
							 format_type_with_typemod(lfirst_oid(lt), lfirst_int(lm)));
			i++;
		}
		if (out->len > 0)
			appendStringInfoString(out, " UNION ALL ");
		appendStringInfo(out, "SELECT %s, d.__pgt_m FROM (%s) d(%s, __pgt_m)",
						 cols.data, DeltaSql(ctx, rte->subquery),
						 DeltaPositionalNames(list_length(names)));
	}
	else
	{
		SetOperationStmt *op = castNode(SetOperationStmt, node);

		setop_delta(ctx, q, op->larg, out);
		setop_delta(ctx, q, op->rarg, out);
	}
}

/*
 * The delta of a query: its output columns and __pgt_m.  A query that reads
 * nothing that can change has an empty delta.
 */
char *
DeltaSql(DeltaContext *ctx, Query *q)
{
	StringInfoData out;
	List	   *items = NIL;
	bool		any = false;

	CHECK_FOR_INTERRUPTS();
	initStringInfo(&out);
	if (DeltaSetOpCounts(q))
		return DeltaSetOpCountSql(ctx, q);
	if (q->setOperations != NULL)
	{
		setop_delta(ctx, q, q->setOperations, &out);
		return out.data;
	}

	/* aggregates, GROUP BY or DISTINCT below the top level (grouped.c) */
	if (DeltaIsGrouped(q))
		return DeltaGroupedSql(ctx, q);

	/*
	 * Outer joins: an outer join of two items has its own rule
	 * (outerjoin.c); a query with outer joins elsewhere is first rewritten
	 * so that each outer join is such an item.
	 */
	/*
	 * Semi- and anti-joins (EXISTS, IN ... in WHERE, semijoin.c) first:
	 * each is taken out of the query level, which becomes an item of it.
	 */
	if (DeltaHasSemiJoin(q))
		return DeltaSemiJoinSql(ctx, q);

	if (DeltaIsOuterJoinItem(q))
		return DeltaOuterJoinSql(ctx, q);
	if (DeltaHasOuterJoin(q))
		q = DeltaNormalizeOuterJoins(q);
	Assert(!DeltaHasOuterJoin(q));

	DeltaJoinTreeItems((Node *) q->jointree, &items);
	for (int i = 0; i < list_length(items); i++)
	{
		RangeTblEntry *rte = rt_fetch(list_nth_int(items, i), q->rtable);

		if (!DeltaItemChanges(rte) || !DeltaItemPending(ctx, rte))
			continue;
		item_terms(ctx, q, items, i, &out);
		any = true;
	}
	if (!any)
	{
		/* nothing can change: an empty delta of the right shape */
		Query	   *t = copyObject(q);

		t->jointree->quals = (Node *) makeBoolConst(false, false);
		t->targetList = lappend(list_copy(t->targetList),
								makeTargetEntry((Expr *) makeConst(INT8OID, -1, InvalidOid, 8,
																   Int64GetDatum(1), false, true),
												list_length(t->targetList) + 1,
												pstrdup("__pgt_m"), false));
		return pg_get_querydef(t, false);
	}
	return out.data;
}

/*
 * SQL of the delta of query (an SPJ or UNION ALL query over captured
 * sources) for stream table pgt_id: its output columns, then __pgt_m.
 */
char *
DeltaQuerySql(int64 pgt_id, Query *query, List *pending)
{
	DeltaContext ctx = {pgt_id, pending, NIL};

	delta_sql_bytes = 0;
	return DeltaOnceHoist(&ctx, DeltaSql(&ctx, query));
}

/*
 * Why the delta statement of a shape cannot be built, with every source
 * changed, within the bound on its size, or NULL.  Asked when a stream
 * table becomes DIFFERENTIAL, so that such a query is refused (AUTO: FULL)
 * instead of failing at every refresh.  Built in a subtransaction and a
 * memory context of its own, both discarded.
 */
char *
DeltaStatementTooLarge(const DeltaShape *shape)
{
	MemoryContext caller = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	MemoryContext scratch = AllocSetContextCreate(caller, "pg_trickle delta size check",
												  ALLOCSET_DEFAULT_SIZES);
	char	   *why = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(scratch);
	PG_TRY();
	{
		(void) DeltaQuerySql(0, shape->kind == SHAPE_SPJ ? shape->query
							 : DeltaInputQuery(shape), NIL);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(caller);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(caller);
		CurrentResourceOwner = owner;
		/*
		 * Only the bound decides here: a cancel is the user's, any other
		 * error of this stand-in build is left to the refresh that builds
		 * the real statement (which reports it where it belongs).
		 */
		if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
			edata->sqlerrcode == ERRCODE_OUT_OF_MEMORY)
			ReThrowError(edata);
		if (edata->sqlerrcode != ERRCODE_PROGRAM_LIMIT_EXCEEDED)
		{
			elog(DEBUG1, "delta statement size check: %s", edata->message);
			MemoryContextDelete(scratch);
			return NULL;
		}
		why = psprintf("its delta statement would exceed %d MB (%s)",
					   DELTA_MAX_SQL_BYTES / (1024 * 1024),
					   "each scalar subquery, EXISTS or IN used as a value joins its query level to a grouped subquery, and each such join makes the delta statement about three times larger");
	}
	PG_END_TRY();
	MemoryContextDelete(scratch);
	return why;
}

/*
 * The input of an aggregate shape: the defining query's FROM and WHERE with
 * the group keys (__pgt_k<j>), the aggregates' arguments (__pgt_a<i>) and
 * FILTER conditions (__pgt_f<i>) as output, no grouping.
 */
Query *
DeltaInputQuery(const DeltaShape *shape)
{
	Query	   *in = copyObject(shape->query);
	List	   *tlist = NIL;
	ListCell   *lc;
	int			resno = 0;
	int			i = 0;

	foreach(lc, shape->group_exprs)
	{
		tlist = lappend(tlist, makeTargetEntry(copyObject(lfirst(lc)), ++resno,
											   psprintf("__pgt_k%d", ++i), false));
	}
	i = 0;
	foreach(lc, shape->aggs)
	{
		DeltaAgg   *agg = lfirst(lc);

		i++;
		if (agg->kind == AGG_RECOMPUTE)
			tlist = DeltaMoreAggInput(agg, i, tlist, &resno);
		else if (agg->kind != AGG_COUNT_STAR)
			tlist = lappend(tlist,
							makeTargetEntry(copyObject(linitial_node(TargetEntry, agg->aggref->args)->expr),
											++resno, psprintf("__pgt_a%d", i), false));
		if (agg->aggref->aggfilter != NULL)
			tlist = lappend(tlist, makeTargetEntry(copyObject(agg->aggref->aggfilter),
												   ++resno, psprintf("__pgt_f%d", i), false));
	}
	if (tlist == NIL)
		tlist = list_make1(makeTargetEntry((Expr *) makeBoolConst(true, false), ++resno,
										   pstrdup("__pgt_none"), false));
	in->targetList = tlist;
	in->groupClause = NIL;
	in->havingQual = NULL;
	in->hasAggs = false;
	in->distinctClause = NIL;
	in->sortClause = NIL;
	return in;
}
