/* classify_worker: what the classification worker's two files share (not a
 * public API): the worker, its lanes and their batches. classify_service.c
 * receives and classifies reports and runs the service; classify_record.c
 * records a lane's batches with antt_classify_apply() and publishes what
 * they changed after the commit. */
#ifndef CLASSIFY_WORKER_H
#define CLASSIFY_WORKER_H

#include <stdint.h>

#include "antt_bus.h"
#include "antt_db.h"
#include "antt_metrics.h"
#include "antt_service.h"
#include "antt_util.h"
#include "classify.h"
#include "classify_areas.h"
#include "classify_engine.h"
#include "classify_settings.h"

/* Times a batch rolled back by a deadlock is sent again before it is left
 * to intake's re-drive. */
#define CW_RETRIES 3

/* What the worker keeps of a report between classifying and publishing. */
typedef struct cw_item {
    char report_id[ANTT_UUID_LEN + 1]; /* the report */
    classify_result_t res;             /* reasons (owned) */
    uint64_t t0;                       /* when it arrived, monotonic ns */
    int has_pt;                        /* lat/lon given */
    double lat, lon;                   /* degrees */
    int64_t occ_ms;                    /* occurred (else received) time */
    int64_t received_ms;               /* when intake received it */
    int64_t committed_ms;              /* when intake committed it (fast path), else 0 */
    int imported;                      /* imported history: classification given */
    int quiet;                         /* imported and not new: recorded, not announced */
} cw_item_t;

/* A batch of reports recorded by one job. */
typedef struct cw_batch {
    antt_buf_t json;  /* jsonb array of items */
    cw_item_t *items;  /* n items, in array order */
    int n;            /* items */
    int cap;          /* allocated items */
    int reviews;      /* items that need review */
} cw_batch_t;

/* A lane: one connection recording, one batch after another, the reports of
 * some categories (category index modulo the number of lanes). Reports of
 * one category always take the same lane, so the per-category lock of
 * antt_classify_apply never makes two lanes wait for each other, and
 * duplicates are found in the same order as with one. */
#define CW_MAX_LANES 8
typedef struct cw_lane {
    antt_db_t *db;    /* writes its batches */
    cw_batch_t pending; /* filling */
    int inflight;     /* batches submitted, not completed */
} cw_lane_t;

typedef struct cw_worker {
    antt_service_t *svc;           /* the service */
    classify_settings_t set;       /* the worker's settings, checked at start */
    classify_engine_t *engine;     /* rules, model and classifier; reloaded on SIGHUP */
    classify_areas_t *areas;       /* area names, reloaded on a timer */
    cw_lane_t lanes[CW_MAX_LANES];   /* classification.lanes of them */
    int nlanes;
    antt_db_t *rdb;                /* reads areas, makes partitions */
    antt_bus_t *pull;              /* from intake */
    antt_bus_t *pub;               /* to notification and aggregation */
    int max_inflight;              /* classification.pipeline_depth, per lane */
    int batch_max;                 /* classification.batch_max */
    char radius[32];               /* classification.duplicate_radius_m */
    char window[32];               /* classification.duplicate_window_s */
    double radius_m, window_s;     /* the same, as numbers */
    char ack_s[96];                /* "{p1,p2,p3,p4}" acknowledgement seconds */
    const char *unlocated_desk;    /* desk for reports whose area is unknown */
    int closing;                   /* stop requested */
    uv_timer_t timer;              /* area reload and partition upkeep */
    antt_metric_t *m_new, *m_joined, *m_replay, *m_failed, *m_bad; /* counters */
    antt_metric_t *m_classify_s;   /* classifier time per report */
    antt_metric_t *m_latency_s;    /* arrival to publication */
    antt_metric_t *m_stage_s;      /* intake's commit to publication */
    antt_metric_t *m_batch;        /* batch sizes */
    antt_metric_t *m_areas;        /* areas known */
    antt_metric_t *m_review_disagree, *m_review_unsure; /* reports that need review, by why */
    antt_metric_t *m_review_ratio; /* share of classified reports that need review */
    antt_metric_t *m_model;        /* antt_classify_model_info{version} = 1 */
    antt_metric_t *m_model_examples; /* examples the model was trained on */
    antt_metric_t *m_reloads_ok, *m_reloads_failed; /* SIGHUP reloads */
    antt_metric_t *m_corrections[CLASSIFY_NCAT]; /* dispatchers' reclassifications to each category */
    double classified;             /* reports classified since start */
    double reviewed;               /* of which needing review */
} cw_worker_t;

/* Frees a batch's items and text (the batch is then empty). */
void cw_batch_cleanup(cw_batch_t *b);
/* Submits a lane's pending batch when one of its pipeline slots is free. */
void cw_flush(cw_worker_t *w, cw_lane_t *lane);

#endif
