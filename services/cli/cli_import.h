/* cli_import.h: the rows of an import (antt import), as read from its file
 * by cli_import_read.c and sent by cli_import.c. */
#ifndef ANTT_CLI_IMPORT_H
#define ANTT_CLI_IMPORT_H

#include <stdint.h>

typedef struct i_row {
    int line;           /* where the row starts in its file */
    char key[80];       /* idempotency key */
    int64_t occurred_ms;
    int priority;       /* 1..4 */
    char *category, *area, *status, *description, *address;
    int has_coords;
    double lat, lon;
    int solved;         /* outcome solved (điều tra làm rõ) */
    char solved_on[11]; /* YYYY-MM-DD or empty */
    int arrested;       /* suspects arrested, -1 when not given */
    char report_id[40]; /* once accepted */
    int state;          /* 0 to send, 1 in flight, 2 accepted, 3 an incident */
    int replayed;       /* intake had its key already: imported before */
    int64_t retry_at_ms;
} i_row_t;

/* Reads FILE (CSV with a header, RFC 4180, or JSON lines) into *rows
 * (malloc'd, the caller frees each with cli_import_row_free and then the
 * array). Returns the row count, or -1 after printing every bad row, naming
 * its line and field; then nothing is to be imported. */
int cli_import_read(const char *path, i_row_t **rows);

void cli_import_row_free(i_row_t *r);

#endif
