// Expressions evaluated at translation time, where Alembic evaluates them to DDL: import aliases resolved to
// canonical names (sa.*, pg.*, op.*), variables followed to what they were assigned, literals as Lua values,
// sa.text()/sa.func.* as SQL text, server defaults, bind parameters numbered $1..$n, and whether an
// expression is free of effects. Anything evaluated only at run time raises Unsupported.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "importer/lua_text.hpp"
#include "importer/translator_impl.hpp"

namespace luamig::importer::detail {

std::string numbered_params(const std::string& sql, const std::vector<std::string>& names,
                            std::vector<std::string>& order) {
  std::string out;
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote) {
      out.push_back(c);
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out.push_back(c);
      continue;
    }
    if (c == '\\' && i + 1 < sql.size() && sql[i + 1] == ':') {
      out.push_back(':');
      ++i;
      continue;
    }
    if (c == ':' && i + 1 < sql.size() &&
        (std::isalpha(static_cast<unsigned char>(sql[i + 1])) || sql[i + 1] == '_') &&
        (i == 0 || sql[i - 1] != ':')) {
      size_t k = i + 1;
      while (k < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[k])) || sql[k] == '_')) ++k;
      std::string name = sql.substr(i + 1, k - i - 1);
      if (std::find(names.begin(), names.end(), name) == names.end())
        throw Unsupported{"bind parameter :" + name + " without a value"};
      auto it = std::find(order.begin(), order.end(), name);
      size_t n = it - order.begin();
      if (it == order.end()) order.push_back(name);
      // Appended piecewise: g++ 12 warns (-Wrestrict, a false positive) on "$" + std::string temporaries.
      out += '$';
      out += std::to_string(n + 1);
      i = k - 1;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string unescape_colons(const std::string& sql) {
  std::string out;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '\\' && i + 1 < sql.size() && sql[i + 1] == ':') continue;
    out.push_back(sql[i]);
  }
  return out;
}

std::string Translator::canonical(const Expr& e0) {
  const Expr& e = resolve(e0);
  std::string d = e.dotted();
  if (d.empty()) return "";
  auto dot = d.find('.');
  std::string first = d.substr(0, dot);
  if (auto it = aliases_.find(first); it != aliases_.end())
    d = it->second + (dot == std::string::npos ? "" : d.substr(dot));
  static const std::pair<const char*, const char*> prefixes[] = {
      {"sqlalchemy.dialects.postgresql.base.", "pg."},
      {"sqlalchemy.dialects.postgresql.json.", "pg."},
      {"sqlalchemy.dialects.postgresql.array.", "pg."},
      {"sqlalchemy.dialects.postgresql.", "pg."},
      {"sqlalchemy.sql.sqltypes.", "sa."},
      {"sqlalchemy.types.", "sa."},
      {"sqlalchemy.sql.expression.", "sa."},
      {"sqlalchemy.sql.schema.", "sa."},
      {"sqlalchemy.sql.functions.", "sa."},
      {"sqlalchemy.sql.", "sa."},
      {"sqlalchemy.schema.", "sa."},
      {"sqlalchemy.", "sa."},
      {"alembic.op.", "op."},
      {"sqlmodel.sql.sqltypes.", "sqlmodel."},
      {"sqlmodel.", "sqlmodel."}};
  if (d == "sqlalchemy") return "sa";
  if (d == "alembic.op") return "op";
  if (d == "sqlalchemy.dialects.postgresql") return "pg";
  for (const auto& [p, r] : prefixes)
    if (starts_with(d, p)) return r + d.substr(std::string_view(p).size());
  return d;
}

const Expr& Translator::resolve(const Expr& e) {
  const Expr* cur = &e;
  for (int depth = 0; depth < 50 && cur->kind == Expr::Name; ++depth) {
    auto it = locals_.find(cur->text);
    if (it != locals_.end()) {
      cur = it->second.get();
      continue;
    }
    auto mt = module_vars_.find(cur->text);
    if (mt != module_vars_.end()) {
      cur = mt->second.get();
      continue;
    }
    break;
  }
  return *cur;
}

std::string Translator::string_of(const Expr& e0) {
  const Expr& e = resolve(e0);
  if (e.kind == Expr::Str) {
    if (e.fstring) throw Unsupported{"f-string"};
    if (e.bytes) throw Unsupported{"bytes literal"};
    return e.text;
  }
  if (e.kind == Expr::Call && is_f_call(e)) return string_of(*e.items[0]);
  if (e.kind == Expr::Call &&
      (canonical(*e.base) == "op.f" || canonical(*e.base) == "sa.sql.quoted_name" ||
       canonical(*e.base) == "sa.quoted_name") &&
      !e.items.empty())
    return string_of(*e.items[0]);
  if (e.kind == Expr::Binary && e.text == "+") return string_of(*e.base) + string_of(*e.right);
  if (e.kind == Expr::Binary && e.text == "%") throw Unsupported{"string formatting with %"};
  if (e.kind == Expr::Call && e.base->kind == Expr::Attr && e.base->text == "format")
    throw Unsupported{"str.format()"};
  throw Unsupported{"a value computed at run time (" + describe(e) + ")"};
}

