/* antt submit: sends one report over HTTP (Open311) or ZeroMQ and prints its
 * id. Exit status 0 when stored, 1 when refused or unreachable. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <zmq.h>

#include "antt/v1/report.pb-c.h"
#include "antt_util.h"
#include "cli.h"

typedef struct s_args {
    const char *http, *zmq, *key, *idem, *category, *lat, *lon, *area, *address, *phone,
        *name, *email, *occurred, *text;
} s_args_t;

static size_t s_collect(char *p, size_t size, size_t n, void *arg)
{
    antt_buf_append(arg, p, size * n);
    return size * n;
}

/* Sets name to value in the JSON body; -1 when value is not UTF-8 text. */
static int s_field(json_t *body, const char *name, const char *value)
{
    if (value == NULL)
        return 0;
    json_t *v = json_string(value);
    if (v == NULL) {
        fprintf(stderr, "antt: %s is not UTF-8 text\n", name);
        return -1;
    }
    json_object_set_new(body, name, v);
    return 0;
}

/* The JSON body (antt's extension of Open311's POST): free text is taken as
 * the resident wrote it and the classifier decides, where the spec's form
 * would need a service_code and a place. */
static int s_http(const s_args_t *a)
{
    json_t *doc = json_object();
    int bad = s_field(doc, "api_key", a->key);
    bad |= s_field(doc, "idempotency_key", a->idem);
    bad |= s_field(doc, "service_code", a->category);
    bad |= s_field(doc, "lat", a->lat);
    bad |= s_field(doc, "long", a->lon);
    bad |= s_field(doc, "area_code", a->area);
    bad |= s_field(doc, "address_string", a->address);
    bad |= s_field(doc, "phone", a->phone);
    bad |= s_field(doc, "first_name", a->name);
    bad |= s_field(doc, "email", a->email);
    bad |= s_field(doc, "occurred_datetime", a->occurred);
    bad |= s_field(doc, "description", a->text);
    char *text = bad ? NULL : json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (text == NULL)
        return 1;
    CURL *c = curl_easy_init();
    antt_buf_t resp;
    antt_buf_init(&resp);
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    char *url = antt_xasprintf("%s/open311/v2/requests.json", a->http);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int ret = 1;
    if (rc != CURLE_OK) {
        fprintf(stderr, "antt: could not reach %s: %s\n", url, curl_easy_strerror(rc));
    } else {
        json_t *answer = json_loadb(resp.data ? resp.data : "", resp.len, 0, NULL);
        json_t *first = json_array_get(answer, 0);
        const char *id = json_string_value(json_object_get(first, "service_request_id"));
        if (status / 100 == 2 && id) {
            printf("%s\n", id);
            ret = 0;
        } else {
            const char *d = json_string_value(json_object_get(first, "description"));
            fprintf(stderr, "antt: refused (HTTP %ld): %s\n", status, d ? d : (resp.data ? resp.data : ""));
        }
        json_decref(answer);
    }
    free(url);
    free(text);
    antt_buf_cleanup(&resp);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return ret;
}

