/* intake_report: validation of reports. */
#include "intake_report.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_categories.h"
#include "antt_json.h"
#include "antt_text.h"

#include <sodium.h>

static int s_fail(intake_error_t *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(intake_error_t *err, const char *code, const char *fmt, ...)
{
    va_list ap;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Printable ASCII without spaces, 1..max bytes. */
static int s_token_ok(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (s[n] <= 0x20 || s[n] >= 0x7f)
            return 0;
    return n > 0 && n <= max;
}

static int s_all_space(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

int intake_is_decimal(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    size_t whole = strspn(s, "0123456789");
    s += whole;
    size_t frac = 0;
    if (*s == '.') {
        s++;
        frac = strspn(s, "0123456789");
        s += frac;
    }
    return (whole > 0 || frac > 0) && *s == '\0';
}

static int s_parse_coord(const char *text, double *out)
{
    char *end;
    if (text == NULL || !intake_is_decimal(text)) /* not hex, not 1e1, not inf */
        return -1;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* Validates UTF-8, normalizes to NFC and checks the length in code points. */
static int s_text(const char *field, const char *s, size_t len, size_t max_cp, char **out,
                  intake_error_t *err)
{
    size_t ncp;
    int rc = antt_text_nfc(s, len, out, &ncp);
    if (rc == -EILSEQ)
        return s_fail(err, "invalid_utf8",
                      "%s is not valid UTF-8 text (or holds control characters)", field);
    if (rc != 0)
        return s_fail(err, "invalid_text", "%s could not be read", field);
    if (ncp > max_cp)
        return s_fail(err, "too_long", "%s is %zu characters; at most %zu are accepted", field,
                      ncp, max_cp);
    return 0;
}

static int s_media_url_ok(const char *u)
{
    if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
        return 0;
    return s_token_ok(u, INTAKE_MAX_URL) && strlen(u) > 8;
}

static int s_contact(const intake_input_t *in, const intake_keys_t *keys, intake_report_t *out,
                     intake_error_t *err)
{
    int given = (in->name && *in->name) || (in->phone && *in->phone) || (in->email && *in->email);
    if (!given)
        return 0;
    char *name = NULL;
    char phone[24] = "";
    antt_buf_t b;
    antt_buf_init(&b);
    int rc = 0;
    if (in->name && *in->name) {
        if ((rc = s_text("first_name/last_name", in->name, strlen(in->name), INTAKE_MAX_NAME,
                         &name, err)) != 0)
            goto out;
    }
    if (in->phone && *in->phone) {
        if (antt_phone_normalize(in->phone, phone) != 0) {
            rc = s_fail(err, "invalid_phone",
                        "phone must be 6 to 15 digits, optionally with +, spaces, dots or dashes");
            goto out;
        }
        antt_reporter_hash(keys->hash_key, phone, out->reporter_hash);
        out->has_reporter = 1;
    }
    if (in->email && *in->email) {
        const char *at = strchr(in->email, '@');
        if (!s_token_ok(in->email, 254) || at == NULL || at == in->email || strchr(at, '.') == NULL) {
            rc = s_fail(err, "invalid_email", "email is not a valid address");
            goto out;
        }
    }
    antt_buf_puts(&b, "{\"name\":");
    antt_json_cstr(&b, name);
    antt_buf_puts(&b, ",\"phone\":");
    antt_json_cstr(&b, phone[0] ? phone : NULL);
    antt_buf_puts(&b, ",\"email\":");
    antt_json_cstr(&b, in->email && *in->email ? in->email : NULL);
    antt_buf_puts(&b, "}");
    antt_seal(keys->seal_pk, b.data, b.len, &out->contact_sealed, &out->contact_sealed_len);
out:
    if (b.data)
        sodium_memzero(b.data, b.len);
    antt_buf_cleanup(&b);
    if (name) {
        sodium_memzero(name, strlen(name));
        free(name);
    }
    sodium_memzero(phone, sizeof(phone));
    return rc;
}

/* Imported history: every fact given, and nothing half. */
static int s_import(const intake_input_t *in, intake_report_t *out, intake_error_t *err)
{
    static const char *const statuses[] = {"new", "acknowledged", "resolved", "rejected"};
    if (!in->import_given)
        return 0;
    if (!in->imported)
        return s_fail(err, "incomplete_import",
                      "imported_priority and imported_status are only taken with imported = true");
    if (out->service_code == NULL)
        return s_fail(err, "missing_service_code", "imported history needs its category as service_code");
    if (!in->has_imported_priority || in->imported_priority < 1 || in->imported_priority > 4)
        return s_fail(err, "invalid_imported_priority", "imported_priority must be 1, 2, 3 or 4 (P1..P4)");
    const char *st = in->imported_status;
    for (size_t i = 0; st && i < ANTT_ARRAY_SIZE(statuses); i++)
        if (!strcmp(st, statuses[i])) {
            out->imported_priority = (int)in->imported_priority;
            out->imported_status = antt_xstrdup(st);
            break;
        }
    if (out->imported_status == NULL)
        return s_fail(err, "invalid_imported_status",
                      "imported_status must be new, acknowledged, resolved or rejected");
    if (!out->has_occurred)
        return s_fail(err, "missing_occurred_datetime", "imported history needs the time it occurred");
    return 0;
}

/* The spec's form-encoded POST requires what antt's other doors leave
 * optional: a service_code and a place (an SMS gateway without coordinates
 * gives the words, address_string; FixMyStreet its address_id). Checked
 * last, so that a field given wrong is named before one left out. */
static int s_spec_form(const intake_input_t *in, const intake_report_t *out, intake_error_t *err)
{
    if (!in->spec_form)
        return 0;
    if (out->service_code == NULL)
        return s_fail(err, "missing_service_code",
                      "service_code is required: one of the codes of GET services.xml");
    if (!out->has_location && !out->area_code && !(out->address && !s_all_space(out->address)) &&
        !(out->address_id && !s_all_space(out->address_id)))
        return s_fail(err, "missing_location",
                      "a location is required: lat and long, address_string, address_id or area_code");
    return 0;
}

int intake_validate(const intake_input_t *in, const intake_keys_t *keys, int64_t now_ms,
                    intake_report_t *out, intake_error_t *err)
{
    int rc;
    memset(out, 0, sizeof(*out));
    out->received_ms = now_ms;
    antt_uuid7(out->id);

    /* idempotency key: optional over Open311 (then the report id), required over ZeroMQ */
    if (in->idempotency_key && *in->idempotency_key) {
        if (!s_token_ok(in->idempotency_key, INTAKE_MAX_KEY))
            return s_fail(err, "invalid_idempotency_key",
                          "idempotency key must be 1 to %d printable ASCII characters without spaces",
                          INTAKE_MAX_KEY);
        out->idempotency_key = antt_xstrdup(in->idempotency_key);
    } else {
        out->idempotency_key = antt_xstrdup(out->id);
    }

    if (in->service_code && *in->service_code) {
        if (antt_category_find(in->service_code) == NULL)
            return s_fail(err, "unknown_service_code",
                          "service_code '%.40s' is not one of the codes of GET services.json",
                          s_token_ok(in->service_code, 40) ? in->service_code : "?");
        out->service_code = antt_xstrdup(in->service_code);
    }

    const char *d = in->description ? in->description : "";
    size_t dl = in->description ? in->description_len : 0;
    if ((rc = s_text("description", d, dl, INTAKE_MAX_DESCRIPTION, &out->description, err)) != 0)
        return rc;
    if (s_all_space(out->description) && out->service_code == NULL)
        return s_fail(err, "missing_description",
                      "a description is required when no service_code is given");

    /* location: coordinates, area code and address are each optional; an
     * unknown location is a state the dispatcher sees, not an error */
    int have_lat = in->lat_text && *in->lat_text, have_lon = in->lon_text && *in->lon_text;
    if (in->has_latlon) {
        out->lat = in->lat;
        out->lon = in->lon;
        out->has_location = 1;
    } else if (have_lat || have_lon) {
        if (!have_lat || !have_lon)
            return s_fail(err, "incomplete_location", "lat and long must be given together");
        if (s_parse_coord(in->lat_text, &out->lat) != 0 || s_parse_coord(in->lon_text, &out->lon) != 0)
            return s_fail(err, "invalid_location", "lat and long must be decimal degrees");
        out->has_location = 1;
    }
    if (out->has_location && (!isfinite(out->lat) || !isfinite(out->lon) || out->lat < -90 ||
                              out->lat > 90 || out->lon < -180 || out->lon > 180))
        return s_fail(err, "invalid_location",
                      "lat must be within -90..90 and long within -180..180");

    if (in->area_code && *in->area_code) {
        size_t n = strlen(in->area_code);
        if (n > 64)
            return s_fail(err, "invalid_area_code", "area_code is longer than 64 characters");
        out->area_code = antt_xstrdup(in->area_code);
        for (char *p = out->area_code; *p; p++) {
            *p = (char)toupper((unsigned char)*p);
            if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
                return s_fail(err, "invalid_area_code",
                              "area_code may hold only letters, digits, '-' and '_'");
        }
    }
    if (in->address && in->address_len > 0) {
        if ((rc = s_text("address_string", in->address, in->address_len, INTAKE_MAX_ADDRESS,
                         &out->address, err)) != 0)
            return rc;
    }

    if (in->address_id && *in->address_id &&
        (rc = s_text("address_id", in->address_id, strlen(in->address_id), INTAKE_MAX_ADDRESS_ID,
                     &out->address_id, err)) != 0)
        return rc;
    out->attributes = antt_xstrdup(in->attributes); /* checked by its transport */
    if (in->zipcode && *in->zipcode &&
        (rc = s_text("zipcode", in->zipcode, strlen(in->zipcode), INTAKE_MAX_ZIPCODE, &out->zipcode, err)) != 0)
        return rc;

    if (in->has_occurred_ms) {
        out->occurred_ms = in->occurred_ms;
        out->has_occurred = 1;
    } else if (in->occurred_text && *in->occurred_text) {
        if (antt_parse_time(in->occurred_text, &out->occurred_ms) != 0)
            return s_fail(err, "invalid_occurred_datetime",
                          "occurred_datetime must be an ISO 8601 date-time, e.g. 2026-11-22T20:40:00+07:00");
        out->has_occurred = 1;
    }
    /* 946684800000 = 2000-01-01: older history is not imported */
    if (out->has_occurred && (out->occurred_ms > now_ms + 5 * 60 * 1000 || out->occurred_ms < 946684800000LL))
        return s_fail(err, "invalid_occurred_datetime",
                      "occurred_datetime must lie between 2000-01-01 and now");

    if (in->nmedia > INTAKE_MAX_MEDIA)
        return s_fail(err, "too_many_media", "at most %d media_url values are accepted",
                      INTAKE_MAX_MEDIA);
    if (in->nmedia > 0) {
        out->media_urls = antt_xcalloc(in->nmedia, sizeof(char *));
        for (size_t i = 0; i < in->nmedia; i++) {
            if (in->media_urls[i] == NULL || !s_media_url_ok(in->media_urls[i]))
                return s_fail(err, "invalid_media_url",
                              "media_url must be an http or https URL of at most %d characters",
                              INTAKE_MAX_URL);
            out->media_urls[i] = antt_xstrdup(in->media_urls[i]);
            out->nmedia++;
        }
    }

    if (in->language && *in->language) {
        size_t n = strlen(in->language);
        int ok = n <= 35;
        for (size_t i = 0; ok && i < n; i++)
            ok = isalnum((unsigned char)in->language[i]) || in->language[i] == '-';
        if (!ok)
            return s_fail(err, "invalid_language", "language must be a BCP 47 tag such as vi or en");
        out->language = antt_xstrdup(in->language);
    }

    if ((rc = s_import(in, out, err)) != 0)
        return rc;
    if ((rc = s_contact(in, keys, out, err)) != 0)
        return rc;
    return s_spec_form(in, out, err);
}

void intake_report_cleanup(intake_report_t *r)
{
    free(r->gateway_code);
    free(r->idempotency_key);
    free(r->description);
    free(r->service_code);
    free(r->area_code);
    free(r->address);
    free(r->address_id);
    free(r->zipcode);
    free(r->attributes);
    for (size_t i = 0; i < r->nmedia; i++)
        free(r->media_urls[i]);
    free(r->media_urls);
    free(r->language);
    free(r->contact_sealed);
    free(r->imported_status);
    memset(r, 0, sizeof(*r));
}

intake_report_t *intake_report_dup(const intake_report_t *src)
{
    intake_report_t *r = antt_xmalloc(sizeof(*r));
    *r = *src;
    r->gateway_code = antt_xstrdup(src->gateway_code);
    r->idempotency_key = antt_xstrdup(src->idempotency_key);
    r->description = antt_xstrdup(src->description);
    r->service_code = antt_xstrdup(src->service_code);
    r->area_code = antt_xstrdup(src->area_code);
    r->address = antt_xstrdup(src->address);
    r->address_id = antt_xstrdup(src->address_id);
    r->zipcode = antt_xstrdup(src->zipcode);
    r->attributes = antt_xstrdup(src->attributes);
    r->language = antt_xstrdup(src->language);
    r->imported_status = antt_xstrdup(src->imported_status);
    if (src->nmedia) {
        r->media_urls = antt_xcalloc(src->nmedia, sizeof(char *));
        for (size_t i = 0; i < src->nmedia; i++)
            r->media_urls[i] = antt_xstrdup(src->media_urls[i]);
    }
    if (src->contact_sealed) {
        r->contact_sealed = antt_xmalloc(src->contact_sealed_len);
        memcpy(r->contact_sealed, src->contact_sealed, src->contact_sealed_len);
    }
    return r;
}

void intake_report_destroy(intake_report_t **r_p)
{
    if (r_p == NULL || *r_p == NULL)
        return;
    intake_report_cleanup(*r_p);
    free(*r_p);
    *r_p = NULL;
}
