/* agg_render: how the HTTP API reads a query string and writes its answers
 * (JSON from the database's jsonb, or CSV with a header row). */
#include <stdio.h>
#include <string.h>

#include "agg_int.h"
#include "antt_json.h"

void agg_kv_json(antt_buf_t *b, const agg_kv_t *kv, const char *epoch, int suppressed)
{
    antt_buf_puts(b, "{\"key\":");
    antt_json_cstr(b, kv->key);
    antt_buf_puts(b, ",\"area\":");
    antt_json_cstr(b, kv->k.area);
    antt_buf_printf(b, ",\"period\":\"%s\",\"bucket\":\"%s\",\"dimension\":", kv->k.period, kv->k.bucket);
    antt_json_cstr(b, kv->k.dimension);
    if (suppressed)
        antt_buf_puts(b, ",\"count\":null,\"suppressed\":true");
    else
        antt_buf_printf(b, ",\"count\":%lld", (long long)kv->count);
    antt_buf_printf(b, ",\"sequence\":%lld,\"epoch\":\"%s\"}", (long long)kv->seq, epoch);
}

int agg_query_parse(antt_http_req_t *req, antt_form_t *f)
{
    antt_str_t q = antt_http_query(req);
    if (antt_form_parse(f, q.p ? q.p : "", q.n, 32) != 0) {
        antt_http_json_error(req, 400, "bad_request", "malformed query string");
        return -1;
    }
    for (size_t i = 0; i < f->n; i++)
        if (strlen(f->fields[i].value) != f->fields[i].value_len || f->fields[i].value_len > 200) {
            antt_form_cleanup(f);
            antt_http_json_error(req, 400, "bad_request", "a query value is too long or holds a NUL byte");
            return -1;
        }
    return 0;
}

const char *agg_param(const antt_form_t *f, const char *name)
{
    const antt_form_field_t *x = antt_form_get(f, name);
    return x && x->value[0] ? x->value : NULL;
}

int agg_wants_csv(const antt_form_t *f, antt_http_req_t *req)
{
    const char *fmt = agg_param(f, "format");
    if (fmt)
        return !strcmp(fmt, "csv");
    antt_str_t acc = antt_http_header(req, "accept");
    return acc.n >= 8 && memmem(acc.p, acc.n, "text/csv", 8) != NULL;
}

