/* antt keygen, antt gateway add, antt migrate. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "antt_crypto.h"
#include "antt_curve.h"
#include "antt_db.h"
#include "antt_migrate.h"
#include "cli.h"

/* The files of antt keygen --dir: each holds its holder's own secrets and
 * the public keys of the peers it talks to, nothing else. */
enum { K_DISPATCH_PUBLIC, K_DISPATCH_SECRET, K_REPORTER_HASH, K_CURVE_CLIENTS, K_NSHARED };
enum { W_INTAKE, W_CLASSIFICATION, W_NOTIFICATION, W_AGGREGATION, W_CLIENT, W_N };
static const char *const s_holders[W_N] = {"intake", "classification", "notification", "aggregation", "client"};
static const struct {
    unsigned shared;  /* bits of K_* */
    unsigned peers;   /* bits of W_*: whose CURVE public key */
} s_files[W_N] = {
    [W_INTAKE] = {1u << K_DISPATCH_PUBLIC | 1u << K_REPORTER_HASH | 1u << K_CURVE_CLIENTS, 1u << W_CLASSIFICATION},
    [W_CLASSIFICATION] = {0, 1u << W_INTAKE | 1u << W_NOTIFICATION | 1u << W_AGGREGATION},
    [W_NOTIFICATION] = {1u << K_DISPATCH_PUBLIC | 1u << K_DISPATCH_SECRET | 1u << K_CURVE_CLIENTS,
                        1u << W_CLASSIFICATION | 1u << W_AGGREGATION},
    [W_AGGREGATION] = {1u << K_CURVE_CLIENTS, 1u << W_CLASSIFICATION | 1u << W_NOTIFICATION},
    [W_CLIENT] = {0, 1u << W_INTAKE | 1u << W_NOTIFICATION | 1u << W_AGGREGATION},
};

static void s_env_line(FILE *f, const char *key, const char *value)
{
    char name[96];
    antt_config_env_name(key, name, sizeof(name));
    fprintf(f, "%s='%s'\n", name, value);
}

/* Writes dir/<holder>.env for each holder, mode 0600, never over an
 * existing file. 0, or 1 after saying why. */
static int s_keygen_dir(const char *dir)
{
    uint8_t pk[ANTT_KEY_BYTES], sk[ANTT_KEY_BYTES], hk[ANTT_KEY_BYTES];
    char shared[K_NSHARED][65], pub[W_N][ANTT_CURVE_KEY_LEN + 1], sec[W_N][ANTT_CURVE_KEY_LEN + 1];
    static const char *const shared_keys[K_NSHARED] = {"keys.dispatch_public", "keys.dispatch_secret",
                                                        "keys.reporter_hash", "curve.clients"};
    int rc = 1;
    antt_seal_keypair(pk, sk);
    randombytes_buf(hk, sizeof(hk));
    antt_key_encode(pk, shared[K_DISPATCH_PUBLIC]);
    antt_key_encode(sk, shared[K_DISPATCH_SECRET]);
    antt_key_encode(hk, shared[K_REPORTER_HASH]);
    for (int w = 0; w < W_N; w++)
        if (antt_curve_keypair(pub[w], sec[w]) != 0) {
            fprintf(stderr, "antt: could not make a CURVE keypair\n");
            goto out;
        }
    snprintf(shared[K_CURVE_CLIENTS], sizeof(shared[0]), "%s", pub[W_CLIENT]);
    mode_t old = umask(077);
    for (int w = 0; w < W_N; w++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s.env", dir, s_holders[w]);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (f == NULL) {
            fprintf(stderr, "antt: could not create %s: %s\n", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            umask(old);
            goto out;
        }
        fprintf(f, "# antt keys of %s only (antt keygen --dir): load this file into %s and nothing else\n",
                s_holders[w], w == W_CLIENT ? "people's tools (the antt CLI, consoles, dashboards)" : s_holders[w]);
        for (int k = 0; k < K_NSHARED; k++)
            if (s_files[w].shared & (1u << k))
                s_env_line(f, shared_keys[k], shared[k]);
        char key[64];
        snprintf(key, sizeof(key), "keys.%s_curve_secret", s_holders[w]);
        s_env_line(f, key, sec[w]);
        snprintf(key, sizeof(key), "keys.%s_curve_public", s_holders[w]);
        s_env_line(f, key, pub[w]);
        for (int p = 0; p < W_N; p++)
            if (s_files[w].peers & (1u << p)) {
                snprintf(key, sizeof(key), "keys.%s_curve_public", s_holders[p]);
                s_env_line(f, key, pub[p]);
            }
        if (fclose(f) != 0) {
            fprintf(stderr, "antt: could not write %s: %s\n", path, strerror(errno));
            umask(old);
            goto out;
        }
    }
    umask(old);
    rc = 0;
out:
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(hk, sizeof(hk));
    sodium_memzero(shared, sizeof(shared));
    sodium_memzero(sec, sizeof(sec));
    return rc;
}

