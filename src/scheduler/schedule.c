/*-------------------------------------------------------------------------
 *
 * schedule.c
 *	  Parsing and evaluation of pg_trickle refresh schedules.
 *
 * Cron semantics follow Vixie cron: a field starting with '*' (including
 * a stepped star such as every-other-day) is treated as unrestricted for
 * the day-of-month/day-of-week rule, so a day matches if EITHER of those
 * fields matches only when both are restricted.  Day of
 * week 7 is Sunday, like 0.  Ranges may not wrap around ("5-1" is an
 * error), and "a/n" means "a-max/n".
 *
 * Cron expressions are evaluated in the session time zone
 * (session_timezone).  Time is split into segments of constant UTC offset
 * using pg_next_dst_boundary(); within a segment, local wall-clock time is
 * a plain shift of UTC, so the search runs over calendar fields (skipping
 * whole months, days and hours that cannot match) with pure date
 * arithmetic (date2j/j2date).  Fire times are the instants at which the
 * local clock reads a matching minute at second zero.  Consequently:
 *
 *	  - Spring forward: local times that do not exist (e.g. 02:30 on the
 *		day clocks jump from 02:00 to 03:00) never fire; they are skipped,
 *		not moved to after the jump.
 *	  - Fall back: local times that occur twice fire at both occurrences if
 *		the hour field starts with '*' (e.g. '0,30 * * * *'), which keeps
 *		sub-daily rhythms regular in real time.  If
 *		the hour field is restricted (e.g. '30 1 * * *') the expression
 *		fires only at the first occurrence, so daily jobs run once a day.
 *
 * Searches give up after CRON_SEARCH_DAYS (about five years), returning
 * DT_NOEND or DT_NOBEGIN; ScheduleParse rejects expressions that do not
 * fire within that window from now (e.g. '0 0 31 2 *').
 *
 * src/scheduler/schedule.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "common/int.h"
#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "scheduler/schedule.h"

PG_FUNCTION_INFO_V1(pgt_schedule_seconds);
PG_FUNCTION_INFO_V1(pgt_schedule_next_fire);

/* Largest duration whose microsecond value still fits in an int64 */
#define SCHEDULE_MAX_SECONDS	(PG_INT64_MAX / USECS_PER_SEC)

/* Seconds between the Unix epoch and the PostgreSQL epoch */
#define UNIX_TO_PG_EPOCH_SECS \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY)

#define CRON_SEARCH_SECS	((int64) CRON_SEARCH_DAYS * SECS_PER_DAY)
#define NO_BOUNDARY			PG_INT64_MAX
#define TZ_LOOKBACK_SECS	((int64) 400 * SECS_PER_DAY)

#define BIT(n)				(UINT64CONST(1) << (n))

typedef struct CronFieldDef
{
	const char *name;
	int			min;
	int			max;
	int			star_max;		/* upper end of '*' and of "a/n" */
	const char *const *names;	/* three-letter names, or NULL */
	int			name_base;		/* value of names[0] */
} CronFieldDef;

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun",
	"jul", "aug", "sep", "oct", "nov", "dec", NULL
};
static const char *const dow_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL
};

static const CronFieldDef cron_fields[5] = {
	{"minute", 0, 59, 59, NULL, 0},
	{"hour", 0, 23, 23, NULL, 0},
	{"day-of-month", 1, 31, 31, NULL, 0},
	{"month", 1, 12, 12, month_names, 1},
	{"day-of-week", 0, 7, 6, dow_names, 0},
};

