/* Open311's updates: mySociety's servicerequestupdates as FixMyStreet reads
 * and posts them (part of test_open311). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "antt_util.h"
#include "open311_env.h"
#include "open311_read.h"

/* mySociety's servicerequestupdates, as FixMyStreet reads it: one update
 * per status change, stable and unique update_id, the gateway's own only */
void test_service_request_updates(void **state)
{
    (void)state;
    char *id = oe_post_form("xml", "api_key=key-fms&service_code=theft&lat=10.7&long=106.6&description=mat+xe+dap");
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "WITH i AS (INSERT INTO incidents (id, category, priority, status) VALUES"
             " (gen_random_uuid(), 'theft', 3, 'resolved') RETURNING id),"
             " l AS (INSERT INTO incident_reports (report_id, incident_id) SELECT '%s', id FROM i)"
             " INSERT INTO incident_events (incident_id, kind, actor, data, at) SELECT id, k, 'desk:test', d::jsonb, now() - t"
             " FROM i, (VALUES ('acknowledge', '{\"status\":\"acknowledged\"}', interval '2 min'),"
             "                 ('note', '{\"note\":\"private\"}', interval '90 s'),"
             "                 ('resolve', '{\"status\":\"resolved\"}', interval '1 min')) v(k, d, t)",
             id);
    at_db_exec(OE.db, sql);
    char from[40], path[256], *r;
    antt_format_time(antt_now_ms() - 3600 * 1000, from, sizeof(from));
    snprintf(path, sizeof(path), "servicerequestupdates.xml?api_key=key-fms&start_date=%s", from);
    double t0 = oe_ms();
    assert_int_equal(oe_get(path, &r), 200);
    double ms = oe_ms() - t0;
    xmlDocPtr d = o3_xml(r);
    xmlNodePtr root = o3_root(d, "service_requests_updates");
    assert_int_equal(o3_count(root, "request_update"), 2); /* the note is no status change */
    const char *want[] = {"investigating", "closed"};
    char first_id[128] = "";
    int k = 0;
    for (xmlNodePtr u = root->children; u; u = u->next, k++) {
        assert_string_equal(o3_names(u), "update_id,service_request_id,status,updated_datetime,description,media_url");
        assert_string_equal(o3_text(u, "service_request_id"), id);
        assert_string_equal(o3_text(u, "status"), want[k]);
        assert_true(strlen(o3_text(u, "update_id")) > 0);
        if (k == 0)
            snprintf(first_id, sizeof(first_id), "%s", o3_text(u, "update_id"));
        else
            assert_string_not_equal(o3_text(u, "update_id"), first_id);
    }
    xmlFreeDoc(d);
    free(r);
    /* stable: asked again, the same ids */
    snprintf(path, sizeof(path), "servicerequestupdates.json?api_key=key-fms&start_date=%s", from);
    assert_int_equal(oe_get(path, &r), 200);
    assert_string_equal(oe_json_first(r, "update_id"), first_id);
    free(r);
    /* another gateway sees none of them; without a key, 403 */
    snprintf(path, sizeof(path), "servicerequestupdates.json?api_key=key-app&start_date=%s", from);
    assert_int_equal(oe_get(path, &r), 200);
    assert_null(strstr(r, id));
    free(r);
    oe_expect_error("GET", "servicerequestupdates.%s", NULL, 403, "missing_api_key");
    printf("servicerequestupdates.xml: 2 status changes in %.1f ms, update_id %s\n", ms, first_id);
    free(id);
}

/* POST servicerequestupdates: a resident's follow-up, as FixMyStreet posts
 * it; appended, never changing the status; bounded per request */
void test_post_update(void **state)
{
    (void)state;
    char *id = oe_post_form("json", "api_key=key-fms&service_code=theft&lat=10.7&long=106.6&description=mat+xe");
    char body[1024], *r;
    snprintf(body, sizeof(body),
             "api_key=key-fms&service_request_id=%s&updated_datetime=2026-12-01T10%%3A00%%3A00Z&status=OPEN"
             "&first_name=Lan&last_name=Nguyen&email=lan%%40example.org&description=T%%C3%%B4i+nh%%E1%%BB%%9B"
             "+th%%C3%%AAm%%3A%%0D%%0Axe+m%%C3%%A0u+%%C4%%91%%E1%%BB%%8F&media_url=https%%3A%%2F%%2Fex.org%%2Fb.jpg", id);
    assert_int_equal(oe_req("POST", "servicerequestupdates.xml", NULL, body, &r), 201);
    xmlDocPtr d = o3_xml(r);
    xmlNodePtr u = o3_child(o3_root(d, "service_request_updates"), "request_update");
    assert_non_null(u);
    assert_string_equal(o3_names(u), "update_id,updated_datetime");
    assert_true(strlen(o3_text(u, "update_id")) > 1);
    xmlFreeDoc(d);
    free(r);
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM report_updates WHERE report_id = '%s'"
                               " AND description = E'Tôi nhớ thêm:\\r\\nxe màu đỏ' AND media_url = 'https://ex.org/b.jpg'", id);
    assert_int_equal(at_db_long(OE.db, sql), 1);
    /* the errors, in both formats */
    oe_expect_error("POST", "servicerequestupdates.%s", "service_request_id=x&description=y", 403, "missing_api_key");
    oe_expect_error("POST", "servicerequestupdates.%s",
                   "api_key=key-fms&service_request_id=00000000-0000-4000-8000-000000000000&description=y", 404, "not_found");
    snprintf(body, sizeof(body), "api_key=key-app&service_request_id=%s&description=y", id);
    oe_expect_error("POST", "servicerequestupdates.%s", body, 404, "not_found"); /* another gateway's */
    oe_expect_error("POST", "servicerequestupdates.%s", "api_key=key-fms&description=y", 400, "missing_service_request_id");
    snprintf(body, sizeof(body), "api_key=key-fms&service_request_id=%s", id);
    oe_expect_error("POST", "servicerequestupdates.%s", body, 400, "missing_description");
    /* bounded: 50 follow-ups per request */
    snprintf(body, sizeof(body), "api_key=key-fms&service_request_id=%s&description=lan+nua", id);
    int ok = 1; /* the one above */
    double t0 = oe_ms();
    while (ok < 60 && oe_req("POST", "servicerequestupdates.json", NULL, body, &r) == 201) {
        ok++;
        free(r);
    }
    double ms = oe_ms() - t0;
    assert_int_equal(ok, 50);
    assert_string_equal(o3_json_error(r, 400), "too_many_updates");
    free(r);
    printf("POST servicerequestupdates: stored with CRLF kept; %d follow-ups accepted then refused (%.0f ms)\n", ok, ms);
    free(id);
}
