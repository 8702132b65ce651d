/* intake_report: a resident's report as intake accepts it, and the one
 * validator that every way in (Open311 form, Open311 JSON, ZeroMQ protobuf)
 * goes through, so that the same input gets the same answer everywhere. */
#ifndef INTAKE_REPORT_H
#define INTAKE_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "antt_crypto.h"
#include "antt_util.h"

#define INTAKE_MAX_BODY 16384
#define INTAKE_MAX_DESCRIPTION 4000 /* code points */
#define INTAKE_MAX_ADDRESS 500      /* code points */
#define INTAKE_MAX_ADDRESS_ID 200   /* code points: Open311 address_id */
#define INTAKE_MAX_ZIPCODE 16       /* code points */
#define INTAKE_MAX_NAME 200         /* code points */
#define INTAKE_MAX_MEDIA 10
#define INTAKE_MAX_URL 2048
#define INTAKE_MAX_KEY 128

/* What a gateway sent, before validation. Every pointer is borrowed and may
 * be NULL; text fields are bytes as received (not yet known to be UTF-8). */
typedef struct intake_input_s {
    const char *idempotency_key;
    const char *description;
    size_t description_len;
    const char *service_code;
    int has_latlon;      /* lat/lon given as numbers (protobuf) */
    double lat, lon;
    const char *lat_text, *lon_text; /* lat/lon given as text (Open311) */
    const char *area_code;
    const char *address;
    size_t address_len;
    const char *address_id;          /* Open311: the gateway's address id, kept as given */
    const char *zipcode;             /* Open311 */
    const char *attributes;          /* Open311: the checked answers, a JSON object */
    const char *occurred_text;       /* RFC 3339 (Open311) */
    int has_occurred_ms;
    int64_t occurred_ms;             /* unix ms (protobuf) */
    const char *const *media_urls;
    size_t nmedia;
    const char *name, *phone, *email;
    const char *language;
    int import_given;                /* any of the three below was sent */
    int imported;                    /* the report is imported history */
    int has_imported_priority;
    uint32_t imported_priority;      /* 1..4 */
    const char *imported_status;     /* new, acknowledged, resolved, rejected */
    int spec_form;                   /* the spec's form-encoded Open311 POST: service_code and a
                                        location (lat/long, address_string, address_id or
                                        area_code) are required */
} intake_input_t;

/* A validated report, owned by whoever holds it. */
typedef struct intake_report_s {
    char id[ANTT_UUID_LEN + 1];    /* assigned by intake (UUIDv7) */
    int64_t received_ms;           /* when intake received it */
    int gateway_id;                /* gateways.id */
    char *gateway_code;            /* gateways.code */
    char *idempotency_key;         /* the gateway's key (or the id when none) */
    int has_occurred;              /* occurred_ms is set */
    int64_t occurred_ms;           /* when it happened, per the resident */
    char *description;             /* NFC */
    char *service_code;            /* NULL when none */
    int has_location;              /* lat/lon are set */
    double lat, lon;               /* WGS84 */
    char *area_code;               /* upper case, NULL when none */
    char *address;                 /* NFC, NULL when none */
    char *address_id;              /* NFC, NULL when none */
    char *zipcode;                 /* NFC, NULL when none */
    char *attributes;              /* JSON object of the service's answers, NULL when none */
    char **media_urls;             /* nmedia URLs */
    size_t nmedia;                 /* count */
    char *language;                /* NULL when none */
    uint8_t *contact_sealed;       /* sealed JSON contact, NULL when anonymous */
    size_t contact_sealed_len;     /* bytes */
    int has_reporter;              /* reporter_hash is set (a phone was given) */
    uint8_t reporter_hash[ANTT_HASH_BYTES]; /* keyed hash of the normalized phone */
    int imported_priority;         /* imported history: its priority (1..4), else 0 */
    char *imported_status;         /* imported history: its status, else NULL */
    unsigned emergency;            /* ANTT_DANGER_* services the reply named, 0 none */
} intake_report_t;

/* Why an input was refused: a stable code and a human sentence. */
typedef struct intake_error_s {
    const char *code;  /* e.g. "description_too_long" */
    char message[256]; /* e.g. "description is 4105 characters; at most 4000 are accepted" */
} intake_error_t;

typedef struct intake_keys_s {
    uint8_t seal_pk[ANTT_KEY_BYTES];  /* dispatchers' public key */
    uint8_t hash_key[ANTT_KEY_BYTES]; /* reporter pseudonym key */
} intake_keys_t;

/* Validates in and fills *out (zeroed first; free with intake_report_free
 * even on failure). now_ms is the receive time. Returns 0, or -EINVAL with
 * err filled. Never keeps the plain phone, name or email. Imported history
 * (in->import_given) must say imported, service_code, a priority 1..4, a
 * status and when it occurred; whether the gateway may import at all is the
 * caller's check. */
/* 1 when s is a decimal number as people write one ("10.7", "-0.5", ".5"):
 * no hex, no exponent, no inf or nan, no space. */
int intake_is_decimal(const char *s);
int intake_validate(const intake_input_t *in, const intake_keys_t *keys, int64_t now_ms,
                    intake_report_t *out, intake_error_t *err);
/* Frees what a report owns (not the struct itself). */
void intake_report_cleanup(intake_report_t *r);
/* Copies src into a new heap report. */
intake_report_t *intake_report_dup(const intake_report_t *src);
void intake_report_destroy(intake_report_t **r_p);

#endif
