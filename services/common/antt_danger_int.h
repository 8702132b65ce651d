/* antt_danger_int: the vocabulary tables shared by antt_danger.c (the
 * matcher) and antt_danger_cues.c (the words). Not for other modules. */
#ifndef ANTT_DANGER_INT_H
#define ANTT_DANGER_INT_H

#include "antt_danger.h"

/* Cue flags. */
#define S_NOW 0x1u     /* counts only in a clause that says it happens now ("đang có cướp") */
#define S_GENERIC 0x2u /* a call for help: names 113 only when no other cue names a service */
#define S_THREAT 0x4u  /* a threat: "will" and "dọa" before it do not make it unreal */

/* One cue: a name, the services it calls for, and its phrases by language
 * (NULL-terminated lists; "^" anchors a phrase to the start of its clause,
 * "$" to the end). */
typedef struct s_cue_def {
    const char *name;          /* stable identifier; NULL ends the table */
    unsigned services;         /* ANTT_DANGER_* */
    unsigned flags;            /* S_NOW, S_GENERIC */
    const char *const *vi;     /* Vietnamese phrases, as written (with diacritics) */
    const char *const *en;     /* English phrases */
} s_cue_def_t;

/* Marker kinds. */
enum {
    S_NEG = 1,   /* a negation */
    S_NONEG,     /* a phrase with a negation word that negates nothing */
    S_SCOPE_END, /* ends a negation's reach */
    S_NOW_MARK,  /* it happens now */
    S_PAST,      /* it happened in the past */
    S_OVER,      /* it is over, for services */
    S_STOP,      /* these words are not a cue, for services */
    S_NOTNOW,    /* these words are no S_NOW_MARK */
    S_UNREAL,    /* what follows in the clause may happen, not happens */
};

typedef struct s_mark_def {
    int kind;                  /* S_*; 0 ends the table */
    unsigned services;         /* S_OVER, S_STOP: the services it concerns */
    const char *const *vi;     /* Vietnamese phrases (a negation here negates Vietnamese phrases) */
    const char *const *en;     /* English phrases (... English ones) */
} s_mark_def_t;

typedef struct s_short {
    const char *word;          /* as written; NULL ends the table */
    const char *means;         /* one or more words */
} s_short_t;

extern const s_cue_def_t antt_danger_cue_defs[];
extern const s_mark_def_t antt_danger_mark_defs[];
extern const s_short_t antt_danger_shorthand[];
extern const char *const antt_danger_road_words[];

#endif
