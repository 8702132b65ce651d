/* Open311 GeoReport v2, section by section, in both formats, against the
 * real antt-intake and PostgreSQL. Every XML answer is parsed with libxml2
 * (open311_read: an independent parser, intake writes with xmlwriter) and
 * its element names and order are checked against the spec's examples
 * (wiki.open311.org/GeoReport_v2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "antt_test.h"
#include "antt_util.h"
#include "open311_env.h"
#include "open311_read.h"

/* tests */
static void test_discovery(void **state)
{
    (void)state;
    char *r, url[128];
    snprintf(url, sizeof(url), "%s/open311/v2/", OE_PUBLIC_URL);
    double t0 = oe_ms();
    assert_int_equal(oe_get("discovery.xml", &r), 200);
    double ms = oe_ms() - t0;
    xmlDocPtr d = o3_xml(r);
    xmlNodePtr root = o3_root(d, "discovery");
    assert_string_equal(o3_names(root), "changeset,contact,key_service,endpoints");
    xmlNodePtr ep = o3_child(o3_child(root, "endpoints"), "endpoint");
    assert_non_null(ep);
    assert_string_equal(o3_names(ep), "specification,url,changeset,type,formats");
    assert_string_equal(o3_text(ep, "url"), url); /* absolute */
    assert_true(strlen(o3_text(ep, "changeset")) == 20);
    assert_string_equal(o3_names(o3_child(ep, "formats")), "format,format");
    assert_string_equal(o3_text(o3_child(ep, "formats"), "format"), "text/xml");
    xmlFreeDoc(d);
    free(r);

    assert_int_equal(oe_get("discovery.json", &r), 200);
    json_t *j = json_loads(r, 0, NULL);
    json_t *e = json_array_get(json_object_get(j, "endpoints"), 0);
    assert_string_equal(json_string_value(json_object_get(e, "url")), url);
    assert_non_null(json_string_value(json_object_get(e, "changeset")));
    assert_int_equal(json_array_size(json_object_get(e, "formats")), 2);
    json_decref(j);
    free(r);
    /* a client's Host and X-Forwarded-Proto do not change it (a cache in
     * front would keep the answer for every gateway) */
    char durl[160];
    snprintf(durl, sizeof(durl), "%s/discovery.json", OE.base);
    const char *spoof[] = {"Host: evil.example", "X-Forwarded-Proto: https", NULL};
    assert_int_equal(at_http("GET", durl, spoof, NULL, 0, &r), 200);
    assert_null(strstr(r, "evil.example"));
    assert_non_null(strstr(r, OE_PUBLIC_URL));
    free(r);
    printf("discovery.xml answered in %.1f ms, endpoint url %s\n", ms, url);
}

static void test_services(void **state)
{
    (void)state;
    char *r;
    double t0 = oe_ms();
    assert_int_equal(oe_get("services.xml", &r), 200);
    double ms = oe_ms() - t0;
    xmlDocPtr d = o3_xml(r);
    xmlNodePtr root = o3_root(d, "services");
    assert_int_equal(o3_count(root, "service"), 16);
    for (xmlNodePtr s = root->children; s; s = s->next)
        assert_string_equal(o3_names(s), "service_code,service_name,description,metadata,type,keywords,group");
    xmlNodePtr first = o3_child(root, "service");
    const char *meta = o3_text(first, "metadata");
    assert_true(strcmp(meta, "true") == 0 || strcmp(meta, "false") == 0);
    xmlFreeDoc(d);
    free(r);
    assert_int_equal(oe_get("services.json", &r), 200);
    json_t *j = json_loads(r, 0, NULL);
    assert_int_equal(json_array_size(j), 16);
    json_decref(j);
    free(r);
    printf("services.xml: 16 services in %.1f ms\n", ms);
}

