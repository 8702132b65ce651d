/* antt triage: one dispatcher command over notification's triage ROUTER.
 * antt console: a terminal console for a dispatcher desk, the desk of its
 * token: the live queue (P1 first, then what the classifier asks to review,
 * then by priority and deadline), updates as they happen (the token's SSE
 * feed, cli_feed; a new P1 rings the bell), and commands typed on a line. Reporter contact is shown only when
 * asked for (`contact N`), and that is logged. */
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "antt/v1/incident.pb-c.h"
#include "antt/v1/triage.pb-c.h"
#include "antt_util.h"
#include "cli.h"

static const char *const s_actions[] = {"",      "acknowledge", "assign", "note",           "escalate", "merge",
                                        "split", "resolve",     "reject", "reopen", "unseal_contact", "list",
                                        "get",   "claim",       "reclassify", "show", "solve"};
static const char *const s_errors[] = {"ok", "bad request", "forbidden", "not found", "conflict", "unavailable"};

typedef struct c_conn {
    void *zctx;
    void *dealer;   /* triage */
    const char *token;
    int seq;        /* request ids */
} c_conn_t;

static int s_open(c_conn_t *c, antt_config_t *cfg, const char *token)
{
    c->token = token;
    c->zctx = zmq_ctx_new();
    c->dealer = zmq_socket(c->zctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(c->dealer, ZMQ_LINGER, &linger, sizeof(linger));
    const char *ep = antt_config_get(cfg, "notification.triage_endpoint", "tcp://127.0.0.1:5581");
    if (cli_curve_client(cfg, c->dealer, "notification") != 0 || zmq_connect(c->dealer, ep) != 0) {
        fprintf(stderr, "antt: cannot connect to %s\n", ep);
        return -1;
    }
    return 0;
}

static void s_close(c_conn_t *c)
{
    zmq_close(c->dealer);
    zmq_ctx_term(c->zctx);
}

/* Sends cmd (token and request id filled in) and waits up to 10 s. */
static Antt__V1__TriageReply *s_call(c_conn_t *c, Antt__V1__TriageCommand *cmd)
{
    char rid[32];
    snprintf(rid, sizeof(rid), "cli-%d", ++c->seq);
    cmd->token = (char *)c->token;
    cmd->request_id = rid;
    size_t len = antt__v1__triage_command__get_packed_size(cmd);
    uint8_t *buf = antt_xmalloc(len + 1);
    antt__v1__triage_command__pack(cmd, buf);
    zmq_send(c->dealer, buf, len, 0);
    free(buf);
    for (;;) {
        zmq_pollitem_t pi = {c->dealer, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, 10000) <= 0) {
            fprintf(stderr, "antt: no answer from notification\n");
            return NULL;
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        zmq_msg_recv(&m, c->dealer, 0);
        Antt__V1__TriageReply *r = antt__v1__triage_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
        zmq_msg_close(&m);
        if (r && r->request_id && !strcmp(r->request_id, rid))
            return r;
        if (r) /* a late answer to an earlier request */
            antt__v1__triage_reply__free_unpacked(r, NULL);
    }
}

/* Prints a reply; returns the exit status for `antt triage`. */
static int s_show(const Antt__V1__TriageReply *r)
{
    if (r->status != ANTT__V1__TRIAGE_REPLY__STATUS__OK) {
        printf("refused (%s): %s\n", (unsigned)r->status < 6 ? s_errors[r->status] : "?", r->error ? r->error : "");
        return 1;
    }
    for (size_t i = 0; i < r->n_incidents; i++)
        cli_incident_line(stdout, (int)i + 1, r->incidents[i]);
    if (r->incident && (r->n_reports || r->n_events)) {
        cli_incident_show(stdout, r);
    } else if (r->incident) {
        cli_incident_line(stdout, 0, r->incident);
        printf("    incident %s version %lld\n", r->incident->incident_id, (long long)r->incident->version);
    }
    if (r->contact_json)
        printf("    reporter contact (this was logged): %s\n", r->contact_json);
    return 0;
}

/* "P1".."P4" (or "1".."4"): the priority; else 0. */
static int s_priority_word(const char *w)
{
    if ((w[0] == 'P' || w[0] == 'p') && w[1] >= '1' && w[1] <= '4' && !w[2])
        return w[1] - '0';
    if (w[0] >= '1' && w[0] <= '4' && !w[1])
        return w[0] - '0';
    return 0;
}

/* Fills cmd from words: ACTION [INCIDENT] [ARG...]; for reclassify,
 * INCIDENT [CATEGORY] [P1..P4] [REASON...] (at least one of the first two;
 * notification checks the category); for solve, INCIDENT [YYYY-MM-DD]
 * [ARRESTED] [NOTE...]. */
static int s_command(Antt__V1__TriageCommand *cmd, int n, char **w, char *argbuf, size_t arglen)
{
    if (n < 1)
        return -1;
    const char *a = w[0];
    if (!strcmp(a, "ack"))
        a = "acknowledge";
    else if (!strcmp(a, "contact"))
        a = "unseal_contact";
    cmd->has_action = 1;
    cmd->action = ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED;
    for (size_t i = 1; i < ANTT_ARRAY_SIZE(s_actions); i++)
        if (!strcmp(a, s_actions[i]))
            cmd->action = (Antt__V1__TriageAction)i;
    if (cmd->action == ANTT__V1__TRIAGE_ACTION__ACTION_UNSPECIFIED)
        return -1;
    if (cmd->action == ANTT__V1__TRIAGE_ACTION__ACTION_LIST)
        return 0;
    if (n < 2)
        return -1;
    cmd->incident_id = w[1];
    int first = 2;
    if (cmd->action == ANTT__V1__TRIAGE_ACTION__ACTION_RECLASSIFY) {
        if (first < n && !s_priority_word(w[first]))
            cmd->category = w[first++];
        if (first < n && s_priority_word(w[first])) {
            cmd->has_priority = 1;
            cmd->priority = s_priority_word(w[first++]);
        }
        if (cmd->category == NULL && !cmd->has_priority)
            return -1;
    } else if (cmd->action == ANTT__V1__TRIAGE_ACTION__ACTION_SOLVE) {
        if (first < n && strlen(w[first]) == 10 && w[first][4] == '-')
            cmd->solved_on = w[first++];
        char *end;
        long k = first < n ? strtol(w[first], &end, 10) : -1;
        if (first < n && *end == 0 && k >= 0 && k <= 99999) {
            cmd->has_arrested = 1;
            cmd->arrested = (int32_t)k;
            first++;
        }
    }
    argbuf[0] = 0;
    for (int i = first; i < n; i++) {
        strncat(argbuf, w[i], arglen - strlen(argbuf) - 2);
        if (i + 1 < n)
            strcat(argbuf, " ");
    }
    char *arg = argbuf[0] ? argbuf : NULL;
    switch (cmd->action) {
    case ANTT__V1__TRIAGE_ACTION__ACTION_ASSIGN: cmd->assignee = arg; break;
    case ANTT__V1__TRIAGE_ACTION__ACTION_RESOLVE:
    case ANTT__V1__TRIAGE_ACTION__ACTION_REJECT: cmd->outcome = arg; break;
    case ANTT__V1__TRIAGE_ACTION__ACTION_MERGE: cmd->target_incident_id = arg; break;
    case ANTT__V1__TRIAGE_ACTION__ACTION_SPLIT: cmd->report_id = arg; break;
    case ANTT__V1__TRIAGE_ACTION__ACTION_RECLASSIFY: cmd->reason = arg; break;
    default: cmd->note = arg; break;
    }
    return 0;
}

static const char *s_token(const char *given)
{
    const char *t = given ? given : getenv("ANTT_TOKEN");
    if (t == NULL || !*t)
        fprintf(stderr, "antt: a dispatcher token is needed (--token or ANTT_TOKEN)\n");
    return t && *t ? t : NULL;
}

/* The token, the settings and the connection to the triage ROUTER. Returns
 * 0, or the exit status after printing why. */
static int s_begin(c_conn_t *c, const char *token, const char *cfgp, antt_config_t **cfg)
{
    if ((token = s_token(token)) == NULL)
        return 2;
    if ((*cfg = cli_config(cfgp)) == NULL)
        return 1;
    if (s_open(c, *cfg, token) != 0) {
        s_close(c);
        antt_config_destroy(cfg);
        return 1;
    }
    return 0;
}

int cli_triage(int argc, char **argv)
{
    static const struct option opts[] = {{"token", required_argument, NULL, 't'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *token = NULL, *cfgp = NULL, *usage =
        "usage: antt triage [--token T] list | ACTION INCIDENT [ARG...]\n"
        "  actions: ack, assign WHO, note TEXT, escalate, claim, merge INTO, split REPORT,\n"
        "           reclassify [CATEGORY] [P1..P4] [REASON...], resolve OUTCOME,\n"
        "           reject [unfounded|false_report], reopen, get, show, contact,\n"
        "           solve [YYYY-MM-DD] [ARRESTED] [NOTE...] (điều tra làm rõ: resolves it)\n";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "+c:", opts, NULL)) != -1) {
        switch (o) {
        case 't': token = optarg; break;
        case 'c': cfgp = optarg; break;
        default: fputs(usage, o == 'h' ? stdout : stderr); return o == 'h' ? 0 : 2;
        }
    }
    Antt__V1__TriageCommand cmd = ANTT__V1__TRIAGE_COMMAND__INIT;
    char arg[2048];
    if (s_command(&cmd, argc - optind, argv + optind, arg, sizeof(arg)) != 0) {
        fputs(usage, stderr);
        return 2;
    }
    c_conn_t c = {0};
    antt_config_t *cfg = NULL;
    int rc = s_begin(&c, token, cfgp, &cfg);
    if (rc != 0)
        return rc;
    rc = 1;
    Antt__V1__TriageReply *r = s_call(&c, &cmd);
    if (r) {
        rc = s_show(r);
        antt__v1__triage_reply__free_unpacked(r, NULL);
    }
    s_close(&c);
    antt_config_destroy(&cfg);
    return rc;
}

