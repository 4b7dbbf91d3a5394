// libpq, loaded when the first PostgreSQL connection opens rather than at process start.
//
// libpq.so.5 pulls in about 25 shared objects (OpenSSL, Kerberos, LDAP, SASL, GnuTLS...): mapping and
// relocating them was most of `luamig --version`'s start-up (13.7M of its instructions, 60% in the dynamic
// loader's symbol lookups), paid by every command, SQLite and offline runs included. libpqxx is linked from
// its static archive, so its calls into libpq are resolved here instead: each function below has libpq's own
// signature (checked by the compiler against libpq-fe.h) and forwards to the symbol dlsym() finds in
// libpq.so.5, loaded on first use. connect_postgresql() calls load_libpq() first, so a missing library is an
// ordinary connection error.
//
// The list is every libpq function libpqxx 6.4's archive references (nm -u libpqxx.a); a libpqxx with a new
// one fails to link with an undefined reference, never at run time. Built only with LUAMIG_LAZY_LIBPQ
// (CMakeLists.txt: the static libpqxx archive is in use); otherwise libpq is linked as usual and load_libpq()
// does nothing.
#include "db/libpq_loader.hpp"

#include <fmt/format.h>

#include "util/error.hpp"

#ifdef LUAMIG_LAZY_LIBPQ
#include <dlfcn.h>
#include <libpq-fe.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace {
const char kLibpq[] = "libpq.so.5";

struct Library {
  void* handle = nullptr;
  std::string error;
};

const Library& library() {
  static const Library lib = [] {
    Library l;
    l.handle = dlopen(kLibpq, RTLD_NOW | RTLD_LOCAL);
    if (!l.handle) {
      const char* e = dlerror();
      l.error = e ? e : "unknown error";
    }
    return l;
  }();
  return lib;
}

// Only reached when a libpq function runs before load_libpq() succeeded: a bug, not a user error.
template <typename F>
F symbol(const char* name) {
  const Library& lib = library();
  void* p = lib.handle ? dlsym(lib.handle, name) : nullptr;
  if (!p) {
    std::fprintf(stderr, "luamig: internal error: %s from %s is not available (%s)\n", name, kLibpq,
                 lib.handle ? "missing symbol" : lib.error.c_str());
    std::abort();
  }
  return reinterpret_cast<F>(p);
}
}  // namespace