int cli_keygen(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--curve")) {
        /* one CURVE keypair, for a gateway (antt gateway add --curve-public)
         * or a person's tool (curve.clients) */
        char pub[ANTT_CURVE_KEY_LEN + 1], sec[ANTT_CURVE_KEY_LEN + 1];
        if (antt_curve_keypair(pub, sec) != 0) {
            fprintf(stderr, "antt: could not make a CURVE keypair\n");
            return 1;
        }
        printf("public: %s\nsecret: %s\n", pub, sec);
        sodium_memzero(sec, sizeof(sec));
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "--dir"))
        return s_keygen_dir(argv[2]);
    fprintf(stderr, "usage: antt keygen --dir DIR | --curve\n"
                    "  --dir DIR  a deployment's keys, one file per service and one for people's tools:\n"
                    "             DIR/intake.env, classification.env, notification.env, aggregation.env, client.env\n"
                    "  --curve    one more CURVE keypair (a gateway's or a console's)\n");
    return 2;
}

PGconn *cli_connect(const char *cfg_path)
{
    antt_config_t *cfg = cli_config(cfg_path);
    if (cfg == NULL)
        return NULL;
    char err[1024];
    PGconn *c = antt_db_connect_sync(antt_config_get(cfg, "db.conninfo", "dbname=antt"), err, sizeof(err));
    if (c == NULL)
        fprintf(stderr, "antt: %s", err);
    antt_config_destroy(&cfg);
    return c;
}

int cli_migrate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    PGconn *c = cli_connect(NULL);
    if (c == NULL)
        return 1;
    char err[1024];
    int n = antt_migrate(c, err, sizeof(err));
    PQfinish(c);
    if (n < 0) {
        fprintf(stderr, "antt: %s\n", err);
        return 1;
    }
    printf("applied %d migration(s); schema version %d\n", n, antt_migrate_latest());
    return 0;
}

static void s_gateway_usage(void)
{
    fprintf(stderr, "usage: antt gateway add CODE NAME [--rate PER_S] [--burst N] [--key KEY] [--curve-public KEY]"
                    " [--import]\n"
                    "  --import: the gateway may submit imported history (antt import), whose category,\n"
                    "  priority and status are taken as facts\n");
}

int cli_gateway(int argc, char **argv)
{
    static const struct option opts[] = {{"rate", required_argument, NULL, 'r'},
                                         {"burst", required_argument, NULL, 'b'},
                                         {"key", required_argument, NULL, 'k'},
                                         {"curve-public", required_argument, NULL, 'p'},
                                         {"import", no_argument, NULL, 'i'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *rate = "20", *burst = "100", *given_key = NULL, *cfg = NULL, *curve = NULL, *may_import = "false";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'r': rate = optarg; break;
        case 'b': burst = optarg; break;
        case 'k': given_key = optarg; break;
        case 'p': curve = optarg; break;
        case 'i': may_import = "true"; break;
        case 'c': cfg = optarg; break;
        default:
            s_gateway_usage();
            return o == 'h' ? 0 : 2;
        }
    }
    if (argc - optind != 3 || strcmp(argv[optind], "add") != 0) {
        s_gateway_usage();
        return 2;
    }
    if (curve && !antt_curve_key_valid(curve)) {
        fprintf(stderr, "antt: --curve-public must be a Z85 CURVE public key of 40 characters (antt keygen --curve)\n");
        return 2;
    }
    char key[64];
    if (given_key) {
        snprintf(key, sizeof(key), "%s", given_key);
    } else {
        uint8_t raw[24];
        randombytes_buf(raw, sizeof(raw));
        strcpy(key, "antt_");
        sodium_bin2base64(key + 5, sizeof(key) - 5, raw, sizeof(raw), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    uint8_t h[ANTT_HASH_BYTES];
    char hex[2 * ANTT_HASH_BYTES + 3] = "\\x";
    antt_api_key_hash(key, strlen(key), h);
    sodium_bin2hex(hex + 2, sizeof(hex) - 2, h, sizeof(h));
    PGconn *c = cli_connect(cfg);
    if (c == NULL)
        return 1;
    const char *params[] = {argv[optind + 1], argv[optind + 2], hex, rate, burst, curve, may_import};
    PGresult *r = PQexecParams(c,
                               "INSERT INTO gateways (code, name, api_key_hash, rate_per_s, burst, curve_public,"
                               " may_import) VALUES ($1, $2, $3::bytea, $4, $5, $6, $7)"
                               " ON CONFLICT (code) DO UPDATE SET api_key_hash = EXCLUDED.api_key_hash,"
                               " name = EXCLUDED.name, rate_per_s = EXCLUDED.rate_per_s, burst = EXCLUDED.burst,"
                               " curve_public = EXCLUDED.curve_public, may_import = EXCLUDED.may_import",
                               7, NULL, params, NULL, NULL, 0);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        fprintf(stderr, "antt: could not add gateway: %s", PQresultErrorMessage(r));
    else
        printf("%s\n", key);
    PQclear(r);
    PQfinish(c);
    return ok ? 0 : 1;
}