/* The console's last listing: a number on screen stands for an incident. */
typedef struct c_list {
    char (*ids)[ANTT_UUID_LEN + 1];
    int n;
} c_list_t;

static void s_list(c_conn_t *c, c_list_t *l)
{
    Antt__V1__TriageCommand cmd = ANTT__V1__TRIAGE_COMMAND__INIT;
    cmd.has_action = 1;
    cmd.action = ANTT__V1__TRIAGE_ACTION__ACTION_LIST;
    Antt__V1__TriageReply *r = s_call(c, &cmd);
    if (r == NULL)
        return;
    if (r->status == ANTT__V1__TRIAGE_REPLY__STATUS__OK) {
        free(l->ids);
        l->n = (int)r->n_incidents;
        l->ids = antt_xcalloc((size_t)l->n + 1, sizeof(*l->ids));
        for (int i = 0; i < l->n; i++)
            snprintf(l->ids[i], sizeof(l->ids[i]), "%s", r->incidents[i]->incident_id);
        printf("-- %d open incident%s, most urgent first --\n", l->n, l->n == 1 ? "" : "s");
    }
    s_show(r);
    antt__v1__triage_reply__free_unpacked(r, NULL);
}

/* One update from the desk's feed (its JSON). The incident is looked up
 * (GET, scoped by the token: the feed carries no report text) so that its
 * line shows its ward and text; a new P1 rings the terminal's bell. */
