#include "config/url.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <vector>

#include "db/registry.hpp"
#include "util/error.hpp"

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

// "postgresql+asyncpg" -> true when the text before "://" is a URI scheme.
bool is_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '.' && c != '-') return false;
  return true;
}

// True when `rest` from `from` up to the next '/' or '?' reads as host[:port][,host[:port]...].
bool netloc_at(std::string_view rest, size_t from) {
  std::string_view n = rest.substr(from, rest.find_first_of("/?", from) - from);
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr(".-_%~:,[]", c)) return false;
  return true;
}

// Where the userinfo of `rest` (the text after "scheme://") ends; npos when there is none. A candidate '@'
// has a user part (up to the first ':') without '/', '?' or '#'.
//   widest = false (connecting): libpq's rule (the first '@' before any '/') when a host list follows it,
//   else
//     the last candidate followed by a host list, else the last candidate: so a generated password with
//     unencoded '/', '?', '#', ':' or '@' works.
//   widest = true (masking): the last candidate, so that whatever either rule reads as the password is
//   hidden.
size_t userinfo_end(std::string_view rest, bool widest) {
  std::vector<size_t> candidates;
  for (size_t at = rest.find('@'); at != std::string_view::npos; at = rest.find('@', at + 1)) {
    std::string_view user = rest.substr(0, std::min(rest.find(':'), at));
    if (user.find_first_of("/?#") == std::string_view::npos) candidates.push_back(at);
  }
  if (candidates.empty()) return std::string_view::npos;
  if (widest) return candidates.back();
  size_t libpq = rest.find_first_of("@/");
  if (libpq != std::string_view::npos && rest[libpq] == '@' && netloc_at(rest, libpq + 1)) return libpq;
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it)
    if (netloc_at(rest, *it + 1)) return *it;
  return candidates.back();
}

std::string quote_conninfo(std::string_view v) {
  std::string r = "'";
  for (char c : v) {
    if (c == '\'' || c == '\\') r.push_back('\\');
    r.push_back(c);
  }
  return r + "'";
}

std::string join(const std::vector<std::string>& v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? "," : "") + v[i];
  return r;
}

// libpq's key=value syntax (conninfo_parse): keyword, optional blanks, '=', optional blanks, then a value
// that is either single-quoted (backslash escapes) or runs to the next blank (backslash escapes too).
void parse_keywords(DatabaseUrl& u) {
  const std::string& s = u.raw;
  size_t i = 0;
  auto blank = [&](size_t k) { return k < s.size() && std::isspace(static_cast<unsigned char>(s[k])); };
  while (i < s.size()) {
    while (blank(i)) ++i;
    if (i >= s.size()) break;
    size_t k0 = i;
    while (i < s.size() && s[i] != '=' && !blank(i)) ++i;
    std::string key = s.substr(k0, i - k0);
    while (blank(i)) ++i;
    if (i >= s.size() || s[i] != '=') {
      // A mistyped URL ("postgresql:/u:pw@h/db") lands here whole: never echo what may hold its password.
      if (key.find('@') != std::string::npos)
        throw ConfigError(
            "database URL: neither scheme://... nor key=value pairs (not shown: it may hold a "
            "password)");
      throw ConfigError(fmt::format("database URL: missing \"=\" after \"{}\" in the connection string",
                                    mask_passwords(key)));
    }
    ++i;
    while (blank(i)) ++i;
    size_t v0 = i;
    std::string value;
    if (i < s.size() && s[i] == '\'') {
      ++i;
      bool closed = false;
      for (; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          value.push_back(s[++i]);
        } else if (s[i] == '\'') {
          ++i;
          closed = true;
          break;
        } else {
          value.push_back(s[i]);
        }
      }
      if (!closed) throw ConfigError("database URL: unterminated quoted string in the connection string");
    } else {
      for (; i < s.size() && !blank(i); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i]);
      }
    }
    if (key == "password") {
      u.password = value;
      if (i > v0) u.secret_spans.emplace_back(v0, i);
    } else if (key == "host" || key == "hostaddr") {
      if (key == "host" || u.host.empty()) u.host = value;
    } else if (key == "port") {
      u.port = value;
    } else if (key == "dbname") {
      u.database = value;
    } else if (key == "user") {
      u.user = value;
    } else {
      u.params.emplace_back(key, value);
    }
  }
}

}  // namespace

