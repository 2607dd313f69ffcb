/*-------------------------------------------------------------------------
 *
 * main.c
 *	  pgtrickle: command-line tool for pg_trickle stream tables.  Parses
 *	  the command line, checks it, connects and runs one command.
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "pgtrickle.h"

#ifndef PGTRICKLE_VERSION
#define PGTRICKLE_VERSION "unknown"
#endif

enum
{
	OPT_URL = 256,
	OPT_FORMAT,
	OPT_NO_COLOR,
	OPT_QUERY,
	OPT_FILE,
	OPT_SCHEDULE,
	OPT_MODE,
	OPT_STATUS,
	OPT_CDC_MODE,
	OPT_CASCADE,
	OPT_NO_INIT,
	OPT_LIMIT,
	OPT_INTERVAL,
	OPT_COUNT
};

static const struct option LongOptions[] = {
	{"host", required_argument, NULL, 'h'},
	{"port", required_argument, NULL, 'p'},
	{"username", required_argument, NULL, 'U'},
	{"dbname", required_argument, NULL, 'd'},
	{"no-password", no_argument, NULL, 'w'},
	{"password", no_argument, NULL, 'W'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, '?'},
	{"url", required_argument, NULL, OPT_URL},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"no-color", no_argument, NULL, OPT_NO_COLOR},
	{"query", required_argument, NULL, OPT_QUERY},
	{"file", required_argument, NULL, OPT_FILE},
	{"schedule", required_argument, NULL, OPT_SCHEDULE},
	{"mode", required_argument, NULL, OPT_MODE},
	{"status", required_argument, NULL, OPT_STATUS},
	{"cdc-mode", required_argument, NULL, OPT_CDC_MODE},
	{"cascade", no_argument, NULL, OPT_CASCADE},
	{"no-initialize", no_argument, NULL, OPT_NO_INIT},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"count", required_argument, NULL, OPT_COUNT},
	{NULL, 0, NULL, 0}
};

/* Command options: the mask bit and the spelling for messages. */
static const struct
{
	int			opt;
	unsigned int bit;
	const char *spelling;
}			CommandOptions[] = {
	{OPT_QUERY, PGT_OPT_QUERY, "--query"},
	{OPT_FILE, PGT_OPT_FILE, "--file"},
	{OPT_SCHEDULE, PGT_OPT_SCHEDULE, "--schedule"},
	{OPT_MODE, PGT_OPT_MODE, "--mode"},
	{OPT_STATUS, PGT_OPT_STATUS, "--status"},
	{OPT_CDC_MODE, PGT_OPT_CDC_MODE, "--cdc-mode"},
	{OPT_CASCADE, PGT_OPT_CASCADE, "--cascade"},
	{OPT_NO_INIT, PGT_OPT_NO_INIT, "--no-initialize"},
	{OPT_LIMIT, PGT_OPT_LIMIT, "--limit"},
	{OPT_INTERVAL, PGT_OPT_INTERVAL, "--interval"},
	{OPT_COUNT, PGT_OPT_COUNT, "--count"},
	{0}
};

/* Report a usage error with the right --help hint; returns exit code 3. */
static int
usage_error(const char *command, const char *fmt,...)
	__attribute__((format(printf, 2, 3)));

