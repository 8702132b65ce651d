/* antt_curve: CURVE keys of the services and their clients, and the ZAP
 * handler thread that admits only known keys (ZeroMQ RFC 27). */
#include "antt_curve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>
#include <zmq.h>

#include "antt_log.h"
#include "antt_util.h"
#include "antt_zone.h"

#define S_NSERVICES 4
#define S_ZAP_FRAMES 8

static const char *const s_services[S_NSERVICES] = {"intake", "classification", "notification", "aggregation"};

typedef struct s_key_s {
    uint8_t key[32]; /* public key, binary */
    char user[80];   /* ZAP User-Id of its holder */
    unsigned who;    /* its holder's ANTT_WHO_* bit */
} s_key_t;

struct antt_curve_s {
    char self[32];                                    /* service name or "client" */
    char pub[ANTT_CURVE_KEY_LEN + 1];                 /* own public key, Z85 */
    char sec[ANTT_CURVE_KEY_LEN + 1];                 /* own secret key, Z85 */
    char peers[S_NSERVICES][ANTT_CURVE_KEY_LEN + 1];  /* services' public keys ("" unknown) */
    s_key_t services[S_NSERVICES];                    /* the same, for the ZAP handler */
    int nservices;                                    /* known of them */
    s_key_t *clients;                                 /* curve.clients, then curve.staff_clients */
    size_t nclients;                                  /* entries of clients */
    pthread_mutex_t mu;                               /* guards gateways */
    s_key_t *gateways;                                /* active registered gateways */
    size_t ngateways;                                 /* entries of gateways */
    void *zap;                                        /* the handler's REP socket */
    pthread_t thread;                                 /* the handler */
    int running;                                      /* thread started */
    atomic_ulong admitted;                            /* handshakes let in */
    atomic_ulong refused;                             /* handshakes turned away */
};

int antt_curve_key_valid(const char *text)
{
    uint8_t bin[32];
    return text && strlen(text) == ANTT_CURVE_KEY_LEN && zmq_z85_decode(bin, text) != NULL;
}

int antt_curve_keypair(char *pub, char *sec)
{
    return zmq_curve_keypair(pub, sec) == 0 ? 0 : -EIO;
}

static int s_peer_index(const char *name)
{
    for (int i = 0; i < S_NSERVICES; i++)
        if (!strcmp(name, s_services[i]))
            return i;
    return -1;
}

/* the setting keys.<who>_curve_<half>, or NULL */
static const char *s_key_setting(const antt_config_t *cfg, const char *who, const char *half)
{
    char k[96];
    snprintf(k, sizeof(k), "keys.%s_curve_%s", who, half);
    const char *v = antt_config_get(cfg, k, NULL);
    return v && *v ? v : NULL;
}

/* Appends the keys of list setting name (Z85 public keys separated by
 * spaces or commas), held by who. 0, or -1 with why in err. */
static int s_keys(antt_curve_t *c, const antt_config_t *cfg, const char *name, unsigned who, char *err, size_t errlen)
{
    const char *list = antt_config_get(cfg, name, "");
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, " ,\t");
        if (n > 0) {
            char one[64];
            snprintf(one, sizeof(one), "%.*s", (int)(n < 63 ? n : 63), p);
            if (n != ANTT_CURVE_KEY_LEN || !antt_curve_key_valid(one)) {
                snprintf(err, errlen, "%s: \"%.20s\" is not a Z85 CURVE public key", name, one);
                return -1;
            }
            c->clients = antt_xrealloc(c->clients, (c->nclients + 1) * sizeof(*c->clients));
            zmq_z85_decode(c->clients[c->nclients].key, one);
            snprintf(c->clients[c->nclients].user, sizeof(c->clients[0].user), who == ANTT_WHO_STAFF ? "staff" : "client");
            c->clients[c->nclients].who = who;
            c->nclients++;
        }
        p += n;
        p += strspn(p, " ,\t");
    }
    return 0;
}

