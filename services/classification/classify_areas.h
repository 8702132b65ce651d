/* classify_areas: finds an area named in a report's address or text, for
 * reports with neither an area code nor coordinates inside a boundary. Names
 * are folded like everything else, so "Phường Bình Trị Đông A", "phuong binh
 * tri dong a" and "P. Bình Trị Đông A" all match. Loop thread only. */
#ifndef CLASSIFY_AREAS_H
#define CLASSIFY_AREAS_H

typedef struct classify_areas_s classify_areas_t;

classify_areas_t *classify_areas_new(void);
void classify_areas_destroy(classify_areas_t **self_p);

/* Adds an area: its code, its name (any form; "Phường X" also registers the
 * bare "X" when X has two words or more) and the depth of its level (deeper
 * wins a tie). Strings are copied. */
void classify_areas_add(classify_areas_t *a, const char *code, const char *name, int depth);
/* Areas added. */
int classify_areas_count(const classify_areas_t *a);

/* The code of the area named in address (full or bare names) or, failing
 * that, in text (full names only, with their level word: "phường X"), or NULL.
 * The longest name wins, then the deepest area; a name shared by several areas
 * is ignored. Borrowed until the next call or add. */
const char *classify_areas_find(classify_areas_t *a, const char *address, const char *text);

#endif