static int
usage_error(const char *command, const char *fmt,...)
{
	va_list		ap;

	fprintf(stderr, "pgtrickle: error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (command)
		ReportHint("Try \"pgtrickle %s --help\" for more information.", command);
	else
		ReportHint("Try \"pgtrickle --help\" for more information.");
	return PGT_EXIT_USAGE;
}

/* A positive int, or -1. */
static long
parse_positive(const char *text, long max)
{
	char	   *end;
	long		v;

	if (text[0] < '0' || text[0] > '9')
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (*end != '\0' || errno != 0 || v <= 0 || v > max)
		return -1;
	return v;
}

int
main(int argc, char **argv)
{
	PgtOptions	opts;
	unsigned int given = 0;
	bool		help = false;
	bool		version = false;
	bool		no_color = false;
	const char *format = NULL;
	const char *limit = NULL;
	const char *interval = NULL;
	const char *count = NULL;
	const PgtCommand *cmd = NULL;
	const char *first_bad = NULL;
	char	   *option_error = NULL;
	int			c;
	int			nargs;
	char	  **args;
	PGconn	   *conn;
	int			rc;

	memset(&opts, 0, sizeof(opts));
	opts.format = PGT_FORMAT_TABLE;
	opterr = 0;

	while ((c = getopt_long(argc, argv, ":h:p:U:d:wWV", LongOptions, NULL)) != -1)
	{
		switch (c)
		{
			case 'h':
				opts.host = optarg;
				break;
			case 'p':
				opts.port = optarg;
				break;
			case 'U':
				opts.username = optarg;
				break;
			case 'd':
			case OPT_URL:
				opts.dbname = optarg;
				break;
			case 'w':
				opts.prompt = PGT_PROMPT_NEVER;
				break;
			case 'W':
				opts.prompt = PGT_PROMPT_ALWAYS;
				break;
			case 'V':
				version = true;
				break;
			case OPT_FORMAT:
				format = optarg;
				break;
			case OPT_NO_COLOR:
				no_color = true;
				break;
			case OPT_QUERY:
				opts.query = optarg;
				break;
			case OPT_FILE:
				opts.file = optarg;
				break;
			case OPT_SCHEDULE:
				opts.schedule = optarg;
				break;
			case OPT_MODE:
				opts.mode = optarg;
				break;
			case OPT_STATUS:
				opts.status = optarg;
				break;
			case OPT_CDC_MODE:
				opts.cdc_mode = optarg;
				break;
			case OPT_CASCADE:
				opts.cascade = true;
				break;
			case OPT_NO_INIT:
				opts.no_initialize = true;
				break;
			case OPT_LIMIT:
				limit = optarg;
				break;
			case OPT_INTERVAL:
				interval = optarg;
				break;
			case OPT_COUNT:
				count = optarg;
				break;
			case ':':
				if (option_error == NULL)
					option_error = xasprintf("option \"%s\" requires an argument",
											 argv[optind - 1]);
				break;
			case '?':
				/* -? is help; anything else getopt did not know */
				if (optopt == '?' || (optopt == 0 && strcmp(argv[optind - 1], "--help") == 0))
				{
					help = true;
					break;
				}
				/* reported once the command is known, for the right hint */
				if (option_error == NULL)
					option_error = optopt != 0
						? xasprintf("invalid option \"-%c\"", optopt)
						: xasprintf("unrecognized option \"%s\"", argv[optind - 1]);
				break;
		}
		for (int i = 0; CommandOptions[i].opt; i++)
		{
			if (CommandOptions[i].opt == c)
				given |= CommandOptions[i].bit;
		}
	}
	args = argv + optind;
	nargs = argc - optind;

	if (version)
	{
		printf("pgtrickle (pg_trickle) %s\n", PGTRICKLE_VERSION);
		return PGT_EXIT_OK;
	}

	/* "help COMMAND" is "COMMAND --help" */
	if (nargs > 0 && strcmp(args[0], "help") == 0)
	{
		help = true;
		args++;
		nargs--;
	}
	if (nargs > 0)
	{
		cmd = HelpFindCommand(args[0]);
		if (cmd == NULL)
			return usage_error(NULL, "unrecognized command \"%s\"", args[0]);
		opts.command = cmd->name;
		args++;
		nargs--;
	}
	if (option_error)
	{
		rc = usage_error(cmd ? cmd->name : NULL, "%s", option_error);
		free(option_error);
		return rc;
	}
	if (help)
	{
		if (cmd)
			HelpPrintCommand(stdout, cmd);
		else
			HelpPrintTool(stdout);
		return PGT_EXIT_OK;
	}
	if (cmd == NULL)
		return usage_error(NULL, "no command specified");

	/* options must belong to the command */
	for (int i = 0; CommandOptions[i].opt; i++)
	{
		if ((given & CommandOptions[i].bit) && !(cmd->options & CommandOptions[i].bit))
			return usage_error(cmd->name, "option \"%s\" is not valid for command \"%s\"",
							   CommandOptions[i].spelling, cmd->name);
	}
	if (cmd->takes_name)
	{
		if (nargs == 0)
			return usage_error(cmd->name, "missing stream table name");
		opts.name = args[0];
		args++;
		nargs--;
	}
	if (nargs > 0)
		first_bad = args[0];
	if (first_bad)
		return usage_error(cmd->name, "too many command-line arguments (first is \"%s\")",
						   first_bad);

	if (format)
	{
		if (strcasecmp(format, "table") == 0)
			opts.format = PGT_FORMAT_TABLE;
		else if (strcasecmp(format, "json") == 0)
			opts.format = PGT_FORMAT_JSON;
		else if (strcasecmp(format, "csv") == 0)
			opts.format = PGT_FORMAT_CSV;
		else
			return usage_error(cmd->name, "invalid output format \"%s\" (must be table, json or csv)",
							   format);
	}
	if (opts.query && opts.file)
		return usage_error(cmd->name, "options \"--query\" and \"--file\" cannot be used together");
	if (strcmp(cmd->name, "create") == 0 && !opts.query && !opts.file)
		return usage_error(cmd->name, "either \"--query\" or \"--file\" is required");
	if (strcmp(cmd->name, "alter") == 0 && given == 0)
		return usage_error(cmd->name, "nothing to alter: give at least one of --schedule, --mode, --status, --query, --file");
	if (limit && (opts.limit = (int) parse_positive(limit, INT_MAX)) < 0)
		return usage_error(cmd->name, "invalid value \"%s\" for \"--limit\" (must be a positive integer)",
						   limit);
	opts.interval_ms = 2000;
	if (interval)
	{
		opts.interval_ms = TimeParseInterval(interval);
		if (opts.interval_ms < 100)
			return usage_error(cmd->name, "invalid value \"%s\" for \"--interval\" (examples: 500ms, 2s, 1m; at least 100ms)",
							   interval);
	}
	if (count && (opts.count = parse_positive(count, LONG_MAX)) < 0)
		return usage_error(cmd->name, "invalid value \"%s\" for \"--count\" (must be a positive integer)",
						   count);

	{
		const char *nc = getenv("NO_COLOR");

		opts.color = !no_color && (nc == NULL || nc[0] == '\0') &&
			opts.format == PGT_FORMAT_TABLE && isatty(fileno(stdout));
		OutputColor = opts.color;
	}

	conn = ConnOpen(&opts, &rc);
	if (conn == NULL)
	{
		ConnForgetPassword();
		return rc;
	}
	/* watch handles Ctrl-C itself, and may reconnect */
	if (cmd->run == CmdWatch)
		rc = CmdWatch(conn, &opts);
	else
	{
		ConnSetCancel(conn);
		rc = cmd->run(conn, &opts);
		ConnSetCancel(NULL);
		PQfinish(conn);
	}
	ConnForgetPassword();
	/* a full disk must not look like success to a script */
	if ((fflush(stdout) != 0 || ferror(stdout)) && rc == PGT_EXIT_OK)
	{
		ReportError("could not write to standard output: %s", strerror(errno));
		rc = PGT_EXIT_SERVER;
	}
	return rc;
}
