/* cli_incident: how an incident looks on a dispatcher's terminal: one line
 * per incident in a list or on the live feed, and `show`'s whole story
 * (the reports' texts, answers and follow-ups, and the event log; never
 * the contact, which only `contact` opens, and logs). */
#include <stdio.h>
#include <string.h>

#include "antt_util.h"
#include "cli.h"

static const char *const s_status[] = {"?", "new", "acknowledged", "assigned", "resolved", "rejected", "merged"};

/* Bytes in the UTF-8 sequence that starts with lead; 0 for a byte that
 * cannot start one. */
static size_t s_seq_len(unsigned char lead)
{
    if (lead < 0x80)
        return 1;
    if (lead >= 0xc2 && lead <= 0xdf)
        return 2;
    if (lead >= 0xe0 && lead <= 0xef)
        return 3;
    if (lead >= 0xf0 && lead <= 0xf4)
        return 4;
    return 0;
}

size_t cli_utf8_prefix(const char *s, size_t max_chars, char *out, size_t outlen)
{
    static const char ellipsis[] = "\xe2\x80\xa6"; /* U+2026 */
    size_t o = 0, chars = 0;
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    if (outlen < sizeof(ellipsis)) {
        if (outlen)
            out[0] = 0;
        return 0;
    }
    while (*p) {
        size_t n = s_seq_len(*p), k = 1;
        while (n > 1 && k < n && (p[k] & 0xc0) == 0x80)
            k++;
        int valid = n > 0 && k == n;
        if (chars == max_chars || o + (valid ? n : 1) + sizeof(ellipsis) > outlen) {
            memcpy(out + o, ellipsis, sizeof(ellipsis)); /* with its NUL */
            return chars + 1;
        }
        if (!valid) { /* not UTF-8: shown as '?', one byte at a time */
            out[o++] = '?';
            p++;
        } else if (n == 1) {
            out[o++] = *p < 0x20 || *p == 0x7f ? ' ' : (char)*p; /* one line: no breaks, no controls */
            p++;
        } else {
            memcpy(out + o, p, n);
            o += n;
            p += n;
        }
        chars++;
    }
    out[o] = 0;
    return chars;
}

/* Prints s padded with spaces to width characters (not bytes). */
static void s_pad(FILE *f, const char *s, size_t width)
{
    char buf[256];
    size_t chars = cli_utf8_prefix(s, width, buf, sizeof(buf));
    fputs(buf, f);
    for (; chars < width; chars++)
        fputc(' ', f);
}

static void s_age(char *out, size_t len, int64_t since_ms)
{
    long long s = (antt_now_ms() - since_ms) / 1000;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, len, "%llds", s);
    else if (s < 7200)
        snprintf(out, len, "%lldm", s / 60);
    else if (s < 172800)
        snprintf(out, len, "%lldh", s / 3600);
    else
        snprintf(out, len, "%lldd", s / 86400);
}

void cli_incident_line(FILE *f, int idx, const Antt__V1__IncidentUpdate *u)
{
    char dl[40] = "-", age[16] = "-", text[256];
    if (u->has_ack_deadline_ms && u->ack_deadline_ms > 0 && u->status == ANTT__V1__INCIDENT_STATUS__STATUS_NEW) {
        long long left = (u->ack_deadline_ms - antt_now_ms()) / 1000;
        snprintf(dl, sizeof(dl), "%s%llds", left < 0 ? "late " : "", left < 0 ? -left : left);
    }
    if (u->has_created_at_ms && u->created_at_ms > 0)
        s_age(age, sizeof(age), u->created_at_ms);
    if (idx > 0)
        fprintf(f, "%3d ", idx);
    fprintf(f, "P%d %-13s %-12s %4s  ", (int)u->priority, u->category ? u->category : "?",
            (unsigned)u->status < ANTT_ARRAY_SIZE(s_status) ? s_status[u->status] : "?", age);
    s_pad(f, u->ward_name ? u->ward_name : (u->desk_code ? u->desk_code : ""), 24);
    fprintf(f, " %3u report%s  deadline %-9s", u->report_count, u->report_count == 1 ? " " : "s", dl);
    if (u->needs_review)
        fputs(" [review]", f);
    if (u->overdue)
        fputs(" [overdue]", f);
    if (u->escalated)
        fprintf(f, " [escalated to %s]", u->escalated_to ? u->escalated_to : "?");
    if (u->claimed_desk)
        fprintf(f, " [claimed by %s]", u->claimed_desk);
    if (u->assignee)
        fprintf(f, " -> %s", u->assignee);
    if (u->first_text) {
        cli_utf8_prefix(u->first_text, 60, text, sizeof(text));
        fprintf(f, "  \"%s\"", text);
    }
    fprintf(f, "  %.8s\n", u->incident_id ? u->incident_id : "");
}

