#pragma once
// Reading a module that a migration requires from <script_location>/lib/: only a regular file of bounded
// size, inside lib/, is ever read (never a device, a FIFO, a socket, nor a symlink leading out of lib/ or to
// one of those).
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>

namespace luamig::luahost {

// Longest module source read from lib/ (a module is code, not data).
constexpr size_t kMaxModuleBytes = size_t{4} << 20;

// A module file that exists but may not be read; the message names the module and the path.
class ModuleFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The content of `lib_dir`/`relative` for the module `module`, or nullopt when no such file exists.
// Throws ModuleFileError when the path is not a regular file, resolves outside `lib_dir`, or is larger than
// `max_bytes` (never blocks: a FIFO is refused before it is opened for reading).
std::optional<std::string> read_module_file(const std::string& lib_dir, const std::string& relative,
                                            const std::string& module, size_t max_bytes);

}  // namespace luamig::luahost