long long Translator::int_of(const Expr& e0) {
  const Expr& e = resolve(e0);
  if (e.kind == Expr::Num) {
    try {
      size_t used = 0;
      long long v = std::stoll(e.text, &used, 0);
      if (used == e.text.size()) return v;
    } catch (const std::exception&) {
    }
  }
  if (e.kind == Expr::Unary && e.text == "-") return -int_of(*e.base);
  throw Unsupported{"an integer computed at run time (" + describe(e) + ")"};
}

bool Translator::bool_of(const Expr& e0) {
  const Expr& e = resolve(e0);
  if (e.kind == Expr::True) return true;
  if (e.kind == Expr::False || e.kind == Expr::None) return false;
  if (e.kind == Expr::Num) return int_of(e) != 0;
  throw Unsupported{"a flag computed at run time (" + describe(e) + ")"};
}

bool Translator::is_f_call(const Expr& e) {
  if (e.kind != Expr::Call || e.items.size() != 1 || e.base->kind != Expr::Attr || e.base->text != "f")
    return false;
  if (canonical(*e.base) == "op.f") return true;
  return !batch_var_.empty() && e.base->base->kind == Expr::Name && e.base->base->text == batch_var_;
}

std::string Translator::describe(const Expr& e) {
  if (e.kind == Expr::Call) {
    std::string d = canonical(*e.base);
    if (d.empty() && e.base->kind == Expr::Attr) return "call to ." + e.base->text + "()";
    return d.empty() ? "a call" : "call to " + d + "()";
  }
  if (e.kind == Expr::Name) return e.text[0] == '<' ? e.text.substr(1, e.text.size() - 2) : "name " + e.text;
  if (e.kind == Expr::Attr) return canonical(e).empty() ? "attribute ." + e.text : canonical(e);
  if (e.kind == Expr::Subscript) return "subscript";
  if (e.kind == Expr::Binary) return "operator " + e.text;
  return "expression";
}

