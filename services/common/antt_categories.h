/* antt_categories: the 16 stable category codes, their Vietnamese labels
 * and default statistic groups (../shared/BRIEF.md). */
#ifndef ANTT_CATEGORIES_H
#define ANTT_CATEGORIES_H

typedef struct antt_category_s {
    const char *code;     /* stable code, e.g. "theft" */
    const char *label_vi; /* Vietnamese label */
    const char *label_en; /* English description */
    const char *group;    /* default statistic group */
} antt_category_t;

extern const antt_category_t antt_categories[];
extern const int antt_categories_count;

/* The category with this code, or NULL. */
const antt_category_t *antt_category_find(const char *code);

#endif
