/* antt_token: the bearer tokens people hold (a dispatcher's, a staff
 * dashboard's): made at random, printed once, stored only as a SHA-256, and
 * read from a request. One mechanism for every kind of token: the tables
 * that hold the hashes (dispatchers, dashboard_tokens) say what a token may
 * do. Tokens are never logged.
 *
 * Pure functions: any thread. */
#ifndef ANTT_TOKEN_H
#define ANTT_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "antt_crypto.h"
#include "antt_http.h"

/* The longest token a request may present (longer: none). */
#define ANTT_TOKEN_MAX 128

/* A new random secret: prefix + base64 (URL-safe without padding when
 * urlsafe, else standard) of 24 random bytes, into out (at least
 * strlen(prefix) + 33 bytes). */
void antt_secret_new(const char *prefix, int urlsafe, char *out, size_t outlen);
/* A new random token: antt_secret_new, URL-safe. */
void antt_token_new(const char *prefix, char *out, size_t outlen);
/* The token's stored form: SHA-256 (as antt_api_key_hash). */
void antt_token_hash(const char *token, uint8_t out[ANTT_HASH_BYTES]);
/* A hash as 64 lowercase hex digits into out[65]. */
void antt_token_hex(const uint8_t hash[ANTT_HASH_BYTES], char out[2 * ANTT_HASH_BYTES + 1]);
/* The same as a bytea literal "\x<64 hex digits>" into out[67]. */
void antt_token_hash_hex(const char *token, char out[2 * ANTT_HASH_BYTES + 3]);
/* The token a request presents into out (outlen at least ANTT_TOKEN_MAX + 1):
 * "Authorization: Bearer <token>", else, when query_ok, the access_token=
 * query parameter (an EventSource cannot set headers). Empty when none or
 * when longer than ANTT_TOKEN_MAX. Returns 1 when the request presented
 * one (even too long: a bad token is not "no token"), else 0. */
int antt_token_from_request(antt_http_req_t *req, int query_ok, char *out, size_t outlen);

#endif
