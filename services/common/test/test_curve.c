/* Unit tests of antt_curve: reading the keys (each bad setting refused with
 * a message naming it), and the ZAP handler's decisions by domain, over real
 * tcp sockets on 127.0.0.1 in one context. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "antt_config.h"
#include "antt_curve.h"

static char s_pub[5][41], s_sec[5][41]; /* intake, classification, notification, aggregation, client */

static antt_config_t *s_cfg(const char *self_secret_key)
{
    static const char *const names[] = {"intake", "classification", "notification", "aggregation"};
    antt_config_t *cfg = antt_config_new();
    char k[96];
    for (int i = 0; i < 4; i++) {
        snprintf(k, sizeof(k), "keys.%s_curve_public", names[i]);
        antt_config_set(cfg, k, s_pub[i]);
    }
    if (self_secret_key)
        antt_config_set(cfg, "keys.intake_curve_secret", self_secret_key);
    antt_config_set(cfg, "curve.clients", s_pub[4]);
    return cfg;
}

static int s_setup(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        assert_int_equal(antt_curve_keypair(s_pub[i], s_sec[i]), 0);
    return 0;
}

static void test_off(void **state)
{
    (void)state;
    antt_config_t *cfg = antt_config_new();
    antt_config_set(cfg, "curve.enabled", "false");
    antt_curve_t *c = (antt_curve_t *)1;
    char err[256] = "";
    assert_int_equal(antt_curve_new(cfg, "intake", &c, err, sizeof(err)), 0);
    assert_null(c);
    /* off is a no-op everywhere */
    assert_int_equal(antt_curve_server(NULL, NULL, ANTT_ZONE_INTAKE_PUSH), 0);
    assert_int_equal(antt_curve_client(NULL, NULL, "intake"), 0);
    antt_config_destroy(&cfg);
}