static void test_service_definition(void **state)
{
    (void)state;
    char *r;
    assert_int_equal(oe_get("services/fire.xml", &r), 200);
    xmlDocPtr d = o3_xml(r);
    xmlNodePtr root = o3_root(d, "service_definition");
    assert_string_equal(o3_names(root), "service_code,attributes");
    assert_string_equal(o3_text(root, "service_code"), "fire");
    xmlFreeDoc(d);
    free(r);
    assert_int_equal(oe_get("services/fire.json", &r), 200);
    json_t *j = json_loads(r, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "service_code")), "fire");
    assert_true(json_is_array(json_object_get(j, "attributes")));
    json_decref(j);
    free(r);
    oe_expect_error("GET", "services/nope.%s", NULL, 404, "unknown_service_code");
}

/* POST Service Request, GET Service Request(s), GET request_id from a token */
static void test_post_and_get_request(void **state)
{
    (void)state;
    const char *fmts[] = {"xml", "json"};
    for (int k = 0; k < 2; k++) {
        const char *fmt = fmts[k];
        /* as FixMyStreet posts: form-urlencoded UTF-8, CRLF inside the text */
        char *id = oe_post_form(fmt, "api_key=key-fms&service_code=theft&lat=10.75&long=106.62"
                                    "&description=Nh%C3%A0+t%C3%B4i+b%E1%BB%8B+tr%E1%BB%99m%0D%0Axe+m%C3%A1y"
                                    "&address_string=H%E1%BA%BBm+12%2C+Q.+T%C3%A2n+B%C3%ACnh");
        assert_true(antt_uuid_valid(id));
        char path[256], *r;
        snprintf(path, sizeof(path), "requests/%s.%s?api_key=key-fms", id, fmt);
        double t0 = oe_ms();
        assert_int_equal(oe_get(path, &r), 200);
        double ms = oe_ms() - t0;
        if (k == 0) {
            xmlDocPtr d = o3_xml(r);
            xmlNodePtr root = o3_root(d, "service_requests");
            assert_int_equal(o3_count(root, "request"), 1);
            xmlNodePtr q = o3_child(root, "request");
            assert_string_equal(o3_names(q), OE_REQUEST_ELEMENTS);
            assert_string_equal(o3_text(q, "service_request_id"), id);
            assert_string_equal(o3_text(q, "status"), "open");
            assert_string_equal(o3_text(q, "service_code"), "theft");
            assert_string_equal(o3_text(q, "description"), "Nhà tôi bị trộm\r\nxe máy");
            assert_string_equal(o3_text(q, "address"), "Hẻm 12, Q. Tân Bình");
            assert_string_equal(o3_text(q, "media_url"), ""); /* absent: an empty element */
            assert_string_equal(o3_text(q, "lat"), "10.75");
            xmlFreeDoc(d);
        } else {
            json_t *j = json_loads(r, 0, NULL);
            json_t *o = json_array_get(j, 0);
            const char *key;
            json_t *v;
            char names[1024] = "";
            json_object_foreach(o, key, v)
            {
                snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? "," : "", key);
            }
            assert_string_equal(names, OE_REQUEST_ELEMENTS);
            assert_true(json_is_null(json_object_get(o, "media_url")));
            assert_string_equal(json_string_value(json_object_get(o, "status")), "open");
            json_decref(j);
        }
        free(r);
        printf("requests/{id}.%s answered in %.1f ms\n", fmt, ms);

        /* GET request_id from a token */
        snprintf(path, sizeof(path), "tokens/%s.%s?api_key=key-fms", id, fmt);
        assert_int_equal(oe_get(path, &r), 200);
        if (k == 0) {
            xmlDocPtr d = o3_xml(r);
            xmlNodePtr root = o3_root(d, "service_requests");
            xmlNodePtr q = o3_child(root, "request");
            assert_string_equal(o3_names(q), "service_request_id,token");
            assert_string_equal(o3_text(q, "service_request_id"), id);
            xmlFreeDoc(d);
        } else {
            assert_non_null(strstr(r, id));
        }
        free(r);

        /* GET Service Requests */
        snprintf(path, sizeof(path), "requests.%s?api_key=key-fms&service_code=theft", fmt);
        assert_int_equal(oe_get(path, &r), 200);
        assert_non_null(strstr(r, id));
        if (k == 0) {
            xmlDocPtr d = o3_xml(r);
            xmlNodePtr root = o3_root(d, "service_requests");
            for (xmlNodePtr q = root->children; q; q = q->next) {
                assert_string_equal((const char *)q->name, "request");
                assert_string_equal(o3_names(q), OE_REQUEST_ELEMENTS);
            }
            xmlFreeDoc(d);
        }
        free(r);
        free(id);
    }
}

