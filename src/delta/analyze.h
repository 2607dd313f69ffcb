/*-------------------------------------------------------------------------
 *
 * analyze.h
 *	  Checking a defining query and deciding how it can be refreshed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_DELTA_ANALYZE_H
#define PGT_DELTA_ANALYZE_H

#include "postgres.h"

#include "nodes/parsenodes.h"

typedef struct QueryAnalysis
{
	char	   *body;			/* the one statement, without ';' or trailing
								 * blanks */
	Query	   *query;			/* analysed under the caller's search_path */
	List	   *colnames;		/* output column names (char *) */
	List	   *coltypes;		/* output column types (Oid) */
	List	   *coltypmods;		/* (int) */
	List	   *colcollations;	/* (Oid) */
	bool		differential_ok;
	char	   *not_differential_reason;	/* when !differential_ok */
} QueryAnalysis;

extern QueryAnalysis *AnalyzeDefiningQuery(const char *sql);
extern void AnalyzeRowSecurity(QueryAnalysis *qa, Oid owner);

#endif							/* PGT_DELTA_ANALYZE_H */
