#include "luahost/module_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace luamig::luahost {
namespace {

std::string resolved(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> p(::realpath(path.c_str(), nullptr), &std::free);
  return p ? std::string(p.get()) : std::string();
}

const char* kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::optional<std::string> read_module_file(const std::string& lib_dir, const std::string& relative,
                                            const std::string& module, size_t max_bytes) {
  const std::string path = lib_dir + "/" + relative;
  struct stat link_st {};
  if (::lstat(path.c_str(), &link_st) != 0) return std::nullopt;
  auto refuse = [&](const std::string& why) {
    return ModuleFileError(
        fmt::format("require '{}': {} {}; modules in lib/ must be regular Lua files", module, path, why));
  };
  const std::string real = resolved(path);
  if (real.empty()) throw refuse("is a symlink whose target does not exist");
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0) return std::nullopt;
  if (!S_ISREG(st.st_mode))
    throw refuse(S_ISLNK(link_st.st_mode) ? fmt::format("is a symlink to {} ({})", real, kind_of(st.st_mode))
                                          : fmt::format("is {}", kind_of(st.st_mode)));
  const std::string real_lib = resolved(lib_dir);
  if (real_lib.empty() || real.size() <= real_lib.size() + 1 ||
      real.compare(0, real_lib.size(), real_lib) != 0 || real[real_lib.size()] != '/')
    throw refuse(fmt::format("resolves to {}, outside {}", real, lib_dir));
  // O_NONBLOCK: should the file be swapped for a FIFO after the check, the open does not wait for a writer.
  Fd f{::open(real.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)};
  if (f.fd < 0) throw refuse(fmt::format("cannot be opened ({})", std::strerror(errno)));
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) throw refuse("is not a regular file");
  auto too_large = [&] {
    return refuse(fmt::format("is larger than {} bytes (the largest module luamig reads)", max_bytes));
  };
  if (static_cast<unsigned long long>(st.st_size) > max_bytes) throw too_large();
  std::string content;
  content.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  char extra;
  for (;;) {
    char* dst = got < content.size() ? content.data() + got : &extra;
    size_t room = got < content.size() ? content.size() - got : 1;
    ssize_t n = ::read(f.fd, dst, room);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw refuse(fmt::format("cannot be read ({})", std::strerror(errno)));
    }
    if (n == 0) break;
    if (got >= content.size()) throw too_large();  // the file grew while it was read
    got += static_cast<size_t>(n);
  }
  content.resize(got);
  return content;
}

}  // namespace luamig::luahost
