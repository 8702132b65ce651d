/* at_hook: a webhook receiver run by a thread of the test: it keeps every
 * request's webhook-id, timestamp, signature and body, answers 204, and can
 * go "down" (every request closed unanswered) and up again. */
#ifndef AT_HOOK_H
#define AT_HOOK_H

#include <pthread.h>

#define AT_HOOK_MAX 1024

typedef struct at_hook_msg_s {
    char id[96], ts[32], sig[128]; /* the Standard Webhooks headers */
    char *body;                    /* malloc'd */
    long long at_ms;               /* when it arrived (antt_now_ms) */
} at_hook_msg_t;

typedef struct at_hook_s {
    int port;               /* where it listens */
    int fd;                 /* listening socket, -1 while stopped */
    volatile int refuse;    /* "down": connections are closed unanswered */
    volatile int stop;      /* asks the thread to end */
    pthread_t thread;       /* serves one connection at a time */
    pthread_mutex_t mu;     /* guards msgs and n */
    at_hook_msg_t msgs[AT_HOOK_MAX]; /* what arrived, in order */
    int n;                  /* entries of msgs */
} at_hook_t;

/* Starts a receiver on 127.0.0.1:port. 0 or -1. */
int at_hook_start(at_hook_t *h, int port);
/* Down: every request fails (closed without an answer; the port stays
 * ours, so that no other socket of the machine takes it meanwhile). */
void at_hook_down(at_hook_t *h);
void at_hook_up(at_hook_t *h);
/* Stops the thread and frees what arrived. */
void at_hook_stop(at_hook_t *h);
/* How many messages arrived whose body contains needle (any when NULL). */
int at_hook_count(at_hook_t *h, const char *needle);
/* How many messages arrived under a webhook-id that had arrived before;
 * with since_ms > 0, only those whose first copy arrived outside
 * [since_ms[i], until_ms[i]] for every i < n (a sender killed then may have
 * had a message delivered and not yet recorded: at least once). */
int at_hook_repeats(at_hook_t *h);
int at_hook_repeats_outside(at_hook_t *h, const long long *since_ms, const long long *until_ms, int n);

#endif
