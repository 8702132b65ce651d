/* antt keygen, antt gateway add, antt migrate. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "antt_crypto.h"
#include "antt_curve.h"
#include "antt_db.h"
#include "antt_migrate.h"
#include "cli.h"

int cli_keygen(int argc, char **argv)
{
    int env = argc > 1 && !strcmp(argv[1], "--env");
    if (argc > 1 && !strcmp(argv[1], "--curve")) {
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
    if (argc > 1 && !env) {
        fprintf(stderr, "usage: antt keygen [--env | --curve]\n");
        return 2;
    }
    uint8_t pk[ANTT_KEY_BYTES], sk[ANTT_KEY_BYTES], hk[ANTT_KEY_BYTES];
    char a[65], b[65], c[65];
    antt_seal_keypair(pk, sk);
    randombytes_buf(hk, sizeof(hk));
    antt_key_encode(pk, a);
    antt_key_encode(sk, b);
    antt_key_encode(hk, c);
    if (env)
        printf("ANTT_KEYS_DISPATCH_PUBLIC=%s\nANTT_KEYS_DISPATCH_SECRET=%s\nANTT_KEYS_REPORTER_HASH=%s\n", a, b, c);
    else
        printf("# dispatchers' sealing keypair: the secret stays with notification only\n"
               "keys.dispatch_public = %s\nkeys.dispatch_secret = %s\n"
               "# reporter pseudonym key: intake only\nkeys.reporter_hash = %s\n",
               a, b, c);
    /* CURVE: a keypair per service (each secret stays on its service's
     * machines; every public key goes everywhere) and one for people's
     * tools, admitted by curve.clients */
    static const char *const who[] = {"intake", "classification", "notification", "aggregation", "client"};
    char pub[ANTT_CURVE_KEY_LEN + 1], sec[ANTT_CURVE_KEY_LEN + 1], client_pub[ANTT_CURVE_KEY_LEN + 1] = "";
    if (!env)
        printf("# CURVE keypairs: each service's secret on its own machines only\n");
    for (size_t i = 0; i < sizeof(who) / sizeof(who[0]); i++) {
        if (antt_curve_keypair(pub, sec) != 0) {
            fprintf(stderr, "antt: could not make a CURVE keypair\n");
            return 1;
        }
        char kp[64], ks[64], vp[96], vs[96];
        snprintf(kp, sizeof(kp), "keys.%s_curve_public", who[i]);
        snprintf(ks, sizeof(ks), "keys.%s_curve_secret", who[i]);
        antt_config_env_name(kp, vp, sizeof(vp));
        antt_config_env_name(ks, vs, sizeof(vs));
        if (env)
            printf("%s='%s'\n%s='%s'\n", vp, pub, vs, sec);
        else
            printf("%s = %s\n%s = %s\n", kp, pub, ks, sec);
        memcpy(client_pub, pub, sizeof(client_pub));
    }
    char vc[64];
    antt_config_env_name("curve.clients", vc, sizeof(vc));
    if (env)
        printf("%s='%s'\n", vc, client_pub);
    else
        printf("curve.clients = %s\n", client_pub);
    sodium_memzero(sec, sizeof(sec));
    sodium_memzero(sk, sizeof(sk));
    sodium_memzero(hk, sizeof(hk));
    return 0;
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
