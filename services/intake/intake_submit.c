/* intake_submit: the path every report takes, whichever protocol it came by:
 * authenticate, validate, rate-limit, store (group commit), push, answer. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "antt_attributes.h"
#include "antt_danger.h"
#include "antt_log.h"
#include "intake.h"

void intake_reply_init(intake_reply_t *reply, const intake_reply_ops_t *ops, intake_t *in)
{
    memset(reply, 0, sizeof(*reply));
    reply->ops = ops;
    reply->in = in;
    reply->start_ns = antt_mono_ns();
}

void intake_reply_ok(intake_reply_t *reply, const char *report_id, int64_t received_ms, int replayed)
{
    intake_t *in = reply->in;
    antt_metric_inc(in->m_accepted);
    antt_metric_observe(in->m_ack_seconds, (double)(antt_mono_ns() - reply->start_ns) / 1e9);
    reply->ops->ok(reply, report_id, received_ms, replayed);
    reply->ops->destroy(reply);
}

void intake_reply_error(intake_reply_t *reply, int status, const char *code, const char *message,
                        int retry_after_s)
{
    intake_t *in = reply->in;
    if (status == 429)
        antt_metric_inc(in->m_limited);
    else if (status >= 500)
        antt_metric_inc(in->m_unavailable);
    else
        antt_metric_inc(in->m_rejected);
    reply->ops->error(reply, status, code, message, retry_after_s);
    reply->ops->destroy(reply);
}

static void s_on_stored(intake_report_t *r, int status, const char *report_id, int64_t received_ms,
                        int replayed, void *arg)
{
    intake_reply_t *reply = arg;
    intake_t *in = reply->in;
    if (status != 0) {
        intake_reply_error(reply, 503, "unavailable",
                           "the report could not be stored now; retry with the same idempotency key",
                           2);
        return;
    }
    if (in->set.test_crash_after_commit) {
        /* test hook: die between commit and push/answer, as a crash would */
        ANTT_LOG(ANTT_WARN, "crash_after_commit: killing self report=%s", report_id);
        raise(SIGKILL);
    }
    if (!replayed)
        intake_push_report(in, r, r->contact_sealed != NULL, 0);
    else if (r->has_reporter && in->reporters)
        intake_reporters_give_back(in->reporters, r->gateway_id, r->reporter_hash); /* a retry costs no quota */
    ANTT_LOG(ANTT_DEBUG, "report %s gateway=%s report=%s", replayed ? "replayed" : "stored",
             r->gateway_code, report_id);
    intake_reply_ok(reply, report_id, received_ms, replayed);
}

/* After the reporter's quota refused a report: a retry of a report already
 * stored gets its id (it creates nothing and costs nothing); anything else
 * gets the 429. */
static void s_on_found(intake_report_t *r, int status, const char *report_id, int64_t received_ms, int replayed,
                       void *arg)
{
    intake_reply_t *reply = arg;
    if (status == 0) {
        ANTT_LOG(ANTT_DEBUG, "report replayed over quota gateway=%s report=%s", r->gateway_code, report_id);
        intake_reply_ok(reply, report_id, received_ms, replayed);
        return;
    }
    intake_reply_error(reply, 429, "reporter_rate_limited", "too many reports from this phone number; retry later",
                       reply->limited_s);
}

static intake_report_t *s_heap_report(const intake_report_t *tmp, const intake_gateway_t *gw, unsigned emergency)
{
    intake_report_t *r = antt_xmalloc(sizeof(*r));
    *r = *tmp;
    r->gateway_id = gw->id;
    r->gateway_code = antt_xstrdup(gw->code);
    r->emergency = emergency;
    return r;
}

void intake_submit(intake_t *in, const char *api_key, size_t api_key_len,
                   const intake_input_t *input, const char *curve_gateway, intake_reply_t *reply)
{
    int64_t now = antt_now_ms();
    if (!intake_gateways_loaded(in->gateways)) {
        intake_reply_error(reply, 503, "starting", "intake is starting; retry shortly", 1);
        return;
    }
    intake_gateway_t *gw = intake_gateways_auth(in->gateways, api_key, api_key_len);
    if (gw == NULL) {
        intake_reply_error(reply, 403, api_key_len ? "invalid_api_key" : "missing_api_key",
                           api_key_len ? "api_key is not valid" : "api_key is required", 0);
        return;
    }
    if (curve_gateway && strcmp(curve_gateway, gw->code) != 0) {
        /* a gateway's CURVE key speaks for that gateway only */
        intake_reply_error(reply, 403, "api_key_not_yours",
                           "api_key belongs to another gateway than this connection's key", 0);
        return;
    }
    if (input->import_given && !gw->may_import) {
        /* history is taken as fact: only from a gateway trusted with it */
        intake_reply_error(reply, 403, "import_not_allowed",
                           "this gateway may not submit imported history (antt gateway add CODE NAME --import)", 0);
        return;
    }
    if (!input->import_given) {
        /* a resident in danger is told whom to call before anything else can
         * fail (a quota, a bad field, the database): when the text shows it,
         * or an answer says someone is hurt, trapped or in danger now;
         * history is not scanned */
        antt_danger_t d;
        memset(&d, 0, sizeof(d));
        unsigned text = input->description && antt_danger_scan(input->description, input->description_len, &d) > 0
                            ? d.mask
                            : 0;
        unsigned answered = antt_attr_urgent_services(input->service_code, input->attributes);
        if (text | answered) {
            reply->emergency = text | answered;
            reply->notice = antt_danger_notice(reply->emergency, input->language, d.english);
            antt_metric_inc(in->m_emergency);
            ANTT_LOG(ANTT_INFO, "emergency notice gateway=%s services=%u cue=%s", gw->code, reply->emergency,
                     text ? d.cues[0] : "answer");
        }
    }
    int wait = intake_bucket_take(&gw->bucket, gw->rate_per_s, gw->burst, now);
    if (wait > 0) {
        intake_reply_error(reply, 429, "gateway_rate_limited",
                           "this gateway sends more reports than its quota allows", wait);
        return;
    }
    intake_report_t tmp;
    intake_error_t err;
    if (intake_validate(input, &in->keys, now, &tmp, &err) != 0) {
        intake_report_cleanup(&tmp);
        intake_reply_error(reply, 400, err.code, err.message, 0);
        return;
    }
    if (tmp.area_code && !intake_gateways_area_known(in->gateways, tmp.area_code)) {
        intake_report_cleanup(&tmp);
        intake_reply_error(reply, 400, "unknown_area_code",
                           "area_code is not a known area", 0);
        return;
    }
    if (tmp.has_reporter) {
        wait = intake_reporters_take(in->reporters, gw->id, tmp.reporter_hash, now);
        if (wait > 0) {
            /* over quota: unless it is a retry of a stored report */
            reply->limited_s = wait;
            intake_store_find(in->store, s_heap_report(&tmp, gw, reply->emergency), s_on_found, reply);
            return;
        }
    }
    intake_store_submit(in->store, s_heap_report(&tmp, gw, reply->emergency), s_on_stored, reply);
}
