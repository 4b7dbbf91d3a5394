#include "config/url.hpp"

#include <fmt/format.h>

#include <cctype>
#include <regex>
#include <utility>
#include <vector>

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

// libpq's key=value pairs, as parse_url reads them.
const std::regex& conninfo_pair() {
  static const std::regex kv(R"((\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+))");
  return kv;
}

// The byte ranges (offset, length) of `url` that parse_url reads as a password: the masking of a URL must follow
// the parser, not a pattern for free text (a password may hold spaces, '&' or ':' that such a pattern stops at).
std::vector<std::pair<size_t, size_t>> password_spans(std::string_view url) {
  std::vector<std::pair<size_t, size_t>> spans;
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    std::string s(url);
    for (std::sregex_iterator it(s.begin(), s.end(), conninfo_pair()), end; it != end; ++it)
      if ((*it)[1] == "password")
        spans.emplace_back(static_cast<size_t>(it->position(2)), static_cast<size_t>(it->length(2)));
    return spans;
  }
  if (url.substr(0, scheme_end) == "sqlite") return spans;
  const size_t start = scheme_end + 3;
  std::string_view rest = url.substr(start), query;
  size_t query_start = std::string_view::npos;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    query_start = start + q + 1;
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest.substr(0, rest.find('/'));
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    if (auto colon = authority.substr(0, at).find(':'); colon != std::string_view::npos && at > colon + 1)
      spans.emplace_back(start + colon + 1, at - colon - 1);
  }
  for (size_t pos = 0; query_start != std::string_view::npos && pos <= query.size();) {
    size_t amp = std::min(query.find('&', pos), query.size());
    std::string_view kv = query.substr(pos, amp - pos);
    if (kv.substr(0, 9) == "password=" && kv.size() > 9) spans.emplace_back(query_start + pos + 9, kv.size() - 9);
    pos = amp + 1;
  }
  return spans;
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

std::string DatabaseUrl::masked() const {
  std::string s = raw;
  auto spans = password_spans(raw);
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) s.replace(it->first, it->second, "***");
  return mask_passwords(s);
}

std::string DatabaseUrl::describe() const {
  if (dialect == "sqlite") return fmt::format("SQLite database {}", path);
  return fmt::format("host {}, port {}, database {}, user {}", host.empty() ? "(default)" : host,
                     port.empty() ? "5432" : port, database.empty() ? "(default)" : database,
                     user.empty() ? "(default)" : user);
}

DatabaseUrl parse_url(std::string_view url) {
  DatabaseUrl u;
  u.raw = std::string(url);
  auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    // libpq key=value conninfo, or empty (libpq environment variables).
    u.dialect = "postgresql";
    std::string s(url);
    for (std::sregex_iterator it(s.begin(), s.end(), conninfo_pair()), end; it != end; ++it) {
      std::string k = (*it)[1], v = (*it)[2];
      if (!v.empty() && v.front() == '\'') v = v.substr(1, v.size() - 2);
      if (k == "password") u.password = v;
      else if (k == "host") u.host = v;
      else if (k == "port") u.port = v;
      else if (k == "dbname") u.database = v;
      else if (k == "user") u.user = v;
    }
    if (!u.password.empty()) out::add_secret(u.password);
    return u;
  }
  std::string scheme(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  if (scheme == "sqlite") {
    u.dialect = "sqlite";
    if (rest == ":memory:" || rest == "/:memory:") u.path = ":memory:";
    else if (!rest.empty() && rest[0] == '/') u.path = std::string(rest.substr(1));   // sqlite:///rel or ////abs
    else throw ConfigError(fmt::format("database URL '{}': use sqlite:///relative.db, sqlite:////absolute.db or sqlite://:memory:", mask_passwords(url)));
    if (u.path.empty()) throw ConfigError(fmt::format("database URL '{}' names no SQLite file", mask_passwords(url)));
    return u;
  }
  if (scheme != "postgresql" && scheme != "postgres")
    throw ConfigError(fmt::format("database URL '{}': unknown scheme '{}' (use postgresql://... or sqlite:///...)",
                                  mask_passwords(url), scheme));
  u.dialect = "postgresql";
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
  return u;
}
}  // namespace luamig::config
