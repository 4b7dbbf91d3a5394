// bench/measure: runs one command and reports its wall time and peak RSS, for bench/run.sh.
//
//   measure RESULT_FILE COMMAND [ARG...]
//
// Appends one line "<wall_ns> <peak_rss_kib> <exit_status> <cpu_ns>" to RESULT_FILE (cpu: the child's user +
// system time, which a busy machine inflates far less than the wall time). The child inherits stdin, stdout
// and stderr (the caller redirects them). Wall time runs from just before posix_spawn to the end of wait4;
// the peak RSS is that child's own ru_maxrss from wait4 (not the maximum over every child this process ever
// had, which is what RUSAGE_CHILDREN would give). A child killed by a signal reports status 128 + signal.
// Exit status of measure itself: 0 when the result line was written (whatever the child's status), 2 on a
// usage or spawn error.
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: measure RESULT_FILE COMMAND [ARG...]\n");
    return 2;
  }
  std::FILE* result = std::fopen(argv[1], "a");
  if (!result) {
    std::fprintf(stderr, "measure: %s: %s\n", argv[1], std::strerror(errno));
    return 2;
  }
  auto started = std::chrono::steady_clock::now();
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[2], nullptr, nullptr, argv + 2, environ);
  if (rc != 0) {
    std::fprintf(stderr, "measure: cannot run %s: %s\n", argv[2], std::strerror(rc));
    return 2;
  }
  int status = 0;
  struct rusage usage {};
  while (wait4(pid, &status, 0, &usage) < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "measure: wait4: %s\n", std::strerror(errno));
      return 2;
    }
  }
  auto elapsed = std::chrono::steady_clock::now() - started;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  long long cpu_ns = (static_cast<long long>(usage.ru_utime.tv_sec) + usage.ru_stime.tv_sec) * 1000000000LL +
                     (static_cast<long long>(usage.ru_utime.tv_usec) + usage.ru_stime.tv_usec) * 1000LL;
  std::fprintf(result, "%lld %ld %d %lld\n",
               static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()),
               usage.ru_maxrss, code, cpu_ns);
  return std::fclose(result) == 0 ? 0 : 2;
}
