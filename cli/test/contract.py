"""The documented contract of the tool (cli/README.md), as data the tests
check against.  When cli/README.md changes, this file follows it."""

import datetime
import re

# --- exit codes -----------------------------------------------------------------
EXIT_OK = 0
EXIT_SERVER = 1
EXIT_CONN = 2
EXIT_USAGE = 3
EXIT_WARNING = 4       # health WARNING or an unhealthy source
EXIT_DIFFERENT = 4     # verify: rows differ
EXIT_CRITICAL = 5      # health CRITICAL

COMMANDS = ["list", "status", "create", "drop", "refresh", "alter", "pause", "resume",
            "verify", "explain", "history", "health", "stats", "watch"]

# Options each command's --help must mention.
COMMAND_OPTIONS = {
    "list": [],
    "status": [],
    "create": ["--query", "--file", "--schedule", "--mode", "--no-initialize"],
    "drop": ["--cascade"],
    "refresh": [],
    "alter": ["--schedule", "--mode", "--status", "--query", "--file"],
    "pause": [],
    "resume": [],
    "verify": [],
    "explain": [],
    "history": ["--limit"],
    "health": [],
    "stats": [],
    "watch": ["--interval", "--count"],
}
# Commands that take a NAME argument.
NAME_COMMANDS = ["status", "create", "drop", "refresh", "alter", "pause", "resume",
                 "verify", "explain", "history"]

GLOBAL_OPTIONS = ["--host", "--port", "--username", "--dbname", "--url", "--no-password",
                  "--password", "--format", "--no-color", "--version", "--help"]

# --- error lines --------------------------------------------------------------------
ERROR_PREFIX = "pgtrickle: error: "
DETAIL_PREFIX = "pgtrickle: detail: "
HINT_PREFIX = "pgtrickle: hint: "
NOTICE_PREFIX = "pgtrickle: notice: "
USAGE_HINT = re.compile(r'^pgtrickle: hint: Try "pgtrickle( [a-z]+)? --help" for more information\.$',
                        re.M)

# --- JSON keys and types ----------------------------------------------------------------
# Types: "string", "string?" (or null), "integer", "integer?", "boolean",
# "boolean?", "timestamp?", "seconds?", "number?", "object", "array".
LIST_KEYS = [
    ("name", "string"),
    ("schema", "string"),
    ("status", "string"),
    ("refresh_mode", "string"),
    ("schedule", "string?"),
    ("effective_schedule", "string?"),
    ("is_populated", "boolean"),
    ("stale", "boolean?"),
    ("consecutive_errors", "integer"),
    ("staleness_seconds", "seconds?"),
    ("data_timestamp", "timestamp?"),
    ("last_refresh_at", "timestamp?"),
]
LIST_TABLE_HEADERS = ["NAME", "SCHEMA", "STATUS", "MODE", "SCHEDULE", "STALE", "ERRORS",
                      "LAST REFRESH"]

STATUS_KEYS = [
    ("name", "string"), ("schema", "string"), ("status", "string"),
    ("refresh_mode", "string"), ("requested_refresh_mode", "string"),
    ("schedule", "string?"), ("effective_schedule", "string?"), ("cdc_mode", "string?"),
    ("is_populated", "boolean"),
    ("data_timestamp", "timestamp?"), ("last_refresh_at", "timestamp?"),
    ("last_error_at", "timestamp?"), ("created_at", "timestamp?"), ("updated_at", "timestamp?"),
    ("staleness_seconds", "seconds?"),
    ("stale", "boolean?"),
    ("consecutive_errors", "integer"),
    ("last_error_message", "string?"),
    ("total_refreshes", "integer"), ("successful_refreshes", "integer"),
    ("failed_refreshes", "integer"), ("total_rows_inserted", "integer"),
    ("total_rows_deleted", "integer"),
    ("avg_duration_ms", "number?"),
    ("sources", "array"),
]
STATUS_SOURCE_KEYS = [("schema", "string"), ("name", "string"), ("source_type", "string"),
                      ("cdc_mode", "string?")]
