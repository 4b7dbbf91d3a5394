#pragma once
// Texts generated from the command-line definition itself, so that they never drift from --help: the man page
// and the shell completion scripts.
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace luamig::cli {
// The verbs shown in --help, in definition order.
std::vector<std::string> visible_verbs(const CLI::App& app);
// luamig.1 in man(7) format: NAME, SYNOPSIS, DESCRIPTION, GLOBAL OPTIONS, COMMANDS (each with its options),
// ENVIRONMENT, EXIT STATUS.
std::string man_page(const CLI::App& app);
// The completion script for `shell` ("bash", "zsh", "fish"): verbs, flags of each verb, and, by calling
// `luamig list-names revisions|environments`, revision ids, branch labels and environment names.
std::string completion_script(const CLI::App& app, const std::string& shell);
}  // namespace luamig::cli