void parse_postgresql_url(DatabaseUrl& u, size_t rest_at) {
  std::string_view raw = u.raw;
  std::string_view rest = raw.substr(rest_at);
  size_t at = userinfo_end(rest, false);
  size_t host_at = 0;
  if (at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      u.user = percent_decode(userinfo.substr(0, colon));
      u.password = percent_decode(userinfo.substr(colon + 1));
      // Shown masked up to the widest reading, in case the user meant a longer password.
      size_t widest = userinfo_end(rest, true);
      if (colon + 1 < widest) u.secret_spans.emplace_back(rest_at + colon + 1, rest_at + widest);
    } else {
      u.user = percent_decode(userinfo);
    }
    host_at = at + 1;
  }
  std::string_view hostpart = rest.substr(host_at);
  size_t netloc_end = hostpart.find_first_of("/?");
  std::string_view netloc = hostpart.substr(0, netloc_end);
  std::string_view query;
  if (netloc_end != std::string_view::npos) {
    std::string_view after = hostpart.substr(netloc_end);
    size_t q = after.find('?');
    if (after[0] == '/')
      u.database = percent_decode(after.substr(1, q == std::string_view::npos ? q : q - 1));
    if (q != std::string_view::npos) query = after.substr(q + 1);
  }
  // host[:port][,host[:port]...]; [v6] addresses in brackets.
  std::vector<std::string> hosts, ports;
  bool any_port = false;
  size_t pos = 0;
  while (!netloc.empty() && pos <= netloc.size()) {
    size_t comma = netloc.find(',', pos);
    std::string_view one = netloc.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
    std::string h, p;
    if (!one.empty() && one[0] == '[') {
      size_t close = one.find(']');
      h = std::string(one.substr(1, close == std::string_view::npos ? close : close - 1));
      if (close != std::string_view::npos && close + 1 < one.size() && one[close + 1] == ':')
        p = std::string(one.substr(close + 2));
    } else if (auto colon = one.rfind(':'); colon != std::string_view::npos) {
      h = std::string(one.substr(0, colon));
      p = std::string(one.substr(colon + 1));
    } else {
      h = std::string(one);
    }
    hosts.push_back(percent_decode(h));
    ports.push_back(percent_decode(p));
    any_port = any_port || !p.empty();
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  if (!hosts.empty()) u.host = hosts.size() == 1 ? hosts[0] : join(hosts);
  if (any_port) u.port = ports.size() == 1 ? ports[0] : join(ports);
  // Query parameters are libpq keywords; they win over the parts above, as in libpq.
  size_t qbase = static_cast<size_t>(query.data() - raw.data());
  pos = 0;
  while (!query.empty() && pos < query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view kv = query.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    size_t eq = kv.find('=');
    std::string key = percent_decode(kv.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : percent_decode(kv.substr(eq + 1));
    if (key == "password") {
      u.password = value;
      if (eq != std::string_view::npos && eq + 1 < kv.size())
        u.secret_spans.emplace_back(qbase + pos + eq + 1, qbase + pos + kv.size());
    } else if (key == "host") {
      u.host = value;
    } else if (key == "port") {
      u.port = value;
    } else if (key == "user") {
      u.user = value;
    } else if (key == "dbname") {
      u.database = value;
    } else if (key == "ssl" && value == "true") {
      u.params.emplace_back("sslmode", "require");  // as libpq reads ?ssl=true
    } else if (!key.empty()) {
      u.params.emplace_back(key, value);
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
}

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}
}  // namespace

std::string mask_passwords(std::string_view text) {
  std::string s(text);
  // URL userinfo: from the ':' after the user name to the token's userinfo end (its last '@').
  static const std::regex scheme(R"([a-zA-Z][a-zA-Z0-9+.-]*://)");
  std::string outp;
  size_t done = 0;
  for (std::sregex_iterator it(s.begin(), s.end(), scheme), end; it != end; ++it) {
    size_t rest_at = static_cast<size_t>(it->position(0) + it->length(0));
    if (rest_at < done) continue;
    size_t token_end = rest_at;
    while (token_end < s.size() && !std::isspace(static_cast<unsigned char>(s[token_end]))) ++token_end;
    std::string_view rest(s.data() + rest_at, token_end - rest_at);
    size_t at = userinfo_end(rest, true);
    if (at == std::string_view::npos) continue;
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos || colon >= at) continue;
    outp += s.substr(done, rest_at + colon + 1 - done) + "***";
    done = rest_at + at;
  }
  outp += s.substr(done);
  // password=... pairs: libpq conninfo strings and URL query parameters.
  static const std::regex kv_pw(R"((password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s&]+))", std::regex::icase);
  return std::regex_replace(outp, kv_pw, "$1***");
}