STATUS_TABLE_LABELS = ["Name", "Schema", "Status", "Refresh Mode", "Requested Mode", "Schedule",
                       "Effective Schedule", "CDC Mode", "Populated", "Data Timestamp",
                       "Last Refresh", "Staleness", "Stale", "Consecutive Errors",
                       "Last Error", "Total Refreshes", "Failed Refreshes", "Avg Duration",
                       "Source Tables"]

ACTION_KEYS = [("ok", "boolean"), ("command", "string"), ("name", "string")]
ACTION_VERBS = {"create": "Created", "drop": "Dropped", "refresh": "Refreshed",
                "alter": "Altered", "pause": "Paused", "resume": "Resumed"}

VERIFY_KEYS = [("side", "string"), ("row_data", "object")]

HISTORY_KEYS = [
    ("refresh_id", "integer"), ("data_timestamp", "timestamp?"), ("start_time", "timestamp?"),
    ("end_time", "timestamp?"), ("action", "string"), ("status", "string"),
    ("rows_inserted", "integer?"), ("rows_deleted", "integer?"), ("duration_ms", "number?"),
    ("error_message", "string?"), ("initiated_by", "string?"),
]
HISTORY_TABLE_HEADERS = ["ID", "STARTED", "ACTION", "STATUS", "INSERTED", "DELETED",
                         "DURATION", "ERROR", "BY"]

HEALTH_KEYS = [
    ("status", "string"), ("healthy", "boolean"),
    ("total_stream_tables", "integer"), ("error_tables", "integer"),
    ("stale_tables", "integer"), ("paused_tables", "integer"),
    ("scheduler_running", "boolean"), ("sources", "array"),
]
HEALTH_SOURCE_KEYS = [
    ("pgt_schema", "string"), ("pgt_name", "string"), ("source_schema", "string"),
    ("source_table", "string"), ("cdc_mode", "string"), ("slot_name", "string?"),
    ("lag_bytes", "integer?"), ("confirmed_lsn", "string?"), ("buffer_rows", "integer?"),
    ("buffer_bytes", "integer?"), ("healthy", "boolean"), ("issue", "string?"),
    ("alert", "string?"),
]
HEALTH_TABLE_HEADERS = ["STREAM TABLE", "SOURCE TABLE", "CDC MODE", "SLOT", "LAG", "BUFFER ROWS",
                        "HEALTHY", "ALERT"]

STATS_KEYS = [
    ("name", "string"), ("schema", "string"), ("total_refreshes", "integer"),
    ("successful_refreshes", "integer"), ("failed_refreshes", "integer"),
    ("total_rows_inserted", "integer"), ("total_rows_deleted", "integer"),
    ("avg_duration_ms", "number?"), ("last_action", "string?"), ("last_status", "string?"),
]
STATS_TOTALS_KEYS = [
    ("stream_tables", "integer"), ("total_refreshes", "integer"),
    ("successful_refreshes", "integer"), ("failed_refreshes", "integer"),
    ("total_rows_inserted", "integer"), ("total_rows_deleted", "integer"),
    ("avg_duration_ms", "number?"),
]
STATS_TABLE_HEADERS = ["NAME", "SCHEMA", "REFRESHES", "SUCCESSFUL", "FAILED", "ROWS INSERTED",
                       "ROWS DELETED", "AVG DURATION", "LAST ACTION", "LAST STATUS"]

WATCH_JSON_KEYS = [("time", "timestamp?"), ("health", "string?"), ("stream_tables", "array")]

# --- value formats ----------------------------------------------------------------------
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
RELATIVE_RE = re.compile(r"\b\d+(s|m|h|d) ago\b")


def parse_ts(text):
    """A timestamp in the tool's JSON format or in PostgreSQL's JSON output."""
    if text is None:
        return None
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def type_ok(value, typ):
    nullable = typ.endswith("?")
    base = typ.rstrip("?")
    if value is None:
        return nullable
    if base == "string":
        return isinstance(value, str)
    if base == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if base in ("number", "seconds"):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base == "boolean":
        return isinstance(value, bool)
    if base == "timestamp":
        return isinstance(value, str) and TIMESTAMP_RE.match(value) is not None
    if base == "object":
        return isinstance(value, dict)
    if base == "array":
        return isinstance(value, list)
    raise ValueError(typ)
