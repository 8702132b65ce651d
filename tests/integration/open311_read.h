/* open311_read: an Open311 client's reading of answers, for the tests
 * (see open311_read.c). Strings returned are static copies. */
#ifndef OPEN311_READ_H
#define OPEN311_READ_H

#include <stddef.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

/* The answer parsed as XML; fails the test unless it is well-formed and was
 * served as text/xml. */
xmlDocPtr o3_xml(const char *resp);
/* The root element, which must be <name>. */
xmlNodePtr o3_root(xmlDocPtr d, const char *name);
/* "a,b,c": the names of node's child elements, in order. */
const char *o3_names(xmlNodePtr node);
/* node's first child element <name>, or NULL. */
xmlNodePtr o3_child(xmlNodePtr node, const char *name);
/* The text of node's child <name> ("" when empty), or NULL. */
const char *o3_text(xmlNodePtr node, const char *name);
/* How many child elements <name> node has. */
size_t o3_count(xmlNodePtr node, const char *name);
/* The spec's error document for status, in XML (<errors><error><code>
 * <description>…) and in JSON; each returns its error_code. */
const char *o3_xml_error(const char *resp, int status);
const char *o3_json_error(const char *resp, int status);

#endif