std::string DatabaseUrl::masked() const {
  std::string r;
  size_t done = 0;
  for (const auto& [b, e] : secret_spans) {
    if (b < done) continue;
    r += raw.substr(done, b - done) + "***";
    done = e;
  }
  return r + raw.substr(done);
}

std::string DatabaseUrl::conninfo(const std::vector<std::pair<std::string, std::string>>& extra) const {
  auto has = [&](const std::string& key) {
    if ((key == "host" && !host.empty()) || (key == "port" && !port.empty()) ||
        (key == "user" && !user.empty()) || (key == "dbname" && !database.empty()) ||
        (key == "password" && !password.empty()))
      return true;
    for (const auto& [k, v] : params)
      if (k == key) return true;
    return false;
  };
  std::string r;
  auto add = [&](const std::string& k, const std::string& v) {
    r += (r.empty() ? "" : " ") + k + "=" + quote_conninfo(v);
  };
  if (keyword_form) {
    r = raw;
    while (!r.empty() && std::isspace(static_cast<unsigned char>(r.back()))) r.pop_back();
  } else {
    if (!host.empty()) add("host", host);
    if (!port.empty()) add("port", port);
    if (!user.empty()) add("user", user);
    if (!password.empty()) add("password", password);
    if (!database.empty()) add("dbname", database);
    for (const auto& [k, v] : params) add(k, v);
  }
  for (const auto& [k, v] : extra)
    if (!has(k)) add(k, v);
  return r;
}

std::string describe_sqlite(const DatabaseUrl& u) { return fmt::format("SQLite database {}", u.path); }

std::string describe_server(const DatabaseUrl& u) {
  const std::string &host = u.host, &port = u.port, &database = u.database, &user = u.user;
  const auto& params = u.params;
  std::string service;
  for (const auto& [k, v] : params)
    if (k == "service") service = v;
  if (service.empty()) service = env_or("PGSERVICE", "");
  std::string text = fmt::format("host {}, port {}, database {}, user {}",
                                 host.empty() ? env_or("PGHOST", "(default)") : host,
                                 port.empty() ? env_or("PGPORT", "5432") : port,
                                 database.empty() ? env_or("PGDATABASE", "(default)") : database,
                                 user.empty() ? env_or("PGUSER", "(default)") : user);
  if (!service.empty()) text += fmt::format(", service {}", service);
  return text;
}

std::string DatabaseUrl::describe() const {
  if (dialect.empty()) return describe_server(*this);
  return db::database(dialect).describe(*this);
}

DatabaseUrl parse_url(std::string_view url) {
  DatabaseUrl u;
  u.raw = std::string(url);
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || !is_scheme(url.substr(0, scheme_end))) {
    // libpq key=value conninfo, or empty (libpq environment variables).
    u.dialect = std::string(db::default_database().name);
    u.keyword_form = true;
    parse_keywords(u);
    return u;
  }
  std::string scheme(url.substr(0, scheme_end));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  // SQLAlchemy's dialect+driver: the driver is Python's business.
  std::string base = scheme.substr(0, scheme.find('+'));
  const db::Database* database = db::database_for_scheme(base);
  if (!database) {
    std::string hints;
    for (const auto& d : db::databases()) hints += (hints.empty() ? "" : " or ") + std::string(d.url_hint);
    throw ConfigError(
        fmt::format("database URL '{}': unknown scheme '{}' (use {})", mask_passwords(url), scheme, hints));
  }
  u.dialect = std::string(database->name);
  database->parse_url(u, scheme_end + 3);
  return u;
}

void parse_sqlite_url(DatabaseUrl& u, size_t rest_at) {
  std::string_view url = u.raw;
  std::string_view rest = url.substr(rest_at);
  if (rest.empty() || rest == ":memory:" || rest == "/:memory:")
    u.path = ":memory:";
  else if (rest[0] == '/')
    u.path = std::string(rest.substr(1));  // sqlite:///rel or sqlite:////abs
  else
    throw ConfigError(fmt::format(
        "database URL '{}': use sqlite:///relative.db, sqlite:////absolute.db or sqlite:///:memory:",
        mask_passwords(url)));
  if (u.path.empty())
    throw ConfigError(fmt::format("database URL '{}' names no SQLite file", mask_passwords(url)));
}

bool libpq_environment_set() {
  for (const char* name :
       {"PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE", "PGPASSWORD"}) {
    const char* v = std::getenv(name);
    if (v && *v) return true;
  }
  return false;
}
}  // namespace luamig::config
