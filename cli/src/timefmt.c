/*-------------------------------------------------------------------------
 *
 * timefmt.c
 *	  Turning server values into what people read: ISO 8601 timestamps,
 *	  relative times ("26s ago"), durations, byte sizes, thousands
 *	  separators; and parsing --interval durations.
 *
 * The session runs with TimeZone UTC and DateStyle ISO (see conn.c), so a
 * timestamptz arrives as "2026-02-24 12:34:56.123456+00".
 *
 *-------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "pgtrickle.h"

/*
 * Parse a timestamptz in ISO style with a UTC offset.  Returns false for
 * anything else (infinity, BC dates), which callers then show verbatim.
 */
bool
TimeParse(const char *pgts, double *epoch, long *usec)
{
	struct tm	tm;
	int			n = 0;
	long		frac = 0;
	const char *p;
	int			offh = 0,
				offm = 0,
				sign = 1;

	memset(&tm, 0, sizeof(tm));
	if (sscanf(pgts, "%d-%d-%d %d:%d:%d%n", &tm.tm_year, &tm.tm_mon,
			   &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
		return false;
	p = pgts + n;
	if (*p == '.')
	{
		int			digits = 0;

		for (p++; isdigit((unsigned char) *p); p++)
		{
			if (digits < 6)
			{
				frac = frac * 10 + (*p - '0');
				digits++;
			}
		}
		for (; digits < 6; digits++)
			frac *= 10;
	}
	if (*p == '+' || *p == '-')
	{
		sign = (*p == '-') ? -1 : 1;
		p++;
		if (sscanf(p, "%2d", &offh) != 1)
			return false;
		p += 2;
		if (*p == ':')
			p++;
		if (isdigit((unsigned char) *p))
			offm = atoi(p);
	}
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*epoch = (double) timegm(&tm) - sign * (offh * 3600 + offm * 60)
		+ frac / 1e6;
	if (usec)
		*usec = frac;
	return true;
}

/* "2026-02-24T12:34:56.123456Z", or a copy of the input if unparsable. */
char *
TimeIso(const char *pgts)
{
	double		epoch;
	long		usec;
	time_t		secs;
	struct tm	tm;
	char		buf[64];

	if (!TimeParse(pgts, &epoch, &usec))
		return xstrdup(pgts);
	secs = (time_t) floor(epoch);
	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	return xasprintf("%s.%06ldZ", buf, usec);
}

/* Largest unit only: "26s ago", "5m ago", "3h ago", "2d ago". */
char *
TimeRelative(const char *pgts, double now)
{
	double		epoch;
	double		ago;

	if (pgts == NULL)
		return xstrdup("never");
	if (!TimeParse(pgts, &epoch, NULL))
		return xstrdup(pgts);
	ago = now - epoch;
	if (ago < 0)
		ago = 0;				/* clock skew between client and server */
	if (ago < 60)
		return xasprintf("%ds ago", (int) ago);
	if (ago < 3600)
		return xasprintf("%dm ago", (int) (ago / 60));
	if (ago < 86400)
		return xasprintf("%dh ago", (int) (ago / 3600));
	return xasprintf("%dd ago", (int) (ago / 86400));
}

/* "2026-02-24 12:34:56 UTC (26s ago)" */
char *
TimeAbsolute(const char *pgts, double now)
{
	double		epoch;
	time_t		secs;
	struct tm	tm;
	char		buf[64];
	char	   *rel;
	char	   *res;

	if (pgts == NULL)
		return xstrdup("never");
	if (!TimeParse(pgts, &epoch, NULL))
		return xstrdup(pgts);
	secs = (time_t) floor(epoch);
	gmtime_r(&secs, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	rel = TimeRelative(pgts, now);
	res = xasprintf("%s (%s)", buf, rel);
	free(rel);
	return res;
}

/* Two largest units: "26s", "5m 3s", "3h 5m", "2d 3h". */
char *
TimeDuration(double seconds)
{
	long		s;

	if (seconds < 0)
	{
		char	   *pos = TimeDuration(-seconds);
		char	   *res = xasprintf("-%s", pos);

		free(pos);
		return res;
	}
	s = (long) seconds;
	if (s < 60)
		return xasprintf("%lds", s);
	if (s < 3600)
		return s % 60 ? xasprintf("%ldm %lds", s / 60, s % 60)
			: xasprintf("%ldm", s / 60);
	if (s < 86400)
		return (s % 3600) / 60 ? xasprintf("%ldh %ldm", s / 3600, (s % 3600) / 60)
			: xasprintf("%ldh", s / 3600);
	return (s % 86400) / 3600 ? xasprintf("%ldd %ldh", s / 86400, (s % 86400) / 3600)
		: xasprintf("%ldd", s / 86400);
}

/* "0.4ms", "42ms", "1.5s", then as TimeDuration from a minute on. */
char *
TimeMillis(double ms)
{
	if (ms < 10)
		return xasprintf("%.1fms", ms);
	if (ms < 1000)
		return xasprintf("%.0fms", ms);
	if (ms < 60000)
		return xasprintf("%.1fs", ms / 1000);
	return TimeDuration(ms / 1000);
}

/* "0B", "512KB", "3.2MB": powers of 1024, like pg_size_pretty's units. */
char *
TimeBytes(long long bytes)
{
	static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
	double		v = (double) bytes;
	int			u = 0;

	while ((v >= 1024 || v <= -1024) && u < 5)
	{
		v /= 1024;
		u++;
	}
	if (u == 0 || v >= 10 || v <= -10)
		return xasprintf("%.0f%s", v, units[u]);
	return xasprintf("%.1f%s", v, units[u]);
}

double
TimeNow(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return tv.tv_sec + tv.tv_usec / 1e6;
}

/*
 * Parse a --interval value: a positive number with unit ms, s, m or h; a
 * bare number is seconds.  Returns milliseconds, or -1 when invalid.
 */
long
TimeParseInterval(const char *text)
{
	char	   *end;
	double		v;
	double		mult;

	if (text == NULL || (!isdigit((unsigned char) text[0]) && text[0] != '.'))
		return -1;
	v = strtod(text, &end);
	if (end == text || !isfinite(v))
		return -1;
	if (*end == '\0' || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else
		return -1;
	v *= mult;
	if (v > 86400000.0 * 7)
		return -1;
	return (long) v;
}

/* "1247" -> "1,247" (digits with an optional leading minus sign). */
char *
TimeThousands(const char *digits)
{
	size_t		len = strlen(digits);
	char	   *res = xmalloc(len + len / 3 + 2);
	const char *p = digits;
	char	   *q = res;
	size_t		n;

	if (*p == '-')
		*q++ = *p++;
	n = strlen(p);
	for (size_t i = 0; i < n; i++)
	{
		if (!isdigit((unsigned char) p[i]))
		{
			strcpy(q, p + i);	/* a fraction or something unexpected */
			return res;
		}
		if (i > 0 && (n - i) % 3 == 0)
			*q++ = ',';
		*q++ = p[i];
	}
	*q = '\0';
	return res;
}
