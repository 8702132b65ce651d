/* antt_http_error: the JSON error bodies of every service's JSON API (one
 * shape: {"error_code": "...", "error": "..."}), and the 503 a full queue or
 * a full stream table answers. Open311's own error array stays in intake. */
#include "antt_http.h"
#include "antt_json.h"
#include "antt_util.h"

void antt_http_json_error(antt_http_req_t *req, int status, const char *code, const char *msg)
{
    antt_buf_t b;
    antt_buf_init(&b);
    antt_buf_puts(&b, "{\"error_code\":");
    antt_json_cstr(&b, code);
    antt_buf_puts(&b, ",\"error\":");
    antt_json_cstr(&b, msg);
    antt_buf_puts(&b, "}");
    antt_http_respond(req, status, "application/json", b.data, b.len);
    antt_buf_cleanup(&b);
}

void antt_http_busy(antt_http_req_t *req, const char *msg, int retry_s)
{
    antt_http_error(req, 503, "busy", msg, retry_s > 0 ? retry_s : 1);
}
