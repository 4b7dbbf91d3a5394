#include "lint/types.hpp"

#include <cctype>
#include <cstdlib>
#include <map>
#include <vector>

namespace luamig::lint {
namespace {
struct Parsed {
  std::string base;
  std::vector<long> mods;
};

Parsed parse(const std::string& type) {
  std::string t;
  for (char c : type) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  Parsed p;
  auto open = t.find('(');
  std::string base = t.substr(0, open);
  std::string rest = open == std::string::npos ? "" : t.substr(open);
  if (open != std::string::npos) {
    auto close = t.find(')', open);
    std::string inner = t.substr(open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
    size_t i = 0;
    while (i < inner.size()) {
      char* end = nullptr;
      long v = std::strtol(inner.c_str() + i, &end, 10);
      size_t used = static_cast<size_t>(end - (inner.c_str() + i));
      if (used == 0) {
        ++i;
        continue;
      }
      p.mods.push_back(v);
      i += used;
    }
    rest = close == std::string::npos ? "" : t.substr(close + 1);
  }
  base.append(rest);  // "timestamp(3) with time zone" keeps its suffix
  std::string squeezed;
  for (char c : base) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!squeezed.empty() && squeezed.back() != ' ') squeezed += ' ';
    } else {
      squeezed += c;
    }
  }
  while (!squeezed.empty() && squeezed.back() == ' ') squeezed.pop_back();
  if (squeezed.rfind("pg_catalog.", 0) == 0) squeezed.erase(0, 11);
  static const std::map<std::string, std::string> aliases = {{"character varying", "varchar"},
                                                             {"char varying", "varchar"},
                                                             {"string", "varchar"},
                                                             {"character", "bpchar"},
                                                             {"char", "bpchar"},
                                                             {"integer", "int4"},
                                                             {"int", "int4"},
                                                             {"smallint", "int2"},
                                                             {"bigint", "int8"},
                                                             {"decimal", "numeric"},
                                                             {"boolean", "bool"},
                                                             {"real", "float4"},
                                                             {"double precision", "float8"},
                                                             {"float", "float8"},
                                                             {"timestamp without time zone", "timestamp"},
                                                             {"timestamp with time zone", "timestamptz"},
                                                             {"time without time zone", "time"},
                                                             {"time with time zone", "timetz"},
                                                             {"bit varying", "varbit"}};
  if (auto it = aliases.find(squeezed); it != aliases.end()) squeezed = it->second;
  p.base = squeezed;
  return p;
}

bool length_type(const std::string& b) { return b == "varchar" || b == "varbit"; }
}  // namespace

std::string canonical_type(const std::string& type) {
  auto p = parse(type);
  std::string out = p.base;
  if (!p.mods.empty()) {
    out += "(";
    for (size_t i = 0; i < p.mods.size(); ++i) {
      if (i) out += ',';
      out += std::to_string(p.mods[i]);
    }
    out += ")";
  }
  return out;
}

TypeChange classify_type_change(const std::string& from, const std::string& to, bool using_clause) {
  if (from.empty()) return TypeChange::unknown;
  auto a = parse(from), b = parse(to);
  if (a.base == b.base && a.mods == b.mods) return TypeChange::safe;
  if (using_clause) return TypeChange::rewrite;
  // varchar(n) -> varchar(m >= n) or unbounded; varbit likewise.
  if (length_type(a.base) && a.base == b.base) {
    if (b.mods.empty()) return TypeChange::safe;
    if (!a.mods.empty() && b.mods[0] >= a.mods[0]) return TypeChange::safe;
    return TypeChange::rewrite;
  }
  // varchar / varchar(n) -> text; text -> unbounded varchar.
  if (a.base == "varchar" && b.base == "text") return TypeChange::safe;
  if (a.base == "text" && b.base == "varchar" && b.mods.empty()) return TypeChange::safe;
  // numeric(p,s) -> numeric(q>=p,s) or unbounded numeric.
  if (a.base == "numeric" && b.base == "numeric") {
    if (b.mods.empty()) return TypeChange::safe;
    if (a.mods.empty()) return TypeChange::rewrite;
    long as = a.mods.size() > 1 ? a.mods[1] : 0, bs = b.mods.size() > 1 ? b.mods[1] : 0;
    return b.mods[0] >= a.mods[0] && as == bs ? TypeChange::safe : TypeChange::rewrite;
  }
  if (a.base == "cidr" && b.base == "inet") return TypeChange::safe;
  // Precision of timestamps/times/intervals: increasing or dropping it is a catalog change.
  if ((a.base == "timestamp" || a.base == "timestamptz" || a.base == "time" || a.base == "interval") &&
      a.base == b.base)
    return b.mods.empty() || (!a.mods.empty() && b.mods[0] >= a.mods[0]) ? TypeChange::safe
                                                                         : TypeChange::rewrite;
  if (a.base == "timestamp" && b.base == "timestamptz") return TypeChange::safe_if_utc;
  return TypeChange::rewrite;
}
}  // namespace luamig::lint
