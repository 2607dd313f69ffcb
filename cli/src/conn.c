/*-------------------------------------------------------------------------
 *
 * conn.c
 *	  Connecting the way psql does, running parameterised queries, and
 *	  reporting errors in the style of PostgreSQL's client programs.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "pgtrickle.h"

/*
 * While watch owns the screen, messages are kept for it to show instead of
 * going to stderr.
 */
static bool capturing = false;
static char *captured = NULL;

static void
emit(const char *level, const char *text, int len)
{
	if (capturing)
	{
		char	   *next = xasprintf("%s%s%s: %.*s", captured ? captured : "",
									 captured ? "\n" : "", level, len, text);

		free(captured);
		captured = next;
		return;
	}
	fprintf(stderr, "pgtrickle: %s: %.*s\n", level, len, text);
}

void
ReportCapture(bool on)
{
	capturing = on;
}

/* The messages kept since the last call (malloc'd), or NULL. */
char *
ReportTakeCaptured(void)
{
	char	   *text = captured;

	captured = NULL;
	return text;
}

static void
report_line(const char *level, const char *fmt, va_list ap)
{
	char	   *text;

	if (vasprintf(&text, fmt, ap) < 0)
		return;
	emit(level, text, (int) strlen(text));
	free(text);
}

void
ReportError(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	report_line("error", fmt, ap);
	va_end(ap);
}

void
ReportDetail(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	report_line("detail", fmt, ap);
	va_end(ap);
}

void
ReportHint(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	report_line("hint", fmt, ap);
	va_end(ap);
}

/* Print "pgtrickle: LEVEL: text" without libpq's trailing newline. */
static void
report_trimmed(const char *level, const char *text)
{
	int			len = (int) strlen(text);

	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	emit(level, text, len);
}

static void
report_fields(const PGresult *res, const char *level)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);

	if (primary == NULL)
		primary = PQresultErrorMessage(res);
	report_trimmed(level, primary);
	if (detail)
		report_trimmed("detail", detail);
	if (hint)
		report_trimmed("hint", hint);
}

void
ReportResultError(const PGresult *res, PGconn *conn)
{
	if (res != NULL && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
		report_fields(res, "error");
	else
		report_trimmed("error", PQerrorMessage(conn));
}

void
ReportConnError(PGconn *conn)
{
	report_trimmed("error", conn ? PQerrorMessage(conn) : "out of memory");
}

/* NOTICEs (e.g. why AUTO chose FULL) go to stderr, never into the data. */
static void
notice_receiver(void *arg, const PGresult *res)
{
	(void) arg;
	report_fields(res, "notice");
}

void *
xmalloc(size_t n)
{
	void	   *p = malloc(n ? n : 1);

	if (p == NULL)
	{
		fprintf(stderr, "pgtrickle: error: out of memory\n");
		exit(PGT_EXIT_SERVER);
	}
	return p;
}

char *
xstrdup(const char *s)
{
	char	   *p = strdup(s);

	if (p == NULL)
	{
		fprintf(stderr, "pgtrickle: error: out of memory\n");
		exit(PGT_EXIT_SERVER);
	}
	return p;
}

char *
xasprintf(const char *fmt,...)
{
	va_list		ap;
	char	   *res;

	va_start(ap, fmt);
	if (vasprintf(&res, fmt, ap) < 0)
	{
		fprintf(stderr, "pgtrickle: error: out of memory\n");
		exit(PGT_EXIT_SERVER);
	}
	va_end(ap);
	return res;
}

/*
 * Read a password from /dev/tty without echo.  Returns NULL when there is
 * no terminal to ask on.
 */
static char *
prompt_password(const char *prompt)
{
	int			fd = open("/dev/tty", O_RDWR | O_NOCTTY);
	struct termios oldt,
				newt;
	bool		have_termios;
	char		buf[1024];
	ssize_t		n = 0;
	size_t		len = 0;

	if (fd < 0)
		return NULL;

	/*
	 * Echo goes off before the prompt appears, and without flushing input:
	 * a password typed or pasted as soon as the prompt shows is neither
	 * echoed nor thrown away.
	 */
	have_termios = tcgetattr(fd, &oldt) == 0;
	if (have_termios)
	{
		newt = oldt;
		newt.c_lflag &= ~ECHO;
		tcsetattr(fd, TCSANOW, &newt);
	}
	if (write(fd, prompt, strlen(prompt)) < 0)
	{
		if (have_termios)
			tcsetattr(fd, TCSANOW, &oldt);
		close(fd);
		return NULL;
	}
	while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, 1)) == 1)
	{
		if (buf[len] == '\n' || buf[len] == '\r')
			break;
		len++;
	}
	buf[len] = '\0';
	if (have_termios)
		tcsetattr(fd, TCSANOW, &oldt);
	if (write(fd, "\n", 1) < 0)
		n = -1;
	close(fd);
	if (n < 0)
		return NULL;
	return xstrdup(buf);
}

/*
 * Connect with psql's rules: the keywords in psql's order, dbname expanded
 * (so -d and --url take a conninfo string or a URI, whose values win),
 * everything unset left to libpq (PG* variables, .pgpass, service file).
 * On failure prints libpq's message and sets *exit_code.
 */
