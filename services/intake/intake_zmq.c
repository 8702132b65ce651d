/* intake_zmq: the gateway protocol over ZeroMQ. A gateway (DEALER or REQ)
 * sends one SubmitReport per message to intake's ROUTER; intake answers with
 * one SubmitReply on the same envelope, after the report is committed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "antt/v1/report.pb-c.h"
#include "antt_danger.h"
#include "antt_log.h"
#include "intake.h"

static Antt__V1__SubmitReply__Status s_status(int http_status)
{
    switch (http_status) {
    case 0: return ANTT__V1__SUBMIT_REPLY__STATUS__OK;
    case 403: return ANTT__V1__SUBMIT_REPLY__STATUS__FORBIDDEN;
    case 429: return ANTT__V1__SUBMIT_REPLY__STATUS__RATE_LIMITED;
    case 503: return ANTT__V1__SUBMIT_REPLY__STATUS__UNAVAILABLE;
    default: return ANTT__V1__SUBMIT_REPLY__STATUS__BAD_REQUEST;
    }
}

/* a report's answer goes back on its envelope */
typedef struct s_zmq_reply {
    intake_reply_t base;                /* first: what intake_submit sees */
    zmq_msg_t env[ANTT_BUS_MAX_FRAMES]; /* routing frames */
    size_t nenv;                        /* frames */
} s_zmq_reply_t;

static void s_answer(s_zmq_reply_t *z, int status, const char *report_id, int64_t received_ms, int replayed,
                     const char *code, const char *message, int retry_after_s)
{
    intake_reply_t *reply = &z->base;
    intake_t *in = reply->in;
    Antt__V1__SubmitReply rep = ANTT__V1__SUBMIT_REPLY__INIT;
    rep.has_status = 1;
    rep.status = s_status(status);
    if (report_id) {
        rep.report_id = (char *)report_id;
        rep.has_replayed = 1;
        rep.replayed = replayed != 0;
        rep.has_received_at_ms = 1;
        rep.received_at_ms = received_ms;
    }
    rep.error_code = (char *)code;
    rep.error = (char *)message;
    if (retry_after_s > 0) {
        rep.has_retry_after_s = 1;
        rep.retry_after_s = (uint32_t)retry_after_s;
    }
    const char *numbers[3];
    if (reply->notice) {
        rep.emergency_notice = (char *)reply->notice;
        rep.n_emergency_numbers = antt_danger_numbers(reply->emergency, numbers);
        rep.emergency_numbers = (char **)numbers;
    }
    size_t i = 0;
    int rc = 0;
    if (in->router != NULL && !in->closing) {
        for (; i < z->nenv && rc == 0; i++)
            rc = antt_bus_send_msg(in->router, &z->env[i], 1);
        if (rc == 0)
            rc = antt_bus_send_pb(in->router, &rep.base, 0);
        if (rc != 0)
            ANTT_LOG(ANTT_WARN, "could not answer gateway over zmq: %s", zmq_strerror(-rc));
    }
    for (; i < z->nenv; i++)
        zmq_msg_close(&z->env[i]);
    z->nenv = 0;
}

static void s_ok(intake_reply_t *reply, const char *report_id, int64_t received_ms, int replayed)
{
    s_answer((s_zmq_reply_t *)reply, 0, report_id, received_ms, replayed, NULL, NULL, 0);
}

static void s_error(intake_reply_t *reply, int status, const char *code, const char *message, int retry_after_s)
{
    s_answer((s_zmq_reply_t *)reply, status, NULL, 0, 0, code, message, retry_after_s);
}

static void s_destroy(intake_reply_t *reply)
{
    free(reply);
}

static const intake_reply_ops_t s_ops = {s_ok, s_error, s_destroy};

int intake_input_from_pb(const Antt__V1__SubmitReport *m, intake_input_t *in, const char **code, const char **msg)
{
    memset(in, 0, sizeof(*in));
    if (m->idempotency_key == NULL || *m->idempotency_key == '\0') {
        *code = "missing_idempotency_key";
        *msg = "idempotency_key is required over ZeroMQ";
        return -1;
    }
    in->idempotency_key = m->idempotency_key;
    in->description = m->description;
    in->description_len = m->description ? strlen(m->description) : 0;
    in->service_code = m->service_code;
    if (m->location) {
        Antt__V1__Location *l = m->location;
        if (l->has_lat != l->has_lon) {
            *code = "incomplete_location";
            *msg = "lat and lon must be given together";
            return -1;
        }
        in->has_latlon = l->has_lat;
        in->lat = l->lat;
        in->lon = l->lon;
        in->area_code = l->area_code;
        in->address = l->address;
        in->address_len = l->address ? strlen(l->address) : 0;
    }
    if (m->has_occurred_at_ms) {
        in->has_occurred_ms = 1;
        in->occurred_ms = m->occurred_at_ms;
    }
    in->media_urls = (const char *const *)m->media_urls;
    in->nmedia = m->n_media_urls;
    if (m->contact) {
        in->name = m->contact->name;
        in->phone = m->contact->phone;
        in->email = m->contact->email;
    }
    in->language = m->language;
    in->import_given = (m->has_imported && m->imported) || m->has_imported_priority || m->imported_status;
    in->imported = m->has_imported && m->imported;
    in->has_imported_priority = m->has_imported_priority;
    in->imported_priority = m->imported_priority;
    in->imported_status = m->imported_status;
    return 0;
}

void intake_zmq_on_message(antt_bus_t *bus, zmq_msg_t *frames, size_t n, void *arg)
{
    intake_t *in = arg;
    (void)bus;
    if (n < 2)
        return; /* a ROUTER message has at least the identity and a body */
    s_zmq_reply_t *z = antt_xcalloc(1, sizeof(*z));
    intake_reply_t *reply = &z->base;
    intake_reply_init(reply, &s_ops, in);
    z->nenv = n - 1;
    for (size_t i = 0; i < n - 1; i++) {
        zmq_msg_init(&z->env[i]);
        zmq_msg_move(&z->env[i], &frames[i]);
    }
    zmq_msg_t *body = &frames[n - 1];
    if (zmq_msg_size(body) > INTAKE_MAX_BODY) {
        intake_reply_error(reply, 413, "too_large", "the message is larger than 16 KiB", 0);
        return;
    }
    Antt__V1__SubmitReport *m =
        antt__v1__submit_report__unpack(NULL, zmq_msg_size(body), zmq_msg_data(body));
    if (m == NULL) {
        intake_reply_error(reply, 400, "bad_message", "the message is not a SubmitReport", 0);
        return;
    }
    intake_input_t input;
    const char *code, *msg;
    if (intake_input_from_pb(m, &input, &code, &msg) != 0) {
        antt__v1__submit_report__free_unpacked(m, NULL);
        intake_reply_error(reply, 400, code, msg, 0);
        return;
    }
    /* protobuf strings are NUL-terminated by protobuf-c: an embedded NUL
     * shortens them, and the validator refuses what is left if it is bad */
    /* a connection made with a gateway's CURVE key (User-Id from the ZAP
     * handler) may only use that gateway's api_key */
    const char *uid = zmq_msg_gets(body, "User-Id");
    const char *curve_gateway = uid && !strncmp(uid, "gateway:", 8) ? uid + 8 : NULL;
    intake_submit(in, m->api_key, m->api_key ? strlen(m->api_key) : 0, &input, curve_gateway, reply);
    antt__v1__submit_report__free_unpacked(m, NULL);
}
