/*-------------------------------------------------------------------------
 *
 * analyze.c
 *	  Checks that a text is a query a stream table can be defined by, and
 *	  finds what its output looks like.
 *
 * The query is parsed and analysed as the caller, under the caller's
 * search_path, exactly as CREATE VIEW would.  The differential engine is not
 * part of this version: every query is refreshed FULL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "utils/lsyscache.h"

#include "compat.h"
#include "delta/analyze.h"
#include "delta/delta.h"
#include "refresh/refresh.h"

/* internal column prefix (SPEC section 2) */
#define PGT_INTERNAL_PREFIX "__pgt_"

static bool
check_relations_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION &&
			get_rel_persistence(rte->relid) == RELPERSISTENCE_TEMP)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("a stream table cannot read temporary table \"%s\"",
							get_rel_name(rte->relid)),
					 errdetail("A stream table outlives the session its temporary sources belong to.")));
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, check_relations_walker,
								 context, QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, check_relations_walker, context);
}

/*
 * The text of the single statement in sql, without a terminating semicolon
 * or anything after it, so that it can be embedded in other statements.
 */
static char *
statement_body(const char *sql, RawStmt *raw)
{
	int			start = raw->stmt_location;
	int			len = raw->stmt_len > 0 ? raw->stmt_len : (int) strlen(sql) - start;
	char	   *body = pnstrdup(sql + start, len);
	int			end = strlen(body);

	while (end > 0 && (body[end - 1] == ' ' || body[end - 1] == '\t' ||
					   body[end - 1] == '\n' || body[end - 1] == '\r' ||
					   body[end - 1] == ';'))
		body[--end] = '\0';
	return body;
}

QueryAnalysis *
AnalyzeDefiningQuery(const char *sql)
{
	QueryAnalysis *qa = palloc0(sizeof(QueryAnalysis));
	DeltaShape *shape;
	List	   *raw = raw_parser(sql, RAW_PARSE_DEFAULT);
	RawStmt    *rawstmt;
	SelectStmt *select;
	ListCell   *lc;

	if (list_length(raw) != 1 || !IsA(linitial_node(RawStmt, raw)->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the defining query of a stream table must be a single SELECT statement"),
				 list_length(raw) > 1 ?
				 errdetail("The text holds %d statements.", list_length(raw)) : 0));
	rawstmt = linitial_node(RawStmt, raw);
	select = (SelectStmt *) rawstmt->stmt;
	if (select->intoClause != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the defining query of a stream table cannot use SELECT INTO")));
	if (select->lockingClause != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("FOR UPDATE and FOR SHARE are not allowed in the defining query of a stream table"),
				 errdetail("A refresh must never lock rows of its sources.")));

	qa->body = statement_body(sql, rawstmt);
	qa->query = parse_analyze_fixedparams(rawstmt, sql, NULL, 0, NULL);
	pgt_flatten_grouping(qa->query);

	if (qa->query->commandType != CMD_SELECT || qa->query->utilityStmt != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the defining query of a stream table must be a single SELECT statement")));
	if (qa->query->hasModifyingCTE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("data-modifying statements in WITH are not allowed in the defining query of a stream table")));
	(void) query_tree_walker(qa->query, check_relations_walker, NULL,
							 QTW_EXAMINE_RTES_BEFORE);

	foreach(lc, qa->query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		if (tle->resname &&
			strncmp(tle->resname, PGT_INTERNAL_PREFIX, strlen(PGT_INTERNAL_PREFIX)) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_RESERVED_NAME),
					 errmsg("column name \"%s\" is reserved for pg_trickle", tle->resname),
					 errdetail("Columns whose names begin with \"%s\" are internal to stream tables.",
							   PGT_INTERNAL_PREFIX),
					 errhint("Give the column another name with AS.")));
		qa->colnames = lappend(qa->colnames, pstrdup(tle->resname ? tle->resname : "?column?"));
		qa->coltypes = lappend_oid(qa->coltypes, exprType((Node *) tle->expr));
		qa->coltypmods = lappend_int(qa->coltypmods, exprTypmod((Node *) tle->expr));
		qa->colcollations = lappend_oid(qa->colcollations, exprCollation((Node *) tle->expr));
	}

	/* the engine decides from the same text, resolved the same way */
	shape = DeltaBuildShape(qa->body, &qa->not_differential_reason);
	qa->differential_ok = shape != NULL;
	if (shape != NULL &&
		(qa->not_differential_reason = DeltaStatementTooLarge(shape)) != NULL)
		qa->differential_ok = false;
	return qa;
}

static bool
collect_relations_walker(Node *node, List **relids)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
			*relids = list_append_unique_oid(*relids, rte->relid);
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, collect_relations_walker,
								 relids, QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, collect_relations_walker, relids);
}

/*
 * A differential refresh applies captured changes, which no row-level
 * security policy filters: it is not possible when row-level security
 * applies to the stream table's owner on a relation the query reads (see
 * src/refresh/README.md, "Row-level security").
 */
void
AnalyzeRowSecurity(QueryAnalysis *qa, Oid owner)
{
	List	   *relids = NIL;
	char	   *reason;

	if (!qa->differential_ok)
		return;
	(void) query_tree_walker(qa->query, collect_relations_walker, &relids,
							 QTW_EXAMINE_RTES_BEFORE);
	reason = SandboxRowSecurityReason(relids, owner);
	if (reason != NULL)
	{
		qa->differential_ok = false;
		qa->not_differential_reason = reason;
	}
}