/* what XML's escaping must carry through: markup characters in the text */
static void test_xml_escaping(void **state)
{
    (void)state;
    char *id = oe_post_form("xml", "api_key=key-fms&service_code=other&lat=10.7&long=106.6"
                                  "&description=%3Cb%3Eloud%3C%2Fb%3E+%26+%22quoted%22+%5D%5D%3E");
    char path[256], *r;
    snprintf(path, sizeof(path), "requests/%s.xml?api_key=key-fms", id);
    assert_int_equal(oe_get(path, &r), 200);
    xmlDocPtr d = o3_xml(r);
    assert_string_equal(o3_text(o3_child(xmlDocGetRootElement(d), "request"), "description"),
                        "<b>loud</b> & \"quoted\" ]]>");
    xmlFreeDoc(d);
    free(r);
    free(id);
}

/* POST Service Request: the spec's required arguments and its 404 */
static void test_post_arguments(void **state)
{
    (void)state;
    long before = at_db_long(OE.db, "SELECT count(*) FROM reports");
    /* a code that does not exist: 404 */
    oe_expect_error("POST", "requests.%s", "api_key=key-fms&service_code=nope&lat=10.7&long=106.6&description=x",
                   404, "unknown_service_code");
    assert_int_equal(at_db_long(OE.db, "SELECT count(*) FROM reports"), before); /* nothing stored */
    /* the spec's required arguments of the form: service_code and a place */
    oe_expect_error("POST", "requests.%s", "api_key=key-fms&lat=10.7&long=106.6&description=co+trom", 400,
                   "missing_service_code");
    oe_expect_error("POST", "requests.%s", "api_key=key-fms&service_code=theft&description=co+trom", 400,
                   "missing_location");
    assert_int_equal(at_db_long(OE.db, "SELECT count(*) FROM reports"), before);
    /* antt's JSON body keeps free text (the classifier decides), and so
     * does `antt submit`, which sends it */
    char *r0;
    assert_int_equal(oe_req("POST", "requests.json", "application/json",
                           "{\"api_key\":\"key-fms\",\"description\":\"co trom\"}", &r0),
                     201);
    free(r0);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "%s/services/cli/antt submit --http http://127.0.0.1:%d --key key-fms "
                               "'bi trom xe o cho' > /dev/null",
             ANTT_BUILD_DIR, OE.http_port);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(at_db_long(OE.db, "SELECT count(*) FROM reports"), before + 2);
    printf("form without service_code or place: 400 in both formats; free text as JSON and by antt submit: 201\n");

    /* an SMS gateway without coordinates sends address_string; FixMyStreet
     * sends address_id=#NOTPINPOINTED# with its pin; both are kept */
    char *a = oe_post_form("xml", "api_key=key-fms&service_code=theft&address_string=Ch%E1%BB%A3+B%E1%BA%BFn+Th%C3%A0nh"
                                 "&zipcode=700000&description=mat+vi");
    char *b = oe_post_form("json", "api_key=key-fms&service_code=theft&lat=10.77&long=106.69"
                                  "&address_id=%23NOTPINPOINTED%23&description=mat+dien+thoai");
    char path[256], *r;
    snprintf(path, sizeof(path), "requests/%s.xml?api_key=key-fms", a);
    assert_int_equal(oe_get(path, &r), 200);
    xmlDocPtr d = o3_xml(r);
    xmlNodePtr q = o3_child(o3_root(d, "service_requests"), "request");
    assert_string_equal(o3_text(q, "zipcode"), "700000");
    assert_string_equal(o3_text(q, "address"), "Chợ Bến Thành");
    assert_string_equal(o3_text(q, "lat"), ""); /* unknown: empty, present */
    assert_string_equal(o3_text(q, "long"), "");
    xmlFreeDoc(d);
    free(r);
    snprintf(path, sizeof(path), "requests/%s.json?api_key=key-fms", a);
    assert_int_equal(oe_get(path, &r), 200);
    json_t *j = json_loads(r, 0, NULL);
    assert_true(json_is_null(json_object_get(json_array_get(j, 0), "lat")));
    assert_non_null(json_object_get(json_array_get(j, 0), "lat"));
    json_decref(j);
    free(r);
    snprintf(path, sizeof(path), "requests/%s.json?api_key=key-fms", b);
    assert_int_equal(oe_get(path, &r), 200);
    assert_string_equal(oe_json_first(r, "address_id"), "#NOTPINPOINTED#");
    free(r);
    printf("address_string without coordinates and address_id #NOTPINPOINTED# kept and returned\n");
    free(a);
    free(b);
}