int antt_curve_new(const antt_config_t *cfg, const char *self, antt_curve_t **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *on = antt_config_get(cfg, "curve.enabled", "true");
    if (!strcmp(on, "false") || !strcmp(on, "0") || !strcmp(on, "off") || !strcmp(on, "no"))
        return 0;
    if (strcmp(on, "true") && strcmp(on, "1") && strcmp(on, "on") && strcmp(on, "yes")) {
        snprintf(err, errlen, "curve.enabled must be true or false, not \"%s\"", on);
        return -EINVAL;
    }
    antt_curve_t *c = antt_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    snprintf(c->self, sizeof(c->self), "%s", self);
    const char *sec = s_key_setting(cfg, self, "secret"), *pub = s_key_setting(cfg, self, "public");
    char derived[ANTT_CURVE_KEY_LEN + 1];
    if (sec == NULL) {
        snprintf(err, errlen, "CURVE is on but keys.%s_curve_secret is not set (antt keygen --dir makes keys)", self);
        goto fail;
    }
    if (!antt_curve_key_valid(sec) || zmq_curve_public(derived, sec) != 0) {
        snprintf(err, errlen, "keys.%s_curve_secret is not a Z85 CURVE key of 40 characters", self);
        goto fail;
    }
    if (pub && strcmp(pub, derived) != 0) {
        snprintf(err, errlen, "keys.%s_curve_public does not belong to keys.%s_curve_secret", self, self);
        goto fail;
    }
    memcpy(c->sec, sec, sizeof(c->sec));
    memcpy(c->pub, derived, sizeof(c->pub));
    for (int i = 0; i < S_NSERVICES; i++) {
        const char *p = !strcmp(s_services[i], self) ? c->pub : s_key_setting(cfg, s_services[i], "public");
        if (p == NULL)
            continue;
        if (!antt_curve_key_valid(p)) {
            snprintf(err, errlen, "keys.%s_curve_public is not a Z85 CURVE key of 40 characters", s_services[i]);
            goto fail;
        }
        memcpy(c->peers[i], p, sizeof(c->peers[i]));
        s_key_t *k = &c->services[c->nservices++];
        zmq_z85_decode(k->key, p);
        snprintf(k->user, sizeof(k->user), "service:%s", s_services[i]);
        k->who = antt_zone_service_bit(s_services[i]);
    }
    if (s_keys(c, cfg, "curve.clients", ANTT_WHO_CLIENT, err, errlen) != 0 ||
        s_keys(c, cfg, "curve.staff_clients", ANTT_WHO_STAFF, err, errlen) != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    antt_curve_destroy(&c);
    return -EINVAL;
}

void antt_curve_destroy(antt_curve_t **self_p)
{
    if (self_p == NULL || *self_p == NULL)
        return;
    antt_curve_t *c = *self_p;
    if (c->running)
        pthread_join(c->thread, NULL);
    sodium_memzero(c->sec, sizeof(c->sec));
    free(c->clients);
    free(c->gateways);
    pthread_mutex_destroy(&c->mu);
    free(c);
    *self_p = NULL;
}

static const s_key_t *s_find(const s_key_t *keys, size_t n, const uint8_t key[32])
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(keys[i].key, key, 32))
            return &keys[i];
    return NULL;
}

/* Whom the zone of domain admits (antt_zone). Returns 1 and the User-Id;
 * 0 with the holder's User-Id in user ("" for an unknown key) when the key
 * is refused. */
static int s_admit(antt_curve_t *c, const char *domain, const uint8_t key[32], char *user, size_t ulen)
{
    const antt_zone_t *z = antt_zone_by_domain(domain);
    const s_key_t *k = s_find(c->services, (size_t)c->nservices, key);
    /* a person's key may be in both lists: the entry the zone admits */
    for (size_t i = 0; k == NULL && i < c->nclients; i++)
        if (!memcmp(c->clients[i].key, key, 32) && antt_zone_admits(z, c->clients[i].who))
            k = &c->clients[i];
    if (k == NULL)
        k = s_find(c->clients, c->nclients, key);
    unsigned who = 0;
    user[0] = '\0';
    if (k) {
        snprintf(user, ulen, "%s", k->user);
        who = k->who;
    } else {
        pthread_mutex_lock(&c->mu);
        k = s_find(c->gateways, c->ngateways, key);
        if (k) {
            snprintf(user, ulen, "%s", k->user);
            who = k->who;
        }
        pthread_mutex_unlock(&c->mu);
    }
    return antt_zone_admits(z, who);
}

static void s_send_str(void *s, const char *v, int more)
{
    zmq_send(s, v, strlen(v), more ? ZMQ_SNDMORE : 0);
}

/* The ZAP handler: one request at a time, each answered at once from
 * memory. Refusals are logged, at most one line a second with a count. */
