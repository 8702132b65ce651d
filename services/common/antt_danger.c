/* antt_danger: the matcher. The tables of antt_danger_cues.c are compiled
 * once (folded, shorthand expanded, sorted and indexed by first word); a scan
 * folds the text into words with clause and sentence marks, finds every
 * phrase through the index of each word, then decides which cues count. */
#include "antt_danger.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <threads.h>

#include "antt_danger_int.h"
#include "antt_text.h"
#include "antt_util.h"

#define S_MAX_WORDS 6   /* words in a phrase */
#define S_NEG_WINDOW 3  /* a negation reaches this many words ahead */
#define S_MAX_CUES 64   /* cues in the table (bitsets) */

/* A compiled phrase. */
typedef struct s_phrase {
    const char *w[S_MAX_WORDS]; /* folded words */
    int n;                      /* word count */
    int at_start, at_end;       /* anchored to its clause's start, end */
    int kind;                   /* 0: a cue, else an S_* marker */
    int en;                     /* from an English list */
    unsigned services;          /* the cue's or the marker's services */
    unsigned flags;             /* the cue's S_NOW, S_GENERIC */
    int cue;                    /* the cue's index */
} s_phrase_t;

/* A compiled shorthand word. */
typedef struct s_abbr {
    char *word;          /* folded */
    const char *w[3];    /* what it stands for, folded words */
    int n;               /* their count */
} s_abbr_t;

static once_flag s_once = ONCE_FLAG_INIT;
static s_phrase_t *s_ph;            /* sorted by first word */
static size_t s_nph;
static s_abbr_t *s_ab;              /* sorted by word */
static size_t s_nab;
static char **s_road;               /* folded, NULL-terminated */
static antt_danger_cue_t s_cues[S_MAX_CUES];
static size_t s_ncues;

/* An index from a word to its run [lo, hi) in a table sorted by that word:
 * open addressing, built once with the tables, so that a scan looks each
 * word up by its hash instead of a binary search of string comparisons. */
typedef struct s_run {
    const char *w; /* NULL: an empty slot */
    uint32_t lo, hi;
} s_run_t;

typedef struct s_index {
    s_run_t *slot;
    size_t mask; /* capacity - 1, a power of two minus one */
} s_index_t;

static s_index_t s_ph_ix;  /* first words of s_ph */
static s_index_t s_ab_ix;  /* words of s_ab */

static uint64_t s_hash(const char *w)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 31);
}

/* Indexes the n words key(i) of a table sorted by them. */
static void s_index_build(s_index_t *ix, size_t n, const char *(*key)(size_t))
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    ix->slot = antt_xcalloc(cap, sizeof(*ix->slot));
    ix->mask = cap - 1;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && !strcmp(key(j), key(i)))
            j++;
        size_t at = (size_t)s_hash(key(i)) & ix->mask;
        while (ix->slot[at].w)
            at = (at + 1) & ix->mask;
        ix->slot[at] = (s_run_t){key(i), (uint32_t)i, (uint32_t)j};
        i = j;
    }
}

static const s_run_t *s_index_get(const s_index_t *ix, const char *w)
{
    if (ix->slot == NULL)
        return NULL;
    for (size_t at = (size_t)s_hash(w) & ix->mask; ix->slot[at].w; at = (at + 1) & ix->mask)
        if (!strcmp(ix->slot[at].w, w))
            return &ix->slot[at];
    return NULL;
}

static const char *s_ph_key(size_t i)
{
    return s_ph[i].w[0];
}

static const char *s_ab_key(size_t i)
{
    return s_ab[i].word;
}

/* ---- compiling the tables ------------------------------------------------ */

static int s_abbr_cmp(const void *a, const void *b)
{
    return strcmp(((const s_abbr_t *)a)->word, ((const s_abbr_t *)b)->word);
}

static const s_abbr_t *s_abbr_find(const char *w)
{
    const s_run_t *r = s_index_get(&s_ab_ix, w);
    return r ? &s_ab[r->lo] : NULL;
}

/* Splits a folded string in place into at most max words. */
static int s_split(char *s, const char **w, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(s, " ", &save); p && n < max; p = strtok_r(NULL, " ", &save))
        w[n++] = p;
    return n;
}