static void s_feed_line(c_conn_t *c, json_t *u)
{
    static const struct {
        const char *kind, *label;
    } labels[] = {{"created", "NEW"}, {"report_joined", "+1 report"}, {"escalated", "ESCALATED"}};
    const char *id = json_string_value(json_object_get(u, "incident_id"));
    const char *kind = json_string_value(json_object_get(u, "kind"));
    const char *label = kind ? kind : "update";
    for (size_t i = 0; kind && i < ANTT_ARRAY_SIZE(labels); i++)
        if (!strcmp(kind, labels[i].kind))
            label = labels[i].label;
    if (id == NULL)
        return;
    Antt__V1__TriageCommand cmd = ANTT__V1__TRIAGE_COMMAND__INIT;
    cmd.has_action = 1;
    cmd.action = ANTT__V1__TRIAGE_ACTION__ACTION_GET;
    cmd.incident_id = (char *)id;
    Antt__V1__TriageReply *r = s_call(c, &cmd);
    int bell = kind && !strcmp(kind, "created") && json_integer_value(json_object_get(u, "priority")) == 1;
    printf("\r%s* %s: ", bell ? "\a" : "", label);
    if (r && r->status == ANTT__V1__TRIAGE_REPLY__STATUS__OK && r->incident)
        cli_incident_line(stdout, 0, r->incident);
    else
        printf("incident %s\n", id);
    if (r)
        antt__v1__triage_reply__free_unpacked(r, NULL);
}

/* What waits on the feed's pipe: whole lines only; a part stays in buf.
 * Returns 0, or -1 when the feed refused the token. */
static int s_feed_read(c_conn_t *c, cli_feed_t *feed, antt_buf_t *buf, c_list_t *l)
{
    char tmp[8192];
    ssize_t n;
    while ((n = read(cli_feed_fd(feed), tmp, sizeof(tmp))) > 0)
        antt_buf_append(buf, tmp, (size_t)n);
    size_t start = 0;
    int rc = 0;
    for (size_t i = 0; i < buf->len; i++) {
        if (buf->data[i] != '\n')
            continue;
        json_t *u = json_loadb(buf->data + start, i - start, 0, NULL);
        start = i + 1;
        if (u == NULL)
            continue;
        if (json_is_true(json_object_get(u, "reset")))
            s_list(c, l); /* the journal could not bring back what was missed */
        else if (json_is_true(json_object_get(u, "refused")))
            rc = -1;
        else
            s_feed_line(c, u);
        json_decref(u);
    }
    memmove(buf->data, buf->data + start, buf->len - start);
    buf->len -= start;
    return rc;
}

