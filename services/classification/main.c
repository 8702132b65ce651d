/* antt-classification: placeholder until its issue lands (see antt_stub.h). */
#include <stddef.h>

#include "antt_stub.h"

int main(int argc, char **argv)
{
    return antt_stub_main("classification", "intake.push_endpoint", argc, argv);
}