static void s_compile_abbr(void)
{
    size_t n = 0;
    while (antt_danger_shorthand[n].word)
        n++;
    s_ab = antt_xcalloc(n, sizeof(*s_ab));
    for (size_t i = 0; i < n; i++) {
        const s_short_t *d = &antt_danger_shorthand[i];
        s_ab[i].word = antt_text_fold(d->word, strlen(d->word));
        char *m = antt_text_fold(d->means, strlen(d->means)); /* kept: the words point into it */
        s_ab[i].n = s_split(m, s_ab[i].w, 3);
    }
    s_nab = n;
    qsort(s_ab, s_nab, sizeof(*s_ab), s_abbr_cmp);
    s_index_build(&s_ab_ix, s_nab, s_ab_key);
}

static void s_add_phrase(const char *text, int kind, int en, unsigned services, unsigned flags, int cue,
                         size_t *cap)
{
    size_t len = strlen(text);
    int at_start = len > 0 && text[0] == '^', at_end = len > 0 && text[len - 1] == '$';
    char *f = antt_text_fold(text + at_start, len - (size_t)at_start - (size_t)at_end);
    const char *raw[S_MAX_WORDS];
    int nraw = s_split(f, raw, S_MAX_WORDS);
    if (*cap == s_nph) {
        *cap = *cap ? 2 * *cap : 512;
        s_ph = antt_xrealloc(s_ph, *cap * sizeof(*s_ph));
    }
    s_phrase_t *p = &s_ph[s_nph++];
    memset(p, 0, sizeof(*p));
    /* phrases are written out in full, but "cứu vs" must read as "cứu với"
     * whichever way the table spells it */
    for (int i = 0; i < nraw && p->n < S_MAX_WORDS; i++) {
        const s_abbr_t *a = s_abbr_find(raw[i]);
        if (a == NULL) {
            p->w[p->n++] = raw[i];
            continue;
        }
        for (int k = 0; k < a->n && p->n < S_MAX_WORDS; k++)
            p->w[p->n++] = a->w[k];
    }
    assert(p->n > 0); /* a phrase of the tables folds to at least one word */
    p->at_start = at_start;
    p->at_end = at_end;
    p->kind = kind;
    p->en = en;
    p->services = services;
    p->flags = flags;
    p->cue = cue;
}

static void s_add_list(const char *const *list, int kind, int en, unsigned services, unsigned flags, int cue,
                       size_t *cap)
{
    for (size_t i = 0; list && list[i]; i++)
        s_add_phrase(list[i], kind, en, services, flags, cue, cap);
}

static int s_phrase_cmp(const void *a, const void *b)
{
    return strcmp(((const s_phrase_t *)a)->w[0], ((const s_phrase_t *)b)->w[0]);
}

static void s_compile(void)
{
    s_compile_abbr();
    size_t cap = 0;
    for (int c = 0; antt_danger_cue_defs[c].name; c++) {
        const s_cue_def_t *d = &antt_danger_cue_defs[c];
        if (c >= S_MAX_CUES)
            abort(); /* the bitsets of a scan hold S_MAX_CUES cues */
        s_cues[c].name = d->name;
        s_cues[c].services = d->services;
        s_ncues = (size_t)c + 1;
        s_add_list(d->vi, 0, 0, d->services, d->flags, c, &cap);
        s_add_list(d->en, 0, 1, d->services, d->flags, c, &cap);
    }
    for (int m = 0; antt_danger_mark_defs[m].kind; m++) {
        const s_mark_def_t *d = &antt_danger_mark_defs[m];
        s_add_list(d->vi, d->kind, 0, d->services, 0, -1, &cap);
        s_add_list(d->en, d->kind, 1, d->services, 0, -1, &cap);
    }
    qsort(s_ph, s_nph, sizeof(*s_ph), s_phrase_cmp);
    s_index_build(&s_ph_ix, s_nph, s_ph_key);
    size_t nr = 0;
    while (antt_danger_road_words[nr])
        nr++;
    s_road = antt_xcalloc(nr + 1, sizeof(*s_road));
    for (size_t i = 0; i < nr; i++)
        s_road[i] = antt_text_fold(antt_danger_road_words[i], strlen(antt_danger_road_words[i]));
}

/* ---- a scan ---------------------------------------------------------------- */

