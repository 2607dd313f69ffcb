/*-------------------------------------------------------------------------
 *
 * schedule.h
 *	  Parsing and evaluation of pg_trickle refresh schedules.
 *
 * A schedule is one of:
 *	  - CALCULATED: 'calculated' (or SQL NULL, handled by callers);
 *	  - a duration such as '30s', '5m', '1h30m', '1h 30m' or a bare number
 *		of seconds ('90');
 *	  - a 5-field cron expression ("minute hour day-of-month month
 *		day-of-week") or one of the aliases @yearly, @annually, @monthly,
 *		@weekly, @daily, @midnight and @hourly.
 *
 * Cron expressions are evaluated in the session time zone; see schedule.c
 * for the handling of daylight-saving transitions.
 *
 * src/scheduler/schedule.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGTRICKLE_SCHEDULE_H
#define PGTRICKLE_SCHEDULE_H

#include "datatype/timestamp.h"

typedef enum ScheduleKind
{
	SCHEDULE_CALCULATED,
	SCHEDULE_DURATION,
	SCHEDULE_CRON
} ScheduleKind;

typedef struct Schedule
{
	ScheduleKind kind;
	int64		seconds;		/* SCHEDULE_DURATION */

	/* SCHEDULE_CRON: bitmaps of allowed values */
	uint64		minutes;		/* bits 0..59 */
	uint32		hours;			/* bits 0..23 */
	uint32		days_of_month;	/* bits 1..31 */
	uint16		months;			/* bits 1..12 */
	uint8		days_of_week;	/* bits 0..6, 0 = Sunday */
	bool		dom_restricted; /* day-of-month field does not start with '*' */
	bool		dow_restricted; /* day-of-week field does not start with '*' */
	bool		hour_restricted;	/* hour field does not start with '*' */
} Schedule;

/* How far CronNextFire/CronPrevFire search before giving up (~5 years). */
#define CRON_SEARCH_DAYS	(5 * 365 + 2)

/*
 * Parse; on failure return false and set *errdetail to a palloc'd
 * full-sentence explanation.  Never ereports.
 */
extern bool ScheduleParse(const char *text, Schedule *out, char **errdetail);

/*
 * Parse or ereport(ERROR).  Durations shorter than min_seconds are rejected.
 * A NULL text means CALCULATED.
 */
extern void ScheduleParseOrError(const char *text, int min_seconds,
								 Schedule *out);

/*
 * First fire time strictly after 'after' (session time zone), or DT_NOEND
 * if there is none within CRON_SEARCH_DAYS.  Cron only.
 */
extern TimestampTz CronNextFire(const Schedule *s, TimestampTz after);

/*
 * Last fire time at or before 'at', or DT_NOBEGIN if there is none within
 * CRON_SEARCH_DAYS.  Cron only.
 */
extern TimestampTz CronPrevFire(const Schedule *s, TimestampTz at);

/*
 * Interval in seconds a schedule stands for at time 'at': the duration; for
 * cron, the gap between its last two fire times at or before 'at'.  Not for
 * CALCULATED.
 */
extern double ScheduleIntervalSeconds(const Schedule *s, TimestampTz at);

#endif							/* PGTRICKLE_SCHEDULE_H */
