/* cli_import_read: the rows of an import file. CSV (RFC 4180: quoted fields
 * may hold commas, quotes and newlines) is read by libcsv in strict mode, a
 * record at a time whatever its lines; JSON lines by jansson, a line at a
 * time. Every row is checked and every bad one reported (file, line where
 * the row starts, field) before anything is sent. A date-time without a
 * zone is the area's local time (Asia/Ho_Chi_Minh, UTC+7 since 1975); a
 * date alone is that day's local noon. Each row's idempotency key is a hash
 * of its text and of how many identical rows came before it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <jansson.h>
#include <sodium.h>

#include "antt_categories.h"
#include "antt_util.h"
#include "cli_import.h"

#define R_MAX_COLS 32

/* The fields a row may have, in the order s_row_set takes them. */
enum { F_OCCURRED, F_CATEGORY, F_AREA, F_LAT, F_LON, F_STATUS, F_DESCRIPTION, F_ADDRESS, F_PRIORITY, F_OUTCOME,
       F_SOLVED_ON, F_ARRESTED, F_COUNT };
static const char *const s_names[F_COUNT] = {"occurred_at", "category",    "area_code", "lat",      "lon",
                                            "status",      "description", "address",   "priority", "outcome",
                                            "solved_on",   "arrested"};

void cli_import_row_free(i_row_t *r)
{
    free(r->category);
    free(r->area);
    free(r->status);
    free(r->description);
    free(r->address);
}

/* A date: its local noon; a date-time without a zone: local time. */
static int s_parse_when(const char *s, int64_t *ms)
{
    char buf[48];
    size_t n = strlen(s);
    if (n == 10) {
        snprintf(buf, sizeof(buf), "%sT12:00:00+07:00", s);
        return antt_parse_time(buf, ms);
    }
    if (n > 10 && n < 32 && strpbrk(s + 10, "Zz+-") == NULL) {
        snprintf(buf, sizeof(buf), "%s+07:00", s);
        return antt_parse_time(buf, ms);
    }
    return antt_parse_time(s, ms);
}

static int s_is_date(const char *s)
{
    int64_t ms;
    return strlen(s) == 10 && s_parse_when(s, &ms) == 0;
}

/* Checks and keeps one row's fields (v[F_*], NULL or "" when absent);
 * on a bad one writes why into err, *field its index, and returns -1. */