typedef struct s_tok {
    const char *w;     /* folded word (in the scan's copy or the tables) */
    int clause;        /* clause number in the text */
    int sentence;      /* sentence number */
    unsigned blocked;  /* services whose cues may not use this word (a stop phrase) */
    uint8_t neg;       /* 1: part of a Vietnamese negation, 2: an English one */
    uint8_t noneg;     /* part of a phrase that negates nothing */
    uint8_t scope;     /* ends a negation's reach */
    uint8_t notnow;    /* part of a phrase that is no "now" */
    uint8_t unreal;    /* 1: a Vietnamese "may/will" marker starts here, 2: an English one */
} s_tok_t;

typedef struct s_match {
    const s_phrase_t *p; /* the phrase */
    int at;              /* its first token */
} s_match_t;

typedef struct s_scan {
    s_tok_t *t;          /* tokens */
    int n;               /* count */
    uint8_t *now;        /* per clause: says it happens now */
    uint8_t *past;       /* per sentence: speaks of the past */
    unsigned *over;      /* per sentence: services it says are over */
    s_match_t *m;        /* phrases found */
    size_t nm, mcap;     /* count, capacity */
} s_scan_t;

static int s_is_road(const char *w)
{
    for (char **r = s_road; *r; r++)
        if (!strcmp(*r, w))
            return 1;
    return 0;
}

static void s_push(s_scan_t *s, const char *w, int clause, int sentence)
{
    s_tok_t *t = &s->t[s->n++];
    memset(t, 0, sizeof(*t));
    t->w = w;
    t->clause = clause;
    t->sentence = sentence;
}

/* Splits the folded copy into tokens; returns the clause and sentence
 * counts through the pointers. */