/* A password typed at the prompt, kept for watch's reconnections. */
static char *typed_password = NULL;

void
ConnForgetPassword(void)
{
	if (typed_password)
	{
		memset(typed_password, 0, strlen(typed_password));
		free(typed_password);
		typed_password = NULL;
	}
}

PGconn *
ConnOpen(const PgtOptions *opts, int *exit_code)
{
	char	   *password = typed_password;
	PGconn	   *conn;
	bool		json = opts->format == PGT_FORMAT_JSON;

	if (password == NULL && opts->prompt == PGT_PROMPT_ALWAYS)
	{
		char	   *prompt = opts->username
			? xasprintf("Password for user %s: ", opts->username)
			: xstrdup("Password: ");

		password = prompt_password(prompt);
		free(prompt);
	}

	for (;;)
	{
		const char *keywords[9];
		const char *values[9];
		int			i = 0;

		keywords[i] = "host";
		values[i++] = opts->host;
		keywords[i] = "port";
		values[i++] = opts->port;
		keywords[i] = "user";
		values[i++] = opts->username;
		keywords[i] = "password";
		values[i++] = password;
		keywords[i] = "dbname";
		values[i++] = opts->dbname;
		keywords[i] = "fallback_application_name";
		values[i++] = "pgtrickle";
		/* JSON must be UTF-8; otherwise behave like psql */
		keywords[i] = "client_encoding";
		values[i++] = json ? "UTF8" :
			(isatty(fileno(stdin)) && isatty(fileno(stdout))) ? "auto" : NULL;
		keywords[i] = NULL;
		values[i] = NULL;

		conn = PQconnectdbParams(keywords, values, 1);
		if (conn != NULL && PQstatus(conn) == CONNECTION_BAD &&
			PQconnectionNeedsPassword(conn) && password == NULL &&
			opts->prompt != PGT_PROMPT_NEVER)
		{
			char	   *prompt = xasprintf("Password for user %s: ",
										   PQuser(conn));

			password = prompt_password(prompt);
			free(prompt);
			if (password != NULL)
			{
				PQfinish(conn);
				continue;
			}
		}
		break;
	}
	typed_password = password;

	if (conn == NULL || PQstatus(conn) == CONNECTION_BAD)
	{
		ReportConnError(conn);
		PQfinish(conn);
		*exit_code = PGT_EXIT_CONNECT;
		return NULL;
	}

	PQsetNoticeReceiver(conn, notice_receiver, NULL);

	{
		PGresult   *res = PQexec(conn,
								 "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; "
								 "SET extra_float_digits = 1");

		if (PQresultStatus(res) != PGRES_COMMAND_OK)
		{
			ReportResultError(res, conn);
			PQclear(res);
			*exit_code = ConnFailureCode(conn);
			PQfinish(conn);
			return NULL;
		}
		PQclear(res);
	}

	if (!ConnCheckExtension(conn))
	{
		*exit_code = ConnFailureCode(conn);
		PQfinish(conn);
		return NULL;
	}
	*exit_code = PGT_EXIT_OK;
	return conn;
}

/* Exit code after a failed query: a lost connection is a connection failure. */
int
ConnFailureCode(PGconn *conn)
{
	return PQstatus(conn) == CONNECTION_BAD ? PGT_EXIT_CONNECT : PGT_EXIT_SERVER;
}

bool
ConnCheckExtension(PGconn *conn)
{
	PGresult   *res = ConnQuery(conn,
								"SELECT 1 FROM pg_catalog.pg_extension "
								"WHERE extname = 'pg_trickle'", 0, NULL);
	bool		ok;

	if (res == NULL)
		return false;
	ok = PQntuples(res) > 0;
	PQclear(res);
	if (!ok)
	{
		ReportError("extension \"pg_trickle\" is not installed in database \"%s\"",
					PQdb(conn));
		ReportHint("Run CREATE EXTENSION pg_trickle; as a superuser.");
	}
	return ok;
}

/*
 * Run one statement with text parameters.  Returns the result, or NULL
 * after reporting the error (see ConnFailureCode for the exit code).
 */
PGresult *
ConnQuery(PGconn *conn, const char *sql, int nparams, const char *const *params)
{
	PGresult   *res = PQexecParams(conn, sql, nparams, NULL, params,
								   NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return res;
	ReportResultError(res, conn);
	PQclear(res);
	return NULL;
}

/*
 * Ctrl-C while a command runs: ask the server to cancel the statement, as
 * psql does, so that a long refresh does not go on without us.  The command
 * then fails with the server's "canceling statement" error.
 */
static PGcancel *volatile cancel_handle = NULL;

static void
on_interrupt(int signo)
{
	char		errbuf[256];
	int			save_errno = errno;

	if (cancel_handle != NULL && PQcancel(cancel_handle, errbuf, sizeof(errbuf)))
	{
		errno = save_errno;
		return;
	}
	signal(signo, SIG_DFL);
	raise(signo);
}

void
ConnSetCancel(PGconn *conn)
{
	PGcancel   *old = cancel_handle;

	cancel_handle = NULL;
	if (old)
		PQfreeCancel(old);
	if (conn)
	{
		cancel_handle = PQgetCancel(conn);
		signal(SIGINT, on_interrupt);
	}
	else
		signal(SIGINT, SIG_DFL);
}
