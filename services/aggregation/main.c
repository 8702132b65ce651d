/* antt-aggregation: see agg.h. */
#include "agg.h"

int main(int argc, char **argv)
{
    return agg_main(argc, argv);
}