static int s_zmq(const s_args_t *a)
{
    Antt__V1__SubmitReport m = ANTT__V1__SUBMIT_REPORT__INIT;
    Antt__V1__Location loc = ANTT__V1__LOCATION__INIT;
    Antt__V1__Contact contact = ANTT__V1__CONTACT__INIT;
    char idem[ANTT_UUID_LEN + 1];
    if (a->idem == NULL)
        antt_uuid7(idem);
    m.api_key = (char *)a->key;
    m.idempotency_key = (char *)(a->idem ? a->idem : idem);
    m.description = (char *)a->text;
    m.service_code = (char *)a->category;
    if (a->lat || a->lon || a->area || a->address) {
        if (a->lat && a->lon) {
            loc.has_lat = loc.has_lon = 1;
            loc.lat = atof(a->lat);
            loc.lon = atof(a->lon);
        }
        loc.area_code = (char *)a->area;
        loc.address = (char *)a->address;
        m.location = &loc;
    }
    if (a->phone || a->name || a->email) {
        contact.phone = (char *)a->phone;
        contact.name = (char *)a->name;
        contact.email = (char *)a->email;
        m.contact = &contact;
    }
    if (a->occurred) {
        int64_t ms;
        if (antt_parse_time(a->occurred, &ms) != 0) {
            fprintf(stderr, "antt: --occurred must be an ISO 8601 date-time\n");
            return 1;
        }
        m.has_occurred_at_ms = 1;
        m.occurred_at_ms = ms;
    }
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_REQ);
    int linger = 0, timeout = 30000;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    int ret = 1;
    size_t len = antt__v1__submit_report__get_packed_size(&m);
    uint8_t *buf = antt_xmalloc(len + 1);
    antt__v1__submit_report__pack(&m, buf);
    if (cli_curve_client(NULL, s, "intake") != 0) {
        /* said why */
    } else if (zmq_connect(s, a->zmq) != 0 || zmq_send(s, buf, len, 0) < 0) {
        fprintf(stderr, "antt: could not send to %s: %s\n", a->zmq, zmq_strerror(zmq_errno()));
    } else {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, s, 0) < 0) {
            fprintf(stderr, "antt: no reply from %s: %s\n", a->zmq, zmq_strerror(zmq_errno()));
        } else {
            Antt__V1__SubmitReply *r = antt__v1__submit_reply__unpack(NULL, zmq_msg_size(&msg), zmq_msg_data(&msg));
            if (r && r->status == ANTT__V1__SUBMIT_REPLY__STATUS__OK && r->report_id) {
                printf("%s\n", r->report_id);
                ret = 0;
            } else {
                fprintf(stderr, "antt: refused: %s (%s)\n", r && r->error ? r->error : "bad reply",
                        r && r->error_code ? r->error_code : "?");
            }
            if (r)
                antt__v1__submit_reply__free_unpacked(r, NULL);
        }
        zmq_msg_close(&msg);
    }
    free(buf);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return ret;
}

int cli_submit(int argc, char **argv)
{
    static const struct option opts[] = {
        {"http", required_argument, NULL, 'H'}, {"zmq", required_argument, NULL, 'Z'},
        {"key", required_argument, NULL, 'k'},  {"idempotency-key", required_argument, NULL, 'i'},
        {"category", required_argument, NULL, 'C'}, {"lat", required_argument, NULL, 'y'},
        {"lon", required_argument, NULL, 'x'},  {"area", required_argument, NULL, 'a'},
        {"address", required_argument, NULL, 'A'}, {"phone", required_argument, NULL, 'p'},
        {"name", required_argument, NULL, 'n'}, {"email", required_argument, NULL, 'e'},
        {"occurred", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    s_args_t a = {0};
    a.key = getenv("ANTT_API_KEY");
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'H': a.http = optarg; break;
        case 'Z': a.zmq = optarg; break;
        case 'k': a.key = optarg; break;
        case 'i': a.idem = optarg; break;
        case 'C': a.category = optarg; break;
        case 'y': a.lat = optarg; break;
        case 'x': a.lon = optarg; break;
        case 'a': a.area = optarg; break;
        case 'A': a.address = optarg; break;
        case 'p': a.phone = optarg; break;
        case 'n': a.name = optarg; break;
        case 'e': a.email = optarg; break;
        case 'o': a.occurred = optarg; break;
        default:
            fprintf(stderr,
                    "usage: antt submit [--http URL | --zmq ENDPOINT] --key API_KEY [--idempotency-key K]\n"
                    "         [--category CODE] [--lat Y --lon X] [--area CODE] [--address TEXT]\n"
                    "         [--phone P] [--name N] [--email E] [--occurred ISO8601] TEXT\n"
                    "Default: --http http://127.0.0.1:8080; the key may come from ANTT_API_KEY.\n");
            return o == 'h' ? 0 : 2;
        }
    }
    if (optind != argc - 1 || a.key == NULL) {
        fprintf(stderr, "antt submit: need --key (or ANTT_API_KEY) and the report text as one argument\n");
        return 2;
    }
    a.text = argv[optind];
    if (a.zmq)
        return s_zmq(&a);
    if (a.http == NULL)
        a.http = "http://127.0.0.1:8080";
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = s_http(&a);
    curl_global_cleanup();
    return rc;
}
