/* antt_stub: the placeholder body of a service whose issue has not landed
 * yet: it applies migrations, keeps a database connection for /readyz,
 * serves /livez, /readyz and /metrics, and, when listen_key names an
 * endpoint in the config, connects a PULL socket there and counts (and
 * logs) what it receives without acting on it. */
#ifndef ANTT_STUB_H
#define ANTT_STUB_H

int antt_stub_main(const char *name, const char *pull_key, int argc, char **argv);

#endif
