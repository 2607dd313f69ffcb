/*-------------------------------------------------------------------------
 *
 * once.c
 *	  Parts of a delta statement evaluated once per statement: a grouped
 *	  subquery's delta (and its input's delta and touched keys), which
 *	  several terms of the statement read, becomes one MATERIALIZED WITH
 *	  item of the whole statement.
 *
 * A part is written where it is read as a self-contained query
 *
 *		WITH __pgt_once<N> AS MATERIALIZED (<its SQL>) SELECT * FROM __pgt_once<N>
 *
 * (so that every piece of the engine's text still parses on its own, and
 * survives the engine's parse and deparse rounds: shape.c keeps the
 * engine's MATERIALIZED WITH items), N being the same for the same SQL
 * within one statement.  When the statement is complete, every such WITH
 * item is moved to the statement's top level, once, and the references to
 * it are pointed there (DeltaOnceHoist).  See src/delta/README.md, "Each
 * grouped delta once per statement".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "utils/ruleutils.h"

#include "delta/delta.h"

#define ONCE_PREFIX "__pgt_once"

#define ONCE_FORMAT "WITH %s AS MATERIALIZED (%s) SELECT * FROM %s"

/*
 * Whether sql is a reference DeltaOnceSql returned for this statement (its
 * N-th item's, rebuilt and compared whole).
 */
static bool
once_reference(DeltaContext *ctx, const char *sql)
{
	const char *p;
	long		n = 0;
	char	   *name;
	char	   *ref;
	bool		result;

	if (strncmp(sql, "WITH " ONCE_PREFIX, 5 + strlen(ONCE_PREFIX)) != 0)
		return false;
	for (p = sql + 5 + strlen(ONCE_PREFIX); *p >= '0' && *p <= '9' && n <= list_length(ctx->once); p++)
		n = n * 10 + (*p - '0');
	if (n < 1 || n > list_length(ctx->once))
		return false;
	name = psprintf(ONCE_PREFIX "%ld", n);
	ref = psprintf(ONCE_FORMAT, name, (const char *) list_nth(ctx->once, n - 1), name);
	result = strcmp(ref, sql) == 0;
	pfree(name);
	pfree(ref);
	return result;
}

/*
 * A reference to sql, evaluated once per statement: the same name for the
 * same text (a deparsed query is the same text for the same query).
 */
char *
DeltaOnceSql(DeltaContext *ctx, const char *sql)
{
	ListCell   *lc;
	int			n = 0;
	char	   *name;

	/* already a reference to a once-item: nothing to add */
	if (once_reference(ctx, sql))
		return pstrdup(sql);

	foreach(lc, ctx->once)
	{
		n++;
		if (strcmp((const char *) lfirst(lc), sql) == 0)
			break;
	}
	if (lc == NULL)
	{
		ctx->once = lappend(ctx->once, pstrdup(sql));
		n = list_length(ctx->once);
	}
	name = psprintf(ONCE_PREFIX "%d", n);
	return psprintf(ONCE_FORMAT, name, sql, name);
}

static bool
once_cte(CommonTableExpr *cte)
{
	return cte->ctematerialized == CTEMaterializeAlways &&
		strncmp(cte->ctename, ONCE_PREFIX, strlen(ONCE_PREFIX)) == 0;
}

static bool
once_name(const char *name)
{
	return name != NULL && strncmp(name, ONCE_PREFIX, strlen(ONCE_PREFIX)) == 0;
}

typedef struct HoistContext
{
	List	   *hoisted;		/* CommonTableExpr *, those read first first */
	int			depth;			/* of the query being walked, the top's 0 */
} HoistContext;

static bool take_walker(Node *node, HoistContext *c);

/*
 * Take the once-items out of q's WITH list (and out of the queries below
 * it, their own bodies included), collecting each name once: an item's
 * body is walked before the item is collected, so that the items it reads
 * come before it in the statement's WITH list.
 */
static void
take_once(Query *q, HoistContext *c)
{
	List	   *kept = NIL;
	ListCell   *lc;

	foreach(lc, q->cteList)
	{
		CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);
		ListCell   *lc2;
		bool		seen = false;

		if (!once_cte(cte))
		{
			kept = lappend(kept, cte);
			continue;
		}
		take_once(castNode(Query, cte->ctequery), c);
		foreach(lc2, c->hoisted)
			if (strcmp(lfirst_node(CommonTableExpr, lc2)->ctename, cte->ctename) == 0)
				seen = true;
		if (!seen)
			c->hoisted = lappend(c->hoisted, cte);
	}
	q->cteList = kept;
	(void) query_tree_walker(q, take_walker, c, 0);
}

static bool
take_walker(Node *node, HoistContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		take_once((Query *) node, c);
		return false;
	}
	return expression_tree_walker(node, take_walker, c);
}

/* Point every reference to a once-item at the top level's WITH list. */
static bool
point_walker(Node *node, HoistContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		bool		result;

		c->depth++;
		result = query_tree_walker((Query *) node, point_walker, c,
								   QTW_EXAMINE_RTES_BEFORE);
		c->depth--;
		return result;
	}
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_CTE && once_name(rte->ctename))
			rte->ctelevelsup = c->depth;
		return false;
	}
	return expression_tree_walker(node, point_walker, c);
}

/* ---------------------------------------------------------------------
 * Grouped subqueries the statement reads more than once
 * ---------------------------------------------------------------------
 */