std::string Translator::number(const Expr& e) {
  const std::string& t = e.text;
  if (t.find_first_of("jJ") != std::string::npos) throw Unsupported{"complex number"};
  if (t.size() > 1 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O' || t[1] == 'b' || t[1] == 'B'))
    return std::to_string(int_of(e));
  return t;
}

std::string Translator::value(const Expr& e0, bool none_is_null) {
  const Expr& e = resolve(e0);
  switch (e.kind) {
    case Expr::Str:
      return lua_quote(string_of(e));
    case Expr::Num:
      return number(e);
    case Expr::None:
      return none_is_null ? "op.NULL" : "nil";
    case Expr::True:
      return "true";
    case Expr::False:
      return "false";
    case Expr::Unary:
      if (e.text == "-" && resolve(*e.base).kind == Expr::Num)
        return std::string("-").append(number(resolve(*e.base)));  // not "-" + ...: g++ 12's false -Wrestrict
      break;
    case Expr::List:
    case Expr::Tuple: {
      std::string out = "{ ";
      for (size_t i = 0; i < e.items.size(); ++i) out += (i ? ", " : "") + value(*e.items[i], none_is_null);
      return e.items.empty() ? "{}" : out + " }";
    }
    case Expr::Dict: {
      if (e.items.empty()) return "{}";
      std::string out = "{ ";
      for (size_t i = 0; i + 1 < e.items.size(); i += 2)
        out +=
            (i ? ", " : "") + lua_key(string_of(*e.items[i])) + " = " + value(*e.items[i + 1], none_is_null);
      return out + " }";
    }
    case Expr::Binary:
      if (e.text == "+") return lua_quote(string_of(e));
      break;
    case Expr::Call: {
      std::string f = canonical(*e.base);
      if (f == "op.f" || f == "sa.quoted_name" || is_f_call(e)) return lua_quote(string_of(e));
      if (f == "op.inline_literal" && !e.items.empty())
        return "op.inline_literal(" + value(*e.items[0]) + ")";
      if (f == "sa.text" || f == "sa.literal_column" || starts_with(f, "sa.func.") || f == "sa.true" ||
          f == "sa.false" || f == "sa.null")
        return sql_expression(e);
      break;
    }
    default:
      break;
  }
  throw Unsupported{describe(e)};
}

std::string Translator::sql_expression(const Expr& e) { return "op.text(" + lua_quote(sql_of(e)) + ")"; }

std::string Translator::sql_of(const Expr& e0) {
  const Expr& e = resolve(e0);
  if (e.kind == Expr::Str) return string_of(e);
  if (e.kind != Expr::Call) throw Unsupported{"SQL expression (" + describe(e) + ")"};
  std::string f = canonical(*e.base);
  if ((f == "sa.text" || f == "sa.literal_column") && !e.items.empty() && e.kwargs.empty())
    return unescape_colons(string_of(*e.items[0]));
  if (f == "sa.true") return "true";
  if (f == "sa.false") return "false";
  if (f == "sa.null") return "NULL";
  if (starts_with(f, "sa.func.")) {
    std::string fn = f.substr(8);
    static const std::map<std::string, std::string> ansi = {
        {"current_timestamp", "CURRENT_TIMESTAMP"}, {"current_date", "CURRENT_DATE"},
        {"current_time", "CURRENT_TIME"},           {"localtime", "LOCALTIME"},
        {"localtimestamp", "LOCALTIMESTAMP"},       {"current_user", "CURRENT_USER"},
        {"session_user", "SESSION_USER"},           {"user", "USER"}};
    if (!e.kwargs.empty()) throw Unsupported{"sa.func." + fn + " with keyword arguments"};
    if (auto it = ansi.find(fn); it != ansi.end() && e.items.empty()) return it->second;
    std::string args;
    for (const auto& a : e.items) {
      const Expr& v = resolve(*a);
      std::string s;
      if (v.kind == Expr::Str)
        s = sql_literal(string_of(v));
      else if (v.kind == Expr::Num)
        s = number(v);
      else
        s = sql_of(v);
      args += (args.empty() ? "" : ", ") + s;
    }
    return fn + "(" + args + ")";
  }
  throw Unsupported{"SQL expression (" + describe(e) + ")"};
}

std::string Translator::server_default(const Expr& e0) {
  const Expr& e = resolve(e0);
  if (e.kind == Expr::Str) return lua_quote(string_of(e));
  if (e.kind == Expr::Call) {
    std::string f = canonical(*e.base);
    if (f == "sa.DefaultClause" && !e.items.empty()) return server_default(*e.items[0]);
    if (f == "sa.FetchedValue") throw Unsupported{"server_default=FetchedValue()"};
    return sql_expression(e);
  }
  throw Unsupported{"server_default " + describe(e)};
}

std::vector<std::string> Translator::string_list(const Expr& e0) {
  const Expr& e = resolve(e0);
  std::vector<std::string> out;
  if (e.kind == Expr::List || e.kind == Expr::Tuple) {
    for (const auto& i : e.items) out.push_back(string_of(*i));
  } else {
    out.push_back(string_of(e));
  }
  return out;
}

std::string Translator::list_lua(const std::vector<std::string>& v) {
  std::string out = "{ ";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + lua_quote(v[i]);
  return out + " }";
}

std::string Translator::options(const std::vector<std::pair<std::string, std::string>>& kv) {
  std::string out;
  for (const auto& [k, v] : kv)
    if (!v.empty() && v != "nil") out += (out.empty() ? "" : ", ") + k + " = " + v;
  return out.empty() ? "" : "{ " + out + " }";
}

std::string Translator::opt_str(const Expr* e) {
  return e && resolve(*e).kind != Expr::None ? lua_quote(string_of(*e)) : "";
}

std::string Translator::opt_bool(const Expr* e) { return e ? (bool_of(*e) ? "true" : "") : ""; }

std::string Translator::opt_value(const Expr* e) { return e ? value(*e) : ""; }

std::string Translator::opt_sql(const Expr* e) {
  return e && resolve(*e).kind != Expr::None ? lua_quote(sql_of(*e)) : "";
}

std::string Translator::args(std::vector<std::string> parts, const std::string& opts) {
  if (!opts.empty()) parts.push_back(opts);
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
  return out;
}

bool Translator::is_bind(const Expr& e0) {
  const Expr& e = resolve(e0);
  if (e.kind == Expr::Name) return binds_.count(e.text) > 0;
  if (e.kind == Expr::Call) {
    std::string f = canonical(*e.base);
    if (f == "op.get_bind") return true;
    if (e.base->kind == Expr::Attr && e.base->text == "connect" && is_bind(*e.base->base)) return true;
  }
  if (e.kind == Expr::Attr && e.text == "bind" && e.base->kind == Expr::Call &&
      canonical(*e.base->base) == "op.get_context")
    return true;
  return false;
}

bool Translator::pure(const Expr& e) {
  switch (e.kind) {
    case Expr::Str:
    case Expr::Num:
    case Expr::None:
    case Expr::True:
    case Expr::False:
      return !e.fstring;
    case Expr::Name:
      return true;
    case Expr::Attr: {
      std::string c = canonical(e);
      return starts_with(c, "sa.") || starts_with(c, "pg.") || starts_with(c, "sqlmodel.");
    }
    case Expr::List:
    case Expr::Tuple:
    case Expr::Dict:
    case Expr::Set:
      return std::all_of(e.items.begin(), e.items.end(), [&](const ExprPtr& i) { return pure(*i); });
    case Expr::Unary:
      return pure(*e.base);
    case Expr::Binary:
      return e.text == "+" && pure(*e.base) && pure(*e.right);
    case Expr::Call: {
      std::string c = canonical(*e.base);
      bool ok = c == "op.f" || c == "op.inline_literal" || starts_with(c, "sa.") || starts_with(c, "pg.") ||
                starts_with(c, "sqlmodel.");
      if (!ok || c == "sa.create_engine" || c == "sa.MetaData" || starts_with(c, "sa.orm")) return false;
      for (const auto& i : e.items) ok = ok && pure(*i);
      for (const auto& [k, v] : e.kwargs) ok = ok && k != "**" && pure(*v);
      return ok;
    }
    default:
      return false;
  }
}

}  // namespace luamig::importer::detail