static int s_row_set(i_row_t *r, const char *const *v, int *field, char *err, size_t errlen)
{
#define S_BAD(f, ...)                            \
    do {                                         \
        *field = (f);                            \
        snprintf(err, errlen, __VA_ARGS__);      \
        return -1;                               \
    } while (0)
#define S_HAS(f) (v[f] && *v[f])
    if (!S_HAS(F_OCCURRED) || s_parse_when(v[F_OCCURRED], &r->occurred_ms) != 0)
        S_BAD(F_OCCURRED, "must be an ISO 8601 date-time or YYYY-MM-DD (\"%.40s\")", v[F_OCCURRED] ? v[F_OCCURRED] : "");
    if (r->occurred_ms > antt_now_ms() + 60000)
        S_BAD(F_OCCURRED, "is in the future");
    if (!S_HAS(F_CATEGORY) || antt_category_find(v[F_CATEGORY]) == NULL)
        S_BAD(F_CATEGORY, "unknown category \"%.40s\"", v[F_CATEGORY] ? v[F_CATEGORY] : "");
    if (S_HAS(F_LAT) != S_HAS(F_LON))
        S_BAD(S_HAS(F_LAT) ? F_LON : F_LAT, "lat and lon go together");
    if (S_HAS(F_LAT)) {
        char *e1, *e2;
        r->lat = strtod(v[F_LAT], &e1);
        r->lon = strtod(v[F_LON], &e2);
        if (*e1 || r->lat < -90 || r->lat > 90)
            S_BAD(F_LAT, "bad latitude \"%.40s\"", v[F_LAT]);
        if (*e2 || r->lon < -180 || r->lon > 180)
            S_BAD(F_LON, "bad longitude \"%.40s\"", v[F_LON]);
        r->has_coords = 1;
    }
    if (!r->has_coords && !S_HAS(F_AREA))
        S_BAD(F_AREA, "area_code or lat and lon is required");
    const char *pr = S_HAS(F_PRIORITY) ? v[F_PRIORITY] : "3";
    if ((pr[0] == 'P' || pr[0] == 'p') && pr[1])
        pr++;
    if (pr[0] < '1' || pr[0] > '4' || pr[1] != '\0')
        S_BAD(F_PRIORITY, "must be 1, 2, 3 or 4 (or P1 to P4)");
    r->priority = pr[0] - '0';
    const char *st = S_HAS(F_STATUS) ? v[F_STATUS] : "resolved";
    if (strcmp(st, "new") && strcmp(st, "acknowledged") && strcmp(st, "resolved") && strcmp(st, "rejected"))
        S_BAD(F_STATUS, "must be new, acknowledged, resolved or rejected");
    r->arrested = -1;
    if (S_HAS(F_OUTCOME)) {
        if (strcmp(v[F_OUTCOME], "solved"))
            S_BAD(F_OUTCOME, "must be solved or empty");
        if (strcmp(st, "resolved"))
            S_BAD(F_OUTCOME, "solved goes with the status resolved");
        r->solved = 1;
    }
    if (S_HAS(F_SOLVED_ON)) {
        if (!r->solved)
            S_BAD(F_SOLVED_ON, "goes with the outcome solved");
        if (!s_is_date(v[F_SOLVED_ON]))
            S_BAD(F_SOLVED_ON, "must be a date YYYY-MM-DD");
        snprintf(r->solved_on, sizeof(r->solved_on), "%s", v[F_SOLVED_ON]);
    }
    if (S_HAS(F_ARRESTED)) {
        char *e;
        long n = strtol(v[F_ARRESTED], &e, 10);
        if (!r->solved)
            S_BAD(F_ARRESTED, "goes with the outcome solved");
        if (*e || n < 0 || n > 99999)
            S_BAD(F_ARRESTED, "must be a number from 0 to 99999");
        r->arrested = (int)n;
    }
#undef S_HAS
#undef S_BAD
    r->category = antt_xstrdup(v[F_CATEGORY]);
    r->area = v[F_AREA] && *v[F_AREA] ? antt_xstrdup(v[F_AREA]) : NULL;
    r->status = antt_xstrdup(st);
    r->description = v[F_DESCRIPTION] && *v[F_DESCRIPTION]
                         ? antt_xstrdup(v[F_DESCRIPTION])
                         : antt_xasprintf("Vụ việc nhập từ số liệu cũ (%s)", antt_category_find(v[F_CATEGORY])->label_vi);
    r->address = v[F_ADDRESS] && *v[F_ADDRESS] ? antt_xstrdup(v[F_ADDRESS]) : NULL;
    return 0;
}

/* What reading a file builds up. */
typedef struct r_state {
    const char *path;     /* for messages */
    i_row_t *rows;        /* the good rows */
    int nrows;            /* their count */
    int bad;              /* bad rows */
    struct {
        unsigned char h[16];
        int n;
    } *seen;              /* each distinct row text's hash and its identical rows so far */
    int nseen;            /* entries of seen */
    /* CSV */
    int ncols;            /* the header's columns (0: not read yet) */
    int col_field[R_MAX_COLS]; /* each column's F_* (-1: not a field of antt's) */
    char *cols[R_MAX_COLS];    /* the header's names */
    char *vals[R_MAX_COLS];    /* the record being read */
    int nvals;            /* its fields so far */
    int line;             /* the line being read (1-based) */
    int rec_line;         /* where the record being read started */
    int between;          /* between records (the next byte that is not a newline starts one) */
    antt_buf_t raw;       /* the record's text */
} r_state_t;