typedef struct UpperRefContext
{
	int			depth;			/* levels below the one the question is about */
	bool		sublink_params;	/* count a sublink's output Param as a read */
} UpperRefContext;

static bool
upper_ref_walker(Node *node, UpperRefContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return (int) ((Var *) node)->varlevelsup > c->depth;
	if (IsA(node, Aggref))
		return (int) ((Aggref *) node)->agglevelsup > c->depth;
	if (IsA(node, GroupingFunc))
		return (int) ((GroupingFunc *) node)->agglevelsup > c->depth;
	if (IsA(node, PlaceHolderVar))
		return (int) ((PlaceHolderVar *) node)->phlevelsup > c->depth;
	if (IsA(node, Param))
		return c->sublink_params || ((Param *) node)->paramkind != PARAM_SUBLINK;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		return rte->rtekind == RTE_CTE && (int) rte->ctelevelsup > c->depth;
	}
	if (IsA(node, Query))
	{
		bool		result;

		c->depth++;
		result = query_tree_walker((Query *) node, upper_ref_walker, c,
								   QTW_EXAMINE_RTES_BEFORE);
		c->depth--;
		return result;
	}
	return expression_tree_walker(node, upper_ref_walker, c);
}

/*
 * Whether node, an expression of a query level (depth 0) or a Query one
 * level below it (depth -1), reads anything of a level above that one: a
 * Var, aggregate or CTE of it, or a Param (with sublink_params, also the
 * output of a sublink, "x IN (SELECT ...)", which reads no level but was
 * counted by once.c's first callers and still is for them).
 */
bool
DeltaReadsUpperLevel(Node *node, int depth, bool sublink_params)
{
	UpperRefContext c = {depth, sublink_params};

	return upper_ref_walker(node, &c);
}

/*
 * A subquery in FROM that may be computed once for the statement: grouped
 * (its rows are the result of an aggregation, usually far fewer than it
 * reads), not LATERAL, reading nothing of the queries around it and no
 * volatile function.
 */
static bool
repeat_candidate(RangeTblEntry *rte)
{
	if (rte->rtekind != RTE_SUBQUERY || rte->lateral ||
		!DeltaIsGrouped(rte->subquery))
		return false;
	return !DeltaReadsUpperLevel((Node *) rte->subquery, -1, true) &&
		!contain_volatile_functions((Node *) rte->subquery);
}

typedef struct RepeatContext
{
	DeltaContext *ctx;
	bool		replace;		/* the second pass */
	List	   *texts;			/* char *: the candidates' SQL ... */
	List	   *counts;			/* int: ... and how often each is read */
	List	   *seen;			/* char *: once-items walked already */
} RepeatContext;

static int
text_index(List *texts, const char *sql)
{
	ListCell   *lc;

	foreach(lc, texts)
		if (strcmp((const char *) lfirst(lc), sql) == 0)
			return foreach_current_index(lc);
	return -1;
}

static bool
repeat_walker(Node *node, RepeatContext *c)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;
		ListCell   *lc;

		/* a once-item's body counts once, however often it is written */
		foreach(lc, q->cteList)
		{
			CommonTableExpr *cte = lfirst_node(CommonTableExpr, lc);
			ListCell   *lc2;
			bool		seen = false;

			if (once_cte(cte))
			{
				foreach(lc2, c->seen)
					if (strcmp((const char *) lfirst(lc2), cte->ctename) == 0)
						seen = true;
				if (seen)
					continue;
				c->seen = lappend(c->seen, cte->ctename);
			}
			(void) repeat_walker(cte->ctequery, c);
		}
		return query_tree_walker(q, repeat_walker, c,
								 QTW_EXAMINE_RTES_BEFORE | QTW_IGNORE_CTE_SUBQUERIES);
	}
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		char	   *sql;
		int			i;

		if (!repeat_candidate(rte))
			return false;
		sql = pg_get_querydef(rte->subquery, false);
		i = text_index(c->texts, sql);
		if (!c->replace)
		{
			if (i < 0)
			{
				c->texts = lappend(c->texts, sql);
				c->counts = lappend_int(c->counts, 1);
			}
			else
				list_nth_cell(c->counts, i)->int_value++;
		}
		else if (i >= 0 && list_nth_int(c->counts, i) > 1)
			rte->subquery = DeltaParseQuery(DeltaOnceSql(c->ctx, sql));
		return false;
	}
	return expression_tree_walker(node, repeat_walker, c);
}

/*
 * The statement sql with each once-item defined once, at its top level.
 * The items' bodies are self-contained (the text of a delta reads no
 * column of an outer query), so they may move there; the top level's own
 * WITH items come after them.
 */
char *
DeltaOnceHoist(DeltaContext *ctx, const char *sql)
{
	Query	   *q;
	HoistContext c = {NIL, -1};
	RepeatContext rc = {0};

	if (ctx->once == NIL)
		return (char *) sql;
	q = DeltaParseQuery(sql);

	/* a grouped subquery read by several terms: once */
	rc.ctx = ctx;
	(void) repeat_walker((Node *) q, &rc);
	rc.replace = true;
	rc.seen = NIL;
	(void) repeat_walker((Node *) q, &rc);

	take_once(q, &c);
	q->cteList = list_concat(c.hoisted, q->cteList);
	(void) point_walker((Node *) q, &c);
	return pg_get_querydef(q, false);
}
