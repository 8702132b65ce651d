/* antt-classification: see classify_service.c. */
int classify_main(int argc, char **argv);

int main(int argc, char **argv)
{
    return classify_main(argc, argv);
}
