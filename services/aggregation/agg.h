/* antt-aggregation: crime-trend statistics.
 *
 * Incident changes reach the trend_queue table by a trigger in the same
 * transaction; aggregation drains it (antt_trend_apply_queue: each
 * incident's contribution diffed against the recorded one, so replays,
 * duplicates and reordering change nothing), then publishes every changed
 * key of its live state as a sequenced TrendUpdate (ZeroMQ PUB, and SSE) and
 * serves snapshots on a ROUTER: the Clone pattern. ZeroMQ messages from
 * classification and notification only say "drain now"; a timer drains
 * anyway. HTTP serves trend queries, the yearly summary, CSV, response
 * times, spikes, hotspots and the dashboard page. */
#ifndef AGG_H
#define AGG_H

#include <stddef.h>

int agg_main(int argc, char **argv);

/* The dashboard's files, built into the binary (agg_assets.c, generated). */
typedef struct agg_asset {
    const char *name;         /* "index.html" */
    const char *content_type; /* "text/html; charset=utf-8" */
    const unsigned char *data;
    size_t len;
} agg_asset_t;

const agg_asset_t *agg_asset(const char *name);

#endif
