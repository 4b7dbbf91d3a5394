#pragma once
// Command-line parsing (CLI11) and dispatch to commands::<verb>. No logic beyond binding options.
namespace luamig::cli {
// Parses argv and runs the verb. Returns the exit status; throws luamig::Error and graph::GraphError.
int run(int argc, char** argv);
}  // namespace luamig::cli