static const struct
{
	const char *alias;
	const char *expr;
}			cron_aliases[] = {
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

/* A local wall-clock time at minute resolution */
typedef struct WallTime
{
	int			year;
	int			mon;			/* 1..12 */
	int			mday;			/* 1..31 */
	int			hour;
	int			min;
} WallTime;

/* A stretch of time [start, end) with constant UTC offset (seconds east) */
typedef struct TzSegment
{
	int64		start;			/* PG-epoch seconds, inclusive */
	int64		end;			/* exclusive, or NO_BOUNDARY */
	int64		gmtoff;
	int64		prev_gmtoff;	/* offset just before start */
} TzSegment;


/* ---------- duration parsing ---------- */

static bool
parse_duration(const char *str, int64 *seconds, char **errdetail)
{
	static const char units[] = "smhdw";
	static const int64 unit_secs[] = {
		1, SECS_PER_MINUTE, SECS_PER_HOUR, SECS_PER_DAY, 7 * SECS_PER_DAY
	};
	const char *p = str;
	int64		total = 0;

	while (*p)
	{
		const char *num = p;
		const char *unit;
		const char *u = NULL;
		int64		n = 0;
		int64		mult;

		if (isspace((unsigned char) *p))
		{
			p++;
			continue;
		}
		if (!isdigit((unsigned char) *p))
		{
			*errdetail = (*p == '-') ?
				pstrdup("Durations cannot be negative.") :
				psprintf("Expected a number at \"%s\".", p);
			return false;
		}
		/* saturate; the range check below catches too large values */
		for (; isdigit((unsigned char) *p); p++)
			n = Min(n * 10 + (*p - '0'), SCHEDULE_MAX_SECONDS + 1);

		unit = p;
		while (isalpha((unsigned char) *p))
			p++;
		if (p - unit == 1)
			u = strchr(units, tolower((unsigned char) *unit));
		if (u != NULL)
			mult = unit_secs[u - units];
		else if (p == unit && *p == '\0' && num == str)
			mult = 1;			/* a bare number means seconds */
		else
		{
			if (p != unit)
				*errdetail = psprintf("Unknown duration unit \"%.*s\"; valid units are s, m, h, d and w.",
									  (int) (p - unit), unit);
			else if (*p == '.' || *p == ',')
				*errdetail = pstrdup("Fractional durations are not supported; use a smaller unit, for example \"90m\" instead of \"1.5h\".");
			else if (*p == '\0' || isspace((unsigned char) *p))
				*errdetail = psprintf("The number %.*s has no unit; valid units are s, m, h, d and w.",
									  (int) (p - num), num);
			else
				*errdetail = psprintf("Unexpected character \"%c\" in duration.", *p);
			return false;
		}

		if (n > (SCHEDULE_MAX_SECONDS - total) / mult)
		{
			*errdetail = pstrdup("The duration is too large.");
			return false;
		}
		total += n * mult;
	}

	if (total <= 0)
	{
		*errdetail = pstrdup("The duration must be greater than zero.");
		return false;
	}
	*seconds = total;
	return true;
}


/* ---------- cron parsing ---------- */

/* Parse a number or (where allowed) a name; advances *pp. */
static bool
parse_cron_value(const char **pp, const CronFieldDef *def, bool numeric_only,
				 int *value, char **errdetail)
{
	const char *p = *pp;
	int			v = 0;

	if (isdigit((unsigned char) *p))
	{
		for (; isdigit((unsigned char) *p); p++)
		{
			if (v < 1000000)
				v = v * 10 + (*p - '0');
		}
	}
	else if (isalpha((unsigned char) *p) && def->names && !numeric_only)
	{
		const char *start = p;
		int			i;

		while (isalpha((unsigned char) *p))
			p++;
		for (i = 0; def->names[i]; i++)
		{
			if (p - start == 3 && pg_strncasecmp(start, def->names[i], 3) == 0)
				break;
		}
		if (def->names[i] == NULL)
		{
			*errdetail = psprintf("Unknown name \"%.*s\" in the %s field.",
								  (int) (p - start), start, def->name);
			return false;
		}
		v = def->name_base + i;
	}
	else
	{
		*errdetail = NULL;		/* caller reports a syntax error */
		return false;
	}

	if (!numeric_only && (v < def->min || v > def->max))
	{
		*errdetail = psprintf("Value %d is out of range for the %s field (%d-%d).",
							  v, def->name, def->min, def->max);
		return false;
	}
	*pp = p;
	*value = v;
	return true;
}

/* Parse one comma-separated cron field into a bitmap of allowed values. */
static bool
parse_cron_field(const char *field, const CronFieldDef *def, uint64 *bits,
				 char **errdetail)
{
	const char *p = field;

	*bits = 0;
	for (;;)
	{
		int			lo;
		int			hi;
		int			step = 1;
		int			v;

		*errdetail = NULL;
		if (*p == '*')
		{
			lo = def->min;
			hi = def->star_max;
			p++;
		}
		else
		{
			if (!parse_cron_value(&p, def, false, &lo, errdetail))
				goto fail;
			hi = lo;
			if (*p == '-')
			{
				p++;
				if (!parse_cron_value(&p, def, false, &hi, errdetail))
					goto fail;
				if (lo > hi)
				{
					*errdetail = psprintf("The range %d-%d in the %s field has its start after its end.",
										  lo, hi, def->name);
					return false;
				}
			}
			else if (*p == '/')
				hi = Max(lo, def->star_max);	/* "a/n" means "a-max/n" */
		}
		if (*p == '/')
		{
			p++;
			if (!parse_cron_value(&p, def, true, &step, errdetail))
				goto fail;
			if (step < 1 || step > def->max)
			{
				*errdetail = psprintf("Step %d is out of range for the %s field (1-%d).",
									  step, def->name, def->max);
				return false;
			}
		}
		if (*p != ',' && *p != '\0')
			goto fail;

		for (v = lo; v <= hi; v += step)
			*bits |= BIT(v);

		if (*p == '\0')
			return true;
		p++;					/* skip ',' */
	}

fail:
	if (*errdetail == NULL)
		*errdetail = psprintf("The %s field \"%s\" is not valid.",
							  def->name, field);
	return false;
}

/* Split on whitespace; store up to maxfields copies, return the count. */
static int
split_fields(const char *str, char **fields, int maxfields)
{
	int			n = 0;

	for (;;)
	{
		const char *start;

		while (isspace((unsigned char) *str))
			str++;
		if (*str == '\0')
			return n;
		start = str;
		while (*str && !isspace((unsigned char) *str))
			str++;
		if (n < maxfields)
			fields[n] = pnstrdup(start, str - start);
		n++;
	}
}

static bool
parse_cron(const char *str, Schedule *out, char **errdetail)
{
	char	   *fields[5];
	uint64		bits[5];
	int			nfields = split_fields(str, fields, 5);
	int			i;

	if (nfields != 5)
	{
		*errdetail = psprintf("A cron expression must have 5 fields (minute, hour, day of month, month and day of week), but %d were found.",
							  nfields);
		return false;
	}

	for (i = 0; i < 5; i++)
	{
		if (!parse_cron_field(fields[i], &cron_fields[i], &bits[i], errdetail))
			return false;
	}

	memset(out, 0, sizeof(Schedule));
	out->kind = SCHEDULE_CRON;
	out->minutes = bits[0];
	out->hours = (uint32) bits[1];
	out->days_of_month = (uint32) bits[2];
	out->months = (uint16) bits[3];
	/* fold 7 (Sunday) onto 0 */
	out->days_of_week = (uint8) ((bits[4] | (bits[4] >> 7)) & 0x7F);
	out->hour_restricted = (fields[1][0] != '*');
	out->dom_restricted = (fields[2][0] != '*');
	out->dow_restricted = (fields[4][0] != '*');
	return true;
}

bool
ScheduleParse(const char *text, Schedule *out, char **errdetail)
{
	char	   *str;
	char	   *end;

	*errdetail = NULL;
	memset(out, 0, sizeof(Schedule));

	while (isspace((unsigned char) *text))
		text++;
	str = pstrdup(text);
	end = str + strlen(str);
	while (end > str && isspace((unsigned char) end[-1]))
		*--end = '\0';

	if (*str == '\0')
	{
		*errdetail = pstrdup("The schedule is empty.");
		return false;
	}
	if (pg_strcasecmp(str, "calculated") == 0)
	{
		out->kind = SCHEDULE_CALCULATED;
		return true;
	}
	if (str[0] == '@')
	{
		int			i;

		for (i = 0; i < (int) lengthof(cron_aliases); i++)
		{
			if (pg_strcasecmp(str, cron_aliases[i].alias) == 0)
				return parse_cron(cron_aliases[i].expr, out, errdetail);
		}
		*errdetail = psprintf("Unknown schedule alias \"%s\"; valid aliases are @yearly, @annually, @monthly, @weekly, @daily, @midnight and @hourly.",
							  str);
		return false;
	}

	if (parse_duration(str, &out->seconds, errdetail))
	{
		out->kind = SCHEDULE_DURATION;
		return true;
	}

	/*
	 * Not a duration.  Report the cron parser's complaint instead if the text
	 * looks more like a cron expression than like a duration.
	 */
	if (strpbrk(str, "*,/") != NULL || split_fields(str, NULL, 0) >= 3)
	{
		pfree(*errdetail);
		*errdetail = NULL;
		if (!parse_cron(str, out, errdetail))
			return false;
		if (CronNextFire(out, GetCurrentTimestamp()) == DT_NOEND)
		{
			*errdetail = pstrdup("The cron expression never fires within the next five years.");
			return false;
		}
		return true;
	}
	return false;
}

void
ScheduleParseOrError(const char *text, int min_seconds, Schedule *out)
{
	char	   *detail;

	if (text == NULL)
	{
		memset(out, 0, sizeof(Schedule));
		out->kind = SCHEDULE_CALCULATED;
		return;
	}
	if (!ScheduleParse(text, out, &detail))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid schedule \"%s\"", text),
				 errdetail("%s", detail),
				 errhint("Use a duration such as \"30s\", \"5m\" or \"1h30m\", a 5-field cron expression such as \"*/15 * * * *\", an alias such as \"@hourly\", or \"calculated\".")));
	if (out->kind == SCHEDULE_DURATION && out->seconds < min_seconds)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("schedule \"%s\" is shorter than pg_trickle.min_schedule_seconds (%d)",
						text, min_seconds),
				 errdetail("The schedule stands for " INT64_FORMAT " seconds.",
						   out->seconds)));
}


