/* antt_text: UTF-8 validation, NFC normalization and folding for matching,
 * with utf8proc. */
#ifndef ANTT_TEXT_H
#define ANTT_TEXT_H

#include <stddef.h>

/* Validates s (len bytes) as UTF-8 and returns its NFC form in *out
 * (malloc'd, NUL-terminated, the caller's) and its length in code points in
 * *ncp. Control characters other than tab, CR and LF are refused, NUL
 * included. Returns 0, or -EILSEQ for invalid or overlong UTF-8 or a
 * refused character. */
int antt_text_nfc(const char *s, size_t len, char **out, size_t *ncp);

/* Folds text for matching: NFC, marks stripped, case folded, "đ"/"Đ" -> "d"
 * (it does not decompose), every run of non-letters and non-digits becomes one
 * space, trimmed. Returns a malloc'd string, or NULL for invalid UTF-8. */
char *antt_text_fold(const char *s, size_t len);

/* The same folding, keeping where clauses and sentences end as words of their
 * own: "," after a clause (at , ; : ( )) and "." after a sentence (at . ! ? …
 * and line ends); a dot or comma between digits is part of a number. A run of
 * punctuation gives one mark (a sentence end wins); none leads or trails.
 * "Cháy nhà! Không ai bị thương, may quá" -> "chay nha . khong ai bi thuong ,
 * may qua". Returns a malloc'd string, or NULL for invalid UTF-8. */
char *antt_text_fold_clauses(const char *s, size_t len);

#endif
