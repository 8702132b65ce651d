/* antt_text: UTF-8 handling with utf8proc. */
#include "antt_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "antt_util.h"

int antt_text_nfc(const char *s, size_t len, char **out, size_t *ncp)
{
    const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
    size_t n = 0;
    utf8proc_ssize_t i = 0;
    *out = NULL;
    while ((size_t)i < len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - (size_t)i), &cp);
        if (k < 0 || cp < 0)
            return -EILSEQ;
        if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7f)
            return -EILSEQ;
        i += k;
        n++;
    }
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t r = utf8proc_map(p, (utf8proc_ssize_t)len, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    if (r < 0)
        return r == UTF8PROC_ERROR_NOMEM ? -ENOMEM : -EILSEQ;
    /* count again: composition can only shrink the count */
    size_t m = 0;
    for (utf8proc_ssize_t j = 0; j < r; j++)
        if ((nfc[j] & 0xc0) != 0x80)
            m++;
    *out = (char *)nfc;
    if (ncp)
        *ncp = m;
    return 0;
}

char *antt_text_fold(const char *s, size_t len)
{
    utf8proc_uint8_t *folded = NULL;
    utf8proc_ssize_t r =
        utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &folded,
                     UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD);
    if (r < 0)
        return NULL;
    char *out = antt_xmalloc((size_t)r + 1);
    size_t o = 0;
    int space = 1; /* drop leading separators */
    utf8proc_ssize_t i = 0;
    while (i < r) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(folded + i, r - i, &cp);
        if (k <= 0)
            break;
        if (cp == 0x0111 || cp == 0x0110) /* đ, Đ: no decomposition */
            cp = 'd';
        utf8proc_category_t cat = utf8proc_category(cp);
        int word = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                   (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
        if (word) {
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t el = utf8proc_encode_char(cp, enc);
            memcpy(out + o, enc, (size_t)el);
            o += (size_t)el;
            space = 0;
        } else if (!space) {
            out[o++] = ' ';
            space = 1;
        }
        i += k;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    free(folded);
    return out;
}
