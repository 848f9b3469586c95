// clonectl: the clonefs control CLI. See docs/CLI.md.
#include "tools/control/cli.h"

int main(int argc, char** argv) { return clonefs::control::RunClonectl(argc, argv); }
