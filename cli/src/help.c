/*-------------------------------------------------------------------------
 *
 * help.c
 *	  The command table and the --help texts of the tool and its commands.
 *
 *-------------------------------------------------------------------------
 */
#include <string.h>

#include "pgtrickle.h"

#define OPTS_QUERY	(PGT_OPT_QUERY | PGT_OPT_FILE)

const PgtCommand PgtCommands[] = {
	{"list", false, 0, CmdList, "List all stream tables",
	"Usage:\n  pgtrickle list [OPTION]...\n\n"
	"List all stream tables with their status, mode, schedule, staleness,\n"
	"errors and last refresh.\n"},
	{"status", true, 0, CmdStatus, "Show details of one stream table",
	"Usage:\n  pgtrickle status NAME [OPTION]...\n\n"
	"Show the configuration, freshness, refresh counters and source tables\n"
	"of stream table NAME.\n"},
	{"create", true, OPTS_QUERY | PGT_OPT_SCHEDULE | PGT_OPT_MODE | PGT_OPT_NO_INIT |
	PGT_OPT_CDC_MODE, CmdCreate, "Create a stream table",
	"Usage:\n  pgtrickle create NAME (--query=SQL | --file=FILE) [OPTION]...\n\n"
	"Create stream table NAME defined by a SELECT query.\n\n"
	"Options:\n"
	"      --query=SQL        the defining query\n"
	"      --file=FILE        read the defining query from FILE (- = stdin)\n"
	"      --schedule=S       30s, 5m, 1h30m, a cron expression, @hourly, or\n"
	"                         calculated (default 1m)\n"
	"      --mode=M           DIFFERENTIAL (default), FULL or AUTO\n"
	"      --no-initialize    create the table empty; the first refresh fills it\n"
	"      --cdc-mode=C       change capture mode (default: pg_trickle.cdc_mode)\n"},
	{"drop", true, PGT_OPT_CASCADE, CmdDrop, "Drop a stream table",
	"Usage:\n  pgtrickle drop NAME [--cascade] [OPTION]...\n\n"
	"Drop stream table NAME.\n\n"
	"Options:\n"
	"      --cascade          also drop the stream tables that read NAME\n"},
	{"refresh", true, 0, CmdRefresh, "Refresh a stream table now",
	"Usage:\n  pgtrickle refresh NAME [OPTION]...\n\n"
	"Refresh stream table NAME now and wait until it is done.\n"},
	{"alter", true, OPTS_QUERY | PGT_OPT_SCHEDULE | PGT_OPT_MODE | PGT_OPT_STATUS,
	CmdAlter, "Change schedule, mode, status or query",
	"Usage:\n  pgtrickle alter NAME OPTION...\n\n"
	"Change stream table NAME.  At least one option is required.\n\n"
	"Options:\n"
	"      --schedule=S       new schedule (calculated for CALCULATED)\n"
	"      --mode=M           DIFFERENTIAL, FULL or AUTO\n"
	"      --status=S         ACTIVE or PAUSED\n"
	"      --query=SQL        new defining query\n"
	"      --file=FILE        read the new defining query from FILE (- = stdin)\n"},
	{"pause", true, 0, CmdPause, "Stop scheduled refreshes of a stream table",
	"Usage:\n  pgtrickle pause NAME [OPTION]...\n\n"
	"Pause stream table NAME: the scheduler skips it; changes are still\n"
	"captured.\n"},
	{"resume", true, 0, CmdResume, "Resume a paused stream table",
	"Usage:\n  pgtrickle resume NAME [OPTION]...\n\n"
	"Resume stream table NAME and clear its errors.\n"},
	{"verify", true, 0, CmdVerify, "Compare a stream table with its query",
	"Usage:\n  pgtrickle verify NAME [OPTION]...\n\n"
	"Refresh stream table NAME, then compare its contents with its defining\n"
	"query.  Exits with status 4 and prints the rows that differ when they\n"
	"are not equal.\n"},
	{"explain", true, 0, CmdExplain, "Show how a stream table is refreshed",
	"Usage:\n  pgtrickle explain NAME [OPTION]...\n\n"
	"Show the refresh mode, why it was chosen, the sources, and the SQL a\n"
	"refresh runs for stream table NAME.\n"},
	{"history", true, PGT_OPT_LIMIT, CmdHistory, "Show recent refreshes",
	"Usage:\n  pgtrickle history NAME [--limit=N] [OPTION]...\n\n"
	"Show the latest refreshes of stream table NAME, newest first.\n\n"
	"Options:\n"
	"      --limit=N          show at most N refreshes (default 20)\n"},
	{"health", false, 0, CmdHealth, "Show overall health and change capture",
	"Usage:\n  pgtrickle health [OPTION]...\n\n"
	"Show the overall health and the change capture of every source table.\n"
	"Exit status: 0 healthy, 4 warning (or an unhealthy source), 5 critical.\n"},
	{"stats", false, 0, CmdStats, "Show refresh statistics",
	"Usage:\n  pgtrickle stats [OPTION]...\n\n"
	"Show refresh counters of every stream table and their totals.\n"},
	{"watch", false, PGT_OPT_INTERVAL | PGT_OPT_COUNT, CmdWatch,
	"Live-updating list of stream tables",
	"Usage:\n  pgtrickle watch [--interval=DURATION] [--count=N] [OPTION]...\n\n"
	"Show the list of stream tables and redraw it every interval.  On a\n"
	"terminal the display is full screen; press q or Ctrl-C to quit.\n"
	"Otherwise the list is printed again every interval.\n\n"
	"Options:\n"
	"      --interval=DURATION  time between redraws: 500ms, 2s, 1m (default 2s)\n"
	"      --count=N            stop after N redraws\n"},
	{NULL}
};

static const char *const ConnectionHelp =
"Connection options:\n"
"  -h, --host=HOSTNAME      database server host or socket directory\n"
"  -p, --port=PORT          database server port\n"
"  -U, --username=USERNAME  database user name\n"
"  -d, --dbname=DBNAME      database name, connection string or URI\n"
"      --url=URI            connection URI or connection string\n"
"  -w, --no-password        never prompt for password\n"
"  -W, --password           force password prompt\n";

static const char *const OutputHelp =
"Output options:\n"
"      --format=FORMAT      table (default), json or csv\n"
"      --no-color           never use colours (also: NO_COLOR=1)\n";

const PgtCommand *
HelpFindCommand(const char *name)
{
	for (const PgtCommand *c = PgtCommands; c->name; c++)
	{
		if (strcmp(c->name, name) == 0)
			return c;
	}
	return NULL;
}

void
HelpPrintTool(FILE *out)
{
	fprintf(out,
			"pgtrickle manages and watches pg_trickle stream tables.\n\n"
			"Usage:\n"
			"  pgtrickle [OPTION]... COMMAND [NAME] [COMMAND OPTION]...\n\n"
			"Commands:\n");
	for (const PgtCommand *c = PgtCommands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\n%s\n%s\n", ConnectionHelp, OutputHelp);
	fprintf(out,
			"Other options:\n"
			"  -V, --version            output version information, then exit\n"
			"  -?, --help               show this help, then exit\n\n"
			"Run \"pgtrickle COMMAND --help\" for the options of a command.\n"
			"Exit status: 0 success, 1 server error, 2 connection failure,\n"
			"3 usage error, 4 health warning or verify differences, 5 health critical.\n");
}

void
HelpPrintCommand(FILE *out, const PgtCommand *cmd)
{
	fprintf(out, "%s\n%s\n%s", cmd->usage, ConnectionHelp, OutputHelp);
}
