/* notify_answers: answers and follow-ups shown with SHOW's reports. */
#include "notify_answers.h"

#include <stdlib.h>
#include <string.h>

#include "antt_attributes.h"
#include "antt_util.h"

/* The answer in Vietnamese: a list's names joined by ", ", free text as
 * given. A new reference. */
static json_t *s_answer_text(const antt_attr_t *a, json_t *values)
{
    antt_buf_t b;
    antt_buf_init(&b);
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v)
    {
        const char *key = json_string_value(v);
        const antt_attr_value_t *x = a ? antt_attr_value(a, key) : NULL;
        antt_buf_printf(&b, "%s%s", i ? ", " : "", x ? x->vi : key ? key : "");
    }
    json_t *s = json_stringn(b.data ? b.data : "", b.len);
    antt_buf_cleanup(&b);
    return s ? s : json_string("");
}

/* values as an array of strings (a list answer is one already) */
static json_t *s_values(json_t *given)
{
    if (json_is_array(given))
        return json_incref(given);
    return json_is_string(given) ? json_pack("[O]", given) : json_array();
}

static void s_add(json_t *out, const antt_attr_t *a, const char *code, json_t *given)
{
    json_t *values = s_values(given);
    json_array_append_new(out, json_pack("{s:s,s:s,s:o,s:o}", "code", code, "question", a ? a->vi : code,
                                         "values", values, "answer", s_answer_text(a, values)));
}

json_t *notify_answers_json(const char *service, const char *attributes)
{
    json_t *out = json_array();
    json_t *given = attributes ? json_loads(attributes, 0, NULL) : NULL;
    if (!json_is_object(given)) {
        json_decref(given);
        return out;
    }
    for (size_t i = 0; service && i < antt_attrs_count; i++) {
        const antt_attr_t *a = &antt_attrs[i];
        json_t *v = strcmp(a->service, service) == 0 ? json_object_get(given, a->code) : NULL;
        if (v) {
            s_add(out, a, a->code, v);
            json_object_del(given, a->code);
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(given, k, v)
    {
        s_add(out, NULL, k, v); /* a question the service no longer asks */
    }
    json_decref(given);
    return out;
}

void notify_answers_merge(json_t *detail, PGresult *rows)
{
    json_t *reports = json_object_get(detail, "reports");
    size_t i;
    json_t *rep;
    json_array_foreach(reports, i, rep)
    {
        const char *id = json_string_value(json_object_get(rep, "report_id"));
        json_t *answers = NULL, *follow_ups = NULL;
        for (int r = 0; id && rows && r < PQntuples(rows); r++) {
            if (strcmp(PQgetvalue(rows, r, 0), id) != 0)
                continue;
            answers = notify_answers_json(PQgetisnull(rows, r, 1) ? NULL : PQgetvalue(rows, r, 1),
                                          PQgetisnull(rows, r, 2) ? NULL : PQgetvalue(rows, r, 2));
            follow_ups = json_loads(PQgetvalue(rows, r, 3), 0, NULL);
            break;
        }
        json_object_set_new(rep, "answers", answers ? answers : json_array());
        json_object_set_new(rep, "follow_ups", json_is_array(follow_ups) ? follow_ups : json_array());
        if (follow_ups && !json_is_array(follow_ups))
            json_decref(follow_ups);
    }
}

void notify_answers_fill(notify_answers_pb_t *x, json_t *report, Antt__V1__ReportText *r)
{
    memset(x, 0, sizeof(*x));
    json_t *as = json_object_get(report, "answers"), *fs = json_object_get(report, "follow_ups");
    x->n_answers = json_array_size(as);
    x->n_follow_ups = json_array_size(fs);
    x->answers = antt_xcalloc(x->n_answers + 1, sizeof(*x->answers));
    x->ap = antt_xcalloc(x->n_answers + 1, sizeof(*x->ap));
    x->values = antt_xcalloc(x->n_answers + 1, sizeof(*x->values));
    x->follow_ups = antt_xcalloc(x->n_follow_ups + 1, sizeof(*x->follow_ups));
    x->fp = antt_xcalloc(x->n_follow_ups + 1, sizeof(*x->fp));
    for (size_t i = 0; i < x->n_answers; i++) {
        json_t *o = json_array_get(as, i), *vs = json_object_get(o, "values");
        Antt__V1__ReportAnswer *a = &x->answers[i];
        antt__v1__report_answer__init(a);
        a->code = (char *)json_string_value(json_object_get(o, "code"));
        a->question = (char *)json_string_value(json_object_get(o, "question"));
        a->answer = (char *)json_string_value(json_object_get(o, "answer"));
        a->n_values = json_array_size(vs);
        x->values[i] = antt_xcalloc(a->n_values + 1, sizeof(char *));
        for (size_t k = 0; k < a->n_values; k++) {
            const char *s = json_string_value(json_array_get(vs, k));
            x->values[i][k] = (char *)(s ? s : "");
        }
        a->values = x->values[i];
        x->ap[i] = a;
    }
    for (size_t i = 0; i < x->n_follow_ups; i++) {
        json_t *o = json_array_get(fs, i);
        Antt__V1__ReportFollowUp *f = &x->follow_ups[i];
        antt__v1__report_follow_up__init(f);
        int64_t ms = 0;
        const char *at = json_string_value(json_object_get(o, "at"));
        f->has_at_ms = at && antt_parse_time(at, &ms) == 0;
        f->at_ms = ms;
        f->description = (char *)json_string_value(json_object_get(o, "description"));
        f->media_url = (char *)json_string_value(json_object_get(o, "media_url"));
        x->fp[i] = f;
    }
    r->n_answers = x->n_answers;
    r->answers = x->ap;
    r->n_follow_ups = x->n_follow_ups;
    r->follow_ups = x->fp;
}

void notify_answers_release(notify_answers_pb_t *x)
{
    for (size_t i = 0; i < x->n_answers; i++)
        free(x->values[i]);
    free(x->values);
    free(x->answers);
    free(x->ap);
    free(x->follow_ups);
    free(x->fp);
    memset(x, 0, sizeof(*x));
}