static void s_row_key(r_state_t *s, i_row_t *r, const char *text, size_t len)
{
    unsigned char h[16];
    crypto_generichash(h, sizeof(h), (const unsigned char *)text, len, NULL, 0);
    int rank = 0;
    for (int i = 0; i < s->nseen; i++)
        if (!memcmp(s->seen[i].h, h, sizeof(h))) {
            rank = ++s->seen[i].n;
            break;
        }
    if (rank == 0) {
        s->seen = antt_xrealloc(s->seen, sizeof(*s->seen) * (size_t)(s->nseen + 1));
        memcpy(s->seen[s->nseen].h, h, sizeof(h));
        s->seen[s->nseen++].n = 0;
    }
    char hex[33];
    sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
    snprintf(r->key, sizeof(r->key), "import-%s-%d", hex, rank);
}

/* One row from its fields; counts it good or reports it. colname: the
 * field's name in the file (CSV: with its column number). */
static void s_row(r_state_t *s, int line, const char *text, size_t len, const char *const *v,
                  const char *(*colname)(r_state_t *, int, char *, size_t))
{
    s->rows = antt_xrealloc(s->rows, sizeof(*s->rows) * (size_t)(s->nrows + 1));
    i_row_t *r = &s->rows[s->nrows];
    memset(r, 0, sizeof(*r));
    r->line = line;
    s_row_key(s, r, text, len);
    char err[200], name[64];
    int field = 0;
    if (s_row_set(r, v, &field, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s:%d: %s: %s\n", s->path, line, colname(s, field, name, sizeof(name)), err);
        cli_import_row_free(r);
        s->bad++;
        return;
    }
    s->nrows++;
}

static const char *s_json_name(r_state_t *s, int field, char *buf, size_t len)
{
    (void)s;
    snprintf(buf, len, "field %s", s_names[field]);
    return buf;
}

static const char *s_csv_name(r_state_t *s, int field, char *buf, size_t len)
{
    for (int c = 0; c < s->ncols; c++)
        if (s->col_field[c] == field) {
            snprintf(buf, len, "field %d (%s)", c + 1, s_names[field]);
            return buf;
        }
    snprintf(buf, len, "field %s (no such column)", s_names[field]);
    return buf;
}

static const char *s_json_str(json_t *o, const char *k, char *buf, size_t len)
{
    json_t *v = json_object_get(o, k);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_number(v)) {
        snprintf(buf, len, json_is_integer(v) ? "%.0f" : "%.10g", json_number_value(v));
        return buf;
    }
    return NULL;
}

static void s_read_jsonl(r_state_t *s, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int lineno = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (len == 0)
            continue;
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)len, 0, &je);
        if (!json_is_object(o)) {
            fprintf(stderr, "%s:%d: not a JSON object: %s\n", s->path, lineno, je.text);
            s->bad++;
            json_decref(o);
            continue;
        }
        char bufs[F_COUNT][32];
        const char *v[F_COUNT];
        for (int k = 0; k < F_COUNT; k++)
            v[k] = s_json_str(o, s_names[k], bufs[k], sizeof(bufs[k]));
        s_row(s, lineno, line, (size_t)len, v, s_json_name);
        json_decref(o);
    }
    free(line);
}

static void s_csv_field(void *data, size_t len, void *arg)
{
    r_state_t *s = arg;
    if (s->nvals < R_MAX_COLS)
        s->vals[s->nvals] = antt_xstrndup(data, len);
    s->nvals++;
}

static void s_csv_vals_free(r_state_t *s)
{
    for (int i = 0; i < s->nvals && i < R_MAX_COLS; i++)
        free(s->vals[i]);
    s->nvals = 0;
}

