/*-------------------------------------------------------------------------
 *
 * model.c
 *	  The in-memory result every command builds before output: typed
 *	  columns and rows of text cells, rendered by out_table.c, out_json.c
 *	  and out_csv.c.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "pgtrickle.h"

PgtModel *
ModelCreate(const PgtColumn *cols, int ncols)
{
	PgtModel   *m = xmalloc(sizeof(PgtModel));

	m->cols = cols;
	m->ncols = ncols;
	m->nrows = 0;
	m->cap = 0;
	m->cells = NULL;
	return m;
}

/* The query selects exactly the model's columns, in order. */
PgtModel *
ModelFromResult(const PgtColumn *cols, int ncols, const PGresult *res)
{
	PgtModel   *m = ModelCreate(cols, ncols);
	int			nfields = PQnfields(res);

	for (int r = 0; r < PQntuples(res); r++)
	{
		int			row = ModelAddRow(m);

		for (int c = 0; c < ncols && c < nfields; c++)
		{
			if (!PQgetisnull(res, r, c))
				ModelSet(m, row, c, PQgetvalue(res, r, c));
		}
	}
	return m;
}

int
ModelAddRow(PgtModel *m)
{
	if (m->nrows == m->cap)
	{
		int			newcap = m->cap ? m->cap * 2 : 8;
		char	  **cells = realloc(m->cells,
									sizeof(char *) * newcap * m->ncols);

		if (cells == NULL)
		{
			fprintf(stderr, "pgtrickle: error: out of memory\n");
			exit(PGT_EXIT_SERVER);
		}
		m->cells = cells;
		m->cap = newcap;
	}
	memset(m->cells + (size_t) m->nrows * m->ncols, 0,
		   sizeof(char *) * m->ncols);
	return m->nrows++;
}

void
ModelSet(PgtModel *m, int row, int col, const char *val)
{
	char	  **cell = &m->cells[(size_t) row * m->ncols + col];

	free(*cell);
	*cell = val ? xstrdup(val) : NULL;
}

const char *
ModelGet(const PgtModel *m, int row, int col)
{
	return m->cells[(size_t) row * m->ncols + col];
}

int
ModelFindColumn(const PgtModel *m, const char *key)
{
	for (int c = 0; c < m->ncols; c++)
	{
		if (strcmp(m->cols[c].key, key) == 0)
			return c;
	}
	return -1;
}

void
ModelFree(PgtModel *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < (size_t) m->nrows * m->ncols; i++)
		free(m->cells[i]);
	free(m->cells);
	free(m);
}

void
OutputModel(const PgtModel *m, PgtFormat format, FILE *out)
{
	switch (format)
	{
		case PGT_FORMAT_TABLE:
			OutputTable(m, out);
			break;
		case PGT_FORMAT_JSON:
			{
				json_t	   *root = OutputModelToJson(m);

				OutputPrintJson(root, false, out);
				json_decref(root);
			}
			break;
		case PGT_FORMAT_CSV:
			OutputCsv(m, out);
			break;
	}
}
