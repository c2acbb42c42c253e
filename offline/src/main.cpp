#include "hanko/offline/cli.h"

int main(int argc, char** argv) { return hanko::offline::run_cli(argc, argv); }