static void test_bad_settings(void **state)
{
    (void)state;
    struct {
        const char *key, *value, *says;
    } bad[] = {
        {"curve.enabled", "maybe", "curve.enabled must be true or false"},
        {"keys.intake_curve_secret", "", "keys.intake_curve_secret is not set"},
        {"keys.intake_curve_secret", "short", "keys.intake_curve_secret is not a Z85"},
        {"keys.intake_curve_secret", "0123456789012345678901234567890123456789\"", "not a Z85"},
        {"keys.intake_curve_public", NULL, "does not belong to keys.intake_curve_secret"},
        {"keys.notification_curve_public", "abc", "keys.notification_curve_public is not a Z85"},
        {"curve.clients", "not-a-key", "curve.clients"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        antt_config_t *cfg = s_cfg(s_sec[0]);
        /* a public key of another pair for "does not belong" */
        antt_config_set(cfg, bad[i].key, bad[i].value ? bad[i].value : s_pub[1]);
        antt_curve_t *c = NULL;
        char err[256] = "";
        assert_int_equal(antt_curve_new(cfg, "intake", &c, err, sizeof(err)), -EINVAL);
        assert_null(c);
        if (strstr(err, bad[i].says) == NULL)
            fail_msg("%s = %s: message \"%s\" does not say \"%s\"", bad[i].key, bad[i].value, err, bad[i].says);
        antt_config_destroy(&cfg);
    }
}

/* A REP server in domain with c's keys, and a REQ client with the given
 * keypair: 1 when a request gets its answer within 2 s. */
static int s_talks(void *ctx, antt_curve_t *c, antt_zone_id_t domain, const char *pub, const char *sec)
{
    void *srv = zmq_socket(ctx, ZMQ_REP), *cli = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0, timeout = 2000;
    zmq_setsockopt(srv, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(cli, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(cli, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    assert_int_equal(antt_curve_server(c, srv, domain), 0);
    assert_int_equal(zmq_bind(srv, "tcp://127.0.0.1:*"), 0);
    char ep[64];
    size_t len = sizeof(ep);
    zmq_getsockopt(srv, ZMQ_LAST_ENDPOINT, ep, &len);
    zmq_setsockopt(cli, ZMQ_CURVE_SERVERKEY, s_pub[0], 40);
    zmq_setsockopt(cli, ZMQ_CURVE_PUBLICKEY, pub, 40);
    zmq_setsockopt(cli, ZMQ_CURVE_SECRETKEY, sec, 40);
    assert_int_equal(zmq_connect(cli, ep), 0);
    int ok = 0;
    char buf[8];
    zmq_setsockopt(srv, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    if (zmq_send(cli, "ping", 4, 0) == 4 && zmq_recv(srv, buf, sizeof(buf), 0) == 4 && zmq_send(srv, "pong", 4, 0) == 4 &&
        zmq_recv(cli, buf, sizeof(buf), 0) == 4)
        ok = 1;
    zmq_close(cli);
    zmq_close(srv);
    return ok;
}

/* Who may connect where is a security decision: the table itself, row by
 * row, against what each socket exists for. */
static void test_zones(void **state)
{
    (void)state;
    const unsigned I = ANTT_WHO_INTAKE, C = ANTT_WHO_CLASSIFICATION, N = ANTT_WHO_NOTIFICATION,
                   A = ANTT_WHO_AGGREGATION, K = ANTT_WHO_CLIENT, G = ANTT_WHO_GATEWAY, S = ANTT_WHO_STAFF;
    const unsigned all[] = {I, C, N, A, K, G, S};
    const struct {
        antt_zone_id_t id;
        unsigned admits;
    } want[] = {
        {ANTT_ZONE_GATEWAYS, G | K},       {ANTT_ZONE_INTAKE_PUSH, C},   {ANTT_ZONE_NOTIFY_CLASSIFIED, C},
        {ANTT_ZONE_AGG_CLASSIFIED, C},     {ANTT_ZONE_DESK_FEED, A},     {ANTT_ZONE_TRIAGE, K},
        {ANTT_ZONE_TRENDS, S},             {ANTT_ZONE_SNAPSHOTS, K | S},
    };
    assert_int_equal(sizeof(want) / sizeof(want[0]), ANTT_ZONE_COUNT);
    for (size_t i = 0; i < ANTT_ZONE_COUNT; i++) {
        const antt_zone_t *z = antt_zone_get(want[i].id);
        assert_ptr_equal(antt_zone_by_domain(z->domain), z);
        assert_true(z->maxmsg >= ANTT_ZONE_CONTROL_MAX && z->maxmsg <= 64 * 1024);
        for (size_t w = 0; w < sizeof(all) / sizeof(all[0]); w++)
            if (antt_zone_admits(z, all[w]) != !!(want[i].admits & all[w]))
                fail_msg("zone %s: holder bit %u %s", z->domain, all[w],
                         antt_zone_admits(z, all[w]) ? "admitted" : "refused");
    }
    /* an unknown domain, nobody, two holders at once: refused */
    assert_null(antt_zone_by_domain("antt.services"));
    assert_false(antt_zone_admits(NULL, C));
    assert_false(antt_zone_admits(antt_zone_get(ANTT_ZONE_GATEWAYS), 0));
    assert_false(antt_zone_admits(antt_zone_get(ANTT_ZONE_GATEWAYS), G | C));
    assert_int_equal(antt_zone_service_bit("aggregation"), A);
    assert_int_equal(antt_zone_service_bit("client"), 0);
}

static void test_zap_domains(void **state)
{
    (void)state;
    antt_config_t *cfg = s_cfg(s_sec[0]);
    antt_curve_t *c = NULL;
    char err[256] = "";
    assert_int_equal(antt_curve_new(cfg, "intake", &c, err, sizeof(err)), 0);
    assert_non_null(c);
    void *ctx = zmq_ctx_new();
    assert_int_equal(antt_curve_start_zap(c, ctx), 0);
    char gpub[41], gsec[41], xpub[41], xsec[41];
    antt_curve_keypair(gpub, gsec);
    antt_curve_keypair(xpub, xsec);
    const char *keys[] = {gpub, "not a key"}, *codes[] = {"app", "bad"};
    antt_curve_set_gateways(c, keys, codes, 2);

    /* each key only in its zones: classification on intake's PUSH, not at
     * the gateways' door; the client at the gateways' door, not on the
     * PUSH; a gateway only at its door; a stranger nowhere */
    assert_true(s_talks(ctx, c, ANTT_ZONE_INTAKE_PUSH, s_pub[1], s_sec[1]));
    assert_false(s_talks(ctx, c, ANTT_ZONE_GATEWAYS, s_pub[1], s_sec[1]));
    assert_false(s_talks(ctx, c, ANTT_ZONE_INTAKE_PUSH, s_pub[3], s_sec[3]));
    assert_false(s_talks(ctx, c, ANTT_ZONE_INTAKE_PUSH, s_pub[4], s_sec[4]));
    assert_true(s_talks(ctx, c, ANTT_ZONE_GATEWAYS, s_pub[4], s_sec[4]));
    assert_true(s_talks(ctx, c, ANTT_ZONE_GATEWAYS, gpub, gsec));
    assert_false(s_talks(ctx, c, ANTT_ZONE_TRIAGE, gpub, gsec));
    assert_false(s_talks(ctx, c, ANTT_ZONE_GATEWAYS, xpub, xsec));
    /* a gateway removed is refused from then on, and the removal is told */
    assert_int_equal(antt_curve_set_gateways(c, NULL, NULL, 0), 1);
    assert_false(s_talks(ctx, c, ANTT_ZONE_GATEWAYS, gpub, gsec));
    /* the same key for another gateway is a revocation too; a new one is not */
    const char *app[] = {gpub}, *app_code[] = {"app"}, *other_code[] = {"other"};
    assert_int_equal(antt_curve_set_gateways(c, app, app_code, 1), 0);
    assert_int_equal(antt_curve_set_gateways(c, app, app_code, 1), 0);
    assert_int_equal(antt_curve_set_gateways(c, app, other_code, 1), 1);
    unsigned long admitted, refused;
    antt_curve_counts(c, &admitted, &refused);
    assert_int_equal(admitted, 3);
    assert_int_equal(refused, 6);
    /* what the ZAP handler did not see is counted with it */
    antt_curve_count_refused(c);
    antt_curve_counts(c, &admitted, &refused);
    assert_int_equal(refused, 7);

    zmq_ctx_shutdown(ctx);
    antt_curve_destroy(&c);
    assert_null(c);
    zmq_ctx_term(ctx);
    antt_config_destroy(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_off),
        cmocka_unit_test(test_bad_settings),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_zap_domains),
    };
    return cmocka_run_group_tests(tests, s_setup, NULL);
}
