/* intake_open311_attrs: the service definitions' attributes (the questions
 * a category asks, in Vietnamese with the English after) and the check of a
 * POST's answers against them: attribute[code]=value, attribute[code][]=v
 * for a multivaluelist (or, in the JSON extension, "attribute": {code: v or
 * [v, ...]}). The answers are kept with the report as a JSON object. The
 * questions themselves are common's (antt_attributes): classification and
 * the dispatchers read them too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "antt_attributes.h"
#include "antt_text.h"
#include "intake_open311_int.h"

#define S_MAX_VALUES ANTT_ATTR_MAX_VALUES /* values of one multivaluelist answer */
#define S_MAX_ANSWER 500                  /* bytes of one string answer */

typedef antt_attr_t s_attr_t;

int o311_service_has_attributes(const char *service)
{
    for (size_t i = 0; i < antt_attrs_count; i++)
        if (strcmp(antt_attrs[i].service, service) == 0)
            return 1;
    return 0;
}

/* The spec has one description: the Vietnamese, then the English */
json_t *o311_service_attributes(const char *service)
{
    json_t *arr = json_array();
    int order = 0;
    for (size_t i = 0; i < antt_attrs_count; i++) {
        const s_attr_t *a = &antt_attrs[i];
        if (strcmp(a->service, service) != 0)
            continue;
        json_t *o = json_pack("{s:b,s:s,s:s,s:b,s:s,s:i,s:o}", "variable", 1, "code", a->code, "datatype",
                              a->datatype, "required", a->required, "datatype_description",
                              a->datatype_description, "order", ++order, "description",
                              json_sprintf("%s — %s", a->vi, a->en));
        if (a->values[0].key) {
            json_t *v = json_array();
            for (const antt_attr_value_t *x = a->values; x->key; x++)
                json_array_append_new(v, json_pack("{s:s,s:o}", "key", x->key, "name",
                                                   json_sprintf("%s (%s)", x->vi, x->en)));
            json_object_set_new(o, "values", v);
        }
        json_array_append_new(arr, o);
    }
    return arr;
}

/* valid UTF-8 without control characters */
static int s_text_ok(const char *s, size_t n)
{
    char *nfc = NULL;
    size_t ncp;
    int rc = antt_text_nfc(s, n, &nfc, &ncp);
    free(nfc);
    return rc == 0;
}

/* One answer to a: 0, or -1 with why. */
static int s_check(const s_attr_t *a, const char *v, char *why, size_t whylen)
{
    int64_t t;
    if (strcmp(a->datatype, "number") == 0) {
        if (!intake_is_decimal(v)) {
            snprintf(why, whylen, "attribute %s must be a number", a->code);
            return -1;
        }
    } else if (strcmp(a->datatype, "datetime") == 0) {
        if (antt_parse_time(v, &t) != 0) {
            snprintf(why, whylen, "attribute %s must be an ISO 8601 date-time", a->code);
            return -1;
        }
    } else if (a->values[0].key && !antt_attr_value(a, v)) {
        snprintf(why, whylen, "attribute %s: '%.40s' is not one of its values (GET services/%s)", a->code,
                 s_text_ok(v, strlen(v)) ? v : "?", a->service);
        return -1;
    }
    if (strlen(v) > S_MAX_ANSWER || !s_text_ok(v, strlen(v))) {
        snprintf(why, whylen, "attribute %s must be UTF-8 text of at most %d bytes", a->code, S_MAX_ANSWER);
        return -1;
    }
    return 0;
}

/* Adds the answer v of attribute a to out, checking it. */
static int s_add(json_t *out, const s_attr_t *a, int many, const char *v, char *why, size_t whylen)
{
    if (s_check(a, v, why, whylen) != 0)
        return -1;
    int multi = strcmp(a->datatype, "multivaluelist") == 0;
    json_t *have = json_object_get(out, a->code);
    if (multi) {
        if (have == NULL)
            json_object_set_new(out, a->code, have = json_array());
        if (json_array_size(have) >= S_MAX_VALUES) {
            snprintf(why, whylen, "attribute %s has too many values", a->code);
            return -1;
        }
        json_array_append_new(have, json_string(v));
        return 0;
    }
    if (have || many) {
        snprintf(why, whylen, "attribute %s takes one value", a->code);
        return -1;
    }
    json_object_set_new(out, a->code, json_string(v));
    return 0;
}

int o311_attributes_collect(const char *service, const antt_form_t *form, json_t *body, char **out_json,
                            const char **code, char *why, size_t whylen)
{
    json_t *out = json_object();
    *out_json = NULL;
    *code = "bad_attribute";
    int rc = 0;
    if (body) {
        json_t *given = json_object_get(body, "attribute");
        const char *k;
        json_t *v;
        if (given && !json_is_object(given)) {
            snprintf(why, whylen, "attribute must be an object of code: value");
            rc = -1;
        }
        json_object_foreach(rc ? NULL : given, k, v)
        {
            const s_attr_t *a = antt_attr_find(service, k, strlen(k));
            if (a == NULL) {
                *code = "unknown_attribute";
                snprintf(why, whylen, "this service has no attribute '%.40s' (GET services/{code})",
                         s_text_ok(k, strlen(k)) ? k : "?");
                rc = -1;
                break;
            }
            size_t i;
            json_t *e;
            if (json_is_string(v)) {
                rc = s_add(out, a, 0, json_string_value(v), why, whylen);
            } else if (json_is_array(v)) {
                json_array_foreach(v, i, e)
                {
                    if ((rc = json_is_string(e) ? s_add(out, a, 1, json_string_value(e), why, whylen) : -1) != 0)
                        break;
                }
            } else {
                rc = -1;
            }
            if (rc != 0) {
                if (!why[0])
                    snprintf(why, whylen, "attribute %s must be a string or a list of strings", a->code);
                break;
            }
        }
    }
    for (size_t i = 0; !body && rc == 0 && i < form->n; i++) {
        const char *name = form->fields[i].name, *val = form->fields[i].value;
        if (strncmp(name, "attribute[", 10) != 0)
            continue;
        const char *c = name + 10, *close = strchr(c, ']');
        int many = close && strcmp(close, "][]") == 0;
        if (close == NULL || (close[1] != '\0' && !many)) {
            snprintf(why, whylen, "attribute fields are named attribute[code] or attribute[code][]");
            rc = -1;
            break;
        }
        const s_attr_t *a = antt_attr_find(service, c, (size_t)(close - c));
        if (a == NULL) {
            *code = "unknown_attribute";
            snprintf(why, whylen, "this service has no attribute '%.*s' (GET services/{code})",
                     (int)((close - c) > 40 ? 40 : (close - c)), s_text_ok(c, (size_t)(close - c)) ? c : "?");
            rc = -1;
            break;
        }
        if (*val == '\0')
            continue; /* a form's empty answer: not given */
        rc = s_add(out, a, many, val, why, whylen);
    }
    for (size_t i = 0; rc == 0 && i < antt_attrs_count; i++) {
        const s_attr_t *a = &antt_attrs[i];
        if (service && a->required && strcmp(a->service, service) == 0 && json_object_get(out, a->code) == NULL) {
            *code = "missing_attribute";
            snprintf(why, whylen, "attribute %s is required for %s (%s — %s)", a->code, service, a->vi, a->en);
            rc = -1;
        }
    }
    if (rc == 0 && json_object_size(out) > 0)
        *out_json = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(out);
    return rc;
}