/* GET Service Requests: the override rule, comma lists, the window, and
 * 404 for ids of any shape */
static void test_get_arguments(void **state)
{
    (void)state;
    char *id = oe_post_form("json", "api_key=key-fms&service_code=fire&lat=10.7&long=106.6&description=chay+nha");
    char path[512], *r;
    /* service_request_id overrides: with status=closed and another code an
     * open fire request is still returned */
    snprintf(path, sizeof(path), "requests.xml?api_key=key-fms&service_request_id=%s&status=closed"
                                 "&service_code=theft&start_date=2001-01-01T00:00:00Z&end_date=2001-01-02T00:00:00Z", id);
    assert_int_equal(oe_get(path, &r), 200);
    xmlDocPtr d = o3_xml(r);
    xmlNodePtr root = o3_root(d, "service_requests");
    assert_int_equal(o3_count(root, "request"), 1);
    assert_string_equal(o3_text(o3_child(root, "request"), "service_request_id"), id);
    xmlFreeDoc(d);
    free(r);
    /* an id list with ids of another shape: those match nothing */
    snprintf(path, sizeof(path), "requests.json?api_key=key-fms&service_request_id=999999999,%s", id);
    assert_int_equal(oe_get(path, &r), 200);
    json_t *j = json_loads(r, 0, NULL);
    assert_int_equal(json_array_size(j), 1);
    json_decref(j);
    free(r);
    /* comma lists */
    assert_int_equal(oe_get("requests.json?api_key=key-fms&status=open,closed&service_code=fire,theft", &r), 200);
    assert_non_null(strstr(r, id));
    free(r);
    oe_expect_error("GET", "requests.%s?api_key=key-fms&status=open,maybe", NULL, 400, "bad_query");
    /* the 90-day window: the default finds today's, an old window does
     * not, a wider one is refused */
    assert_int_equal(oe_get("requests.json?api_key=key-fms&start_date=2001-01-01T00:00:00Z", &r), 200);
    assert_string_equal(r, "[]");
    free(r);
    oe_expect_error("GET", "requests.%s?api_key=key-fms&start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z",
                   NULL, 400, "bad_query");
    /* ids and tokens of any shape that do not exist: 404 */
    oe_expect_error("GET", "requests/999999999.%s?api_key=key-fms", NULL, 404, "not_found");
    oe_expect_error("GET", "tokens/123456.%s?api_key=key-fms", NULL, 404, "not_found");
    free(id);
}

