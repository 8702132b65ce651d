/* antt_token: bearer tokens (see the header). */
#include "antt_token.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "antt_form.h"

void antt_secret_new(const char *prefix, int urlsafe, char *out, size_t outlen)
{
    uint8_t raw[24];
    randombytes_buf(raw, sizeof(raw));
    size_t pl = strlen(prefix);
    snprintf(out, outlen, "%s", prefix);
    sodium_bin2base64(out + pl, outlen - pl, raw, sizeof(raw),
                      urlsafe ? sodium_base64_VARIANT_URLSAFE_NO_PADDING : sodium_base64_VARIANT_ORIGINAL);
    sodium_memzero(raw, sizeof(raw));
}

void antt_token_new(const char *prefix, char *out, size_t outlen)
{
    antt_secret_new(prefix, 1, out, outlen);
}

void antt_token_hash(const char *token, uint8_t out[ANTT_HASH_BYTES])
{
    antt_api_key_hash(token, strlen(token), out);
}

void antt_token_hex(const uint8_t hash[ANTT_HASH_BYTES], char out[2 * ANTT_HASH_BYTES + 1])
{
    sodium_bin2hex(out, 2 * ANTT_HASH_BYTES + 1, hash, ANTT_HASH_BYTES);
}

void antt_token_hash_hex(const char *token, char out[2 * ANTT_HASH_BYTES + 3])
{
    uint8_t h[ANTT_HASH_BYTES];
    antt_token_hash(token, h);
    memcpy(out, "\\x", 2);
    antt_token_hex(h, out + 2);
}

static int s_copy(const char *p, size_t n, char *out, size_t outlen)
{
    if (n > ANTT_TOKEN_MAX || n >= outlen || memchr(p, 0, n))
        return 1; /* presented, but not a token of ours */
    memcpy(out, p, n);
    out[n] = 0;
    return 1;
}

int antt_token_from_request(antt_http_req_t *req, int query_ok, char *out, size_t outlen)
{
    out[0] = 0;
    antt_str_t h = antt_http_header(req, "authorization");
    if (h.n)
        return h.n > 7 && !strncasecmp(h.p, "Bearer ", 7) ? s_copy(h.p + 7, h.n - 7, out, outlen) : 1;
    antt_str_t q = antt_http_query(req);
    if (!query_ok || q.n == 0 || memmem(q.p, q.n, "access_token=", 13) == NULL)
        return 0;
    antt_form_t f;
    if (antt_form_parse(&f, q.p, q.n, 32) != 0)
        return 1;
    const antt_form_field_t *x = antt_form_get(&f, "access_token");
    int rc = x ? s_copy(x->value, x->value_len, out, outlen) : 0;
    antt_form_cleanup(&f);
    return rc;
}
