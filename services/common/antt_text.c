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

/* A clause or sentence mark of the text, in the sense of antt_text_fold_clauses:
 * 0 none, ',' a clause ends, '.' a sentence ends. prev and next are the
 * neighbouring code points (0 at the ends): a dot or comma between digits
 * belongs to a number. */
static int s_mark(utf8proc_int32_t cp, utf8proc_int32_t prev, utf8proc_int32_t next)
{
    int digits = prev >= '0' && prev <= '9' && next >= '0' && next <= '9';
    switch (cp) {
    case '.':
        return digits ? 0 : '.';
    case ',':
        return digits ? 0 : ',';
    case '!': case '?': case '\n': case '\r': case 0x2026: /* … */
        return '.';
    case ';': case ':': case '(': case ')':
        return ',';
    default:
        return 0;
    }
}

#define S_FOLD_OPTIONS (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_STRIPMARK | UTF8PROC_CASEFOLD)

/* The code points of utf8proc_map(s, S_FOLD_OPTIONS) into a malloc'd buffer,
 * their count in *n: the same steps (decompose with canonical ordering, then
 * compose), without utf8proc_map's sizing pass and UTF-8 re-encoding. NULL
 * for invalid UTF-8. */
static utf8proc_int32_t *s_fold_cps(const char *s, size_t len, utf8proc_ssize_t *n)
{
    /* marks stripped and case folded, a byte rarely gives more than one code point */
    utf8proc_ssize_t cap = (utf8proc_ssize_t)len + 16;
    utf8proc_int32_t *cp = antt_xmalloc((size_t)cap * sizeof(*cp));
    for (;;) {
        utf8proc_ssize_t r =
            utf8proc_decompose((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, cp, cap, S_FOLD_OPTIONS);
        if (r < 0) {
            free(cp);
            return NULL;
        }
        if (r <= cap) {
            r = utf8proc_normalize_utf32(cp, r, S_FOLD_OPTIONS);
            if (r < 0) {
                free(cp);
                return NULL;
            }
            *n = r;
            return cp;
        }
        cap = r;
        cp = antt_xrealloc(cp, (size_t)cap * sizeof(*cp));
    }
}

/* The folding of antt_text_fold; with marks, clause and sentence ends are
 * kept as the words "," and "." (one per run of punctuation, the stronger
 * wins, none at the ends). */
static char *s_fold(const char *s, size_t len, int marks)
{
    utf8proc_ssize_t r = 0;
    utf8proc_int32_t *folded = s_fold_cps(s, len, &r);
    if (folded == NULL)
        return NULL;
    /* a code point takes at most 4 bytes, a mark 3 (" , ") for a separator */
    char *out = antt_xmalloc(4 * (size_t)r + 1);
    size_t o = 0;
    int space = 1; /* drop leading separators */
    int pending = 0; /* a mark seen in the current run of separators */
    utf8proc_int32_t prev = 0;
    for (utf8proc_ssize_t i = 0; i < r; i++) {
        utf8proc_int32_t cp = folded[i];
        if (cp == 0x0111 || cp == 0x0110) /* đ, Đ: no decomposition */
            cp = 'd';
        int word;
        if (cp < 0x80) {
            word = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
        } else {
            utf8proc_category_t cat = utf8proc_category(cp);
            word = (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
                   (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
        }
        if (word) {
            if (pending && o > 0) {
                out[o++] = (char)pending;
                out[o++] = ' ';
            }
            pending = 0;
            if (cp < 0x80) {
                out[o++] = (char)cp;
            } else {
                utf8proc_ssize_t el = utf8proc_encode_char(cp, (utf8proc_uint8_t *)out + o);
                o += (size_t)el;
            }
            space = 0;
        } else {
            if (marks) {
                utf8proc_int32_t next = i + 1 < r ? folded[i + 1] : 0;
                int m = s_mark(cp, prev, next);
                if (m == '.' || (m == ',' && pending == 0))
                    pending = m;
            }
            if (!space) {
                out[o++] = ' ';
                space = 1;
            }
        }
        prev = cp;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    free(folded);
    return out;
}

char *antt_text_fold(const char *s, size_t len)
{
    return s_fold(s, len, 0);
}

char *antt_text_fold_clauses(const char *s, size_t len)
{
    return s_fold(s, len, 1);
}