#define LUAMIG_PQ(name)                                     \
  ([] {                                                     \
    static const auto f = symbol<decltype(&::name)>(#name); \
    return f;                                               \
  }())

extern "C" {
int PQbackendPID(const PGconn* a0) { return LUAMIG_PQ(PQbackendPID)(a0); }
int PQcancel(PGcancel* a0, char* a1, int a2) { return LUAMIG_PQ(PQcancel)(a0, a1, a2); }
void PQclear(PGresult* a0) { LUAMIG_PQ(PQclear)(a0); }
int PQclientEncoding(const PGconn* a0) { return LUAMIG_PQ(PQclientEncoding)(a0); }
char* PQcmdStatus(PGresult* a0) { return LUAMIG_PQ(PQcmdStatus)(a0); }
char* PQcmdTuples(PGresult* a0) { return LUAMIG_PQ(PQcmdTuples)(a0); }
PostgresPollingStatusType PQconnectPoll(PGconn* a0) { return LUAMIG_PQ(PQconnectPoll)(a0); }
PGconn* PQconnectStart(const char* a0) { return LUAMIG_PQ(PQconnectStart)(a0); }
PGconn* PQconnectdb(const char* a0) { return LUAMIG_PQ(PQconnectdb)(a0); }
int PQconsumeInput(PGconn* a0) { return LUAMIG_PQ(PQconsumeInput)(a0); }
char* PQdb(const PGconn* a0) { return LUAMIG_PQ(PQdb)(a0); }
char* PQencryptPassword(const char* a0, const char* a1) { return LUAMIG_PQ(PQencryptPassword)(a0, a1); }
int PQendcopy(PGconn* a0) { return LUAMIG_PQ(PQendcopy)(a0); }
char* PQerrorMessage(const PGconn* a0) { return LUAMIG_PQ(PQerrorMessage)(a0); }
unsigned char* PQescapeByteaConn(PGconn* a0, const unsigned char* a1, size_t a2, size_t* a3) {
  return LUAMIG_PQ(PQescapeByteaConn)(a0, a1, a2, a3);
}
char* PQescapeIdentifier(PGconn* a0, const char* a1, size_t a2) {
  return LUAMIG_PQ(PQescapeIdentifier)(a0, a1, a2);
}
size_t PQescapeStringConn(PGconn* a0, char* a1, const char* a2, size_t a3, int* a4) {
  return LUAMIG_PQ(PQescapeStringConn)(a0, a1, a2, a3, a4);
}
PGresult* PQexec(PGconn* a0, const char* a1) { return LUAMIG_PQ(PQexec)(a0, a1); }
PGresult* PQexecParams(PGconn* a0, const char* a1, int a2, const Oid* a3, const char* const* a4,
                       const int* a5, const int* a6, int a7) {
  return LUAMIG_PQ(PQexecParams)(a0, a1, a2, a3, a4, a5, a6, a7);
}
PGresult* PQexecPrepared(PGconn* a0, const char* a1, int a2, const char* const* a3, const int* a4,
                         const int* a5, int a6) {
  return LUAMIG_PQ(PQexecPrepared)(a0, a1, a2, a3, a4, a5, a6);
}
char* PQfname(const PGresult* a0, int a1) { return LUAMIG_PQ(PQfname)(a0, a1); }
int PQfnumber(const PGresult* a0, const char* a1) { return LUAMIG_PQ(PQfnumber)(a0, a1); }
void PQfreeCancel(PGcancel* a0) { LUAMIG_PQ(PQfreeCancel)(a0); }
void PQfreemem(void* a0) { LUAMIG_PQ(PQfreemem)(a0); }
Oid PQftable(const PGresult* a0, int a1) { return LUAMIG_PQ(PQftable)(a0, a1); }
int PQftablecol(const PGresult* a0, int a1) { return LUAMIG_PQ(PQftablecol)(a0, a1); }
Oid PQftype(const PGresult* a0, int a1) { return LUAMIG_PQ(PQftype)(a0, a1); }
PGcancel* PQgetCancel(PGconn* a0) { return LUAMIG_PQ(PQgetCancel)(a0); }
int PQgetCopyData(PGconn* a0, char** a1, int a2) { return LUAMIG_PQ(PQgetCopyData)(a0, a1, a2); }
PGresult* PQgetResult(PGconn* a0) { return LUAMIG_PQ(PQgetResult)(a0); }
int PQgetisnull(const PGresult* a0, int a1, int a2) { return LUAMIG_PQ(PQgetisnull)(a0, a1, a2); }
int PQgetlength(const PGresult* a0, int a1, int a2) { return LUAMIG_PQ(PQgetlength)(a0, a1, a2); }
char* PQgetvalue(const PGresult* a0, int a1, int a2) { return LUAMIG_PQ(PQgetvalue)(a0, a1, a2); }
char* PQhost(const PGconn* a0) { return LUAMIG_PQ(PQhost)(a0); }
int PQisBusy(PGconn* a0) { return LUAMIG_PQ(PQisBusy)(a0); }
int PQisthreadsafe(void) { return LUAMIG_PQ(PQisthreadsafe)(); }
int PQnfields(const PGresult* a0) { return LUAMIG_PQ(PQnfields)(a0); }
PGnotify* PQnotifies(PGconn* a0) { return LUAMIG_PQ(PQnotifies)(a0); }
int PQntuples(const PGresult* a0) { return LUAMIG_PQ(PQntuples)(a0); }
Oid PQoidValue(const PGresult* a0) { return LUAMIG_PQ(PQoidValue)(a0); }
char* PQport(const PGconn* a0) { return LUAMIG_PQ(PQport)(a0); }
PGresult* PQprepare(PGconn* a0, const char* a1, const char* a2, int a3, const Oid* a4) {
  return LUAMIG_PQ(PQprepare)(a0, a1, a2, a3, a4);
}
int PQprotocolVersion(const PGconn* a0) { return LUAMIG_PQ(PQprotocolVersion)(a0); }
int PQputCopyData(PGconn* a0, const char* a1, int a2) { return LUAMIG_PQ(PQputCopyData)(a0, a1, a2); }
int PQputCopyEnd(PGconn* a0, const char* a1) { return LUAMIG_PQ(PQputCopyEnd)(a0, a1); }
void PQreset(PGconn* a0) { LUAMIG_PQ(PQreset)(a0); }
char* PQresultErrorField(const PGresult* a0, int a1) { return LUAMIG_PQ(PQresultErrorField)(a0, a1); }
char* PQresultErrorMessage(const PGresult* a0) { return LUAMIG_PQ(PQresultErrorMessage)(a0); }
ExecStatusType PQresultStatus(const PGresult* a0) { return LUAMIG_PQ(PQresultStatus)(a0); }
int PQsendQuery(PGconn* a0, const char* a1) { return LUAMIG_PQ(PQsendQuery)(a0, a1); }
int PQserverVersion(const PGconn* a0) { return LUAMIG_PQ(PQserverVersion)(a0); }
int PQsetClientEncoding(PGconn* a0, const char* a1) { return LUAMIG_PQ(PQsetClientEncoding)(a0, a1); }
PGVerbosity PQsetErrorVerbosity(PGconn* a0, PGVerbosity a1) { return LUAMIG_PQ(PQsetErrorVerbosity)(a0, a1); }
PQnoticeProcessor PQsetNoticeProcessor(PGconn* a0, PQnoticeProcessor a1, void* a2) {
  return LUAMIG_PQ(PQsetNoticeProcessor)(a0, a1, a2);
}
int PQsocket(const PGconn* a0) { return LUAMIG_PQ(PQsocket)(a0); }
ConnStatusType PQstatus(const PGconn* a0) { return LUAMIG_PQ(PQstatus)(a0); }
void PQtrace(PGconn* a0, FILE* a1) { LUAMIG_PQ(PQtrace)(a0, a1); }
unsigned char* PQunescapeBytea(const unsigned char* a0, size_t* a1) {
  return LUAMIG_PQ(PQunescapeBytea)(a0, a1);
}
void PQuntrace(PGconn* a0) { LUAMIG_PQ(PQuntrace)(a0); }
char* PQuser(const PGconn* a0) { return LUAMIG_PQ(PQuser)(a0); }
int lo_close(PGconn* a0, int a1) { return LUAMIG_PQ(lo_close)(a0, a1); }
Oid lo_creat(PGconn* a0, int a1) { return LUAMIG_PQ(lo_creat)(a0, a1); }
int lo_export(PGconn* a0, Oid a1, const char* a2) { return LUAMIG_PQ(lo_export)(a0, a1, a2); }
Oid lo_import(PGconn* a0, const char* a1) { return LUAMIG_PQ(lo_import)(a0, a1); }
int lo_lseek(PGconn* a0, int a1, int a2, int a3) { return LUAMIG_PQ(lo_lseek)(a0, a1, a2, a3); }
int lo_open(PGconn* a0, Oid a1, int a2) { return LUAMIG_PQ(lo_open)(a0, a1, a2); }
int lo_read(PGconn* a0, int a1, char* a2, size_t a3) { return LUAMIG_PQ(lo_read)(a0, a1, a2, a3); }
int lo_tell(PGconn* a0, int a1) { return LUAMIG_PQ(lo_tell)(a0, a1); }
int lo_unlink(PGconn* a0, Oid a1) { return LUAMIG_PQ(lo_unlink)(a0, a1); }
int lo_write(PGconn* a0, int a1, const char* a2, size_t a3) { return LUAMIG_PQ(lo_write)(a0, a1, a2, a3); }
const char* pg_encoding_to_char(int a0) { return LUAMIG_PQ(pg_encoding_to_char)(a0); }
void PQfinish(PGconn* a0) { LUAMIG_PQ(PQfinish)(a0); }
}  // extern "C"

namespace luamig::db {
void load_libpq() {
  const auto& lib = library();
  if (!lib.handle)
    throw RunError(
        fmt::format("cannot load the PostgreSQL client library {}: {} (install libpq5)", kLibpq, lib.error));
}
}  // namespace luamig::db

#else

namespace luamig::db {
void load_libpq() {}
}  // namespace luamig::db

#endif
