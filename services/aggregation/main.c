/* antt-aggregation: placeholder until its issue lands (see antt_stub.h). */
#include <stddef.h>

#include "antt_stub.h"

int main(int argc, char **argv)
{
    return antt_stub_main("aggregation", NULL, argc, argv);
}
