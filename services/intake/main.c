/* antt-intake: accepts residents' reports. See intake.h. */
int intake_main(int argc, char **argv);

int main(int argc, char **argv)
{
    return intake_main(argc, argv);
}
