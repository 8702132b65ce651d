/* notify_publish: classified incidents in, incident updates out. Each update
 * goes on the ZeroMQ PUB once per desk that sees it ("desk.<DESK>.") and
 * once for aggregation ("incident.update.<AREA>"), then to the feed journal
 * for the SSE streams (notify_sse.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_log.h"
#include "antt_util.h"
#include "notify_int.h"

void notify_publish(n_svc_t *n, const Antt__V1__IncidentUpdate *in)
{
    /* a dispatcher's list shows report text and ward names; a feed never
     * does (aggregation reads no report at all) */
    Antt__V1__IncidentUpdate u = *in;
    u.ward_name = NULL;
    u.first_text = NULL;
    const char *aud[NOTIFY_MAX_AUDIENCE];
    notify_target_t who = {u.desk_code, u.escalated_to, u.claimed_desk, u.category,
                           u.has_priority ? (int)u.priority : 0};
    int k = notify_audience(n->desks, &who, aud, NOTIFY_MAX_AUDIENCE);
    /* the PUB's one subscriber is aggregation, the service that faces the
     * internet: it counts incidents and needs no dispatcher's words or
     * names (notes, assignees, who acted or claimed); the desks' SSE streams
     * below get them in full */
    Antt__V1__IncidentUpdate pub = u;
    pub.note = NULL;
    pub.assignee = NULL;
    pub.actor = NULL;
    pub.claimed_by = NULL;
    size_t len = antt__v1__incident_update__get_packed_size(&pub);
    uint8_t *buf = antt_xmalloc(len + 1);
    antt__v1__incident_update__pack(&pub, buf);
    char topic[160];
    for (int i = 0; i < k; i++) {
        int tl = snprintf(topic, sizeof(topic), "desk.%s.", aud[i]);
        if (antt_bus_send(n->pub, topic, (size_t)tl, 1) == 0)
            antt_bus_send(n->pub, buf, len, 0);
    }
    int tl = snprintf(topic, sizeof(topic), "incident.update.%s", u.area_code ? u.area_code : "");
    if (antt_bus_send(n->pub, topic, (size_t)tl, 1) == 0)
        antt_bus_send(n->pub, buf, len, 0);
    free(buf);
    antt_metric_inc(n->m_published);
    /* any announcement of an incident shows it on the desks: the catch-up
     * leaves it alone */
    notify_seen_add(n->seen, u.incident_id, antt_now_ms());
    if (u.kind != ANTT__V1__UPDATE_KIND__UPDATE_REPORT_JOINED && u.kind != ANTT__V1__UPDATE_KIND__UPDATE_NOTE)
        notify_webhook_kick(n->wh);
    notify_sse_append(n->sse, &u, aud, k);
}

void notify_on_classified(antt_bus_t *bus, zmq_msg_t *frames, size_t nframes, void *arg)
{
    n_svc_t *n = arg;
    (void)bus;
    if (nframes != 2) {
        antt_metric_inc(n->m_bad);
        return;
    }
    if (!notify_active(n))
        return; /* the active one announces it; after a takeover, the catch-up does */
    Antt__V1__ClassifiedIncident *c = antt__v1__classified_incident__unpack(
        NULL, zmq_msg_size(&frames[1]), zmq_msg_data(&frames[1]));
    if (c == NULL || c->incident_id == NULL || !antt_uuid_valid(c->incident_id)) {
        antt_metric_inc(n->m_bad);
        if (c)
            antt__v1__classified_incident__free_unpacked(c, NULL);
        return;
    }
    antt_metric_inc(n->m_classified);
    Antt__V1__IncidentUpdate u = ANTT__V1__INCIDENT_UPDATE__INIT;
    u.incident_id = c->incident_id;
    u.has_version = c->has_version;
    u.version = c->version;
    u.has_kind = 1;
    /* a duplicate joining an open incident updates it ("+1 report"), it is
     * not new work */
    u.kind = c->new_incident ? ANTT__V1__UPDATE_KIND__UPDATE_CREATED : ANTT__V1__UPDATE_KIND__UPDATE_REPORT_JOINED;
    if (c->new_incident) {
        u.has_status = 1;
        u.status = ANTT__V1__INCIDENT_STATUS__STATUS_NEW;
    }
    u.category = c->category;
    u.has_priority = c->has_priority;
    u.priority = c->priority;
    u.area_code = c->area_code;
    u.desk_code = c->desk_code;
    u.has_report_count = c->has_report_count;
    u.report_count = c->report_count;
    u.actor = "classification";
    u.has_at_ms = 1;
    u.at_ms = antt_now_ms();
    u.has_occurred_at_ms = c->has_occurred_at_ms;
    u.occurred_at_ms = c->occurred_at_ms;
    u.has_ack_deadline_ms = c->has_ack_deadline_ms;
    u.ack_deadline_ms = c->ack_deadline_ms;
    u.has_received_at_ms = c->has_received_at_ms;
    u.received_at_ms = c->received_at_ms;
    u.has_created_at_ms = c->has_created_at_ms;
    u.created_at_ms = c->created_at_ms;
    /* a new incident is as unsure as its report; a joining report can only
     * add a doubt (the incident keeps the ones it had) */
    char *reason = c->review_reason;
    if (c->has_needs_review && (c->new_incident || c->needs_review)) {
        u.has_needs_review = 1;
        u.needs_review = c->needs_review;
        if (c->needs_review && reason && *reason) {
            u.n_review_reasons = 1;
            u.review_reasons = &reason;
        }
    }
    notify_publish(n, &u);
    ANTT_LOG(ANTT_DEBUG, "published incident=%s kind=%s desk=%s", u.incident_id, notify_kind_name(u.kind),
             u.desk_code ? u.desk_code : "");
    int64_t now = antt_now_ms();
    if (c->has_received_at_ms && c->received_at_ms > 0)
        antt_metric_observe(n->m_feed_s, (double)(now - c->received_at_ms) / 1000.0);
    if (c->has_classified_at_ms && c->classified_at_ms > 0)
        antt_metric_observe(n->m_stage_s, (double)(now - c->classified_at_ms) / 1000.0);
    if (c->new_incident && c->has_ack_deadline_ms)
        notify_schedule(n, c->ack_deadline_ms);
    antt__v1__classified_incident__free_unpacked(c, NULL);
}
