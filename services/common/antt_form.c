/* antt_form: URL-encoded form decoding. */
#include "antt_form.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "antt_util.h"

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int s_decode(const char *s, size_t len, char **out, size_t *outlen)
{
    char *d = antt_xmalloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            d[o++] = ' ';
        } else if (s[i] == '%') {
            int h, l;
            if (i + 2 >= len || (h = s_hex(s[i + 1])) < 0 || (l = s_hex(s[i + 2])) < 0) {
                free(d);
                return -EINVAL;
            }
            d[o++] = (char)(h * 16 + l);
            i += 2;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    *out = d;
    *outlen = o;
    return 0;
}

void antt_form_cleanup(antt_form_t *form)
{
    for (size_t i = 0; i < form->n; i++) {
        free(form->fields[i].name);
        free(form->fields[i].value);
    }
    free(form->fields);
    form->fields = NULL;
    form->n = 0;
}

int antt_form_parse(antt_form_t *form, const char *s, size_t len, size_t max_fields)
{
    form->fields = NULL;
    form->n = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != '&')
            j++;
        if (j > i) {
            size_t eq = i;
            while (eq < j && s[eq] != '=')
                eq++;
            if (form->n == max_fields)
                goto bad;
            char *name, *value;
            size_t nl, vl;
            if (s_decode(s + i, eq - i, &name, &nl) != 0)
                goto bad;
            if (s_decode(s + (eq < j ? eq + 1 : j), eq < j ? j - eq - 1 : 0, &value, &vl) != 0) {
                free(name);
                goto bad;
            }
            form->fields = antt_xrealloc(form->fields, (form->n + 1) * sizeof(antt_form_field_t));
            form->fields[form->n].name = name;
            form->fields[form->n].value = value;
            form->fields[form->n].value_len = vl;
            form->n++;
        }
        i = j + 1;
    }
    return 0;
bad:
    antt_form_cleanup(form);
    return -EINVAL;
}

const antt_form_field_t *antt_form_get(const antt_form_t *form, const char *name)
{
    for (size_t i = 0; i < form->n; i++)
        if (strcmp(form->fields[i].name, name) == 0)
            return &form->fields[i];
    return NULL;
}

size_t antt_form_count(const antt_form_t *form, const char *name)
{
    size_t c = 0;
    for (size_t i = 0; i < form->n; i++)
        if (strcmp(form->fields[i].name, name) == 0)
            c++;
    return c;
}
