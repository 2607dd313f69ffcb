/*-------------------------------------------------------------------------
 *
 * watch.c
 *	  `watch`: the list of stream tables, redrawn every interval.  Full
 *	  screen with ncurses when stdin and stdout are terminals; otherwise the
 *	  list printed again and again (table, JSON Lines or CSV) for scripts.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <curses.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pgtrickle.h"

static volatile sig_atomic_t stop_requested = 0;

static void
on_signal(int signo)
{
	(void) signo;
	stop_requested = 1;
}

/* No SA_RESTART: a signal must cut a sleep or a getch() short. */
static void
install_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* One redraw's data: the list and quick_health's status. */
typedef struct Snapshot
{
	PgtModel   *list;
	char	   *health;
	double		taken;
} Snapshot;

static void
snapshot_clear(Snapshot *s)
{
	ModelFree(s->list);
	free(s->health);
	s->list = NULL;
	s->health = NULL;
}

/*
 * Fetch a snapshot, reconnecting first when the connection is gone.
 * Returns false after reporting the error.
 */
static bool
fetch(PGconn **conn, const PgtOptions *opts, Snapshot *s)
{
	PGresult   *res;
	int			rc;

	if (*conn == NULL)
	{
		PgtOptions	again = *opts;

		again.prompt = PGT_PROMPT_NEVER;
		*conn = ConnOpen(&again, &rc);
		if (*conn == NULL)
			return false;
	}
	res = ConnQuery(*conn, ListQuery, 0, NULL);
	if (res == NULL)
		goto fail;
	snapshot_clear(s);
	s->list = ModelFromResult(ListColumns, ListColumnCount, res);
	s->taken = TimeNow();
	PQclear(res);
	res = ConnQuery(*conn, "SELECT status FROM pgtrickle.quick_health", 0, NULL);
	if (res == NULL)
		goto fail;
	if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
		s->health = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return true;

fail:
	if (PQstatus(*conn) == CONNECTION_BAD)
	{
		PQfinish(*conn);
		*conn = NULL;
	}
	return false;
}

static char *
iso_now(double now, bool readable)
{
	time_t		secs = (time_t) now;
	struct tm	tm;
	char		buf[64];

	gmtime_r(&secs, &tm);
	if (readable)
	{
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
		return xstrdup(buf);
	}
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%06ldZ", buf, (long) ((now - secs) * 1e6));
}

static void
sleep_ms(long ms)
{
	struct timespec ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	/* interrupted by a signal: return so the caller sees stop_requested */
	nanosleep(&ts, NULL);
}

/* ---- plain, repeated output ---- */

static int
watch_plain(PGconn *conn, const PgtOptions *opts)
{
	Snapshot	s = {0};
	long		n = 0;

	install_handlers();
	if (opts->format == PGT_FORMAT_CSV)
	{
		PgtModel   *empty = ModelCreate(ListColumns, ListColumnCount);

		OutputCsvHeader(empty, "time", stdout);
		ModelFree(empty);
		fflush(stdout);
	}
	while (!stop_requested)
	{
		double		now = TimeNow();

		if (fetch(&conn, opts, &s))
		{
			char	   *when = iso_now(now, opts->format == PGT_FORMAT_TABLE);

			if (opts->format == PGT_FORMAT_TABLE)
			{
				printf("-- %s --\n", when);
				OutputTable(s.list, stdout);
				putchar('\n');
			}
			else if (opts->format == PGT_FORMAT_JSON)
			{
				json_t	   *obj = json_object();

				json_object_set_new(obj, "time", json_string(when));
				json_object_set_new(obj, "health",
									s.health ? json_string(s.health) : json_null());
				json_object_set_new(obj, "stream_tables", OutputModelToJson(s.list));
				OutputPrintJson(obj, true, stdout);
				json_decref(obj);
			}
			else
				OutputCsvRows(s.list, when, stdout);
			free(when);
			fflush(stdout);
		}
		if (opts->count > 0 && ++n >= opts->count)
			break;
		if (!stop_requested)
			sleep_ms(opts->interval_ms);
	}
	snapshot_clear(&s);
	PQfinish(conn);
	return PGT_EXIT_OK;
}

