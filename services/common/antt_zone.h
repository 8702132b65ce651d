/* antt_zone: whom each socket a service binds admits, and how large a
 * message it takes: one row per bound socket (docs/protocol.md, "Zones",
 * is the same table in words).
 *
 * A zone is the ZAP domain of its socket: the ZAP handler (antt_curve)
 * admits a CURVE key there only when its holder (a service, a client key of
 * curve.clients, a registered gateway) is one the socket exists for, so a
 * service key is refused on every socket outside its zone and a client key
 * reads no desk feed. The same row sets ZMQ_MAXMSGSIZE, sized from the
 * largest legal message of the socket: a peer that announces a larger frame
 * is disconnected before anything is allocated for it, authenticated or not.
 *
 * Pure data and pure functions: any thread. */
#ifndef ANTT_ZONE_H
#define ANTT_ZONE_H

#include <stdint.h>

/* Who holds a key: one bit each, so that a zone is a set of them. */
enum {
    ANTT_WHO_INTAKE = 1u << 0,
    ANTT_WHO_CLASSIFICATION = 1u << 1,
    ANTT_WHO_NOTIFICATION = 1u << 2,
    ANTT_WHO_AGGREGATION = 1u << 3,
    ANTT_WHO_CLIENT = 1u << 4,  /* a key listed in curve.clients: consoles, dashboards, the antt CLI */
    ANTT_WHO_GATEWAY = 1u << 5, /* an active gateway's registered key */
    ANTT_WHO_STAFF = 1u << 6,   /* a key listed in curve.staff_clients: staff systems that read the trend feed */
};

typedef enum antt_zone_id {
    ANTT_ZONE_GATEWAYS,           /* intake's gateway ROUTER */
    ANTT_ZONE_INTAKE_PUSH,        /* intake's PUSH to the classification workers */
    ANTT_ZONE_NOTIFY_CLASSIFIED,  /* notification's SUB of classified incidents */
    ANTT_ZONE_AGG_CLASSIFIED,     /* aggregation's SUB of classified incidents */
    ANTT_ZONE_DESK_FEED,          /* notification's desk feed PUB */
    ANTT_ZONE_TRIAGE,             /* notification's triage ROUTER */
    ANTT_ZONE_TRENDS,             /* aggregation's trend PUB (staff keys only) */
    ANTT_ZONE_SNAPSHOTS,          /* aggregation's snapshot ROUTER (a staff token in each request) */
    ANTT_ZONE_COUNT
} antt_zone_id_t;

/* A socket that receives nothing but ZMTP commands and subscriptions (a
 * PUB, a PUSH) still decodes the handshake's: its limit. */
#define ANTT_ZONE_CONTROL_MAX 4096

typedef struct antt_zone_s {
    antt_zone_id_t id;   /* its row */
    const char *domain;  /* ZAP domain, "antt.intake.push" */
    const char *socket;  /* what it is, for messages */
    unsigned admits;     /* ANTT_WHO_* bits */
    int64_t maxmsg;      /* ZMQ_MAXMSGSIZE, bytes */
} antt_zone_t;

/* The zone's row. id must be valid (assert). Borrowed, static. */
const antt_zone_t *antt_zone_get(antt_zone_id_t id);
/* The zone whose ZAP domain is domain, or NULL (an unknown domain admits
 * nobody). */
const antt_zone_t *antt_zone_by_domain(const char *domain);
/* 1 when zone z admits a key held by who (one ANTT_WHO_* bit); 0 otherwise,
 * also for z NULL. */
int antt_zone_admits(const antt_zone_t *z, unsigned who);
/* The ANTT_WHO_* bit of a service name ("intake", ...), 0 for another name. */
unsigned antt_zone_service_bit(const char *service);

#endif
