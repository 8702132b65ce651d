/* antt_crypto: sealing, pseudonyms and key hashing with libsodium. */
#include "antt_crypto.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "antt_util.h"

int antt_crypto_init(void)
{
    return sodium_init() < 0 ? -EIO : 0;
}

int antt_key_decode(const char *text, uint8_t out[ANTT_KEY_BYTES])
{
    size_t n = 0;
    if (text == NULL)
        return -EINVAL;
    size_t tl = strlen(text);
    if (tl == 2 * ANTT_KEY_BYTES &&
        sodium_hex2bin(out, ANTT_KEY_BYTES, text, tl, NULL, &n, NULL) == 0 && n == ANTT_KEY_BYTES)
        return 0;
    if (sodium_base642bin(out, ANTT_KEY_BYTES, text, tl, " \n", &n, NULL,
                          sodium_base64_VARIANT_ORIGINAL) == 0 &&
        n == ANTT_KEY_BYTES)
        return 0;
    return -EINVAL;
}

void antt_key_encode(const uint8_t key[ANTT_KEY_BYTES], char out[2 * ANTT_KEY_BYTES + 1])
{
    sodium_bin2hex(out, 2 * ANTT_KEY_BYTES + 1, key, ANTT_KEY_BYTES);
}

void antt_seal_keypair(uint8_t pk[ANTT_KEY_BYTES], uint8_t sk[ANTT_KEY_BYTES])
{
    crypto_box_keypair(pk, sk);
}

void antt_seal(const uint8_t pk[ANTT_KEY_BYTES], const void *msg, size_t len, uint8_t **out,
               size_t *outlen)
{
    *outlen = len + crypto_box_SEALBYTES;
    *out = antt_xmalloc(*outlen);
    crypto_box_seal(*out, msg, len, pk);
}

int antt_unseal(const uint8_t pk[ANTT_KEY_BYTES], const uint8_t sk[ANTT_KEY_BYTES],
                const uint8_t *box, size_t len, char **out, size_t *outlen)
{
    if (len < crypto_box_SEALBYTES)
        return -EBADMSG;
    size_t n = len - crypto_box_SEALBYTES;
    char *m = antt_xmalloc(n + 1);
    if (crypto_box_seal_open((unsigned char *)m, box, len, pk, sk) != 0) {
        free(m);
        return -EBADMSG;
    }
    m[n] = '\0';
    *out = m;
    *outlen = n;
    return 0;
}

int antt_phone_normalize(const char *in, char out[24])
{
    char d[24];
    size_t n = 0;
    int plus = 0;
    for (const char *p = in; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n >= 20)
                return -EINVAL;
            d[n++] = *p;
        } else if (*p == '+' && n == 0 && !plus) {
            plus = 1;
        } else if (*p != ' ' && *p != '-' && *p != '.' && *p != '(' && *p != ')') {
            return -EINVAL;
        }
    }
    d[n] = '\0';
    if (n < 6 || n > 15)
        return -EINVAL;
    /* +84 912 345 678 or 84912345678 -> 0912345678 */
    if (n >= 11 && d[0] == '8' && d[1] == '4' && (plus || n == 11)) {
        out[0] = '0';
        memcpy(out + 1, d + 2, n - 1); /* includes the NUL */
        return 0;
    }
    memcpy(out, d, n + 1);
    return 0;
}

void antt_reporter_hash(const uint8_t key[ANTT_KEY_BYTES], const char *phone,
                        uint8_t out[ANTT_HASH_BYTES])
{
    crypto_generichash(out, ANTT_HASH_BYTES, (const unsigned char *)phone, strlen(phone), key,
                       ANTT_KEY_BYTES);
}

void antt_api_key_hash(const char *key, size_t len, uint8_t out[ANTT_HASH_BYTES])
{
    crypto_hash_sha256(out, (const unsigned char *)key, len);
}