/* ---- full screen ---- */

enum
{
	PAIR_GREEN = 1,
	PAIR_RED,
	PAIR_YELLOW
};

static int
status_pair(const char *word)
{
	const char *color = OutputStatusColor(word);

	if (color == NULL)
		return 0;
	if (strcmp(color, "green") == 0)
		return PAIR_GREEN;
	if (strcmp(color, "red") == 0)
		return PAIR_RED;
	return PAIR_YELLOW;
}

static void
put_colored(int y, int x, const char *word)
{
	int			pair = has_colors() ? status_pair(word) : 0;

	if (pair)
		attron(COLOR_PAIR(pair) | A_BOLD);
	mvaddnstr(y, x, word, COLS - x > 0 ? COLS - x : 0);
	if (pair)
		attroff(COLOR_PAIR(pair) | A_BOLD);
}

/* The interval as it was probably typed: 500ms, 2s, 1m, 1.5s. */
static char *
interval_text(long ms)
{
	if (ms < 1000)
		return xasprintf("%ldms", ms);
	if (ms % 60000 == 0)
		return xasprintf("%ldm", ms / 60000);
	if (ms % 1000 == 0)
		return xasprintf("%lds", ms / 1000);
	return xasprintf("%.1fs", ms / 1000.0);
}

static void
draw(const PgtOptions *opts, const char *dbname, const Snapshot *s,
	 const char *error)
{
	char	   *when = iso_now(s->list ? s->taken : TimeNow(), true);
	char	   *title;
	int			y = 2;
	int			hidden = 0;		/* rows that did not fit */

	erase();
	title = xasprintf("pgtrickle watch  %s  %s  health: ", dbname, when);
	attron(A_BOLD);
	mvaddnstr(0, 0, title, COLS);
	attroff(A_BOLD);
	if ((int) strlen(title) < COLS)
	{
		char	   *every = interval_text(opts->interval_ms);

		put_colored(0, (int) strlen(title), s->health ? s->health : "-");
		if ((int) (strlen(title) + 12) < COLS)
			mvprintw(0, (int) strlen(title) + (s->health ? (int) strlen(s->health) : 1),
					 "  every %s", every);
		free(every);
	}
	free(title);
	free(when);

	if (error)
	{
		/* keep the last good table below the message */
		const char *p = error;

		if (has_colors())
			attron(COLOR_PAIR(PAIR_RED));
		while (*p && y < LINES - 2)
		{
			const char *nl = strchr(p, '\n');
			int			len = nl ? (int) (nl - p) : (int) strlen(p);

			mvaddnstr(y++, 0, p, len < COLS ? len : COLS);
			p += len + (nl ? 1 : 0);
		}
		if (has_colors())
			attroff(COLOR_PAIR(PAIR_RED));
		mvaddnstr(y++, 0, "(retrying)", COLS);
		y++;
	}

	if (s->list)
	{
		char	   *buf = NULL;
		size_t		len = 0;
		FILE	   *mem = open_memstream(&buf, &len);
		int			status_at = -1;
		int			row = -1;

		OutputTablePlain(s->list, mem, "  ");
		fclose(mem);
		if (strcspn(buf, "\n") > (size_t) COLS)
		{
			/* narrow terminal: tighter columns before cutting lines */
			free(buf);
			mem = open_memstream(&buf, &len);
			OutputTablePlain(s->list, mem, " ");
			fclose(mem);
		}
		for (char *line = buf; line && *line && y < LINES - 1; row++)
		{
			char	   *nl = strchr(line, '\n');
			int			n = nl ? (int) (nl - line) : (int) strlen(line);

			if (row < 0)
			{
				char	   *st = strstr(line, "STATUS");

				status_at = st && st - line < n ? (int) (st - line) : -1;
				attron(A_BOLD);
			}
			mvaddnstr(y, 0, line, n < COLS ? n : COLS);
			if (row < 0)
				attroff(A_BOLD);
			else if (status_at >= 0 && status_at < COLS && row < s->list->nrows)
			{
				const char *word = ModelGet(s->list, row, 2);

				if (word)
					put_colored(y, status_at, word);
			}
			y++;
			line = nl ? nl + 1 : NULL;
		}
		if (s->list->nrows == 0 && y < LINES - 1)
			mvaddnstr(y + 1, 0, "No stream tables.", COLS);
		if (row >= 0 && row < s->list->nrows)
			hidden = s->list->nrows - row;
		free(buf);
	}
	attron(A_REVERSE);
	if (hidden > 0)
	{
		char	   *footer = xasprintf("q: quit  (%d more rows below: enlarge the window)",
									   hidden);

		mvaddnstr(LINES - 1, 0, footer, COLS);
		free(footer);
	}
	else
		mvaddnstr(LINES - 1, 0, "q: quit", COLS);
	attroff(A_REVERSE);
	refresh();
}

