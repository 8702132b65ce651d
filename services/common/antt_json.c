/* antt_json: JSON string escaping. */
#include "antt_json.h"

#include <string.h>

void antt_json_str(antt_buf_t *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    antt_buf_append(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        antt_buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': antt_buf_append(b, "\\\"", 2); break;
        case '\\': antt_buf_append(b, "\\\\", 2); break;
        case '\n': antt_buf_append(b, "\\n", 2); break;
        case '\r': antt_buf_append(b, "\\r", 2); break;
        case '\t': antt_buf_append(b, "\\t", 2); break;
        default: {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            antt_buf_append(b, e, 6);
        }
        }
    }
    antt_buf_append(b, s + run, len - run);
    antt_buf_append(b, "\"", 1);
}

void antt_json_cstr(antt_buf_t *b, const char *s)
{
    if (s == NULL)
        antt_buf_puts(b, "null");
    else
        antt_json_str(b, s, strlen(s));
}