/* ---------- cron evaluation ---------- */

static int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static int64
wall_to_secs(const WallTime *w)
{
	return (int64) (date2j(w->year, w->mon, w->mday) - POSTGRES_EPOCH_JDATE) * SECS_PER_DAY
		+ w->hour * SECS_PER_HOUR + w->min * SECS_PER_MINUTE;
}

static void
secs_to_wall(int64 secs, WallTime *w)
{
	int64		days = floor_div(secs, SECS_PER_DAY);
	int64		sod = secs - days * SECS_PER_DAY;

	j2date((int) (days + POSTGRES_EPOCH_JDATE), &w->year, &w->mon, &w->mday);
	w->hour = (int) (sod / SECS_PER_HOUR);
	w->min = (int) ((sod % SECS_PER_HOUR) / SECS_PER_MINUTE);
}

static int
days_in_month(int year, int mon)
{
	return day_tab[isleap(year) ? 1 : 0][mon - 1];
}

/* Move to 00:00 of the next day / next month */
static void
next_day(WallTime *w)
{
	w->hour = w->min = 0;
	if (++w->mday > days_in_month(w->year, w->mon))
	{
		w->mday = 1;
		if (++w->mon > 12)
		{
			w->mon = 1;
			w->year++;
		}
	}
}

/* Move to 23:59 of the previous day / previous month */
static void
prev_day(WallTime *w)
{
	w->hour = 23;
	w->min = 59;
	if (--w->mday < 1)
	{
		if (--w->mon < 1)
		{
			w->mon = 12;
			w->year--;
		}
		w->mday = days_in_month(w->year, w->mon);
	}
}

