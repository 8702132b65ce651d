/* antt-notification: desk feeds, escalation and triage (see notify.h). */
#include "notify.h"

int main(int argc, char **argv)
{
    return notify_main(argc, argv);
}
