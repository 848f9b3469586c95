// clonectl: the control CLI (docs/CLI.md). Parses the command line, sends the request to the
// running daemon over its control socket or, when none answers, opens the store directly and
// runs the same Dispatcher in-process, then prints the result.
#pragma once

#include <string>

namespace clonefs::control {

// Exit statuses.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // the command failed: the error name is on stderr
constexpr int kExitUsage = 2;   // the command line could not be parsed

// The store used without --store: $CLONEFS_HOME if set, else /var/lib/clonefs/local.
std::string DefaultStoreDir();

// Runs clonectl; returns the process exit status.
int RunClonectl(int argc, char** argv);

}  // namespace clonefs::control