static void s_csv_record(int c, void *arg)
{
    (void)c;
    r_state_t *s = arg;
    /* the record's text without its line end */
    while (s->raw.len > 0 && (s->raw.data[s->raw.len - 1] == '\n' || s->raw.data[s->raw.len - 1] == '\r'))
        s->raw.len--;
    if (s->ncols == 0) { /* the header */
        if (s->nvals > R_MAX_COLS) {
            fprintf(stderr, "%s:%d: the header has %d fields, at most %d are read\n", s->path, s->rec_line,
                    s->nvals, R_MAX_COLS);
            s->bad++;
            s->ncols = -1;
        } else {
            s->ncols = s->nvals;
            for (int i = 0; i < s->nvals; i++) {
                s->cols[i] = s->vals[i];
                s->vals[i] = NULL;
                s->col_field[i] = -1;
                for (int k = 0; k < F_COUNT; k++)
                    if (!strcmp(s->cols[i], s_names[k]))
                        s->col_field[i] = k;
            }
        }
        s->nvals = 0;
    } else if (s->ncols > 0 && s->nvals != s->ncols) {
        fprintf(stderr, "%s:%d: %d fields where the header has %d\n", s->path, s->rec_line, s->nvals, s->ncols);
        s->bad++;
    } else if (s->ncols > 0) {
        const char *v[F_COUNT] = {0};
        for (int i = 0; i < s->nvals; i++)
            if (s->col_field[i] >= 0)
                v[s->col_field[i]] = s->vals[i];
        s_row(s, s->rec_line, s->raw.data ? s->raw.data : "", s->raw.len, v, s_csv_name);
    }
    s_csv_vals_free(s);
    s->raw.len = 0;
    s->between = 1;
}

static int s_space(unsigned char c)
{
    (void)c;
    return 0; /* RFC 4180: spaces are part of a field */
}

static void s_read_csv(r_state_t *s, FILE *f)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        fprintf(stderr, "antt import: could not start the CSV parser\n");
        s->bad++;
        return;
    }
    csv_set_space_func(&p, s_space);
    s->line = 1;
    s->between = 1;
    int ch;
    /* a byte at a time: a record's first line and an error's line are known */
    while ((ch = getc(f)) != EOF) {
        char c = (char)ch;
        if (s->between && c != '\n' && c != '\r') {
            s->rec_line = s->line;
            s->between = 0;
        }
        if (!s->between)
            antt_buf_append(&s->raw, &c, 1);
        if (csv_parse(&p, &c, 1, s_csv_field, s_csv_record, s) != 1) {
            fprintf(stderr, "%s:%d: field %d: %s (a quote inside a field that is not quoted, or text after a"
                            " closing quote)\n",
                    s->path, s->line, s->nvals + 1, csv_strerror(csv_error(&p)));
            s->bad++;
            goto out;
        }
        if (c == '\n')
            s->line++;
    }
    if (csv_fini(&p, s_csv_field, s_csv_record, s) != 0) {
        fprintf(stderr, "%s:%d: field %d: a quote opened here is never closed\n", s->path, s->rec_line,
                s->nvals + 1);
        s->bad++;
    } else if (s->ncols == 0) {
        fprintf(stderr, "%s: no CSV header\n", s->path);
        s->bad++;
    }
out:
    csv_free(&p);
    s_csv_vals_free(s);
}

int cli_import_read(const char *path, i_row_t **rows_out)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "antt import: %s: %s\n", path, strerror(errno));
        return -1;
    }
    r_state_t s;
    memset(&s, 0, sizeof(s));
    s.path = path;
    antt_buf_init(&s.raw);
    int ch;
    while ((ch = getc(f)) != EOF && (ch == '\n' || ch == '\r' || ch == ' ' || ch == '\t'))
        ;
    int json = ch == '{';
    rewind(f);
    if (json)
        s_read_jsonl(&s, f);
    else
        s_read_csv(&s, f);
    fclose(f);
    free(s.seen);
    for (int i = 0; i < R_MAX_COLS; i++)
        free(s.cols[i]);
    antt_buf_cleanup(&s.raw);
    if (s.bad) {
        fprintf(stderr, "antt import: %d bad row(s); nothing was imported\n", s.bad);
        for (int i = 0; i < s.nrows; i++)
            cli_import_row_free(&s.rows[i]);
        free(s.rows);
        return -1;
    }
    *rows_out = s.rows;
    return s.nrows;
}