static void s_tokenize(s_scan_t *s, char *text, int *nclauses, int *nsentences)
{
    size_t words = 1;
    for (const char *p = text; *p; p++)
        words += *p == ' ';
    s->t = antt_xmalloc(3 * words * sizeof(*s->t)); /* an abbreviation gives up to 3 words */
    int clause = 0, sentence = 0;
    for (char *save = NULL, *w = strtok_r(text, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
        if (!strcmp(w, ",") || !strcmp(w, ".")) {
            clause++;
            sentence += w[0] == '.';
            continue;
        }
        const s_abbr_t *a = s_abbr_find(w);
        if (a && !strcmp(w, "dg") && s->n > 0 && s->t[s->n - 1].clause == clause && s_is_road(s->t[s->n - 1].w))
            a = NULL; /* "trên đg": a road, not "đang" */
        if (a == NULL) {
            s_push(s, w, clause, sentence);
            continue;
        }
        for (int k = 0; k < a->n; k++)
            s_push(s, a->w[k], clause, sentence);
    }
    *nclauses = clause + 1;
    *nsentences = sentence + 1;
}

/* 1 when phrase p matches at token i, within one clause and its anchors. */
static int s_matches(const s_scan_t *s, const s_phrase_t *p, int i)
{
    if (i + p->n > s->n)
        return 0;
    int c = s->t[i].clause;
    for (int k = 1; k < p->n; k++)
        if (s->t[i + k].clause != c || strcmp(s->t[i + k].w, p->w[k]) != 0)
            return 0;
    if (p->at_start && i > 0 && s->t[i - 1].clause == c)
        return 0;
    int last = i + p->n - 1;
    if (p->at_end && last + 1 < s->n && s->t[last + 1].clause == c)
        return 0;
    return 1;
}

static void s_find(s_scan_t *s)
{
    for (int i = 0; i < s->n; i++) {
        /* the run of phrases whose first word is this token's */
        const s_run_t *run = s_index_get(&s_ph_ix, s->t[i].w);
        if (run == NULL)
            continue;
        for (size_t k = run->lo; k < run->hi; k++) {
            if (!s_matches(s, &s_ph[k], i))
                continue;
            if (s->nm == s->mcap) {
                s->mcap = s->mcap ? 2 * s->mcap : 32;
                s->m = antt_xrealloc(s->m, s->mcap * sizeof(*s->m));
            }
            s->m[s->nm++] = (s_match_t){&s_ph[k], i};
        }
    }
}

/* 1 when a negation of the phrase's language stands within S_NEG_WINDOW
 * words before token i in its clause, with no scope end between. */
static int s_negated(const s_scan_t *s, int i, int en)
{
    uint8_t lang = en ? 2 : 1;
    for (int j = i - 1; j >= 0 && j >= i - S_NEG_WINDOW; j--) {
        const s_tok_t *t = &s->t[j];
        if (t->clause != s->t[i].clause || t->scope)
            return 0;
        if ((t->neg & lang) && !t->noneg)
            return 1;
    }
    return 0;
}

/* 1 when a "may/will" marker of the phrase's language stands before token
 * i in its clause. */
static int s_unreal(const s_scan_t *s, int i, int en)
{
    uint8_t lang = en ? 2 : 1;
    for (int j = i - 1; j >= 0 && s->t[j].clause == s->t[i].clause; j--)
        if (s->t[j].unreal & lang)
            return 1;
    return 0;
}

/* Applies the markers: stops, negations, past, "may/will", then now (unless
 * a phrase says it is not) and over (which may be negated itself: "not put
 * out"). */
static void s_marks(s_scan_t *s)
{
    for (size_t k = 0; k < s->nm; k++) {
        const s_phrase_t *p = s->m[k].p;
        int at = s->m[k].at;
        for (int j = at; j < at + p->n; j++) {
            s_tok_t *t = &s->t[j];
            switch (p->kind) {
            case S_STOP: t->blocked |= p->services; break;
            case S_NEG: t->neg |= p->en ? 2 : 1; break;
            case S_NONEG: t->noneg = 1; break;
            case S_SCOPE_END: t->scope = 1; break;
            case S_NOTNOW: t->notnow = 1; break;
            default: break;
            }
        }
        if (p->kind == S_PAST)
            s->past[s->t[at].sentence] = 1;
        else if (p->kind == S_UNREAL)
            s->t[at].unreal |= p->en ? 2 : 1;
    }
    for (size_t k = 0; k < s->nm; k++) {
        const s_phrase_t *p = s->m[k].p;
        int at = s->m[k].at, notnow = 0;
        for (int j = at; j < at + p->n; j++)
            notnow |= s->t[j].notnow;
        if (p->kind == S_NOW_MARK && !notnow)
            s->now[s->t[at].clause] = 1;
        else if (p->kind == S_OVER && !s_negated(s, at, p->en))
            s->over[s->t[at].sentence] |= p->services;
    }
}

static void s_note(const char **names, int *n, const char *name)
{
    if (*n < ANTT_DANGER_MAX_CUES)
        names[(*n)++] = name;
}

/* Decides which cues count and fills out. */
static int s_decide(s_scan_t *s, antt_danger_t *out)
{
    uint64_t fired = 0, suppressed = 0;
    unsigned mask = 0, generic = 0;
    int nfired = 0, all_en = 1;
    for (size_t k = 0; k < s->nm; k++) {
        const s_phrase_t *p = s->m[k].p;
        if (p->kind != 0)
            continue;
        int at = s->m[k].at, blocked = 0;
        for (int j = at; j < at + p->n; j++)
            blocked |= (s->t[j].blocked & p->services) != 0;
        if (blocked)
            continue;
        const s_tok_t *t = &s->t[at];
        unsigned svc = p->services & ~s->over[t->sentence];
        int off = ((p->flags & S_NOW) && !s->now[t->clause]) || s_negated(s, at, p->en) ||
                  (s->past[t->sentence] && !s->now[t->clause]) || svc == 0 ||
                  (!(p->flags & S_THREAT) && s_unreal(s, at, p->en));
        uint64_t bit = 1ull << p->cue;
        if (off) {
            suppressed |= bit;
            continue;
        }
        if (p->flags & S_GENERIC)
            generic |= svc;
        else
            mask |= svc;
        all_en &= p->en;
        if (!(fired & bit)) {
            fired |= bit;
            nfired++;
            s_note(out->cues, &out->ncues, s_cues[p->cue].name);
        }
    }
    /* a call for help names 113 only when nothing names the service it needs */
    out->mask = mask ? mask : generic;
    out->english = nfired > 0 && all_en;
    suppressed &= ~fired;
    for (size_t k = 0; k < s->nm && suppressed; k++) {
        const s_phrase_t *p = s->m[k].p;
        if (p->kind != 0 || !(suppressed & (1ull << p->cue)))
            continue;
        suppressed &= ~(1ull << p->cue);
        s_note(out->suppressed, &out->nsuppressed, s_cues[p->cue].name);
    }
    return nfired;
}

int antt_danger_scan_folded(const char *folded, antt_danger_t *out)
{
    call_once(&s_once, s_compile);
    memset(out, 0, sizeof(*out));
    char *copy = antt_xstrdup(folded);
    s_scan_t s;
    memset(&s, 0, sizeof(s));
    int nclauses, nsentences;
    s_tokenize(&s, copy, &nclauses, &nsentences);
    uint8_t *flags = antt_xcalloc((size_t)nclauses + (size_t)nsentences, 1);
    s.now = flags;
    s.past = flags + nclauses;
    s.over = antt_xcalloc((size_t)nsentences, sizeof(*s.over));
    s_find(&s);
    s_marks(&s);
    int n = s_decide(&s, out);
    free(s.m);
    free(s.over);
    free(flags);
    free(s.t);
    free(copy);
    return n;
}

int antt_danger_scan(const char *text, size_t len, antt_danger_t *out)
{
    memset(out, 0, sizeof(*out));
    char *f = antt_text_fold_clauses(text ? text : "", text ? len : 0);
    if (f == NULL)
        return -EILSEQ;
    int n = antt_danger_scan_folded(f, out);
    free(f);
    return n;
}

/* ---- what to tell the resident ----------------------------------------- */

#define VI_HEAD "Nếu có người đang gặp nguy hiểm, hãy gọi ngay "
#define VI_TAIL ". Báo tin ở đây không thay cho cuộc gọi khẩn cấp."
#define VI_P "113 (công an)"
#define VI_F "114 (cứu hỏa)"
#define VI_A "115 (cấp cứu)"
#define EN_HEAD "If anyone is in danger now, call "
#define EN_TAIL " right away. A report here does not replace an emergency call."
#define EN_P "113 (police)"
#define EN_F "114 (fire and rescue)"
#define EN_A "115 (ambulance)"

static const char *const s_vi[8] = {
    NULL,
    VI_HEAD VI_P VI_TAIL,
    VI_HEAD VI_F VI_TAIL,
    VI_HEAD VI_P " và " VI_F VI_TAIL,
    VI_HEAD VI_A VI_TAIL,
    VI_HEAD VI_P " và " VI_A VI_TAIL,
    VI_HEAD VI_F " và " VI_A VI_TAIL,
    VI_HEAD VI_P ", " VI_F " và " VI_A VI_TAIL,
};

static const char *const s_en[8] = {
    NULL,
    EN_HEAD EN_P EN_TAIL,
    EN_HEAD EN_F EN_TAIL,
    EN_HEAD EN_P " and " EN_F EN_TAIL,
    EN_HEAD EN_A EN_TAIL,
    EN_HEAD EN_P " and " EN_A EN_TAIL,
    EN_HEAD EN_F " and " EN_A EN_TAIL,
    EN_HEAD EN_P ", " EN_F " and " EN_A EN_TAIL,
};

const char *antt_danger_notice_vi(unsigned mask)
{
    return s_vi[mask & ANTT_DANGER_ALL];
}

const char *antt_danger_notice_en(unsigned mask)
{
    return s_en[mask & ANTT_DANGER_ALL];
}

const char *antt_danger_notice(unsigned mask, const char *language, int english)
{
    if (language && *language) {
        int en = strncasecmp(language, "en", 2) == 0 && (language[2] == '\0' || language[2] == '-');
        return en ? antt_danger_notice_en(mask) : antt_danger_notice_vi(mask);
    }
    return english ? antt_danger_notice_en(mask) : antt_danger_notice_vi(mask);
}

size_t antt_danger_numbers(unsigned mask, const char *numbers[3])
{
    size_t n = 0;
    if (mask & ANTT_DANGER_POLICE)
        numbers[n++] = "113";
    if (mask & ANTT_DANGER_FIRE)
        numbers[n++] = "114";
    if (mask & ANTT_DANGER_AMBULANCE)
        numbers[n++] = "115";
    return n;
}

unsigned antt_danger_for_category(const char *category)
{
    if (category && !strcmp(category, "fire"))
        return ANTT_DANGER_FIRE;
    if (category && !strcmp(category, "traffic"))
        return ANTT_DANGER_AMBULANCE;
    return ANTT_DANGER_POLICE;
}

const antt_danger_cue_t *antt_danger_cues(size_t *n)
{
    call_once(&s_once, s_compile);
    *n = s_ncues;
    return s_cues;
}
