/* antt_crypto: what antt does with libsodium. Reporter contact is sealed to
 * the dispatchers' public key (crypto_box_seal: only the holder of the
 * secret key can open it, the sealer cannot); the reporter pseudonym is a
 * keyed BLAKE2b of the normalized phone number, which cannot be reversed
 * without the key; API keys are stored as SHA-256. */
#ifndef ANTT_CRYPTO_H
#define ANTT_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define ANTT_KEY_BYTES 32
#define ANTT_HASH_BYTES 32

/* Calls sodium_init; returns 0 or -EIO. Safe to call more than once. */
int antt_crypto_init(void);
/* Decodes a 32-byte key written as 64 hex digits or base64. 0 or -EINVAL. */
int antt_key_decode(const char *text, uint8_t out[ANTT_KEY_BYTES]);
/* Encodes a 32-byte key as 64 lowercase hex digits into out[65]. */
void antt_key_encode(const uint8_t key[ANTT_KEY_BYTES], char out[2 * ANTT_KEY_BYTES + 1]);
/* Makes a sealing keypair (public, secret). */
void antt_seal_keypair(uint8_t pk[ANTT_KEY_BYTES], uint8_t sk[ANTT_KEY_BYTES]);
/* Seals msg to pk; *out is malloc'd (len + 48 bytes). */
void antt_seal(const uint8_t pk[ANTT_KEY_BYTES], const void *msg, size_t len, uint8_t **out,
               size_t *outlen);
/* Opens a sealed box; *out is malloc'd and NUL-terminated. 0 or -EBADMSG. */
int antt_unseal(const uint8_t pk[ANTT_KEY_BYTES], const uint8_t sk[ANTT_KEY_BYTES],
                const uint8_t *box, size_t len, char **out, size_t *outlen);

/* Normalizes a phone number to digits with a Vietnamese national prefix
 * ("+84 912-345-678" and "0912345678" -> "0912345678"). Returns 0, or -EINVAL
 * when it has fewer than 6 or more than 15 digits or stray characters. */
int antt_phone_normalize(const char *in, char out[24]);
/* Keyed BLAKE2b-256 of a normalized phone number. */
void antt_reporter_hash(const uint8_t key[ANTT_KEY_BYTES], const char *phone,
                        uint8_t out[ANTT_HASH_BYTES]);
/* SHA-256 of an API key as given by a gateway. */
void antt_api_key_hash(const char *key, size_t len, uint8_t out[ANTT_HASH_BYTES]);

#endif
