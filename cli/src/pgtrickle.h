/*-------------------------------------------------------------------------
 *
 * pgtrickle.h
 *	  Shared declarations of the pgtrickle command-line tool: options,
 *	  the result model, renderers, connection helpers and commands.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGTRICKLE_H
#define PGTRICKLE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <libpq-fe.h>

/* Exit codes, documented in cli/README.md and the man page. */
#define PGT_EXIT_OK			0
#define PGT_EXIT_SERVER		1
#define PGT_EXIT_CONNECT	2
#define PGT_EXIT_USAGE		3
#define PGT_EXIT_WARNING	4
#define PGT_EXIT_CRITICAL	5

typedef enum PgtFormat
{
	PGT_FORMAT_TABLE,
	PGT_FORMAT_JSON,
	PGT_FORMAT_CSV
} PgtFormat;

typedef enum PgtPrompt
{
	PGT_PROMPT_AUTO,			/* prompt when the server asks */
	PGT_PROMPT_NEVER,			/* -w */
	PGT_PROMPT_ALWAYS			/* -W */
} PgtPrompt;

/* Everything the command line said. */
typedef struct PgtOptions
{
	/* connection */
	const char *host;
	const char *port;
	const char *username;
	const char *dbname;			/* -d or --url, expanded by libpq */
	PgtPrompt	prompt;

	/* output */
	PgtFormat	format;
	bool		color;

	/* command and its arguments */
	const char *command;
	const char *name;			/* NAME argument, when the command takes one */

	const char *query;
	const char *file;
	const char *schedule;
	const char *mode;
	const char *status;
	const char *cdc_mode;
	bool		cascade;
	bool		no_initialize;
	int			limit;			/* history, 0 = default */
	long		interval_ms;	/* watch */
	long		count;			/* watch, 0 = forever */
} PgtOptions;

/* A command: its name, what it accepts and its implementation. */
typedef struct PgtCommand
{
	const char *name;
	bool		takes_name;
	unsigned int options;		/* mask of PGT_OPT_* it accepts */
	int			(*run) (PGconn *conn, const PgtOptions *opts);
	const char *summary;
	const char *usage;
} PgtCommand;

#define PGT_OPT_QUERY		(1u << 0)
#define PGT_OPT_FILE		(1u << 1)
#define PGT_OPT_SCHEDULE	(1u << 2)
#define PGT_OPT_MODE		(1u << 3)
#define PGT_OPT_STATUS		(1u << 4)
#define PGT_OPT_CDC_MODE	(1u << 5)
#define PGT_OPT_CASCADE		(1u << 6)
#define PGT_OPT_NO_INIT		(1u << 7)
#define PGT_OPT_LIMIT		(1u << 8)
#define PGT_OPT_INTERVAL	(1u << 9)
#define PGT_OPT_COUNT		(1u << 10)

/* help.c */
extern const PgtCommand PgtCommands[];
extern const PgtCommand *HelpFindCommand(const char *name);
extern void HelpPrintTool(FILE *out);
extern void HelpPrintCommand(FILE *out, const PgtCommand *cmd);

/* ------------------------------------------------------------------------
 * Result model: typed columns, rows of text cells (NULL = SQL NULL).
 * Cells hold PostgreSQL's text output; renderers convert by type.
 * ------------------------------------------------------------------------
 */
typedef enum PgtColType
{
	PGT_COL_TEXT,
	PGT_COL_INT,
	PGT_COL_BOOL,
	PGT_COL_TIMESTAMP,			/* timestamptz text, session TimeZone UTC */
	PGT_COL_SECONDS,			/* a number of seconds (an interval) */
	PGT_COL_MS,					/* a number of milliseconds */
	PGT_COL_BYTES,				/* an integer number of bytes */
	PGT_COL_NUMBER,
	PGT_COL_JSON				/* JSON text */
} PgtColType;

/* column flags */
#define PGT_COLF_NOTABLE	(1u << 0)	/* json/csv only */
#define PGT_COLF_NODATA		(1u << 1)	/* table only */
#define PGT_COLF_STATUS		(1u << 2)	/* colour status words */
#define PGT_COLF_RIGHT		(1u << 3)	/* right-aligned in tables */
#define PGT_COLF_TRUNC		(1u << 4)	/* may be truncated on a terminal */

typedef struct PgtColumn
{
	const char *key;			/* JSON key and CSV header */
	const char *header;			/* table header */
	PgtColType	type;
	unsigned int flags;
	const char *null_text;		/* table text for NULL; default "-" */
} PgtColumn;

typedef struct PgtModel
{
	const PgtColumn *cols;
	int			ncols;
	int			nrows;
	int			cap;
	char	  **cells;			/* nrows * ncols, malloc'd or NULL */
} PgtModel;