/* the fields anyone may see of one request, in the spec's order */
static const char S_PUBLIC_ELEMENTS[] = "service_request_id,status,status_notes,service_name,service_code,"
                                        "agency_responsible,requested_datetime,updated_datetime,lat,long";

/* Public view, private content: without an api_key, requests/{id} and
 * tokens/{token} answer the status and a snapped location; the list holds
 * only cells of at least 3 and never the text, address, media or contact. */
static void test_public_view(void **state)
{
    (void)state;
    /* three public order reports in one area and day and one lone fraud report */
    char *ids[4];
    for (int i = 0; i < 3; i++)
        ids[i] = oe_post_form("json", "api_key=key-app&service_code=public_order&lat=10.76543&long=106.65432"
                                     "&area_code=VN-SG-Q1&address_string=12+Ly+Tu+Trong&phone=0901234567"
                                     "&description=be+khoa+cua+nha+toi&media_url=https%3A%2F%2Fex.org%2Fp.jpg");
    ids[3] = oe_post_form("xml", "api_key=key-app&service_code=fraud&attribute%5Bcontact_channel%5D=phone"
                                "&lat=10.7&long=106.6&area_code=VN-SG-Q1"
                                "&description=lua+dao+qua+dien+thoai");
    char path[256], *r;
    snprintf(path, sizeof(path), "requests/%s.xml", ids[0]);
    double t0 = oe_ms();
    assert_int_equal(oe_get(path, &r), 200);
    double ms = oe_ms() - t0;
    xmlDocPtr d = o3_xml(r);
    xmlNodePtr q = o3_child(o3_root(d, "service_requests"), "request");
    assert_string_equal(o3_names(q), S_PUBLIC_ELEMENTS);
    assert_string_equal(o3_text(q, "status"), "open");
    assert_string_equal(o3_text(q, "service_code"), "public_order");
    assert_string_equal(o3_text(q, "lat"), "10.766"); /* snapped to 0.002 degrees */
    assert_string_equal(o3_text(q, "long"), "106.654");
    xmlFreeDoc(d);
    assert_null(strstr(r, "Ly Tu Trong"));
    assert_null(strstr(r, "khoa"));
    free(r);
    snprintf(path, sizeof(path), "requests/%s.json", ids[0]);
    assert_int_equal(oe_get(path, &r), 200);
    assert_null(strstr(r, "description"));
    assert_null(strstr(r, "ex.org"));
    free(r);
    snprintf(path, sizeof(path), "tokens/%s.xml", ids[3]);
    assert_int_equal(oe_get(path, &r), 200);
    d = o3_xml(r);
    assert_string_equal(o3_names(o3_child(o3_root(d, "service_requests"), "request")), "service_request_id,token");
    xmlFreeDoc(d);
    free(r);
    oe_expect_error("GET", "requests/00000000-0000-4000-8000-000000000000.%s", NULL, 404, "not_found");

    /* the public list: the cell of three is there, the lone one is not */
    assert_int_equal(oe_get("requests.xml?service_code=public_order,fraud", &r), 200);
    d = o3_xml(r);
    xmlNodePtr root = o3_root(d, "service_requests");
    size_t listed = o3_count(root, "request");
    assert_int_equal(listed, 3);
    for (xmlNodePtr e = root->children; e; e = e->next) {
        assert_string_equal(o3_names(e), S_PUBLIC_ELEMENTS);
        assert_string_equal(o3_text(e, "service_code"), "public_order");
        assert_non_null(strstr(o3_text(e, "requested_datetime"), "T00:00:00Z")); /* the day */
    }
    /* under public ids: not the ids (UUIDv7s, whose first 48 bits are the
     * millisecond received, and which open requests/{id}'s exact times) */
    char first[64];
    snprintf(first, sizeof(first), "%s", o3_text(o3_child(root, "request"), "service_request_id"));
    xmlFreeDoc(d);
    for (int i = 0; i < 4; i++)
        assert_null(strstr(r, ids[i]));
    assert_int_equal(strlen(first), 36);
    assert_int_equal(first[14], '4'); /* a version 4 UUID: random-looking */
    assert_null(strstr(r, "khoa"));
    free(r);
    snprintf(path, sizeof(path), "requests/%s.json", first);
    assert_int_equal(oe_get(path, &r), 404);
    free(r);
    /* and the same public ids the next time */
    assert_int_equal(oe_get("requests.xml?service_code=public_order,fraud", &r), 200);
    assert_non_null(strstr(r, first));
    free(r);
    /* but the lone one by its id, as FixMyStreet polls it: the override rule
     * answers each id's status as requests/{id} does */
    snprintf(path, sizeof(path), "requests.xml?service_request_id=%s,00000000-0000-4000-8000-000000000000,123456",
             ids[3]);
    assert_int_equal(oe_get(path, &r), 200);
    d = o3_xml(r);
    root = o3_root(d, "service_requests");
    assert_int_equal(o3_count(root, "request"), 1);
    assert_string_equal(o3_names(o3_child(root, "request")), S_PUBLIC_ELEMENTS);
    assert_string_equal(o3_text(o3_child(root, "request"), "service_request_id"), ids[3]);
    xmlFreeDoc(d);
    assert_null(strstr(r, "dien thoai"));
    free(r);
    printf("public view: requests/{id}.xml in %.1f ms; public list shows %zu of 4 (a cell of 1 hidden)\n", ms,
           listed);
    for (int i = 0; i < 4; i++)
        free(ids[i]);
}

