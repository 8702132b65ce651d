/* Fuzz target: a gateway's SubmitReport as intake decodes and validates it
 * (protobuf-c unpack, the field mapping, UTF-8, NFC, coordinates, URLs,
 * contact sealing and the reporter hash). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "antt/v1/report.pb-c.h"
#include "antt_crypto.h"
#include "intake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static intake_keys_t keys;
    static int ready;
    if (!ready) {
        uint8_t sk[ANTT_KEY_BYTES];
        antt_crypto_init();
        antt_seal_keypair(keys.seal_pk, sk);
        ready = 1;
    }
    Antt__V1__SubmitReport *m = antt__v1__submit_report__unpack(NULL, size, data);
    if (m == NULL)
        return 0;
    intake_input_t in;
    const char *code, *msg;
    if (intake_input_from_pb(m, &in, &code, &msg) == 0) {
        intake_report_t r;
        intake_error_t err;
        intake_validate(&in, &keys, 1763856000000, &r, &err);
        intake_report_cleanup(&r);
    }
    antt__v1__submit_report__free_unpacked(m, NULL);
    return 0;
}
