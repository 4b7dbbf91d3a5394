// luamig's entry point: the only place where failures are printed and become exit statuses.
//   0 success, 1 a migration or database failure, 2 a usage, config or revision-graph error, 128 + N a stop
//   by signal N. Every failure is printed here, once (util/failure.hpp: its report, or "ERROR: <message>").
#include <pthread.h>

#include <cstdio>
#include <cstring>
#include <exception>

#include "cli/cli.hpp"
#include "util/failure.hpp"
#include "util/interrupt.hpp"
#include "util/output.hpp"

namespace {
struct MainArgs {
  int argc;
  char** argv;
  int status = 0;
};

void* run_main(void* p) {
  auto* a = static_cast<MainArgs*>(p);
  try {
    a->status = luamig::cli::run(a->argc, a->argv);
  } catch (const std::exception& e) {
    auto failure = luamig::failure_of(e);
    if (auto text = luamig::failure_text(failure); !text.empty()) luamig::out::error(text);
    a->status = luamig::exit_status(failure);
  }
  return nullptr;
}
}  // namespace

int main(int argc, char** argv) {
  // `luamig --version` answers before anything starts (no thread, no CLI parser, no file, no Lua): health
  // checks and install scripts call it, and its cost is the process's bare start-up. The text is CLI11's
  // --version output.
  if (argc == 2 && std::strcmp(argv[1], "--version") == 0) {
    std::fputs("luamig " LUAMIG_VERSION "\n", stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  // SIGINT/SIGTERM are handled on a watcher thread; blocked here, before any other thread exists, so that no
  // thread ever takes them asynchronously.
  luamig::interrupt::install();
  // Lua runs on a thread with a large stack: deep recursion in C functions (string.gsub callbacks, sort
  // comparators) must hit Lua's own limits before the C stack runs out. The stack is reserved, not touched.
  MainArgs args{argc, argv};
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, size_t{256} << 20);
  pthread_t thread;
  if (pthread_create(&thread, &attr, run_main, &args) != 0) {
    run_main(&args);
  } else {
    pthread_join(thread, nullptr);
  }
  pthread_attr_destroy(&attr);
  return args.status;
}
