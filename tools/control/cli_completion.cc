#include "tools/control/cli_completion.h"

#include <set>

namespace clonefs::control {

std::vector<std::string> CompletionCandidates(const CLI::App& app,
                                              const std::vector<std::string>& words) {
  std::vector<const CLI::App*> path = {&app};
  for (const std::string& w : words) {
    if (w.empty() || w[0] == '-') continue;  // an option (its value is not a command name)
    for (const CLI::App* sub : path.back()->get_subcommands({})) {
      if (sub->check_name(w)) {  // its name or an alias (`volume describe`)
        path.push_back(sub);
        break;
      }
    }
  }
  std::vector<std::string> out;
  for (const CLI::App* sub : path.back()->get_subcommands({})) {
    if (!sub->get_name().empty()) out.push_back(sub->get_name());
  }
  std::set<std::string> seen;
  for (auto it = path.rbegin(); it != path.rend(); ++it) {
    for (const CLI::Option* opt : (*it)->get_options({})) {
      for (const std::string& name : opt->get_lnames()) {
        if (seen.insert("--" + name).second) out.push_back("--" + name);
      }
    }
  }
  return out;
}

}  // namespace clonefs::control