int agg_area_ok(const char *s)
{
    if (s == NULL || !*s || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

static void s_csv_field(antt_buf_t *b, const char *s)
{
    if (strpbrk(s, ",\"\n\r") == NULL) {
        antt_buf_puts(b, s);
        return;
    }
    antt_buf_puts(b, "\"");
    for (; *s; s++)
        antt_buf_append(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
    antt_buf_puts(b, "\"");
}

/* A result as CSV: a header of column names, then the rows. */
static void s_respond_csv(antt_http_req_t *req, PGresult *r, const char *filename)
{
    antt_buf_t b;
    antt_buf_init(&b);
    for (int c = 0; c < PQnfields(r); c++) {
        antt_buf_puts(&b, c ? "," : "");
        s_csv_field(&b, PQfname(r, c));
    }
    antt_buf_puts(&b, "\r\n");
    for (int i = 0; i < PQntuples(r); i++) {
        for (int c = 0; c < PQnfields(r); c++) {
            antt_buf_puts(&b, c ? "," : "");
            s_csv_field(&b, PQgetvalue(r, i, c));
        }
        antt_buf_puts(&b, "\r\n");
    }
    char cd[160];
    snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", filename);
    antt_http_add_header(req, "content-disposition", cd);
    antt_http_respond(req, 200, "text/csv; charset=utf-8", b.data, b.len);
    antt_buf_cleanup(&b);
}

/* Statement 0's single text value is the JSON body. */
void agg_render_json0(antt_http_req_t *req, antt_db_job_t *job, int csv)
{
    (void)csv;
    PGresult *r = antt_db_job_result(job, 0);
    const char *body = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : "null";
    antt_http_respond(req, 200, "application/json", body, strlen(body));
}

/* A boolean column as JSON. */
static const char *s_bool(PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? "null" : *PQgetvalue(r, row, col) == 't' ? "true" : "false";
}

void agg_render_trends(antt_http_req_t *req, antt_db_job_t *job, int csv)
{
    PGresult *r = antt_db_job_result(job, 1), *cmp = antt_db_job_result(job, 2);
    if (csv) {
        s_respond_csv(req, r, "trends.csv");
        return;
    }
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_printf(&b, "{\"query\":%s,\"buckets\":[", PQgetvalue(antt_db_job_result(job, 0), 0, 0));
    for (int i = 0; i < PQntuples(r); i++) {
        antt_buf_puts(&b, i ? ",{\"bucket\":" : "{\"bucket\":");
        antt_json_cstr(&b, PQgetvalue(r, i, 0));
        antt_buf_printf(&b, ",\"from\":\"%s\",\"to\":\"%s\"", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
        static const char *const names[] = {"count", "prior", "change", "change_pct"};
        for (int c = 0; c < 4; c++)
            antt_buf_printf(&b, ",\"%s\":%s", names[c], PQgetisnull(r, i, 3 + c) ? "null" : PQgetvalue(r, i, 3 + c));
        antt_buf_printf(&b, ",\"significant\":%s,\"coverage\":%s,\"prior_coverage\":%s", s_bool(r, i, 7),
                        s_bool(r, i, 8), s_bool(r, i, 9));
        /* the public's figures of 1 .. k-1 incidents (agg_audience) */
        antt_buf_puts(&b, PQgetisnull(r, i, 3) || PQgetisnull(r, i, 4) ? ",\"suppressed\":true}" : "}");
    }
    antt_buf_printf(&b, "],\"comparisons\":%s}", PQgetvalue(cmp, 0, 0));
    antt_http_respond(req, 200, "application/json", b.data, b.len);
    antt_buf_cleanup(&b);
}

void agg_render_summary(antt_http_req_t *req, antt_db_job_t *job, int csv)
{
    if (csv)
        s_respond_csv(req, antt_db_job_result(job, 1), "summary.csv");
    else
        agg_render_json0(req, job, csv);
}

/* Rows whose last column is a jsonb object each: a JSON array, or CSV. */
void agg_render_rows(antt_http_req_t *req, antt_db_job_t *job, int csv)
{
    PGresult *r = antt_db_job_result(job, 0);
    if (csv) {
        s_respond_csv(req, r, "trends.csv");
        return;
    }
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_puts(&b, "[");
    for (int i = 0; i < PQntuples(r); i++) {
        antt_buf_puts(&b, i ? "," : "");
        antt_buf_puts(&b, PQgetvalue(r, i, PQnfields(r) - 1));
    }
    antt_buf_puts(&b, "]");
    antt_http_respond(req, 200, "application/json", b.data, b.len);
    antt_buf_cleanup(&b);
}

/* JSON inside a <script> element: "<" written as \u003c, so that no
 * "</script>" or "<!--" in a name ends or changes the element. */
static void s_script_json(antt_buf_t *b, const char *json)
{
    for (const char *p = json; *p;) {
        size_t n = strcspn(p, "<");
        antt_buf_append(b, p, n);
        p += n;
        if (*p == '<') {
            antt_buf_puts(b, "\\u003c");
            p++;
        }
    }
}

void agg_render_report(antt_http_req_t *req, antt_db_job_t *job, int csv)
{
    (void)csv;
    static const char mark[] = "<!--ANTT-REPORT-DATA-->";
    const agg_asset_t *page = agg_asset("report.html");
    PGresult *r = antt_db_job_result(job, 0);
    const char *html = page ? (const char *)page->data : NULL;
    const char *at = html ? strstr(html, mark) : NULL;
    if (at == NULL || PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
        antt_http_json_error(req, 500, "internal", "no report page");
        return;
    }
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_append(&b, html, (size_t)(at - html));
    antt_buf_puts(&b, "<script id=\"report-data\" type=\"application/json\">");
    s_script_json(&b, PQgetvalue(r, 0, 0));
    antt_buf_puts(&b, "</script>");
    antt_buf_puts(&b, at + sizeof(mark) - 1);
    antt_http_add_header(req, "cache-control", "no-store");
    antt_http_respond(req, 200, "text/html; charset=utf-8", b.data, b.len);
    antt_buf_cleanup(&b);
}