static void *s_zap_run(void *arg)
{
    antt_curve_t *c = arg;
    time_t last_log = 0;
    for (;;) {
        zmq_msg_t f[S_ZAP_FRAMES];
        int n = 0, more = 1, term = 0, broken = 0;
        while (more) {
            zmq_msg_t tmp, *m = n < S_ZAP_FRAMES ? &f[n] : &tmp;
            zmq_msg_init(m);
            if (zmq_msg_recv(m, c->zap, 0) < 0) {
                zmq_msg_close(m);
                term = zmq_errno() == ETERM;
                broken = 1;
                break;
            }
            more = zmq_msg_more(m);
            if (m == &tmp)
                zmq_msg_close(m);
            else
                n++;
        }
        if (broken || n < 6) {
            /* the context is ending, an interrupted call, or not a ZAP
             * request (libzmq sends none such): nothing to answer */
            for (int i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
            if (term)
                break;
            if (!broken)
                zmq_send(c->zap, "", 0, 0); /* REP owes a reply before the next request */
            continue;
        }
        char domain[64] = "", mech[16] = "", addr[64] = "", user[80] = "";
        snprintf(domain, sizeof(domain), "%.*s", (int)zmq_msg_size(&f[2]), (char *)zmq_msg_data(&f[2]));
        snprintf(addr, sizeof(addr), "%.*s", (int)zmq_msg_size(&f[3]), (char *)zmq_msg_data(&f[3]));
        snprintf(mech, sizeof(mech), "%.*s", (int)zmq_msg_size(&f[5]), (char *)zmq_msg_data(&f[5]));
        int ok = !strcmp(mech, "CURVE") && n >= 7 && zmq_msg_size(&f[6]) == 32 &&
                 s_admit(c, domain, zmq_msg_data(&f[6]), user, sizeof(user));
        s_send_str(c->zap, "1.0", 1);
        zmq_send(c->zap, zmq_msg_data(&f[1]), zmq_msg_size(&f[1]), ZMQ_SNDMORE);
        s_send_str(c->zap, ok ? "200" : "400", 1);
        s_send_str(c->zap, ok ? "OK" : user[0] ? "outside its zone" : "unknown key", 1);
        s_send_str(c->zap, ok ? user : "", 1);
        zmq_send(c->zap, "", 0, 0);
        if (ok)
            atomic_fetch_add(&c->admitted, 1);
        if (!ok) {
            unsigned long refused = atomic_fetch_add(&c->refused, 1) + 1;
            time_t now = time(NULL);
            if (now != last_log) {
                char z85[ANTT_CURVE_KEY_LEN + 1] = "-";
                if (n >= 7 && zmq_msg_size(&f[6]) == 32)
                    zmq_z85_encode(z85, zmq_msg_data(&f[6]), 32);
                ANTT_LOG(ANTT_WARN,
                         "refused connection domain=%s mechanism=%s address=%s key=%s holder=%s refused_total=%lu",
                         domain, mech, addr, z85, user[0] ? user : "unknown", refused);
                last_log = now;
            }
        }
        for (int i = 0; i < n; i++)
            zmq_msg_close(&f[i]);
    }
    zmq_close(c->zap);
    c->zap = NULL;
    return NULL;
}

int antt_curve_start_zap(antt_curve_t *c, void *zctx)
{
    if (c == NULL)
        return 0;
    if (c->running)
        return -EALREADY;
    c->zap = zmq_socket(zctx, ZMQ_REP);
    if (c->zap == NULL)
        return -zmq_errno();
    int linger = 0;
    zmq_setsockopt(c->zap, ZMQ_LINGER, &linger, sizeof(linger));
    if (zmq_bind(c->zap, "inproc://zeromq.zap.01") != 0) {
        int e = zmq_errno();
        zmq_close(c->zap);
        c->zap = NULL;
        return -e;
    }
    /* signals are the loop thread's (libuv): the handler is born with all
     * of them blocked, so that none interrupts a request */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, s_zap_run, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        zmq_close(c->zap);
        c->zap = NULL;
        return -rc;
    }
    c->running = 1;
    return 0;
}

int antt_curve_server(const antt_curve_t *c, void *sock, antt_zone_id_t zone)
{
    if (c == NULL)
        return 0;
    const char *domain = antt_zone_get(zone)->domain;
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->sec, ANTT_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) != 0)
        return -zmq_errno();
    return 0;
}

int antt_curve_client(const antt_curve_t *c, void *sock, const char *peer)
{
    if (c == NULL)
        return 0;
    int i = s_peer_index(peer);
    if (i < 0 || !c->peers[i][0]) {
        ANTT_LOG(ANTT_ERROR, "CURVE is on but keys.%s_curve_public is not set", peer);
        return -EINVAL;
    }
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->peers[i], ANTT_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->pub, ANTT_CURVE_KEY_LEN) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->sec, ANTT_CURVE_KEY_LEN) != 0)
        return -zmq_errno();
    return 0;
}

size_t antt_curve_set_gateways(antt_curve_t *c, const char *const *keys, const char *const *codes, size_t n)
{
    if (c == NULL)
        return 0;
    s_key_t *v = n ? antt_xcalloc(n, sizeof(*v)) : NULL;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!antt_curve_key_valid(keys[i]))
            continue;
        zmq_z85_decode(v[m].key, keys[i]);
        snprintf(v[m].user, sizeof(v[m].user), "gateway:%s", codes[i]);
        v[m].who = ANTT_WHO_GATEWAY;
        m++;
    }
    pthread_mutex_lock(&c->mu);
    s_key_t *old = c->gateways;
    size_t nold = c->ngateways, gone = 0;
    c->gateways = v;
    c->ngateways = m;
    pthread_mutex_unlock(&c->mu);
    /* a key that no longer speaks for the same gateway: its sessions were
     * admitted under a right it lost */
    for (size_t i = 0; i < nold; i++) {
        const s_key_t *now = s_find(v, m, old[i].key);
        gone += now == NULL || strcmp(now->user, old[i].user) != 0;
    }
    free(old);
    return gone;
}

void antt_curve_count_refused(antt_curve_t *c)
{
    if (c)
        atomic_fetch_add(&c->refused, 1);
}

void antt_curve_counts(const antt_curve_t *c, unsigned long *admitted, unsigned long *refused)
{
    *admitted = c ? atomic_load(&c->admitted) : 0;
    *refused = c ? atomic_load(&c->refused) : 0;
}
