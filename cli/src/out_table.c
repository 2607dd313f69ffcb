/*-------------------------------------------------------------------------
 *
 * out_table.c
 *	  Result model to an aligned table for people (libsmartcols): upper-case
 *	  headers, relative times, durations, status words in colour on a
 *	  terminal; and the vertical "Key: value" list of `status`.
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>
#include <libsmartcols.h>

#include "pgtrickle.h"

bool		OutputColor = false;

/* ANSI colour names understood by libsmartcols, or NULL. */
const char *
OutputStatusColor(const char *word)
{
	if (word == NULL)
		return NULL;
	if (strcmp(word, "ACTIVE") == 0 || strcmp(word, "OK") == 0 ||
		strcmp(word, "COMPLETED") == 0)
		return "green";
	if (strcmp(word, "ERROR") == 0 || strcmp(word, "SUSPENDED") == 0 ||
		strcmp(word, "CRITICAL") == 0 || strcmp(word, "FAILED") == 0)
		return "red";
	if (strcmp(word, "PAUSED") == 0 || strcmp(word, "INITIALIZING") == 0 ||
		strcmp(word, "WARNING") == 0)
		return "yellow";
	return NULL;
}

static const char *
ansi_code(const char *color)
{
	if (strcmp(color, "green") == 0)
		return "\033[32m";
	if (strcmp(color, "red") == 0)
		return "\033[31m";
	return "\033[33m";
}

/* A table cell as people read it (malloc'd). */
char *
OutputFormatCell(const PgtColumn *col, const char *val)
{
	if (val == NULL)
		return xstrdup(col->null_text ? col->null_text :
					   col->type == PGT_COL_TIMESTAMP ? "never" : "-");
	switch (col->type)
	{
		case PGT_COL_BOOL:
			return xstrdup(val[0] == 't' ? "yes" : "no");
		case PGT_COL_TIMESTAMP:
			return TimeRelative(val, TimeNow());
		case PGT_COL_SECONDS:
			return TimeDuration(strtod(val, NULL));
		case PGT_COL_MS:
			return TimeMillis(strtod(val, NULL));
		case PGT_COL_BYTES:
			return TimeBytes(strtoll(val, NULL, 10));
		case PGT_COL_TEXT:
			{
				/* one line per row: newlines and tabs become spaces */
				char	   *s = xstrdup(val);

				for (char *p = s; *p; p++)
				{
					if (*p == '\n' || *p == '\r' || *p == '\t')
						*p = ' ';
				}
				return s;
			}
		default:
			return xstrdup(val);
	}
}

static void
print_table(const PgtModel *m, FILE *out, bool plain, const char *sep)
{
	struct libscols_table *tb = scols_new_table();
	int		   *map = xmalloc(sizeof(int) * (m->ncols + 1));
	int			nvis = 0;

	if (tb == NULL)
	{
		fprintf(stderr, "pgtrickle: error: out of memory\n");
		exit(PGT_EXIT_SERVER);
	}
	scols_table_set_stream(tb, out);
	scols_table_set_column_separator(tb, sep);
	scols_table_enable_colors(tb, OutputColor && !plain);
	/* no padding after the last cell that has data */
	scols_table_enable_minout(tb, 1);
	if (plain)
		scols_table_set_termforce(tb, SCOLS_TERMFORCE_NEVER);

	for (int c = 0; c < m->ncols; c++)
	{
		int			flags = 0;

		if (m->cols[c].flags & PGT_COLF_NOTABLE)
			continue;
		if (m->cols[c].flags & PGT_COLF_RIGHT)
			flags |= SCOLS_FL_RIGHT;
		if (m->cols[c].flags & PGT_COLF_TRUNC)
			flags |= SCOLS_FL_TRUNC;
		scols_table_new_column(tb, m->cols[c].header,
							   (m->cols[c].flags & PGT_COLF_TRUNC) ? 0.3 : 0,
							   flags);
		map[nvis++] = c;
	}

	for (int r = 0; r < m->nrows; r++)
	{
		struct libscols_line *ln = scols_table_new_line(tb, NULL);

		for (int i = 0; i < nvis; i++)
		{
			const PgtColumn *col = &m->cols[map[i]];
			const char *val = ModelGet(m, r, map[i]);
			char	   *text = OutputFormatCell(col, val);

			scols_line_refer_data(ln, i, text);	/* the table frees it */
			if (OutputColor && !plain && (col->flags & PGT_COLF_STATUS) &&
				OutputStatusColor(val))
				scols_cell_set_color(scols_line_get_cell(ln, i),
									 OutputStatusColor(val));
		}
	}
	if (m->nrows > 0)
		scols_print_table(tb);
	else
	{
		/* libsmartcols prints nothing for no lines; show the headers */
		for (int i = 0; i < nvis; i++)
			fprintf(out, "%s%s", i ? sep : "", m->cols[map[i]].header);
		fputc('\n', out);
	}
	scols_unref_table(tb);
	free(map);
}

void
OutputTable(const PgtModel *m, FILE *out)
{
	print_table(m, out, false, "  ");
}

/* No colour, no terminal width: for watch's screen buffer. */
void
OutputTablePlain(const PgtModel *m, FILE *out, const char *sep)
{
	print_table(m, out, true, sep);
}

/*
 * "Key:   value" lines with the values aligned.  VALUES may contain
 * newlines; continuation lines are indented to the value column.
 */
void
OutputKeyValues(const char *const *keys, char *const *values,
				const bool *colored, int n, FILE *out)
{
	int			width = 0;

	for (int i = 0; i < n; i++)
	{
		int			len = (int) strlen(keys[i]);

		if (len > width)
			width = len;
	}
	for (int i = 0; i < n; i++)
	{
		const char *color = (OutputColor && colored && colored[i])
			? OutputStatusColor(values[i]) : NULL;
		const char *v = values[i] ? values[i] : "-";

		fprintf(out, "%s:%*s ", keys[i], width - (int) strlen(keys[i]), "");
		if (color)
			fprintf(out, "%s%s\033[0m\n", ansi_code(color), v);
		else
		{
			for (const char *p = v; *p; p++)
			{
				fputc(*p, out);
				if (*p == '\n')
					fprintf(out, "%*s", width + 2, "");
			}
			fputc('\n', out);
		}
	}
}