static bool
cron_day_matches(const Schedule *s, const WallTime *w)
{
	bool		dom = (s->days_of_month & BIT(w->mday)) != 0;
	bool		dow = (s->days_of_week &
					   BIT(j2day(date2j(w->year, w->mon, w->mday)))) != 0;

	if (s->dom_restricted && s->dow_restricted)
		return dom || dow;
	return dom && dow;
}

/* First set bit in [from, max], or -1 */
static int
next_bit(uint64 map, int from, int max)
{
	for (; from <= max; from++)
		if (map & BIT(from))
			return from;
	return -1;
}

/* Last set bit in [0, from], or -1 */
static int
prev_bit(uint64 map, int from)
{
	for (; from >= 0; from--)
		if (map & BIT(from))
			return from;
	return -1;
}

/*
 * Smallest matching wall-clock minute in [lo, hi) (wall seconds); false if
 * none.  Non-matching months, days and hours are skipped as a whole.
 */
static bool
cron_wall_next(const Schedule *s, int64 lo, int64 hi, int64 *result)
{
	WallTime	w;

	secs_to_wall(floor_div(lo + SECS_PER_MINUTE - 1, SECS_PER_MINUTE) * SECS_PER_MINUTE, &w);
	for (;;)
	{
		int			n;

		if (wall_to_secs(&w) >= hi)
			return false;
		if (!(s->months & BIT(w.mon)))
		{
			w.mday = days_in_month(w.year, w.mon);
			next_day(&w);
		}
		else if (!cron_day_matches(s, &w))
			next_day(&w);
		else if ((n = next_bit(s->hours, w.hour, 23)) < 0)
			next_day(&w);
		else if (n != w.hour)
		{
			w.hour = n;
			w.min = 0;
		}
		else if ((n = next_bit(s->minutes, w.min, 59)) < 0)
		{
			w.min = 0;
			if (++w.hour > 23)
				next_day(&w);
		}
		else
		{
			w.min = n;
			*result = wall_to_secs(&w);
			return *result < hi;
		}
	}
}

