// clonefs-export: snapshots as export streams, to and from files and pipes (docs/CLI.md,
// "clonefs-export"; the stream is docs/FORMAT.md's). Like clonectl it asks the store's daemon
// when one runs — passing it the file or pipe, so the image never goes through a socket or a
// temporary file — and otherwise opens the store itself.
#pragma once

namespace clonefs::control {

// Runs clonefs-export; returns the process exit status (0, 1 failed, 2 usage).
int RunCloneFsExport(int argc, char** argv);

}  // namespace clonefs::control
