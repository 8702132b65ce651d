/* Fuzz target: every other protobuf message a service accepts. The first
 * byte picks the message; the rest is its encoding. */
#include <stddef.h>
#include <stdint.h>

#include "antt/v1/incident.pb-c.h"
#include "antt/v1/report.pb-c.h"
#include "antt/v1/trend.pb-c.h"
#include "antt/v1/triage.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const ProtobufCMessageDescriptor *const d[] = {
        &antt__v1__accepted_report__descriptor,      /* intake -> classification */
        &antt__v1__classified_incident__descriptor,  /* -> notification, aggregation */
        &antt__v1__incident_update__descriptor,      /* -> aggregation, consoles */
        &antt__v1__triage_command__descriptor,       /* -> notification's ROUTER */
        &antt__v1__trend_snapshot_request__descriptor, /* -> aggregation's ROUTER */
        &antt__v1__trend_update__descriptor,         /* -> dashboards */
        &antt__v1__submit_reply__descriptor,         /* -> gateways */
    };
    const ProtobufCMessageDescriptor *desc = d[data[0] % (sizeof(d) / sizeof(d[0]))];
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, size - 1, data + 1);
    if (m) {
        /* what was decoded packs again */
        size_t n = protobuf_c_message_get_packed_size(m);
        uint8_t buf[4096];
        if (n <= sizeof(buf))
            protobuf_c_message_pack(m, buf);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    return 0;
}
