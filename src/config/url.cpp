#include "config/url.hpp"

#include <fmt/format.h>

#include <cctype>
#include <regex>

#include "db/registry.hpp"
#include "util/error.hpp"
#include "util/output.hpp"

namespace luamig::config {
namespace {
std::string percent_decode(std::string_view s) {
  std::string r;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      r.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      r.push_back(s[i]);
    }
  }
  return r;
}

std::string query_param(std::string_view query, std::string_view key) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view kv = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos && kv.substr(0, eq) == key) return percent_decode(kv.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return "";
}
}  // namespace

std::string mask_passwords(std::string_view text) {
  // The password runs to the last '@' of the authority: an unencoded '@' inside it must not leave a tail behind.
  static const std::regex url_pw(R"(([a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*):([^/\s]*)@)");
  static const std::regex kv_pw(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&]+))", std::regex::icase);
  std::string s = std::regex_replace(std::string(text), url_pw, "$1:***@");
  s = std::regex_replace(s, kv_pw, "$1***");
  return out::scrub(s);
}

std::string DatabaseUrl::masked() const { return mask_passwords(raw); }

std::string describe_sqlite(const DatabaseUrl& u) { return fmt::format("SQLite database {}", u.path); }

std::string describe_server(const DatabaseUrl& u) {
  return fmt::format("host {}, port {}, database {}, user {}", u.host.empty() ? "(default)" : u.host,
                     u.port.empty() ? "5432" : u.port, u.database.empty() ? "(default)" : u.database,
                     u.user.empty() ? "(default)" : u.user);
}

std::string DatabaseUrl::describe() const {
  if (dialect.empty()) return describe_server(*this);
  return db::database(dialect).describe(*this);
}

namespace {
// libpq key=value conninfo, or empty (libpq environment variables).
void parse_conninfo(DatabaseUrl& u, std::string_view url) {
  static const std::regex kv(R"((\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+))");
  std::string s(url);
  for (std::sregex_iterator it(s.begin(), s.end(), kv), end; it != end; ++it) {
    std::string k = (*it)[1], v = (*it)[2];
    if (!v.empty() && v.front() == '\'') v = v.substr(1, v.size() - 2);
    if (k == "password") u.password = v;
    else if (k == "host") u.host = v;
    else if (k == "port") u.port = v;
    else if (k == "dbname") u.database = v;
    else if (k == "user") u.user = v;
  }
  if (!u.password.empty()) out::add_secret(u.password);
}
}  // namespace

DatabaseUrl parse_url(std::string_view url) {
  DatabaseUrl u;
  u.raw = std::string(url);
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    u.dialect = std::string(db::default_database().name);
    parse_conninfo(u, url);
    return u;
  }
  std::string scheme(url.substr(0, scheme_end));
  const db::Database* database = db::database_for_scheme(scheme);
  if (!database) {
    std::string hints;
    for (const auto& d : db::databases()) hints += (hints.empty() ? "" : " or ") + std::string(d.url_hint);
    throw ConfigError(fmt::format("database URL '{}': unknown scheme '{}' (use {})", mask_passwords(url), scheme,
                                  hints));
  }
  u.dialect = std::string(database->name);
  database->parse_url(u, url.substr(scheme_end + 3));
  return u;
}

void parse_sqlite_url(DatabaseUrl& u, std::string_view rest) {
  const std::string& url = u.raw;
  if (rest == ":memory:" || rest == "/:memory:") u.path = ":memory:";
  else if (!rest.empty() && rest[0] == '/') u.path = std::string(rest.substr(1));   // sqlite:///rel or ////abs
  else throw ConfigError(fmt::format("database URL '{}': use sqlite:///relative.db, sqlite:////absolute.db or sqlite://:memory:", url));
  if (u.path.empty()) throw ConfigError(fmt::format("database URL '{}' names no SQLite file", url));
}

void parse_postgresql_url(DatabaseUrl& u, std::string_view rest) {
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest, path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      u.user = percent_decode(userinfo.substr(0, colon));
      u.password = percent_decode(userinfo.substr(colon + 1));
    } else {
      u.user = percent_decode(userinfo);
    }
  }
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size() && authority[close + 1] == ':') u.port = std::string(authority.substr(close + 2));
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    u.host = std::string(authority.substr(0, colon));
    u.port = std::string(authority.substr(colon + 1));
  } else {
    u.host = std::string(authority);
  }
  u.host = percent_decode(u.host);
  u.database = percent_decode(path);
  if (!query.empty()) {
    if (auto h = query_param(query, "host"); !h.empty()) u.host = h;
    if (auto p = query_param(query, "port"); !p.empty()) u.port = p;
    if (auto pw = query_param(query, "password"); !pw.empty()) u.password = pw;
    if (auto usr = query_param(query, "user"); !usr.empty()) u.user = usr;
  }
  if (!u.password.empty()) out::add_secret(u.password);
}
}  // namespace luamig::config
