/* at_post: form fields posted as a JSON body (at_post.h). */
#include "at_post.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "antt_form.h"
#include "antt_test.h"
#include "antt_util.h"

/* attribute[code] or attribute[code][]: the code's copy, *many for [] */
static char *s_attr_code(const char *name, int *many)
{
    if (strncmp(name, "attribute[", 10) != 0)
        return NULL;
    const char *c = name + 10, *close = strchr(c, ']');
    if (close == NULL)
        return NULL;
    *many = strcmp(close, "][]") == 0;
    return strndup(c, (size_t)(close - c));
}

/* adds the value s (its reference taken) to key of o */
static void s_add(json_t *o, const char *key, json_t *s, int many)
{
    json_t *have = json_object_get(o, key);
    if (have == NULL && !many) {
        json_object_set_new(o, key, s);
    } else if (have == NULL) {
        json_object_set_new(o, key, json_pack("[o]", s));
    } else if (json_is_array(have)) {
        json_array_append_new(have, s);
    } else {
        json_object_set_new(o, key, json_pack("[O,o]", have, s));
    }
}

char *at_form_json(const char *form)
{
    antt_form_t f;
    if (antt_form_parse(&f, form, strlen(form), 256) != 0)
        return NULL;
    json_t *o = json_object();
    int ok = 1;
    for (size_t i = 0; ok && i < f.n; i++) {
        const char *name = f.fields[i].name;
        json_t *v = strlen(f.fields[i].value) == f.fields[i].value_len ? json_string(f.fields[i].value) : NULL;
        if (v == NULL) {
            ok = 0; /* not UTF-8 text: a form's matter, not JSON's */
            break;
        }
        int many = 0;
        char *code = s_attr_code(name, &many);
        if (code) {
            json_t *a = json_object_get(o, "attribute");
            if (a == NULL)
                json_object_set_new(o, "attribute", a = json_object());
            s_add(a, code, v, many);
            free(code);
        } else {
            s_add(o, name, v, 0);
        }
    }
    antt_form_cleanup(&f);
    char *s = ok ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

int at_post_report(const char *url, const char *const *headers, const char *form, char **resp)
{
    char *body = at_form_json(form);
    if (resp)
        *resp = NULL;
    if (body == NULL)
        return -1;
    const char *h[16];
    size_t n = 0;
    for (const char *const *x = headers; x && *x && n < 14; x++)
        h[n++] = *x;
    h[n++] = "Content-Type: application/json";
    h[n] = NULL;
    int st = at_http("POST", url, h, body, strlen(body), resp);
    free(body);
    return st;
}

char *at_submit_report(const char *url, const char *form)
{
    char *resp = NULL, *id = NULL;
    if (at_post_report(url, NULL, form, &resp) == 201) {
        json_t *j = json_loads(resp, 0, NULL);
        const char *s = json_string_value(json_object_get(json_array_get(j, 0), "service_request_id"));
        id = s ? antt_xstrdup(s) : NULL;
        json_decref(j);
    }
    free(resp);
    return id;
}
