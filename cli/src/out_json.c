/*-------------------------------------------------------------------------
 *
 * out_json.c
 *	  Result model to JSON with jansson: typed values, NULL as null,
 *	  timestamps as ISO 8601 UTC strings, intervals as seconds.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pgtrickle.h"

static json_t *
number_to_json(const char *val)
{
	double		d = strtod(val, NULL);

	/* JSON has no NaN or infinity */
	if (!isfinite(d))
		return json_null();
	return json_real(d);
}

json_t *
OutputCellToJson(const PgtColumn *col, const char *val)
{
	json_t	   *j;

	if (val == NULL)
		return json_null();
	switch (col->type)
	{
		case PGT_COL_INT:
		case PGT_COL_BYTES:
			return json_integer(strtoll(val, NULL, 10));
		case PGT_COL_BOOL:
			return json_boolean(val[0] == 't');
		case PGT_COL_TIMESTAMP:
			{
				char	   *iso = TimeIso(val);

				j = json_string(iso);
				free(iso);
				return j ? j : json_null();
			}
		case PGT_COL_SECONDS:
		case PGT_COL_MS:
		case PGT_COL_NUMBER:
			return number_to_json(val);
		case PGT_COL_JSON:
			j = json_loads(val, JSON_DECODE_ANY, NULL);
			if (j)
				return j;
			break;
		case PGT_COL_TEXT:
			break;
	}
	j = json_string(val);
	/* only invalid UTF-8 fails, and the session asks for UTF8 */
	return j ? j : json_null();
}

json_t *
OutputRowToJson(const PgtModel *m, int row)
{
	json_t	   *obj = json_object();

	for (int c = 0; c < m->ncols; c++)
	{
		if (m->cols[c].flags & PGT_COLF_NODATA)
			continue;
		json_object_set_new(obj, m->cols[c].key,
							OutputCellToJson(&m->cols[c], ModelGet(m, row, c)));
	}
	return obj;
}

json_t *
OutputModelToJson(const PgtModel *m)
{
	json_t	   *arr = json_array();

	for (int r = 0; r < m->nrows; r++)
		json_array_append_new(arr, OutputRowToJson(m, r));
	return arr;
}

/* Indented by 2 (or on one line for JSON Lines), then a newline. */
void
OutputPrintJson(json_t *root, bool compact, FILE *out)
{
	size_t		flags = JSON_REAL_PRECISION(15);

	flags |= compact ? 0 : JSON_INDENT(2);
	json_dumpf(root, out, flags);
	fputc('\n', out);
}
