// clonefs-export: snapshots as export streams (tools/control/export_cli.h).
#include "tools/control/export_cli.h"

int main(int argc, char** argv) { return clonefs::control::RunCloneFsExport(argc, argv); }