static void s_time(FILE *f, int has, int64_t ms)
{
    char ts[40];
    fputs(has ? antt_format_time(ms, ts, sizeof(ts)) : "-", f);
}

void cli_incident_show(FILE *f, const Antt__V1__TriageReply *r)
{
    const Antt__V1__IncidentUpdate *u = r->incident;
    if (u == NULL)
        return;
    cli_incident_line(f, 0, u);
    fprintf(f, "    incident %s version %lld, desk %s", u->incident_id, (long long)u->version,
            u->desk_code ? u->desk_code : "-");
    if (u->escalated_to)
        fprintf(f, ", escalated to %s", u->escalated_to);
    if (u->claimed_desk)
        fprintf(f, ", claimed by %s (%s)", u->claimed_desk, u->claimed_by ? u->claimed_by : "?");
    fputc('\n', f);
    for (size_t i = 0; i < u->n_review_reasons; i++)
        fprintf(f, "    review: %s\n", u->review_reasons[i]);
    fprintf(f, "  reports (%zu):\n", r->n_reports);
    char text[8192];
    for (size_t i = 0; i < r->n_reports; i++) {
        const Antt__V1__ReportText *t = r->reports[i];
        fputs("    ", f);
        s_time(f, t->has_received_at_ms, t->received_at_ms);
        fprintf(f, "  %s", t->gateway ? t->gateway : "-");
        if (t->service_code)
            fprintf(f, "  resident chose %s", t->service_code);
        if (t->category)
            fprintf(f, "  classified %s P%d", t->category, (int)t->priority);
        fprintf(f, "%s  %.8s\n", t->contact_given ? "  (contact given: `contact`)" : "",
                t->report_id ? t->report_id : "");
        cli_utf8_prefix(t->description, sizeof(text) / 4 - 2, text, sizeof(text));
        fprintf(f, "      %s\n", text);
        /* what the resident answered and added later, in that order */
        for (size_t k = 0; k < t->n_answers; k++) {
            const Antt__V1__ReportAnswer *a = t->answers[k];
            char q[512];
            cli_utf8_prefix(a->question ? a->question : a->code, 120, q, sizeof(q));
            cli_utf8_prefix(a->answer, 500, text, sizeof(text));
            fprintf(f, "      answer: %s %s\n", q, text);
        }
        for (size_t k = 0; k < t->n_follow_ups; k++) {
            const Antt__V1__ReportFollowUp *fu = t->follow_ups[k];
            fputs("      follow-up ", f);
            s_time(f, fu->has_at_ms, fu->at_ms);
            cli_utf8_prefix(fu->description, sizeof(text) / 4 - 2, text, sizeof(text));
            fprintf(f, ": %s", text);
            if (fu->media_url) {
                cli_utf8_prefix(fu->media_url, 200, text, sizeof(text));
                fprintf(f, " (%s)", text);
            }
            fputc('\n', f);
        }
    }
    fprintf(f, "  events (%zu):\n", r->n_events);
    for (size_t i = 0; i < r->n_events; i++) {
        const Antt__V1__IncidentEvent *e = r->events[i];
        fputs("    ", f);
        s_time(f, e->has_at_ms, e->at_ms);
        fprintf(f, "  %-16s %-16s %s\n", e->kind ? e->kind : "?", e->actor ? e->actor : "?",
                e->data_json ? e->data_json : "");
    }
}