int cli_console(int argc, char **argv)
{
    static const struct option opts[] = {{"desk", required_argument, NULL, 'd'},
                                         {"token", required_argument, NULL, 't'},
                                         {"config", required_argument, NULL, 'c'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *token = NULL, *cfgp = NULL, *usage = "usage: antt console [--token T]\n";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            fprintf(stderr, "antt: --desk is gone: the console shows the desk of its token\n");
            return 2;
        case 't': token = optarg; break;
        case 'c': cfgp = optarg; break;
        default: fputs(usage, o == 'h' ? stdout : stderr); return o == 'h' ? 0 : 2;
        }
    }
    if (optind != argc) {
        fputs(usage, stderr);
        return 2;
    }
    c_conn_t c = {0};
    antt_config_t *cfg = NULL;
    int rc = s_begin(&c, token, cfgp, &cfg);
    if (rc != 0)
        return rc;
    /* the desk's feed comes with the token (notification's SSE stream):
     * the desk PUB admits no client key */
    cli_feed_t *feed = cli_feed_start(cfg, c.token);
    if (feed == NULL) {
        fprintf(stderr, "antt: could not start the desk feed\n");
        s_close(&c);
        antt_config_destroy(&cfg);
        return 1;
    }
    printf("antt console, the desk of the token (feed %s). Commands: list, show N, ack N, assign N WHO,\n"
           "note N TEXT, claim N, escalate N, reclassify N [CATEGORY] [P1..P4] [REASON...], resolve N OUTCOME,\n"
           "reject N [false_report], reopen N, merge N INTO, contact N, solve N [YYYY-MM-DD] [ARRESTED], quit.\n"
           "N is a number from the last list or an incident id.\n",
           cli_feed_url(feed));
    antt_buf_t pending;
    antt_buf_init(&pending);
    c_list_t l = {0};
    s_list(&c, &l);
    /* no hidden stdio buffer: poll must see every line that is waiting */
    setvbuf(stdin, NULL, _IONBF, 0);
    char line[4096];
    for (int running = 1; running;) {
        printf("> ");
        fflush(stdout);
        zmq_pollitem_t pi[2] = {{NULL, cli_feed_fd(feed), ZMQ_POLLIN, 0},
                                {NULL, STDIN_FILENO, ZMQ_POLLIN | ZMQ_POLLERR, 0}};
        int got = 0;
        while (!got) {
            if (zmq_poll(pi, 2, -1) < 0) {
                running = 0;
                break;
            }
            if (pi[0].revents & ZMQ_POLLIN) {
                if (s_feed_read(&c, feed, &pending, &l) != 0)
                    printf("\rthe desk feed refused the token (revoked?)\n");
                printf("> ");
                fflush(stdout);
            }
            if (pi[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) /* a line, or the end of input */
                got = 1;
        }
        if (!running || fgets(line, sizeof(line), stdin) == NULL)
            break;
        char *w[64];
        int n = 0;
        for (char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save); tok && n < 64;
             tok = strtok_r(NULL, " \t\r\n", &save))
            w[n++] = tok;
        if (n == 0)
            continue;
        if (!strcmp(w[0], "quit") || !strcmp(w[0], "q"))
            break;
        if (!strcmp(w[0], "list") || !strcmp(w[0], "l")) {
            s_list(&c, &l);
            continue;
        }
        if (n >= 2) { /* a number from the list stands for its incident */
            char *end;
            long k = strtol(w[1], &end, 10);
            if (*end == 0 && k >= 1 && k <= l.n)
                w[1] = l.ids[k - 1];
        }
        Antt__V1__TriageCommand cmd = ANTT__V1__TRIAGE_COMMAND__INIT;
        char arg[2048];
        if (s_command(&cmd, n, w, arg, sizeof(arg)) != 0) {
            printf("unknown command; try: list, show N, ack N, claim N, reclassify N CATEGORY [P1..P4] [REASON],\n"
                   "assign N WHO, note N TEXT, resolve N OUTCOME, solve N [YYYY-MM-DD] [ARRESTED], quit\n");
            continue;
        }
        Antt__V1__TriageReply *r = s_call(&c, &cmd);
        if (r) {
            s_show(r);
            antt__v1__triage_reply__free_unpacked(r, NULL);
        }
    }
    free(l.ids);
    cli_feed_stop(&feed);
    antt_buf_cleanup(&pending);
    s_close(&c);
    antt_config_destroy(&cfg);
    return 0;
}
