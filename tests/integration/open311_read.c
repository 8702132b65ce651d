/* open311_read: reading the answers of an Open311 GeoReport v2 server the
 * way a client would: XML with libxml2 (an independent parser: intake
 * writes with xmlwriter, nothing is shared), element names and order, and
 * the spec's error documents in both formats. Failures are cmocka's. */
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
#include "open311_read.h"

/* the answer parsed as XML (asserts it is well-formed and text/xml) */
xmlDocPtr o3_xml(const char *resp)
{
    const char *ct = at_http_last_header("content-type");
    assert_non_null(ct);
    assert_non_null(strstr(ct, "text/xml"));
    xmlDocPtr d = xmlReadMemory(resp, (int)strlen(resp), "answer.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOBLANKS);
    if (d == NULL)
        fail_msg("not well-formed XML: %s", resp);
    return d;
}

/* the root element, which must be <name> */
xmlNodePtr o3_root(xmlDocPtr d, const char *name)
{
    xmlNodePtr root = xmlDocGetRootElement(d);
    assert_non_null(root);
    assert_string_equal((const char *)root->name, name);
    return root;
}

/* "a,b,c": the names of node's child elements, in order */
const char *o3_names(xmlNodePtr node)
{
    static char buf[1024];
    buf[0] = '\0';
    for (xmlNodePtr c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", buf[0] ? "," : "",
                     (const char *)c->name);
    return buf;
}

xmlNodePtr o3_child(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr c = node->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0)
            return c;
    return NULL;
}

/* the text of node's child <name> (static copy; "" when empty), or NULL */
const char *o3_text(xmlNodePtr node, const char *name)
{
    static char buf[4][512];
    static int k;
    xmlNodePtr c = o3_child(node, name);
    if (c == NULL)
        return NULL;
    xmlChar *t = xmlNodeGetContent(c);
    char *out = buf[k++ % 4];
    snprintf(out, sizeof(buf[0]), "%s", t ? (const char *)t : "");
    xmlFree(t);
    return out;
}

size_t o3_count(xmlNodePtr node, const char *name)
{
    size_t n = 0;
    for (xmlNodePtr c = node->children; c; c = c->next)
        n += c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0;
    return n;
}

/* the spec's error document: <errors><error><code>status</code><description>…; returns error_code */
const char *o3_xml_error(const char *resp, int status)
{
    static char code[64];
    xmlDocPtr d = o3_xml(resp);
    xmlNodePtr root = o3_root(d, "errors");
    xmlNodePtr e = o3_child(root, "error");
    assert_non_null(e);
    assert_string_equal(o3_names(e), "code,description,error_code");
    assert_int_equal(atoi(o3_text(e, "code")), status);
    assert_true(strlen(o3_text(e, "description")) > 0);
    snprintf(code, sizeof(code), "%s", o3_text(e, "error_code"));
    xmlFreeDoc(d);
    return code;
}

const char *o3_json_error(const char *resp, int status)
{
    static char code[64];
    json_t *d = json_loads(resp, 0, NULL);
    assert_true(json_is_array(d));
    json_t *e = json_array_get(d, 0);
    assert_int_equal(json_integer_value(json_object_get(e, "code")), status);
    assert_non_null(json_string_value(json_object_get(e, "description")));
    snprintf(code, sizeof(code), "%s", json_string_value(json_object_get(e, "error_code")));
    json_decref(d);
    return code;
}
