/*-------------------------------------------------------------------------
 *
 * out_csv.c
 *	  Result model to CSV (RFC 4180): header of JSON keys, values as in
 *	  JSON, NULL as an empty field.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "pgtrickle.h"

void
OutputCsvField(const char *val, FILE *out)
{
	if (val == NULL)
		return;
	if (strpbrk(val, ",\"\r\n") == NULL)
	{
		fputs(val, out);
		return;
	}
	fputc('"', out);
	for (const char *p = val; *p; p++)
	{
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}

/* The text of a cell as CSV shows it (malloc'd), NULL for SQL NULL. */
char *
OutputCsvCellText(const PgtColumn *col, const char *val)
{
	if (val == NULL)
		return NULL;
	switch (col->type)
	{
		case PGT_COL_BOOL:
			return xstrdup(val[0] == 't' ? "true" : "false");
		case PGT_COL_TIMESTAMP:
			return TimeIso(val);
		case PGT_COL_JSON:
			{
				json_t	   *j = json_loads(val, JSON_DECODE_ANY, NULL);
				char	   *s;

				if (j == NULL)
					return xstrdup(val);
				s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
				json_decref(j);
				return s ? s : xstrdup(val);
			}
		case PGT_COL_SECONDS:
		case PGT_COL_MS:
		case PGT_COL_NUMBER:
			{
				/* the same text JSON would show, e.g. 26.5 or 26.0 */
				json_t	   *j = OutputCellToJson(col, val);
				char	   *s = json_dumps(j, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));

				json_decref(j);
				if (s && strcmp(s, "null") == 0)
				{
					free(s);
					return NULL;
				}
				return s ? s : xstrdup(val);
			}
		default:
			return xstrdup(val);
	}
}

void
OutputCsvHeader(const PgtModel *m, const char *prefix, FILE *out)
{
	bool		first = true;

	if (prefix)
	{
		OutputCsvField(prefix, out);
		first = false;
	}
	for (int c = 0; c < m->ncols; c++)
	{
		if (m->cols[c].flags & PGT_COLF_NODATA)
			continue;
		if (!first)
			fputc(',', out);
		OutputCsvField(m->cols[c].key, out);
		first = false;
	}
	fputc('\n', out);
}

/* Rows, each prefixed by the field PREFIX when given (watch's time). */
void
OutputCsvRows(const PgtModel *m, const char *prefix, FILE *out)
{
	for (int r = 0; r < m->nrows; r++)
	{
		bool		first = true;

		if (prefix)
		{
			OutputCsvField(prefix, out);
			first = false;
		}
		for (int c = 0; c < m->ncols; c++)
		{
			char	   *text;

			if (m->cols[c].flags & PGT_COLF_NODATA)
				continue;
			if (!first)
				fputc(',', out);
			first = false;
			text = OutputCsvCellText(&m->cols[c], ModelGet(m, r, c));
			OutputCsvField(text, out);
			free(text);
		}
		fputc('\n', out);
	}
}

void
OutputCsv(const PgtModel *m, FILE *out)
{
	OutputCsvHeader(m, NULL, out);
	OutputCsvRows(m, NULL, out);
}
