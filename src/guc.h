/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  pg_trickle configuration parameters (SPEC section 6).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGT_GUC_H
#define PGT_GUC_H

typedef enum PgtCdcMode
{
	PGT_CDC_TRIGGER,
	PGT_CDC_WAL,
	PGT_CDC_AUTO
} PgtCdcMode;

extern bool pgt_enabled;
extern int	pgt_scheduler_interval_ms;
extern int	pgt_min_schedule_seconds;
extern int	pgt_default_schedule_seconds;
extern int	pgt_max_concurrent_refreshes;
extern int	pgt_max_consecutive_errors;
extern int	pgt_history_retention_days;
extern int	pgt_cdc_mode;
extern double pgt_differential_max_change_ratio;
extern int	pgt_max_buffer_rows;
extern int	pgt_delta_statements_built;

extern void GucInit(void);

#endif							/* PGT_GUC_H */
