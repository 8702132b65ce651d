/* antt_zone: the bound sockets' zones and size limits (see the header). */
#include "antt_zone.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

/* The sizes, from the largest legal message of each socket:
 * - SubmitReport: refused above 16 KiB by intake itself (BAD_REQUEST
 *   too_large); 64 KiB disconnects, as documented since issue 6.
 * - ClassifiedIncident: ids, codes and at most 16 reasons of a rule phrase
 *   each, a few KiB; 64 KiB.
 * - TriageCommand: a token, ids, codes and a dispatcher's note or reason;
 *   64 KiB (a note longer than 50 pages of text is no note).
 * - the PUSH, the PUBs: nothing but the handshake and subscriptions.
 * - TrendSnapshotRequest: an area code, a period and a dashboard token:
 *   the control size. */
static const antt_zone_t s_zones[ANTT_ZONE_COUNT] = {
    {ANTT_ZONE_GATEWAYS, "antt.gateways", "intake gateway ROUTER", ANTT_WHO_GATEWAY | ANTT_WHO_CLIENT, 64 * 1024},
    {ANTT_ZONE_INTAKE_PUSH, "antt.intake.push", "intake PUSH", ANTT_WHO_CLASSIFICATION, ANTT_ZONE_CONTROL_MAX},
    {ANTT_ZONE_NOTIFY_CLASSIFIED, "antt.notification.classified", "notification classified SUB",
     ANTT_WHO_CLASSIFICATION, 64 * 1024},
    {ANTT_ZONE_AGG_CLASSIFIED, "antt.aggregation.classified", "aggregation classified SUB", ANTT_WHO_CLASSIFICATION,
     64 * 1024},
    {ANTT_ZONE_DESK_FEED, "antt.notification.feed", "notification desk feed PUB", ANTT_WHO_AGGREGATION,
     ANTT_ZONE_CONTROL_MAX},
    {ANTT_ZONE_TRIAGE, "antt.notification.triage", "notification triage ROUTER", ANTT_WHO_CLIENT, 64 * 1024},
    {ANTT_ZONE_TRENDS, "antt.aggregation.trends", "aggregation trend PUB", ANTT_WHO_STAFF, ANTT_ZONE_CONTROL_MAX},
    {ANTT_ZONE_SNAPSHOTS, "antt.aggregation.snapshots", "aggregation snapshot ROUTER", ANTT_WHO_CLIENT | ANTT_WHO_STAFF,
     ANTT_ZONE_CONTROL_MAX},
};

const antt_zone_t *antt_zone_get(antt_zone_id_t id)
{
    assert(id >= 0 && id < ANTT_ZONE_COUNT);
    return &s_zones[id];
}

const antt_zone_t *antt_zone_by_domain(const char *domain)
{
    for (size_t i = 0; domain && i < ANTT_ZONE_COUNT; i++)
        if (!strcmp(s_zones[i].domain, domain))
            return &s_zones[i];
    return NULL;
}

int antt_zone_admits(const antt_zone_t *z, unsigned who)
{
    return z != NULL && who != 0 && (z->admits & who) == who;
}

unsigned antt_zone_service_bit(const char *service)
{
    static const char *const names[] = {"intake", "classification", "notification", "aggregation"};
    for (unsigned i = 0; service && i < 4; i++)
        if (!strcmp(service, names[i]))
            return 1u << i;
    return 0;
}
