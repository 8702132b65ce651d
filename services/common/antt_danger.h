/* antt_danger: does a report's text alone show an emergency (a P1 situation:
 * life in danger, violence in progress, fire, a weapon in use, someone hurt
 * now), and whom should the resident call: 113 (police), 114 (fire and
 * rescue), 115 (ambulance)?
 *
 * A phrase matcher with built-in cue lists, over text folded by antt_text
 * (diacritics stripped, case folded, đ -> d) and cut into clauses and
 * sentences, with SMS shorthand expanded ("dag" = đang, "cứu vs" = cứu với,
 * "ko" = không). It reads Vietnamese with and without diacritics, shorthand
 * and English. A cue does not count when a negation stands just before it in
 * its clause ("không ai bị thương", "no one hurt"), when its sentence says it
 * is over ("đã dập tắt", "fled", "đã đưa đi cấp cứu") or in the past
 * ("tuần trước bị cướp", "last week") and its clause does not say "now"
 * ("đang", "bây giờ", "right now"). Words that folding merges with others
 * appear only inside phrases that tell them apart (cháy/chạy, khói/khỏi,
 * nổ/nợ/nó, đâm/đám, súng/sưng).
 *
 * Pure computation: no I/O, no state after the first call (the tables are
 * compiled once, thread-safely); callable from any thread. About 5 µs for a
 * report of a sentence or two, 0.2 ms for one of 4,000 characters. */
#ifndef ANTT_DANGER_H
#define ANTT_DANGER_H

#include <stddef.h>

/* Services, as a bitmask. */
#define ANTT_DANGER_POLICE 0x1u    /* 113: công an */
#define ANTT_DANGER_FIRE 0x2u      /* 114: cứu hỏa, cứu nạn cứu hộ */
#define ANTT_DANGER_AMBULANCE 0x4u /* 115: cấp cứu */
#define ANTT_DANGER_ALL 0x7u

#define ANTT_DANGER_MAX_CUES 8

/* What one scan found. Cue names are stable identifiers ("fire", "smoke",
 * "bleeding", "knife", ...; see antt_danger_cues), borrowed from static
 * storage: never freed. */
typedef struct antt_danger_s {
    unsigned mask;                                /* services the text calls for; 0: no emergency */
    int ncues;                                    /* cues that count, at most ANTT_DANGER_MAX_CUES kept */
    const char *cues[ANTT_DANGER_MAX_CUES];       /* their names, in order of first appearance */
    int nsuppressed;                              /* cues present but negated, over or past */
    const char *suppressed[ANTT_DANGER_MAX_CUES]; /* their names (a cue that also counts is not here) */
    int english;                                  /* every cue that counts was found by an English phrase */
} antt_danger_t;

/* Scans len bytes of UTF-8 text (NFC or not) and fills *out (zeroed first).
 * Returns the number of distinct cues that count (out->ncues may be capped),
 * 0 when none, or -EILSEQ for invalid UTF-8 (out is then empty). */
int antt_danger_scan(const char *text, size_t len, antt_danger_t *out);

/* The same over text already folded by antt_text_fold_clauses (NUL-terminated),
 * for callers that fold once for several uses. */
int antt_danger_scan_folded(const char *folded, antt_danger_t *out);

/* What the resident should read when mask is not 0: "Nếu có người đang gặp
 * nguy hiểm, hãy gọi ngay 113 (công an)…", naming the services of mask in
 * the order 113, 114, 115. Static strings; NULL when mask names no service. */
const char *antt_danger_notice_vi(unsigned mask);
const char *antt_danger_notice_en(unsigned mask);
/* The notice in the reporter's language: English when language is an "en"
 * tag, or when no language is given and the cues were English (english = 1);
 * Vietnamese otherwise. NULL when mask names no service. */
const char *antt_danger_notice(unsigned mask, const char *language, int english);

/* Fills numbers with the emergency numbers of mask ("113", "114", "115", in
 * that order; static strings) and returns how many (0..3). */
size_t antt_danger_numbers(unsigned mask, const char *numbers[3]);

/* The services an emergency (P1) of this category calls for when its text
 * named none: fire -> 114, traffic -> 115, anything else -> 113. */
unsigned antt_danger_for_category(const char *category);

/* The cue vocabulary, for callers that use cues as features (the classifier):
 * *n receives the count; entries are static. */
typedef struct antt_danger_cue_s {
    const char *name;  /* stable identifier */
    unsigned services; /* ANTT_DANGER_* it calls for */
} antt_danger_cue_t;
const antt_danger_cue_t *antt_danger_cues(size_t *n);

#endif