/* GET Service Definition with attributes; POST with attribute[...] */
static void test_service_attributes(void **state)
{
    (void)state;
    char *r;
    assert_int_equal(oe_get("services.xml", &r), 200);
    xmlDocPtr d = o3_xml(r);
    int with = 0;
    for (xmlNodePtr e = o3_root(d, "services")->children; e; e = e->next) {
        int fraud = strcmp(o3_text(e, "service_code"), "fraud") == 0;
        if (fraud)
            assert_string_equal(o3_text(e, "metadata"), "true");
        with += strcmp(o3_text(e, "metadata"), "true") == 0;
    }
    xmlFreeDoc(d);
    free(r);
    assert_int_equal(with, 5); /* fraud, traffic, fire, theft, domestic_violence */

    assert_int_equal(oe_get("services/fraud.xml", &r), 200);
    d = o3_xml(r);
    xmlNodePtr attrs = o3_child(o3_root(d, "service_definition"), "attributes");
    assert_int_equal(o3_count(attrs, "attribute"), 3);
    int n = 0;
    for (xmlNodePtr a = attrs->children; a; a = a->next, n++) {
        const char *names = o3_names(a);
        if (strcmp(o3_text(a, "datatype"), "singlevaluelist") == 0) {
            assert_string_equal(names, "variable,code,datatype,required,datatype_description,order,description,values");
            assert_string_equal(o3_text(a, "code"), "contact_channel");
            assert_string_equal(o3_text(a, "required"), "true");
            xmlNodePtr v = o3_child(o3_child(a, "values"), "value");
            assert_string_equal(o3_names(v), "key,name");
            assert_string_equal(o3_text(v, "key"), "phone");
        } else {
            assert_string_equal(names, "variable,code,datatype,required,datatype_description,order,description");
        }
        assert_int_equal(atoi(o3_text(a, "order")), n + 1);
    }
    xmlFreeDoc(d);
    free(r);
    assert_int_equal(oe_get("services/theft.json", &r), 200);
    json_t *j = json_loads(r, 0, NULL);
    json_t *taken = json_array_get(json_object_get(j, "attributes"), 1);
    assert_string_equal(json_string_value(json_object_get(taken, "datatype")), "multivaluelist");
    assert_true(json_array_size(json_object_get(taken, "values")) >= 3);
    json_decref(j);
    free(r);

    const char *B = "api_key=key-fms&service_code=fraud&lat=10.7&long=106.6&description=lua+dao";
    char body[512];
    oe_expect_error("POST", "requests.%s", B, 400, "missing_attribute");
    snprintf(body, sizeof(body), "%s&attribute%%5Bcontact_channel%%5D=pigeon", B);
    oe_expect_error("POST", "requests.%s", body, 400, "bad_attribute");
    snprintf(body, sizeof(body), "%s&attribute%%5Bcontact_channel%%5D=phone&attribute%%5Bamount_lost%%5D=nhieu", B);
    oe_expect_error("POST", "requests.%s", body, 400, "bad_attribute");
    snprintf(body, sizeof(body), "%s&attribute%%5Bcontact_channel%%5D=phone&attribute%%5Bshoe_size%%5D=42", B);
    oe_expect_error("POST", "requests.%s", body, 400, "unknown_attribute");

    snprintf(body, sizeof(body), "%s&attribute%%5Bcontact_channel%%5D=online&attribute%%5Bamount_lost%%5D=5000000"
                                 "&attribute%%5Bbank%%5D=Vietcombank", B);
    char *id = oe_post_form("xml", body);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE id = '%s' AND attributes ="
                               " '{\"amount_lost\":\"5000000\",\"bank\":\"Vietcombank\",\"contact_channel\":\"online\"}'", id);
    assert_int_equal(at_db_long(OE.db, sql), 1);
    free(id);
    id = oe_post_form("json", "api_key=key-fms&service_code=theft&lat=10.7&long=106.6&description=mat+do"
                             "&attribute%5Btaken%5D%5B%5D=phone&attribute%5Btaken%5D%5B%5D=money");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM reports WHERE id = '%s' AND attributes->'taken' = '[\"phone\",\"money\"]'", id);
    assert_int_equal(at_db_long(OE.db, sql), 1);
    free(id);
    printf("service definitions: 5 services ask questions; required, listed and numeric answers checked, answers stored\n");

    /* an answer that someone is hurt: the resident is told whom to call at
     * once, though the words alone show no emergency */
    const char *crash = "api_key=key-fms&service_code=traffic&lat=10.7&long=106.6"
                        "&description=xe+may+va+o+to+quet+nhau";
    snprintf(body, sizeof(body), "%s&attribute%%5Binjured%%5D=no", crash);
    assert_int_equal(oe_req("POST", "requests.xml", NULL, body, &r), 201);
    d = o3_xml(r);
    xmlNodePtr q = o3_child(o3_root(d, "service_requests"), "request");
    assert_null(strstr(o3_text(q, "service_notice"), "115"));
    assert_int_equal(o3_count(o3_child(q, "emergency_numbers"), "number"), 0);
    xmlFreeDoc(d);
    free(r);
    snprintf(body, sizeof(body), "%s&attribute%%5Binjured%%5D=yes", crash);
    assert_int_equal(oe_req("POST", "requests.xml", NULL, body, &r), 201);
    d = o3_xml(r);
    q = o3_child(o3_root(d, "service_requests"), "request");
    assert_non_null(strstr(o3_text(q, "service_notice"), "115"));
    assert_string_equal(o3_text(o3_child(q, "emergency_numbers"), "number"), "115");
    printf("injured=yes: the notice \"%.60s...\" and 115\n", o3_text(q, "service_notice"));
    xmlFreeDoc(d);
    free(r);
}