/* Largest matching wall-clock minute in [lo, hi] (wall seconds) */
static bool
cron_wall_prev(const Schedule *s, int64 lo, int64 hi, int64 *result)
{
	WallTime	w;

	secs_to_wall(floor_div(hi, SECS_PER_MINUTE) * SECS_PER_MINUTE, &w);
	for (;;)
	{
		int			n;

		if (wall_to_secs(&w) < lo)
			return false;
		if (!(s->months & BIT(w.mon)))
		{
			w.mday = 1;
			prev_day(&w);
		}
		else if (!cron_day_matches(s, &w))
			prev_day(&w);
		else if ((n = prev_bit(s->hours, w.hour)) < 0)
			prev_day(&w);
		else if (n != w.hour)
		{
			w.hour = n;
			w.min = 59;
		}
		else if ((n = prev_bit(s->minutes, w.min)) < 0)
		{
			w.min = 59;
			if (--w.hour < 0)
				prev_day(&w);
		}
		else
		{
			w.min = n;
			*result = wall_to_secs(&w);
			return *result >= lo;
		}
	}
}

/*
 * Find the constant-offset segment of the session time zone containing 't'
 * (PG-epoch seconds).  If no transition happened within TZ_LOOKBACK_SECS
 * before 't', the segment is reported as starting there (with an unchanged
 * offset), which is harmless for the callers.
 */
static void
tz_segment_at(int64 t, TzSegment *seg)
{
	pg_time_t	probe = (pg_time_t) (t - TZ_LOOKBACK_SECS + UNIX_TO_PG_EPOCH_SECS);
	pg_time_t	target = (pg_time_t) (t + UNIX_TO_PG_EPOCH_SECS);
	long int	before_off = 0;
	long int	after_off = 0;
	int			before_isdst;
	int			after_isdst;
	pg_time_t	boundary = 0;
	int			r;

	seg->start = t - TZ_LOOKBACK_SECS;
	r = pg_next_dst_boundary(&probe, &before_off, &before_isdst, &boundary,
							 &after_off, &after_isdst, session_timezone);
	seg->prev_gmtoff = before_off;
	while (r == 1 && boundary <= target)
	{
		seg->start = (int64) boundary - UNIX_TO_PG_EPOCH_SECS;
		seg->prev_gmtoff = before_off;
		probe = boundary;
		r = pg_next_dst_boundary(&probe, &before_off, &before_isdst, &boundary,
								 &after_off, &after_isdst, session_timezone);
	}
	if (r < 0)
	{
		/* "cannot happen"; fall back to a single segment */
		struct pg_tm *tm = pg_localtime(&target, session_timezone);

		before_off = tm ? tm->tm_gmtoff : 0;
		seg->prev_gmtoff = before_off;
	}
	seg->gmtoff = before_off;
	seg->end = (r == 1) ? (int64) boundary - UNIX_TO_PG_EPOCH_SECS : NO_BOUNDARY;
}

static void
check_cron(const Schedule *s)
{
	if (s->kind != SCHEDULE_CRON)
		elog(ERROR, "schedule is not a cron expression");
}

TimestampTz
CronNextFire(const Schedule *s, TimestampTz after)
{
	int64		lower;			/* fire instants must be >= this */
	int64		limit;
	TzSegment	seg;

	check_cron(s);
	if (TIMESTAMP_NOT_FINITE(after))
		return after;

	/* fire times are whole seconds, so "> after" means ">= floor + 1" */
	lower = floor_div(after, USECS_PER_SEC) + 1;
	limit = lower + CRON_SEARCH_SECS;

	while (lower < limit)
	{
		int64		wall_lo;
		int64		wall;

		tz_segment_at(lower, &seg);
		wall_lo = Max(lower, seg.start) + seg.gmtoff;
		/* after clocks went back, skip repeated times for fixed hours */
		if (s->hour_restricted && seg.prev_gmtoff > seg.gmtoff)
			wall_lo = Max(wall_lo, seg.start + seg.prev_gmtoff);
		if (cron_wall_next(s, wall_lo, Min(seg.end, limit) + seg.gmtoff, &wall))
		{
			TimestampTz result = (wall - seg.gmtoff) * USECS_PER_SEC;

			return IS_VALID_TIMESTAMP(result) ? result : DT_NOEND;
		}
		lower = seg.end;
	}
	return DT_NOEND;
}