/* The schema and name of every row, to notice rows that came or went. */
static char *
row_names(const PgtModel *list)
{
	char	   *names = xstrdup("");

	for (int r = 0; r < list->nrows; r++)
	{
		char	   *next = xasprintf("%s%s.%s\n", names,
									 ModelGet(list, r, 1), ModelGet(list, r, 0));

		free(names);
		names = next;
	}
	return names;
}

static int
watch_screen(PGconn *conn, const PgtOptions *opts)
{
	Snapshot	s = {0};
	char	   *error = NULL;
	char	   *last_names = NULL;
	SCREEN	   *screen;
	double		next = 0;
	/* the name of the database, never a URI (which may hold a password) */
	char	   *dbname = xstrdup(PQdb(conn));
	long		n = 0;

	install_handlers();
	setlocale(LC_ALL, "");
	ReportCapture(true);
	/* newterm rather than initscr, so that delscreen can free it all */
	screen = newterm(NULL, stdout, stdin);
	if (screen == NULL)
	{
		/* unknown TERM: the plain output still works */
		ReportCapture(false);
		free(dbname);
		return watch_plain(conn, opts);
	}
	set_term(screen);
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (has_colors())
	{
		start_color();
		use_default_colors();
		init_pair(PAIR_GREEN, COLOR_GREEN, -1);
		init_pair(PAIR_RED, COLOR_RED, -1);
		init_pair(PAIR_YELLOW, COLOR_YELLOW, -1);
	}

	while (!stop_requested)
	{
		double		now = TimeNow();
		int			ch;
		long		wait;

		if (now >= next)
		{
			if (opts->count > 0 && n >= opts->count)
				break;
			free(error);
			error = fetch(&conn, opts, &s) ? NULL : ReportTakeCaptured();
			if (error == NULL)
			{
				char	   *names = row_names(s.list);

				free(ReportTakeCaptured());	/* notices: not for the screen */
				/* rows came or went: repaint all rather than patch cells */
				if (last_names == NULL || strcmp(names, last_names) != 0)
					clearok(curscr, TRUE);
				free(last_names);
				last_names = names;
			}
			draw(opts, dbname, &s, error);
			n++;
			next = now + opts->interval_ms / 1000.0;
		}
		wait = (long) ((next - TimeNow()) * 1000);
		timeout(wait > 0 ? (int) wait : 0);
		ch = getch();
		if (ch == 'q' || ch == 'Q' || ch == 3)
			break;
		if (ch == KEY_RESIZE || ch == 12)	/* resize or Ctrl-L */
		{
			clearok(curscr, TRUE);
			draw(opts, dbname, &s, error);
		}
	}
	endwin();
	delscreen(screen);
	ReportCapture(false);
	free(ReportTakeCaptured());
	free(error);
	free(last_names);
	free(dbname);
	snapshot_clear(&s);
	PQfinish(conn);
	return PGT_EXIT_OK;
}

/*
 * Owns CONN from here on: it may be replaced after a lost connection and
 * is closed here.  main() must not PQfinish it again.
 */
int
CmdWatch(PGconn *conn, const PgtOptions *opts)
{
	if (opts->format == PGT_FORMAT_TABLE &&
		isatty(fileno(stdin)) && isatty(fileno(stdout)))
		return watch_screen(conn, opts);
	return watch_plain(conn, opts);
}