extern PgtModel *ModelCreate(const PgtColumn *cols, int ncols);
extern PgtModel *ModelFromResult(const PgtColumn *cols, int ncols,
								 const PGresult *res);
extern int	ModelAddRow(PgtModel *m);
extern void ModelSet(PgtModel *m, int row, int col, const char *val);
extern const char *ModelGet(const PgtModel *m, int row, int col);
extern int	ModelFindColumn(const PgtModel *m, const char *key);
extern void ModelFree(PgtModel *m);

/* out_table.c */
extern bool OutputColor;		/* colour allowed on stdout */
extern void OutputTable(const PgtModel *m, FILE *out);
extern void OutputTablePlain(const PgtModel *m, FILE *out, const char *sep);
extern char *OutputFormatCell(const PgtColumn *col, const char *val);
extern const char *OutputStatusColor(const char *word);
extern void OutputKeyValues(const char *const *keys, char *const *values,
							const bool *colored, int n, FILE *out);

/* out_json.c */
extern json_t *OutputCellToJson(const PgtColumn *col, const char *val);
extern json_t *OutputRowToJson(const PgtModel *m, int row);
extern json_t *OutputModelToJson(const PgtModel *m);
extern void OutputPrintJson(json_t *root, bool compact, FILE *out);

/* out_csv.c */
extern void OutputCsvField(const char *val, FILE *out);
extern void OutputCsvHeader(const PgtModel *m, const char *prefix, FILE *out);
extern void OutputCsvRows(const PgtModel *m, const char *prefix, FILE *out);
extern void OutputCsv(const PgtModel *m, FILE *out);
extern char *OutputCsvCellText(const PgtColumn *col, const char *val);

/* Render a model in the chosen format (arrays for json). */
extern void OutputModel(const PgtModel *m, PgtFormat format, FILE *out);

/* timefmt.c */
extern bool TimeParse(const char *pgts, double *epoch, long *usec);
extern char *TimeIso(const char *pgts);
extern char *TimeRelative(const char *pgts, double now);
extern char *TimeAbsolute(const char *pgts, double now);
extern char *TimeDuration(double seconds);
extern char *TimeMillis(double ms);
extern char *TimeBytes(long long bytes);
extern double TimeNow(void);
extern long TimeParseInterval(const char *text);
extern char *TimeThousands(const char *digits);

/* conn.c */
extern PGconn *ConnOpen(const PgtOptions *opts, int *exit_code);
extern PGresult *ConnQuery(PGconn *conn, const char *sql,
						   int nparams, const char *const *params);
extern int	ConnFailureCode(PGconn *conn);
extern void ConnSetCancel(PGconn *conn);
extern void ConnForgetPassword(void);
extern bool ConnCheckExtension(PGconn *conn);
extern void ReportError(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void ReportHint(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void ReportDetail(const char *fmt,...) __attribute__((format(printf, 1, 2)));
extern void ReportCapture(bool on);
extern char *ReportTakeCaptured(void);
extern void ReportResultError(const PGresult *res, PGconn *conn);
extern void ReportConnError(PGconn *conn);
extern char *xstrdup(const char *s);
extern void *xmalloc(size_t n);
extern char *xasprintf(const char *fmt,...) __attribute__((format(printf, 1, 2)));

/* cmd_info.c */
extern const PgtColumn ListColumns[];
extern const int ListColumnCount;
extern const char *const ListQuery;
extern int	CmdList(PGconn *conn, const PgtOptions *opts);
extern int	CmdStatus(PGconn *conn, const PgtOptions *opts);
extern int	CmdHistory(PGconn *conn, const PgtOptions *opts);
extern int	CmdExplain(PGconn *conn, const PgtOptions *opts);
extern int	InfoRequireStreamTable(PGconn *conn, const char *name);

/* cmd_health.c */
extern int	CmdHealth(PGconn *conn, const PgtOptions *opts);
extern int	CmdStats(PGconn *conn, const PgtOptions *opts);

/* cmd_manage.c */
extern int	CmdCreate(PGconn *conn, const PgtOptions *opts);
extern int	CmdDrop(PGconn *conn, const PgtOptions *opts);
extern int	CmdRefresh(PGconn *conn, const PgtOptions *opts);
extern int	CmdAlter(PGconn *conn, const PgtOptions *opts);
extern int	CmdPause(PGconn *conn, const PgtOptions *opts);
extern int	CmdResume(PGconn *conn, const PgtOptions *opts);
extern int	CmdVerify(PGconn *conn, const PgtOptions *opts);

/* watch.c */
extern int	CmdWatch(PGconn *conn, const PgtOptions *opts);

#endif							/* PGTRICKLE_H */