TimestampTz
CronPrevFire(const Schedule *s, TimestampTz at)
{
	int64		upper;			/* fire instants must be <= this */
	int64		limit;
	TzSegment	seg;

	check_cron(s);
	if (TIMESTAMP_NOT_FINITE(at))
		return at;

	upper = floor_div(at, USECS_PER_SEC);
	limit = Max(upper - CRON_SEARCH_SECS, MIN_TIMESTAMP / USECS_PER_SEC);

	while (upper >= limit)
	{
		int64		wall_lo;
		int64		wall;

		tz_segment_at(upper, &seg);
		wall_lo = Max(limit, seg.start) + seg.gmtoff;
		if (s->hour_restricted && seg.prev_gmtoff > seg.gmtoff)
			wall_lo = Max(wall_lo, seg.start + seg.prev_gmtoff);
		if (cron_wall_prev(s, wall_lo, upper + seg.gmtoff, &wall))
			return (wall - seg.gmtoff) * USECS_PER_SEC;
		upper = seg.start - 1;
	}
	return DT_NOBEGIN;
}

/*
 * For cron, if fewer than two fire times exist within the search window
 * before 'at', fall back to the gap after the last one, or between the next
 * two; return infinity if the expression does not fire twice at all.
 */
double
ScheduleIntervalSeconds(const Schedule *s, TimestampTz at)
{
	TimestampTz t1;
	TimestampTz t2;

	if (s->kind == SCHEDULE_DURATION)
		return (double) s->seconds;
	check_cron(s);

	/* the gap between the last two fire times at or before 'at' ... */
	t2 = CronPrevFire(s, at);
	if (!TIMESTAMP_NOT_FINITE(t2))
	{
		t1 = CronPrevFire(s, t2 - 1);
		if (TIMESTAMP_NOT_FINITE(t1))
		{
			/* ... or, lacking history, the gap to the next one ... */
			t1 = t2;
			t2 = CronNextFire(s, t1);
		}
	}
	else
	{
		/* ... or the gap between the next two */
		t1 = CronNextFire(s, at);
		t2 = TIMESTAMP_NOT_FINITE(t1) ? DT_NOEND : CronNextFire(s, t1);
	}
	if (TIMESTAMP_NOT_FINITE(t1) || TIMESTAMP_NOT_FINITE(t2))
		return get_float8_infinity();
	return (double) (t2 - t1) / USECS_PER_SEC;
}


/* ---------- SQL-callable functions ---------- */

/*
 * pgtrickle._schedule_seconds(schedule text, at timestamptz)
 *		The interval a schedule stands for at 'at'; NULL for CALCULATED.
 */
Datum
pgt_schedule_seconds(PG_FUNCTION_ARGS)
{
	Schedule	s;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	ScheduleParseOrError(text_to_cstring(PG_GETARG_TEXT_PP(0)), 0, &s);
	if (s.kind == SCHEDULE_CALCULATED)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(ScheduleIntervalSeconds(&s, PG_GETARG_TIMESTAMPTZ(1)));
}

/*
 * pgtrickle._schedule_next_fire(schedule text, after timestamptz)
 *		The next time the schedule fires after 'after'; NULL for CALCULATED.
 */
Datum
pgt_schedule_next_fire(PG_FUNCTION_ARGS)
{
	Schedule	s;
	TimestampTz after;
	TimestampTz result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	ScheduleParseOrError(text_to_cstring(PG_GETARG_TEXT_PP(0)), 0, &s);
	after = PG_GETARG_TIMESTAMPTZ(1);

	switch (s.kind)
	{
		case SCHEDULE_CALCULATED:
			PG_RETURN_NULL();
		case SCHEDULE_DURATION:
			if (TIMESTAMP_NOT_FINITE(after))
				PG_RETURN_TIMESTAMPTZ(after);
			if (pg_add_s64_overflow(after, s.seconds * USECS_PER_SEC, &result) ||
				!IS_VALID_TIMESTAMP(result))
				ereport(ERROR,
						(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
						 errmsg("timestamp out of range")));
			PG_RETURN_TIMESTAMPTZ(result);
		case SCHEDULE_CRON:
			PG_RETURN_TIMESTAMPTZ(CronNextFire(&s, after));
	}
	PG_RETURN_NULL();			/* keep compiler quiet */
}
