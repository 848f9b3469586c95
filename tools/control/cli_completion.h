// Shell completion for clonectl: `clonectl __complete WORD...` prints, one per line, what may
// follow the words typed so far (subcommand names, then the options of the command reached),
// read from the same CLI11 definitions that parse the command line, so that completion never
// falls behind the commands. packaging/clonectl.bash-completion asks it on every <Tab>.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace clonefs::control {

inline constexpr char kCompleteCommand[] = "__complete";

// The candidates after `words` (the words typed after "clonectl", the one being completed
// excluded): the subcommands of the deepest command they name, and its options and those of
// the commands above it.
std::vector<std::string> CompletionCandidates(const CLI::App& app,
                                              const std::vector<std::string>& words);

}  // namespace clonefs::control
