/* intake_open311_render: JSON with jansson, XML with libxml2's xmlwriter
 * (escaping and UTF-8 are the library's, not ours). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

#include "antt_log.h"
#include "intake_open311_render.h"

/* the element of each nested list, as the spec's examples name them */
static const struct {
    const char *list, *item;
} s_items[] = {
    {"endpoints", "endpoint"}, {"formats", "format"},           {"attributes", "attribute"},
    {"values", "value"},       {"emergency_numbers", "number"}, {"media_urls", "media_url"},
};

static const char *s_item_of(const char *list)
{
    for (size_t i = 0; i < sizeof(s_items) / sizeof(s_items[0]); i++)
        if (strcmp(s_items[i].list, list) == 0)
            return s_items[i].item;
    return "item";
}

static int s_write(xmlTextWriterPtr w, const char *name, json_t *v);

static int s_children(xmlTextWriterPtr w, const char *name, json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m)
        {
            if (s_write(w, k, m) < 0)
                return -1;
        }
        return 0;
    }
    size_t i;
    json_t *e;
    const char *item = s_item_of(name);
    json_array_foreach(v, i, e)
    {
        if (s_write(w, item, e) < 0)
            return -1;
    }
    return 0;
}

static int s_write(xmlTextWriterPtr w, const char *name, json_t *v)
{
    if (xmlTextWriterStartElement(w, BAD_CAST name) < 0)
        return -1;
    char num[64];
    const char *text = NULL;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (s_children(w, name, v) < 0)
            return -1;
        break;
    case JSON_STRING:
        text = json_string_value(v);
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        text = num;
        break;
    case JSON_REAL:
        snprintf(num, sizeof(num), "%.12g", json_real_value(v));
        text = num;
        break;
    case JSON_TRUE:
        text = "true";
        break;
    case JSON_FALSE:
        text = "false";
        break;
    case JSON_NULL:
        break;
    }
    if (text && xmlTextWriterWriteString(w, BAD_CAST text) < 0)
        return -1;
    /* an empty element stays <name></name>: the spec's examples write absent
     * values so, and every parser reads both forms alike */
    return xmlTextWriterFullEndElement(w);
}

static int s_xml(json_t *doc, const char *root, const char *item, xmlBufferPtr buf)
{
    xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
    if (w == NULL)
        return -1;
    int rc = xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL) < 0 ||
             xmlTextWriterStartElement(w, BAD_CAST root) < 0;
    if (!rc && json_is_array(doc)) {
        size_t i;
        json_t *e;
        json_array_foreach(doc, i, e)
        {
            if ((rc = s_write(w, item, e) < 0))
                break;
        }
    } else if (!rc) {
        rc = s_children(w, root, doc) < 0;
    }
    rc = rc || xmlTextWriterEndDocument(w) < 0;
    xmlFreeTextWriter(w); /* flushes into buf */
    return rc ? -1 : 0;
}

void o311_respond(antt_http_req_t *req, int status, o311_format_t fmt, const char *root, const char *item,
                  json_t *doc)
{
    if (fmt == O311_JSON) {
        char *text = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(12));
        antt_http_respond(req, status, "application/json; charset=utf-8", text, strlen(text));
        free(text);
        json_decref(doc);
        return;
    }
    xmlBufferPtr buf = xmlBufferCreate();
    if (buf == NULL || s_xml(doc, root, item, buf) != 0) {
        /* only when memory runs out: the client still gets an answer */
        ANTT_LOG(ANTT_ERROR, "open311: could not write the XML answer");
        static const char fail[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors><error><code>500</code>"
                                   "<description>the answer could not be written</description></error></errors>\n";
        antt_http_respond(req, 500, "text/xml; charset=utf-8", fail, sizeof(fail) - 1);
    } else {
        antt_http_respond(req, status, "text/xml; charset=utf-8", (const char *)xmlBufferContent(buf),
                          (size_t)xmlBufferLength(buf));
    }
    if (buf)
        xmlBufferFree(buf);
    json_decref(doc);
}