/* each error status, in both formats, in the spec's error shape */
static void test_errors(void **state)
{
    (void)state;
    oe_expect_error("GET", "requests.%s?api_key=wrong", NULL, 403, "invalid_api_key");
    oe_expect_error("POST", "requests.%s", "service_code=fire&lat=10.7&long=106.6&description=x", 403,
                   "missing_api_key");
    oe_expect_error("POST", "requests.%s", "api_key=key-fms&description=ch%ZZ", 400, "bad_form");
    oe_expect_error("GET", "requests.%s?api_key=key-fms&start_date=yesterday", NULL, 400, "bad_query");
    oe_expect_error("DELETE", "services.%s", NULL, 405, "method_not_allowed");
    char *big = malloc(20000);
    int n = snprintf(big, 20000, "api_key=key-fms&service_code=fire&lat=10.7&long=106.6&description=");
    memset(big + n, 'x', 17000);
    big[n + 17000] = '\0';
    oe_expect_error("POST", "requests.%s", big, 413, "too_large");
    free(big);
    /* a gateway over its rate (burst 1): its second and third POSTs */
    char *r0;
    assert_int_equal(oe_req("POST", "requests.json", NULL, "api_key=key-slow&service_code=fire&lat=10.7&long=106.6", &r0),
                     201);
    free(r0);
    oe_expect_error("POST", "requests.%s", "api_key=key-slow&service_code=fire&lat=10.7&long=106.6", 429,
                   "gateway_rate_limited");
    assert_non_null(at_http_last_header("Retry-After"));
    oe_expect_error("GET", "nothing.%s", NULL, 404, "not_found");
    oe_expect_error("GET", "requests/00000000-0000-4000-8000-000000000000.%s?api_key=key-fms", NULL, 404,
                   "not_found");
    /* no format named: the spec's clients always name one; XML answers */
    char *r;
    assert_int_equal(oe_get("services", &r), 404);
    o3_xml_error(r, 404);
    free(r);
    /* the key as a header (a proxy's), alone or equal to the form's, is
     * taken; two keys that differ are neither, and nothing is stored */
    char url[160];
    snprintf(url, sizeof(url), "%s/requests.json", OE.base);
    static const char form[] = "service_code=fire&lat=10.7&long=106.6&description=khoi";
    const char *same[] = {"X-Api-Key: key-fms", "Content-Type: application/x-www-form-urlencoded", NULL};
    assert_int_equal(at_http("POST", url, same, form, strlen(form), &r), 201);
    free(r);
    long before = at_db_long(OE.db, "SELECT count(*) FROM reports");
    const char *other[] = {"X-Api-Key: key-app", "Content-Type: application/x-www-form-urlencoded", NULL};
    static const char keyed[] = "api_key=key-fms&service_code=fire&lat=10.7&long=106.6&description=khoi";
    assert_int_equal(at_http("POST", url, other, keyed, strlen(keyed), &r), 403);
    assert_string_equal(o3_json_error(r, 403), "invalid_api_key");
    free(r);
    assert_int_equal(at_db_long(OE.db, "SELECT count(*) FROM reports"), before);
    snprintf(url, sizeof(url), "%s/requests.json?api_key=key-fms", OE.base);
    assert_int_equal(at_http("GET", url, other, NULL, 0, &r), 403);
    free(r);
}

/* Code for America's python client: each of its calls, as it makes them
 * (tests/open311_python/py_client.py), succeeds */
static void test_python_client(void **state)
{
    (void)state;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "python3 %s/tests/open311_python/py_client.py %s key-app", ANTT_SOURCE_DIR, OE.base);
    double t0 = oe_ms();
    int rc = system(cmd);
    printf("the python client's calls: %s in %.0f ms\n", rc == 0 ? "all succeeded" : "one failed", oe_ms() - t0);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_service_definition),
        cmocka_unit_test(test_post_and_get_request),
        cmocka_unit_test(test_xml_escaping),
        cmocka_unit_test(test_post_arguments),
        cmocka_unit_test(test_get_arguments),
        cmocka_unit_test(test_public_view),
        cmocka_unit_test(test_service_attributes),
        cmocka_unit_test(test_service_request_updates),
        cmocka_unit_test(test_post_update),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_python_client),
    };
    return cmocka_run_group_tests(tests, oe_setup, oe_teardown);
}
