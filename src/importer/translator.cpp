// Statement-by-statement translation of Alembic revision files. Expressions are evaluated at translation time
// where Alembic would evaluate them to DDL (types, server defaults, names); variables holding such values are
// substituted where they are used. Anything with an effect this file does not model raises Unsupported, and
// the whole statement becomes a manual part.
#include "importer/translator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <map>
#include <regex>
#include <set>

#include "importer/lua_text.hpp"
#include "importer/py_ast.hpp"
#include "importer/py_tokenizer.hpp"
#include "importer/sa_types.hpp"
#include "importer/unsupported.hpp"

namespace luamig::importer {
namespace {

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) nl = s.size();
    std::string line(s.substr(start, nl - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    start = nl + 1;
  }
  return out;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// "<prefix> <text>" without trailing whitespace (luacheck flags it in comments).
std::string comment_line(const std::string& prefix, std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  return text.empty() ? prefix : prefix + " " + text;
}

// Keyword arguments for other databases than PostgreSQL do not change what Alembic emits there.
bool other_dialect_kwarg(const std::string& k) {
  return starts_with(k, "mysql_") || starts_with(k, "mariadb_") || starts_with(k, "sqlite_") ||
         starts_with(k, "mssql_") || starts_with(k, "oracle_") || k == "info";
}

// Rewrites SQLAlchemy text() bind parameters (:name) as $1, $2... in order of first use; `\:` is a literal
// colon.
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
      out += "$" + std::to_string(n + 1);
      i = k - 1;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// `\:` in text() is a literal colon.
std::string unescape_colons(const std::string& sql) {
  std::string out;
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] == '\\' && i + 1 < sql.size() && sql[i + 1] == ':') continue;
    out.push_back(sql[i]);
  }
  return out;
}

class Translator : public ExprEval {
 public:
  explicit Translator(std::string_view source) : lines_(split_lines(source)) {
    aliases_ = {{"sa", "sqlalchemy"}, {"op", "alembic.op"}, {"postgresql", "sqlalchemy.dialects.postgresql"}};
  }

  Translation module(const std::vector<Stmt>& stmts, const std::string& source_name);
  // The file could not be parsed: upgrade() and downgrade() become manual parts covering the whole file.
  void unparsable(int line, const std::string& why) {
    unparsable_line_ = line;
    unparsable_why_ = why;
  }
  std::string body(const std::vector<Stmt>& stmts, int indent);
  std::vector<ManualPart> manual;

  // ExprEval
  std::string canonical(const Expr& e0) override {
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

  const Expr& resolve(const Expr& e) override {
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

  std::string string_of(const Expr& e0) override {
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

  long long int_of(const Expr& e0) override {
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

  bool bool_of(const Expr& e0) override {
    const Expr& e = resolve(e0);
    if (e.kind == Expr::True) return true;
    if (e.kind == Expr::False || e.kind == Expr::None) return false;
    if (e.kind == Expr::Num) return int_of(e) != 0;
    throw Unsupported{"a flag computed at run time (" + describe(e) + ")"};
  }

 private:
  std::vector<std::string> lines_;
  std::map<std::string, std::string> aliases_;
  std::map<std::string, ExprPtr> module_vars_;
  std::map<std::string, ExprPtr> locals_;
  std::set<std::string> binds_;                                        // names bound to op.get_bind()
  std::map<std::string, std::pair<std::string, std::string>> tables_;  // sa.table() variables: name, schema
  std::set<std::string> helpers_;                                      // module-level functions
  std::set<std::string> imported_;                                     // names imported from other modules
  std::string batch_var_;
  std::string batch_table_;
  std::string batch_schema_;
  bool in_module_ = true;
  int unparsable_line_ = 0;
  std::string unparsable_why_;

  // op.f(name) and batch_op.f(name): the name as given.
  bool is_f_call(const Expr& e) {
    if (e.kind != Expr::Call || e.items.size() != 1 || e.base->kind != Expr::Attr || e.base->text != "f")
      return false;
    if (canonical(*e.base) == "op.f") return true;
    return !batch_var_.empty() && e.base->base->kind == Expr::Name && e.base->base->text == batch_var_;
  }

  std::string describe(const Expr& e) {
    if (e.kind == Expr::Call) {
      std::string d = canonical(*e.base);
      if (d.empty() && e.base->kind == Expr::Attr) return "call to ." + e.base->text + "()";
      return d.empty() ? "a call" : "call to " + d + "()";
    }
    if (e.kind == Expr::Name)
      return e.text[0] == '<' ? e.text.substr(1, e.text.size() - 2) : "name " + e.text;
    if (e.kind == Expr::Attr) return canonical(e).empty() ? "attribute ." + e.text : canonical(e);
    if (e.kind == Expr::Subscript) return "subscript";
    if (e.kind == Expr::Binary) return "operator " + e.text;
    return "expression";
  }

  // ---------------------------------------------------------------------------------------------------------
  // Values

  std::string number(const Expr& e) {
    const std::string& t = e.text;
    if (t.find_first_of("jJ") != std::string::npos) throw Unsupported{"complex number"};
    if (t.size() > 1 && t[0] == '0' && (t[1] == 'o' || t[1] == 'O' || t[1] == 'b' || t[1] == 'B'))
      return std::to_string(int_of(e));
    return t;
  }

  std::string value(const Expr& e0, bool none_is_null = false) {
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
        if (e.text == "-" && resolve(*e.base).kind == Expr::Num) return "-" + number(resolve(*e.base));
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
          out += (i ? ", " : "") + lua_key(string_of(*e.items[i])) + " = " +
                 value(*e.items[i + 1], none_is_null);
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

  // SQL text from sa.text(), sa.func.*(), sa.true()/false(): op.text("...").
  std::string sql_expression(const Expr& e) { return "op.text(" + lua_quote(sql_of(e)) + ")"; }

  std::string sql_of(const Expr& e0) {
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

  // server_default=: a string is a literal, sa.text()/func a raw SQL expression.
  std::string server_default(const Expr& e0) {
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

  std::vector<std::string> string_list(const Expr& e0) {
    const Expr& e = resolve(e0);
    std::vector<std::string> out;
    if (e.kind == Expr::List || e.kind == Expr::Tuple) {
      for (const auto& i : e.items) out.push_back(string_of(*i));
    } else {
      out.push_back(string_of(e));
    }
    return out;
  }

  static std::string list_lua(const std::vector<std::string>& v) {
    std::string out = "{ ";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + lua_quote(v[i]);
    return out + " }";
  }

  // ---------------------------------------------------------------------------------------------------------
  // Calls

  struct Call {
    const Expr& e;
    std::string name;
    std::set<std::string> used;
    const Expr* get(size_t index, const char* keyword) {
      used.insert(keyword);
      if (const Expr* k = e.kwarg(keyword)) return k;
      if (index < e.items.size()) return e.items[index].get();
      return nullptr;
    }
    const Expr* kw(const char* keyword) {
      used.insert(keyword);
      return e.kwarg(keyword);
    }
    // Every keyword argument must have been read; positional arguments beyond `positional` are refused.
    void done(size_t positional, std::initializer_list<const char*> ignored = {}) {
      for (const auto& it : e.items)
        if (it->kind == Expr::Starred) throw Unsupported{name + "(*args)"};
      if (e.items.size() > positional)
        throw Unsupported{fmt::format("{} with {} positional arguments", name, e.items.size())};
      for (const auto& [k, v] : e.kwargs) {
        bool ok = used.count(k) || other_dialect_kwarg(k);
        for (const char* i : ignored) ok = ok || k == i;
        if (k == "**") throw Unsupported{name + "(**kwargs)"};
        if (!ok) throw Unsupported{name + "(" + k + "=...)"};
      }
    }
  };

  // Options table from (lua key, value) pairs, nil entries skipped; "" when empty.
  static std::string options(const std::vector<std::pair<std::string, std::string>>& kv) {
    std::string out;
    for (const auto& [k, v] : kv)
      if (!v.empty() && v != "nil") out += (out.empty() ? "" : ", ") + k + " = " + v;
    return out.empty() ? "" : "{ " + out + " }";
  }
  std::string opt_str(const Expr* e) {
    return e && resolve(*e).kind != Expr::None ? lua_quote(string_of(*e)) : "";
  }
  std::string opt_bool(const Expr* e) { return e ? (bool_of(*e) ? "true" : "") : ""; }
  std::string opt_value(const Expr* e) { return e ? value(*e) : ""; }
  std::string opt_sql(const Expr* e) {
    return e && resolve(*e).kind != Expr::None ? lua_quote(sql_of(*e)) : "";
  }

  static std::string args(std::vector<std::string> parts, const std::string& opts = "") {
    if (!opts.empty()) parts.push_back(opts);
    std::string out;
    for (size_t i = 0; i < parts.size(); ++i) out += (i ? ", " : "") + parts[i];
    return out;
  }

  struct ColumnOut {
    std::string name;
    std::string lua;  // the column table
    std::vector<std::string>
        fks;  // named/deferrable foreign keys and named checks, as op.foreign_key(...)/op.check(...)
    // The same as statements after an ADD COLUMN: a function of the table's Lua string and its schema option.
    std::vector<std::function<std::string(const std::string&, const std::string&)>> alters;
    std::optional<EnumType> enumeration;
  };

  struct FkTarget {
    std::string schema, table, column;
  };
  FkTarget fk_target(const std::string& spec) {
    FkTarget t;
    auto last = spec.rfind('.');
    if (last == std::string::npos) throw Unsupported{"sa.ForeignKey(\"" + spec + "\")"};
    t.column = spec.substr(last + 1);
    std::string rest = spec.substr(0, last);
    if (auto dot = rest.rfind('.'); dot != std::string::npos) {
      t.schema = rest.substr(0, dot);
      t.table = rest.substr(dot + 1);
    } else {
      t.table = rest;
    }
    return t;
  }

  // sa.Column(...) for a table whose primary key columns are `pk` (needed for SQLAlchemy's SERIAL rule).
  ColumnOut column(const Expr& e0, const std::vector<std::string>& pk, bool pk_by_constraint) {
    const Expr& e = resolve(e0);
    if (e.kind != Expr::Call || canonical(*e.base) != "sa.Column") throw Unsupported{"column " + describe(e)};
    Call c{e, "sa.Column", {}};
    ColumnOut out;
    size_t pos = 0;
    const Expr* name_e = c.kw("name");
    if (!name_e && !e.items.empty() && resolve(*e.items[0]).kind == Expr::Str) name_e = e.items[pos++].get();
    if (!name_e) throw Unsupported{"sa.Column without a name"};
    out.name = string_of(*name_e);
    const Expr* type_e = c.kw("type_");
    std::vector<std::string> attrs;
    std::string references, ondelete, onupdate, check, identity;
    bool has_fk = false;
    for (; pos < e.items.size(); ++pos) {
      const Expr& a = resolve(*e.items[pos]);
      std::string f = a.kind == Expr::Call ? canonical(*a.base) : canonical(a);
      if (f == "sa.ForeignKey") {
        Call fk{a, "sa.ForeignKey", {}};
        FkTarget t = fk_target(string_of(*fk.get(0, "column")));
        const Expr* fname = fk.kw("name");
        const Expr* deferrable = fk.kw("deferrable");
        const Expr* initially = fk.kw("initially");
        const Expr* od = fk.kw("ondelete");
        const Expr* ou = fk.kw("onupdate");
        const Expr* match = fk.kw("match");
        fk.done(1, {"use_alter", "link_to_name", "_constraint", "info"});
        has_fk = true;
        bool plain = (!fname || resolve(*fname).kind == Expr::None) && !deferrable && !initially && !match &&
                     references.empty();
        if (plain) {
          references = lua_quote((t.schema.empty() ? "" : t.schema + ".") + t.table + "(" + t.column + ")");
          ondelete = opt_str(od);
          onupdate = opt_str(ou);
        } else {
          std::string deferrable_lua = deferrable ? (bool_of(*deferrable) ? "true" : "false") : "";
          std::string name_lua =
              fname && resolve(*fname).kind != Expr::None ? lua_quote(string_of(*fname)) : "";
          std::vector<std::pair<std::string, std::string>> kv{
              {"ondelete", opt_str(od)},
              {"onupdate", opt_str(ou)},
              {"deferrable", deferrable_lua},
              {"initially", opt_str(initially)},
              {"match", opt_str(match)},
              {"referent_schema", t.schema.empty() ? "" : lua_quote(t.schema)}};
          auto with_name = kv;
          with_name.insert(with_name.begin(), {"name", name_lua});
          std::string o = options(with_name);
          out.fks.push_back(fmt::format("op.foreign_key({}, {}, {}{})", list_lua({out.name}),
                                        lua_quote(t.table), list_lua({t.column}), o.empty() ? "" : ", " + o));
          std::string column_name = out.name;
          out.alters.push_back([=](const std::string& table, const std::string& schema) {
            auto k = kv;
            k.emplace_back("source_schema", schema);
            std::string opts = options(k);
            return fmt::format("op.create_foreign_key({}, {}, {}, {}, {}{})",
                               name_lua.empty() ? "nil" : name_lua, table, lua_quote(t.table),
                               list_lua({column_name}), list_lua({t.column}),
                               opts.empty() ? "" : ", " + opts);
          });
        }
      } else if (f == "sa.Identity") {
        Call id{a, "sa.Identity", {}};
        const Expr* always = id.get(0, "always");
        id.done(1);
        identity = always && bool_of(*always) ? lua_quote("always") : "true";
      } else if (f == "sa.CheckConstraint") {
        Call ck{a, "sa.CheckConstraint", {}};
        const Expr* cond = ck.get(0, "sqltext");
        const Expr* cname = ck.kw("name");
        ck.done(1);
        if (cname && resolve(*cname).kind != Expr::None) {
          std::string cond_lua = lua_quote(sql_of(*cond)), name_lua = lua_quote(string_of(*cname));
          out.fks.push_back(fmt::format("op.check({}, {})", cond_lua, name_lua));
          out.alters.push_back([=](const std::string& table, const std::string& schema) {
            std::string opts = options({{"schema", schema}});
            return fmt::format("op.create_check_constraint({}, {}, {}{})", name_lua, table, cond_lua,
                               opts.empty() ? "" : ", " + opts);
          });
        } else {
          check = lua_quote(sql_of(*cond));
        }
      } else if (!type_e) {
        type_e = &a;
      } else {
        throw Unsupported{"sa.Column argument " + describe(a)};
      }
    }
    if (!type_e) throw Unsupported{"sa.Column without a type (the type of a foreign key's target)"};
    SqlType type = map_type(*type_e, *this);
    out.enumeration = type.enumeration;
    const Expr* nullable = c.kw("nullable");
    c.kw("primary_key");
    const Expr* sdefault = c.kw("server_default");
    const Expr* autoincrement = c.kw("autoincrement");
    const Expr* unique = c.kw("unique");
    const Expr* index = c.kw("index");
    const Expr* comment = c.kw("comment");
    const Expr* pydefault = c.kw("default");
    c.done(e.items.size(), {"onupdate", "doc", "key", "quote", "system", "server_onupdate", "info"});
    bool is_pk = std::find(pk.begin(), pk.end(), out.name) != pk.end();
    if (sdefault && resolve(*sdefault).kind == Expr::None) sdefault = nullptr;
    // SQLAlchemy 1.4's autoincrement column (PrimaryKeyConstraint._autoincrement_column): the only primary
    // key column, an integer, autoincrement True, or "auto" without foreign keys, Python default or server
    // default; of a composite key, the one column with autoincrement=True. PostgreSQL renders it SERIAL
    // unless it has a Python default.
    std::string lua_type = type.lua;
    bool has_pydefault = pydefault && resolve(*pydefault).kind != Expr::None;
    if (is_pk && type.int_kind != SqlType::None && identity.empty() && !has_pydefault) {
      std::string ai = "auto";
      if (autoincrement) {
        const Expr& a = resolve(*autoincrement);
        ai = a.kind == Expr::Str ? string_of(a) : (bool_of(a) ? "true" : "false");
      }
      bool serial = ai == "true" || (pk.size() == 1 && (ai == "auto" || ai == "ignore_fk") &&
                                     (!has_fk || ai == "ignore_fk") && !sdefault);
      if (serial)
        lua_type = type.int_kind == SqlType::Big     ? "op.types.bigserial"
                   : type.int_kind == SqlType::Small ? lua_quote("SMALLSERIAL")
                                                     : "op.types.serial";
    }
    attrs.push_back(lua_quote(out.name));
    attrs.push_back(lua_type);
    if (nullable) attrs.push_back(std::string("nullable = ") + (bool_of(*nullable) ? "true" : "false"));
    if (is_pk && !pk_by_constraint) attrs.push_back("primary_key = true");
    if (sdefault) attrs.push_back("server_default = " + server_default(*sdefault));
    if (!identity.empty()) attrs.push_back("identity = " + identity);
    if (unique && bool_of(*unique)) attrs.push_back("unique = true");
    if (index && bool_of(*index)) attrs.push_back("index = true");
    if (!check.empty()) attrs.push_back("check = " + check);
    if (!references.empty()) {
      attrs.push_back("references = " + references);
      if (!ondelete.empty()) attrs.push_back("ondelete = " + ondelete);
      if (!onupdate.empty()) attrs.push_back("onupdate = " + onupdate);
    }
    if (comment && resolve(*comment).kind != Expr::None)
      attrs.push_back("comment = " + lua_quote(string_of(*comment)));
    std::string s = "{ ";
    for (size_t i = 0; i < attrs.size(); ++i) s += (i ? ", " : "") + attrs[i];
    out.lua = s + " }";
    return out;
  }

  // Table-level constraints inside create_table.
  std::string constraint(const Expr& e, const std::string& f) {
    Call c{e, f, {}};
    if (f == "sa.PrimaryKeyConstraint" || f == "sa.UniqueConstraint") {
      std::vector<std::string> cols;
      for (const auto& i : e.items) cols.push_back(string_of(*i));
      std::string name = opt_str(c.kw("name"));
      const Expr* deferrable = c.kw("deferrable");
      const Expr* initially = c.kw("initially");
      c.done(e.items.size());
      if (deferrable || initially) throw Unsupported{f + " with deferrable/initially"};
      return fmt::format("op.{}({}{})", f == "sa.PrimaryKeyConstraint" ? "primary_key" : "unique",
                         list_lua(cols), name.empty() ? "" : ", " + name);
    }
    if (f == "sa.CheckConstraint") {
      std::string cond = lua_quote(sql_of(*c.get(0, "sqltext")));
      std::string name = opt_str(c.kw("name"));
      c.done(1);
      return fmt::format("op.check({}{})", cond, name.empty() ? "" : ", " + name);
    }
    if (f == "sa.ForeignKeyConstraint") {
      std::vector<std::string> local = string_list(*c.get(0, "columns"));
      std::vector<std::string> remote = string_list(*c.get(1, "refcolumns"));
      std::string referent, schema;
      std::vector<std::string> rcols;
      for (const auto& r : remote) {
        FkTarget t = fk_target(r);
        if (!referent.empty() && (t.table != referent || t.schema != schema))
          throw Unsupported{"foreign key to two tables"};
        referent = t.table;
        schema = t.schema;
        rcols.push_back(t.column);
      }
      const Expr* deferrable = c.kw("deferrable");
      std::string o = options({{"name", opt_str(c.kw("name"))},
                               {"ondelete", opt_str(c.kw("ondelete"))},
                               {"onupdate", opt_str(c.kw("onupdate"))},
                               {"deferrable", deferrable ? (bool_of(*deferrable) ? "true" : "false") : ""},
                               {"initially", opt_str(c.kw("initially"))},
                               {"match", opt_str(c.kw("match"))},
                               {"referent_schema", schema.empty() ? "" : lua_quote(schema)}});
      c.done(2, {"use_alter", "link_to_name"});
      return fmt::format("op.foreign_key({}, {}, {}{})", list_lua(local), lua_quote(referent),
                         list_lua(rcols), o.empty() ? "" : ", " + o);
    }
    throw Unsupported{"create_table argument " + f};
  }

  std::string create_table(const Expr& e, const std::string& ind) {
    Call c{e, "op.create_table", {}};
    std::string table = string_of(*c.get(0, "table_name"));
    // Primary key columns: column flags, or a PrimaryKeyConstraint.
    std::vector<std::string> pk;
    bool pk_by_constraint = false;
    for (size_t i = 1; i < e.items.size(); ++i) {
      const Expr& a = resolve(*e.items[i]);
      if (a.kind != Expr::Call) continue;
      std::string f = canonical(*a.base);
      if (f == "sa.PrimaryKeyConstraint") {
        pk_by_constraint = true;
        pk.clear();
        for (const auto& col : a.items) pk.push_back(string_of(*col));
      } else if (f == "sa.Column" && !pk_by_constraint) {
        const Expr* p = a.kwarg("primary_key");
        if (p && bool_of(*p) && !a.items.empty()) pk.push_back(string_of(*a.items[0]));
      }
    }
    std::vector<std::string> parts{lua_quote(table)};
    std::vector<std::string> fks, enum_sql;
    std::set<std::string> enums_seen;
    for (size_t i = 1; i < e.items.size(); ++i) {
      const Expr& a = resolve(*e.items[i]);
      if (a.kind == Expr::Starred) throw Unsupported{"op.create_table(*columns)"};
      std::string f = a.kind == Expr::Call ? canonical(*a.base) : "";
      if (f == "sa.Column") {
        ColumnOut col = column(a, pk, pk_by_constraint);
        parts.push_back(col.lua);
        for (auto& fk : col.fks) fks.push_back(fk);
        if (col.enumeration && col.enumeration->create &&
            enums_seen.insert(enum_type_name(*col.enumeration)).second)
          enum_sql.push_back(create_enum_sql(*col.enumeration, false));
      } else if (f == "sa.Index") {
        throw Unsupported{"sa.Index inside op.create_table"};
      } else {
        fks.push_back(constraint(a, f.empty() ? describe(a) : f));
      }
    }
    for (auto& fk : fks) parts.push_back(fk);
    std::string o = options({{"schema", opt_str(c.kw("schema"))}, {"comment", opt_str(c.kw("comment"))}});
    c.done(e.items.size(), {"keep_existing", "extend_existing", "prefixes"});
    if (e.kwarg("prefixes")) throw Unsupported{"op.create_table(prefixes=...)"};
    if (!o.empty()) parts.push_back(o);
    std::string out;
    for (const auto& sql : enum_sql) out += ind + "op.execute(" + lua_quote(sql) + ")\n";
    out += ind + "op.create_table(" + parts[0];
    for (size_t i = 1; i < parts.size(); ++i) out += ",\n" + ind + "  " + parts[i];
    return out + "\n" + ind + ")\n";
  }

  // op.alter_column / batch_op.alter_column options.
  std::string alter_options(Call& c) {
    std::vector<std::pair<std::string, std::string>> kv;
    if (const Expr* t = c.kw("type_")) kv.emplace_back("type", map_type(*t, *this).lua);
    kv.emplace_back("using", opt_sql(c.kw("postgresql_using")));
    if (const Expr* n = c.kw("nullable"); n && resolve(*n).kind != Expr::None)
      kv.emplace_back("nullable", bool_of(*n) ? "true" : "false");
    if (const Expr* d = c.kw("server_default")) {
      const Expr& v = resolve(*d);
      if (v.kind == Expr::None)
        kv.emplace_back("server_default", "op.NULL_DEFAULT");
      else if (v.kind != Expr::False)
        kv.emplace_back("server_default", server_default(v));
    }
    kv.emplace_back("new_name", opt_str(c.kw("new_column_name")));
    if (const Expr* cm = c.kw("comment")) {
      const Expr& v = resolve(*cm);
      if (v.kind == Expr::None)
        kv.emplace_back("comment", "false");
      else if (v.kind != Expr::False)
        kv.emplace_back("comment", lua_quote(string_of(v)));
    }
    for (const char* k : {"existing_type", "existing_nullable", "existing_server_default", "existing_comment",
                          "autoincrement", "existing_autoincrement"})
      c.kw(k);
    return options(kv);
  }

  std::string index_options(Call& c, bool create) {
    std::vector<std::pair<std::string, std::string>> kv;
    if (create) {
      kv.emplace_back("unique", opt_bool(c.kw("unique")));
      kv.emplace_back("using", opt_str(c.kw("postgresql_using")));
      kv.emplace_back("where", opt_sql(c.kw("postgresql_where")));
      if (const Expr* inc = c.kw("postgresql_include"))
        kv.emplace_back("include", list_lua(string_list(*inc)));
      kv.emplace_back("if_not_exists", opt_bool(c.kw("if_not_exists")));
      c.kw("postgresql_ops");
    } else {
      kv.emplace_back("if_exists", opt_bool(c.kw("if_exists")));
    }
    kv.emplace_back("concurrently", opt_bool(c.kw("postgresql_concurrently")));
    kv.emplace_back("schema", opt_str(c.kw("schema")));
    return options(kv);
  }

  // Index columns: names, or sa.text() expressions; postgresql_ops={"col": "opclass"} puts an operator class
  // after a column (then written as an expression: "col" opclass).
  std::string index_columns(const Expr& e0, const Expr* ops_e = nullptr) {
    const Expr& e = resolve(e0);
    std::map<std::string, std::string> ops;
    if (ops_e) {
      const Expr& d = resolve(*ops_e);
      if (d.kind != Expr::Dict) throw Unsupported{"postgresql_ops that is not a dict"};
      for (size_t i = 0; i + 1 < d.items.size(); i += 2)
        ops[string_of(*d.items[i])] = string_of(*d.items[i + 1]);
    }
    std::vector<ExprPtr> items;
    if (e.kind == Expr::List || e.kind == Expr::Tuple)
      items = e.items;
    else
      items.push_back(std::make_shared<const Expr>(e));
    std::string out = "{ ";
    for (size_t i = 0; i < items.size(); ++i) {
      const Expr& it = resolve(*items[i]);
      std::string item;
      if (it.kind == Expr::Str && ops.count(string_of(it))) {
        item = "op.text(" + lua_quote(pg_ident(string_of(it)) + " " + ops[string_of(it)]) + ")";
        ops.erase(string_of(it));
      } else {
        item = it.kind == Expr::Str ? lua_quote(string_of(it)) : sql_expression(it);
      }
      out += (i ? ", " : "") + item;
    }
    if (!ops.empty())
      throw Unsupported{"postgresql_ops for a column the index does not have: " + ops.begin()->first};
    return out + " }";
  }

  std::string fk_options(Call& c) {
    const Expr* deferrable = c.kw("deferrable");
    return options({{"ondelete", opt_str(c.kw("ondelete"))},
                    {"onupdate", opt_str(c.kw("onupdate"))},
                    {"deferrable", deferrable ? (bool_of(*deferrable) ? "true" : "false") : ""},
                    {"initially", opt_str(c.kw("initially"))},
                    {"match", opt_str(c.kw("match"))},
                    {"source_schema", opt_str(c.kw("source_schema"))},
                    {"referent_schema", opt_str(c.kw("referent_schema"))}});
  }

  // op.execute / connection.execute: a string or sa.text(), with bind parameters from a dict or keywords.
  std::string execute(const Expr& e, const std::string& name, size_t skip_kw = 0) {
    (void)skip_kw;
    if (e.items.empty()) throw Unsupported{name + " without SQL"};
    const Expr& sql_e = resolve(*e.items[0]);
    std::string sql;
    if (sql_e.kind == Expr::Str || sql_e.kind == Expr::Binary ||
        (sql_e.kind == Expr::Call && sql_e.base->kind == Expr::Attr && sql_e.base->text == "format")) {
      sql = string_of(sql_e);  // a literal, or string building (string_of throws with what it is)
    } else if (sql_e.kind == Expr::Call && canonical(*sql_e.base) == "sa.text" && !sql_e.items.empty() &&
               sql_e.kwargs.empty()) {
      sql = string_of(*sql_e.items[0]);
    } else {
      throw Unsupported{name + " of " + describe(sql_e) + " (an SQLAlchemy expression, not SQL text)"};
    }
    std::vector<std::pair<std::string, const Expr*>> params;
    if (e.items.size() > 1) {
      const Expr& p = resolve(*e.items[1]);
      if (p.kind != Expr::Dict || e.items.size() > 2)
        throw Unsupported{name + " with parameters that are not one dict"};
      for (size_t i = 0; i + 1 < p.items.size(); i += 2)
        params.emplace_back(string_of(*p.items[i]), p.items[i + 1].get());
    }
    for (const auto& [k, v] : e.kwargs) {
      if (k == "execution_options") throw Unsupported{name + "(execution_options=...)"};
      params.emplace_back(k, v.get());
    }
    std::vector<std::string> names, order;
    for (const auto& p : params) names.push_back(p.first);
    sql = numbered_params(sql, names, order);
    std::string out = "op.execute(" + lua_quote(sql);
    for (const auto& n : order)
      for (const auto& p : params)
        if (p.first == n) out += ", " + value(*p.second, true);
    return out + ")";
  }

  bool is_bind(const Expr& e0) {
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

  std::string op_call(const Expr& e, const std::string& f, const std::string& ind) {
    std::string fn = f.substr(3);
    Call c{e, f, {}};
    auto line = [&](const std::string& s) { return ind + s + "\n"; };
    if (fn == "create_table") return create_table(e, ind);
    if (fn == "drop_table") {
      std::string t = lua_quote(string_of(*c.get(0, "table_name")));
      std::string o = options({{"schema", opt_str(c.kw("schema"))}});
      c.done(1);
      return line("op.drop_table(" + args({t}, o) + ")");
    }
    if (fn == "add_column") {
      std::string t = lua_quote(string_of(*c.get(0, "table_name")));
      const Expr* col_e = c.get(1, "column");
      const Expr& col_call = resolve(*col_e);
      std::vector<std::string> pk;
      if (col_call.kind == Expr::Call)
        if (const Expr* p = col_call.kwarg("primary_key"); p && bool_of(*p) && !col_call.items.empty())
          pk.push_back(string_of(*col_call.items[0]));
      ColumnOut col = column(*col_e, pk, false);
      std::string schema = opt_str(c.kw("schema"));
      c.done(2);
      std::string out = line("op.add_column(" + args({t, col.lua}, options({{"schema", schema}})) + ")");
      // Alembic's add_column adds the column's constraints with ALTER TABLE ... ADD CONSTRAINT.
      for (const auto& alter : col.alters) out += line(alter(t, schema));
      return out;
    }
    if (fn == "drop_column") {
      std::string t = lua_quote(string_of(*c.get(0, "table_name")));
      std::string col = lua_quote(string_of(*c.get(1, "column_name")));
      std::string o = options({{"schema", opt_str(c.kw("schema"))}});
      c.done(2);
      return line("op.drop_column(" + args({t, col}, o) + ")");
    }
    if (fn == "alter_column") {
      std::string t = lua_quote(string_of(*c.get(0, "table_name")));
      std::string col = lua_quote(string_of(*c.get(1, "column_name")));
      std::string o = alter_options(c);
      std::string schema = opt_str(c.kw("schema"));
      c.done(2);
      if (o.empty()) return line("-- op.alter_column(" + t + ", " + col + "): nothing changes on PostgreSQL");
      if (!schema.empty()) o = o.substr(0, o.size() - 2) + ", schema = " + schema + " }";
      return line("op.alter_column(" + args({t, col}, o) + ")");
    }
    if (fn == "rename_table") {
      std::string a = lua_quote(string_of(*c.get(0, "old_table_name")));
      std::string b = lua_quote(string_of(*c.get(1, "new_table_name")));
      std::string o = options({{"schema", opt_str(c.kw("schema"))}});
      c.done(2);
      return line("op.rename_table(" + args({a, b}, o) + ")");
    }
    if (fn == "create_index") {
      std::string n = lua_quote(string_of(*c.get(0, "index_name")));
      std::string t = lua_quote(string_of(*c.get(1, "table_name")));
      std::string cols = index_columns(*c.get(2, "columns"), e.kwarg("postgresql_ops"));
      std::string o = index_options(c, true);
      c.done(3);
      return line("op.create_index(" + args({n, t, cols}, o) + ")");
    }
    if (fn == "drop_index") {
      std::string n = lua_quote(string_of(*c.get(0, "index_name")));
      const Expr* t = c.get(1, "table_name");
      std::string o = index_options(c, false);
      c.done(2);
      std::vector<std::string> a{n};
      if (t && resolve(*t).kind != Expr::None) a.push_back(lua_quote(string_of(*t)));
      return line("op.drop_index(" + args(a, o) + ")");
    }
    if (fn == "create_unique_constraint" || fn == "create_primary_key") {
      const Expr* n = c.get(0, "constraint_name");
      std::string name = n && resolve(*n).kind != Expr::None ? lua_quote(string_of(*n)) : "nil";
      std::string t = lua_quote(string_of(*c.get(1, "table_name")));
      std::string cols = list_lua(string_list(*c.get(2, "columns")));
      const Expr* deferrable = c.kw("deferrable");
      std::string o = options({{"schema", opt_str(c.kw("schema"))},
                               {"deferrable", deferrable ? (bool_of(*deferrable) ? "true" : "false") : ""},
                               {"initially", opt_str(c.kw("initially"))}});
      c.done(3);
      if (fn == "create_primary_key" && o.find("deferrable") != std::string::npos)
        throw Unsupported{"deferrable primary key"};
      return line("op." + fn + "(" + args({name, t, cols}, o) + ")");
    }
    if (fn == "create_foreign_key") {
      const Expr* n = c.get(0, "constraint_name");
      std::string name = n && resolve(*n).kind != Expr::None ? lua_quote(string_of(*n)) : "nil";
      std::string src = lua_quote(string_of(*c.get(1, "source_table")));
      std::string ref = lua_quote(string_of(*c.get(2, "referent_table")));
      std::string lc = list_lua(string_list(*c.get(3, "local_cols")));
      std::string rc = list_lua(string_list(*c.get(4, "remote_cols")));
      std::string o = fk_options(c);
      c.done(5);
      return line("op.create_foreign_key(" + args({name, src, ref, lc, rc}, o) + ")");
    }
    if (fn == "create_check_constraint") {
      const Expr* n = c.get(0, "constraint_name");
      std::string name = n && resolve(*n).kind != Expr::None ? lua_quote(string_of(*n)) : "nil";
      std::string t = lua_quote(string_of(*c.get(1, "table_name")));
      std::string cond = lua_quote(sql_of(*c.get(2, "condition")));
      std::string o = options({{"schema", opt_str(c.kw("schema"))}});
      c.done(3);
      return line("op.create_check_constraint(" + args({name, t, cond}, o) + ")");
    }
    if (fn == "drop_constraint") {
      std::string n = lua_quote(string_of(*c.get(0, "constraint_name")));
      std::string t = lua_quote(string_of(*c.get(1, "table_name")));
      c.kw("type_");
      std::string o = options({{"schema", opt_str(c.kw("schema"))}});
      c.done(3);
      return line("op.drop_constraint(" + args({n, t}, o) + ")");
    }
    if (fn == "execute") {
      c.kw("execution_options");
      if (e.kwarg("execution_options")) throw Unsupported{"op.execute(execution_options=...)"};
      if (e.items.size() != 1) throw Unsupported{"op.execute with parameters"};
      return line(execute(e, "op.execute"));
    }
    if (fn == "bulk_insert") {
      const Expr& t = resolve(*c.get(0, "table"));
      auto it = t.kind == Expr::Name ? tables_.find(t.text) : tables_.end();
      std::pair<std::string, std::string> table;
      if (it != tables_.end())
        table = it->second;
      else if (t.kind == Expr::Call && (canonical(*t.base) == "sa.table" || canonical(*t.base) == "sa.Table"))
        table = table_of(t);
      else
        throw Unsupported{"op.bulk_insert into " + describe(t)};
      std::string rows = value(*c.get(1, "rows"), true);
      c.kw("multiinsert");
      c.done(2);
      return line("op.bulk_insert(" +
                  args({lua_quote(table.first), rows},
                       options({{"schema", table.second.empty() ? "" : lua_quote(table.second)}})) +
                  ")");
    }
    if (fn == "create_table_comment" || fn == "drop_table_comment") {
      std::string t = lua_quote(string_of(*c.get(0, "table_name")));
      std::vector<std::string> a{t};
      if (fn == "create_table_comment") a.push_back(lua_quote(string_of(*c.get(1, "comment"))));
      c.kw("existing_comment");
      std::string o = options({{"schema", opt_str(c.kw("schema"))}});
      c.done(a.size());
      return line("op." + fn + "(" + args(a, o) + ")");
    }
    throw Unsupported{"op." + fn + "()"};
  }

  std::pair<std::string, std::string> table_of(const Expr& call) {
    if (call.items.empty()) throw Unsupported{"sa.table() without a name"};
    std::string schema;
    if (const Expr* s = call.kwarg("schema")) schema = string_of(*s);
    return {string_of(*call.items[0]), schema};
  }

  std::string batch_call(const Expr& e, const std::string& method, const std::string& ind) {
    std::string b = batch_var_;
    std::string f = "batch_op." + method;
    Call c{e, f, {}};
    auto line = [&](const std::string& s) { return ind + s + "\n"; };
    if (method == "add_column") {
      const Expr* col_e = c.get(0, "column");
      ColumnOut col = column(*col_e, {}, false);
      c.kw("insert_before");
      c.kw("insert_after");
      c.done(1);
      std::string out = line(b + ".add_column(" + col.lua + ")");
      for (const auto& alter : col.alters) {
        if (!batch_schema_.empty())
          throw Unsupported{"named constraint on batch_op.add_column with a schema"};
        out += line(alter(lua_quote(batch_table_), ""));
      }
      return out;
    }
    if (method == "drop_column") {
      std::string col = lua_quote(string_of(*c.get(0, "column_name")));
      c.done(1);
      return line(b + ".drop_column(" + col + ")");
    }
    if (method == "alter_column") {
      std::string col = lua_quote(string_of(*c.get(0, "column_name")));
      std::string o = alter_options(c);
      c.kw("insert_before");
      c.kw("insert_after");
      c.done(1);
      if (o.empty()) return line("-- " + b + ".alter_column(" + col + "): nothing changes on PostgreSQL");
      return line(b + ".alter_column(" + col + ", " + o + ")");
    }
    if (method == "create_unique_constraint" || method == "create_primary_key") {
      const Expr* n = c.get(0, "constraint_name");
      std::string name = n && resolve(*n).kind != Expr::None ? lua_quote(string_of(*n)) : "nil";
      std::string cols = list_lua(string_list(*c.get(1, "columns")));
      c.done(2);
      return line(b + "." + method + "(" + name + ", " + cols + ")");
    }
    if (method == "create_check_constraint") {
      const Expr* n = c.get(0, "constraint_name");
      std::string name = n && resolve(*n).kind != Expr::None ? lua_quote(string_of(*n)) : "nil";
      std::string cond = lua_quote(sql_of(*c.get(1, "condition")));
      c.done(2);
      return line(b + ".create_check_constraint(" + name + ", " + cond + ")");
    }
    if (method == "create_foreign_key") {
      const Expr* n = c.get(0, "constraint_name");
      std::string name = n && resolve(*n).kind != Expr::None ? lua_quote(string_of(*n)) : "nil";
      std::string ref = lua_quote(string_of(*c.get(1, "referent_table")));
      std::string lc = list_lua(string_list(*c.get(2, "local_cols")));
      std::string rc = list_lua(string_list(*c.get(3, "remote_cols")));
      std::string o = fk_options(c);
      c.done(4);
      return line(b + ".create_foreign_key(" + args({name, ref, lc, rc}, o) + ")");
    }
    if (method == "drop_constraint") {
      std::string n = lua_quote(string_of(*c.get(0, "constraint_name")));
      c.kw("type_");
      c.done(2);
      return line(b + ".drop_constraint(" + n + ")");
    }
    if (method == "create_index") {
      std::string n = lua_quote(string_of(*c.get(0, "index_name")));
      std::string cols = index_columns(*c.get(1, "columns"), e.kwarg("postgresql_ops"));
      std::string o = index_options(c, true);
      c.done(2);
      return line(b + ".create_index(" + args({n, cols}, o) + ")");
    }
    if (method == "drop_index") {
      std::string n = lua_quote(string_of(*c.get(0, "index_name")));
      std::string o = index_options(c, false);
      c.done(1);
      return line(b + ".drop_index(" + args({n}, o) + ")");
    }
    if (method == "execute") return line(execute(e, f));
    throw Unsupported{f + "()"};
  }

  std::string call_statement(const Expr& e, const std::string& ind) {
    if (e.kind != Expr::Call) throw Unsupported{"expression statement (" + describe(e) + ")"};
    const Expr& callee = *e.base;
    if (callee.kind == Expr::Attr) {
      const std::string& method = callee.text;
      if (!batch_var_.empty() && callee.base->kind == Expr::Name && callee.base->text == batch_var_)
        return batch_call(e, method, ind);
      if (is_bind(*callee.base)) {
        if (method == "execute") return ind + execute(e, "connection.execute") + "\n";
        throw Unsupported{"connection." + method + "()"};
      }
      if (method == "create" || method == "drop") {
        const Expr& target = resolve(*callee.base);
        std::string tf = target.kind == Expr::Call ? canonical(*target.base) : "";
        if (tf == "sa.Enum" || tf == "pg.ENUM") {
          EnumType en = enum_of(target, *this);
          Call c{e, "." + method, {}};
          const Expr* bind = c.get(0, "bind");
          if (!bind || !is_bind(*bind)) throw Unsupported{"enum ." + method + "() without op.get_bind()"};
          const Expr* cf = c.kw("checkfirst");
          c.done(1);
          bool checkfirst = cf ? bool_of(*cf) : tf == "pg.ENUM";
          std::string sql =
              method == "create" ? create_enum_sql(en, checkfirst) : drop_enum_sql(en, checkfirst);
          return ind + "op.execute(" + lua_quote(sql) + ")\n";
        }
      }
    }
    std::string f = canonical(callee);
    if (starts_with(f, "op.")) return op_call(e, f, ind);
    if (callee.kind == Expr::Name && helpers_.count(callee.text))
      throw Unsupported{"call to helper function " + callee.text + "()"};
    throw Unsupported{describe(e)};
  }

  // Whether evaluating `e` has no effect: literals, names, SQLAlchemy constructors and types.
  bool pure(const Expr& e) {
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

  std::string assign(const Stmt& s, const std::string& ind) {
    (void)ind;
    if (s.targets.size() != 1 || s.targets[0]->kind != Expr::Name)
      throw Unsupported{"assignment to several names"};
    const std::string& name = s.targets[0]->text;
    const Expr& v = *s.value;
    auto& vars = in_module_ ? module_vars_ : locals_;
    binds_.erase(name);
    tables_.erase(name);
    vars.erase(name);
    if (is_bind(v)) {
      binds_.insert(name);
      return "";
    }
    if (v.kind == Expr::Call) {
      std::string f = canonical(*v.base);
      if (f == "sa.table" || f == "sa.Table") {
        if (f == "sa.Table") throw Unsupported{"sa.Table() with MetaData"};
        tables_[name] = table_of(v);
        return "";
      }
    }
    if (pure(v)) {
      vars[name] = s.value;
      return "";
    }
    throw Unsupported{"assignment of " + describe(v) + " to " + name};
  }

  // Records the names an import binds; returns the modules it imports that are not SQLAlchemy, Alembic or the
  // standard typing helpers (the application's own code, whose use cannot be translated).
  std::vector<std::string> record_imports(const Stmt& s) {
    std::vector<std::string> foreign;
    std::string text;
    for (int l = s.line; l <= s.end_line && l <= static_cast<int>(lines_.size()); ++l)
      text += trim(lines_[l - 1]) + "\n";
    std::vector<Token> toks;
    try {
      toks = tokenize(text);
    } catch (const SyntaxError&) {
      return {"an import"};
    }
    std::vector<std::string> words;
    for (const auto& t : toks)
      if (t.kind == Tok::Name || (t.kind == Tok::Op && (t.text == "." || t.text == ",")))
        words.push_back(t.text);
    // Join dotted names: "sqlalchemy . dialects" -> "sqlalchemy.dialects".
    std::vector<std::string> w;
    for (size_t i = 0; i < words.size(); ++i) {
      if (words[i] == "." && !w.empty() && i + 1 < words.size()) {
        w.back() += "." + words[++i];
      } else {
        w.push_back(words[i]);
      }
    }
    auto bind = [&](const std::string& local, const std::string& qualified) {
      aliases_[local] = qualified;
      bool known = starts_with(qualified, "sqlalchemy") || starts_with(qualified, "alembic") ||
                   starts_with(qualified, "sqlmodel") || starts_with(qualified, "typing") ||
                   starts_with(qualified, "__future__");
      if (!known) {
        imported_.insert(local);
        foreign.push_back(qualified);
      }
    };
    if (!w.empty() && w[0] == "import") {
      for (size_t i = 1; i < w.size(); ++i) {
        if (w[i] == ",") continue;
        std::string mod = w[i];
        if (i + 2 < w.size() && w[i + 1] == "as") {
          bind(w[i + 2], mod);
          i += 2;
        } else {
          bind(mod.substr(0, mod.find('.')), mod.substr(0, mod.find('.')));
        }
      }
    } else if (w.size() >= 4 && w[0] == "from" && w[2] == "import") {
      std::string mod = w[1];
      for (size_t i = 3; i < w.size(); ++i) {
        if (w[i] == ",") continue;
        std::string name = w[i];
        if (i + 2 < w.size() && w[i + 1] == "as") {
          bind(w[i + 2], mod + "." + name);
          i += 2;
        } else {
          bind(name, mod + "." + name);
        }
      }
    }
    return foreign;
  }

  // The database's dialect name, as migrations ask for it: op.get_bind().dialect.name,
  // op.get_context().dialect.name, conn.dialect.name.
  bool is_dialect_name(const Expr& e0) {
    const Expr& e = resolve(e0);
    if (e.kind != Expr::Attr || e.text != "name" || e.base->kind != Expr::Attr || e.base->text != "dialect")
      return false;
    const Expr& owner = resolve(*e.base->base);
    if (is_bind(owner)) return true;
    return owner.kind == Expr::Call && canonical(*owner.base) == "op.get_context";
  }

  // A condition on the dialect: op.dialect == "postgresql", or a combination of such with and/or/not.
  std::string dialect_condition(const Expr& e) {
    if (e.kind == Expr::Binary && (e.text == "==" || e.text == "!=")) {
      const Expr* name = is_dialect_name(*e.base)    ? e.right.get()
                         : is_dialect_name(*e.right) ? e.base.get()
                                                     : nullptr;
      if (!name) throw Unsupported{"if statement"};
      return "op.dialect " + std::string(e.text == "==" ? "==" : "~=") + " " + lua_quote(string_of(*name));
    }
    if (e.kind == Expr::Binary && (e.text == "and" || e.text == "or"))
      return "(" + dialect_condition(*e.base) + " " + e.text + " " + dialect_condition(*e.right) + ")";
    if (e.kind == Expr::Unary && e.text == "not") return "not (" + dialect_condition(*e.base) + ")";
    throw Unsupported{"if statement"};
  }

  // if/elif/else on the dialect becomes Lua's if; any other condition is a manual part as a whole.
  std::string if_statement(const Stmt& s, const std::string& ind, int indent) {
    std::vector<std::string> conditions;
    for (const auto& [cond, body_stmts] : s.branches)
      conditions.push_back(cond ? dialect_condition(*cond) : "");
    std::string out;
    for (size_t i = 0; i < s.branches.size(); ++i) {
      if (i == 0)
        out += ind + "if " + conditions[i] + " then\n";
      else if (!conditions[i].empty())
        out += ind + "elseif " + conditions[i] + " then\n";
      else
        out += ind + "else\n";
      out += body(s.branches[i].second, indent + 1);
    }
    return out + ind + "end\n";
  }

  std::string with(const Stmt& s, const std::string& ind, int indent) {
    const Expr& ctx = *s.value;
    if (ctx.kind == Expr::Call && canonical(*ctx.base) == "op.batch_alter_table") {
      Call c{ctx, "op.batch_alter_table", {}};
      std::string table = string_of(*c.get(0, "table_name"));
      std::string o = options({{"schema", opt_str(c.kw("schema"))}});
      for (const char* k : {"recreate", "partial_reordering", "copy_from", "table_args", "table_kwargs",
                            "reflect_args", "reflect_kwargs", "naming_convention"})
        c.kw(k);
      if (const Expr* r = ctx.kwarg("recreate");
          r && resolve(*r).kind == Expr::Str && string_of(*r) == "always")
        throw Unsupported{"op.batch_alter_table(recreate=\"always\")"};
      c.done(1);
      std::string var = s.name.empty() ? "batch_op" : s.name;
      std::string saved_var = batch_var_, saved_table = batch_table_, saved_schema = batch_schema_;
      batch_var_ = var;
      batch_table_ = table;
      batch_schema_ = o;
      std::string inner = body(s.body, indent + 1);
      batch_var_ = saved_var;
      batch_table_ = saved_table;
      batch_schema_ = saved_schema;
      return ind + "op.batch_alter_table(" + lua_quote(table) + ", function(" + var + ")\n" + inner + ind +
             "end" + (o.empty() ? "" : ", " + o) + ")\n";
    }
    if (ctx.kind == Expr::Call && ctx.base->kind == Expr::Attr && ctx.base->text == "autocommit_block" &&
        ctx.base->base->kind == Expr::Call && canonical(*ctx.base->base->base) == "op.get_context" &&
        s.name.empty()) {
      std::string inner = body(s.body, indent + 1);
      return ind + "op.autocommit_block(function()\n" + inner + ind + "end)\n";
    }
    throw Unsupported{"with " + describe(ctx)};
  }

 public:
  std::string manual_part(const Stmt& s, const std::string& what, const std::string& ind) {
    ManualPart m{s.line, s.end_line, what};
    manual.push_back(m);
    size_t common = std::string::npos;
    for (int l = s.line; l <= s.end_line && l <= static_cast<int>(lines_.size()); ++l) {
      const std::string& text = lines_[l - 1];
      size_t first = text.find_first_not_of(" \t");
      if (first != std::string::npos) common = std::min(common, first);
    }
    if (common == std::string::npos) common = 0;
    std::string out =
        ind +
        fmt::format("-- manual port needed (Python line{} {}):\n", s.end_line > s.line ? "s" : "",
                    s.end_line > s.line ? fmt::format("{}-{}", s.line, s.end_line) : std::to_string(s.line));
    for (int l = s.line; l <= s.end_line && l <= static_cast<int>(lines_.size()); ++l) {
      std::string text = lines_[l - 1].size() > common ? lines_[l - 1].substr(common) : "";
      out += ind + comment_line("-- |", text) + "\n";
    }
    return out + ind + "error(" +
           lua_quote("manual port needed: " + what + " (line " + std::to_string(s.line) + ")") + ")\n";
  }

  std::string statement(const Stmt& s, int indent) {
    std::string ind(static_cast<size_t>(indent) * 2, ' ');
    try {
      switch (s.kind) {
        case Stmt::Pass:
          return "";
        case Stmt::Import: {
          auto foreign = record_imports(s);
          if (!foreign.empty()) throw Unsupported{"import of " + foreign[0]};
          return "";
        }
        case Stmt::Docstring: {
          std::string out;
          for (const auto& l : split_lines(trim(s.value->text)))
            out += ind + comment_line("--", trim(l)) + "\n";
          return out;
        }
        case Stmt::Assign:
          return assign(s, ind);
        case Stmt::ExprStmt:
          return call_statement(*s.value, ind);
        case Stmt::With:
          return with(s, ind, indent);
        case Stmt::Def:
          throw Unsupported{"nested function " + s.name + "()"};
        case Stmt::If:
          return if_statement(s, ind, indent);
        case Stmt::Other:
          throw Unsupported{s.keyword.empty()
                                ? "a statement outside the Python the importer reads (augmented "
                                  "assignment, starred target, ...)"
                                : s.keyword + " statement"};
      }
    } catch (const Unsupported& u) {
      return manual_part(s, u.what, ind);
    }
    return "";
  }
};

std::string Translator::body(const std::vector<Stmt>& stmts, int indent) {
  std::string out;
  in_module_ = false;
  for (size_t i = 0; i < stmts.size(); ++i) {
    Stmt s = stmts[i];
    // if/elif/else, try/except/finally: one manual part.
    while (s.kind == Stmt::Other && i + 1 < stmts.size() && stmts[i + 1].kind == Stmt::Other &&
           (stmts[i + 1].keyword == "elif" || stmts[i + 1].keyword == "else" ||
            stmts[i + 1].keyword == "except" || stmts[i + 1].keyword == "finally"))
      s.end_line = stmts[++i].end_line;
    out += statement(s, indent);
  }
  return out;
}

std::string header_value(const std::vector<std::string>& v, bool list_even_if_one) {
  if (v.empty()) return "nil";
  if (v.size() == 1 && !list_even_if_one) return lua_quote(v[0]);
  std::string out = "{ ";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + lua_quote(v[i]);
  return out + " }";
}

Translation Translator::module(const std::vector<Stmt>& stmts, const std::string& source_name) {
  Translation tr;
  bool have_revision = false;
  const Stmt* up = nullptr;
  const Stmt* down = nullptr;
  std::vector<const Stmt*> helpers;
  std::string docstring;
  std::map<std::string, bool> down_is_tuple;
  for (size_t i = 0; i < stmts.size(); ++i) {
    const Stmt& s = stmts[i];
    if (i == 0 && s.kind == Stmt::Docstring) {
      docstring = s.value->text;
      continue;
    }
    if (s.kind == Stmt::Import) {
      record_imports(s);
      continue;
    }
    if (s.kind == Stmt::Def) {
      if (s.name == "upgrade")
        up = &s;
      else if (s.name == "downgrade")
        down = &s;
      else {
        helpers_.insert(s.name);
        helpers.push_back(&s);
      }
      continue;
    }
    if (s.kind == Stmt::Assign && s.targets.size() == 1 && s.targets[0]->kind == Expr::Name) {
      const std::string& name = s.targets[0]->text;
      static const std::set<std::string> header = {"revision", "down_revision", "branch_labels",
                                                   "depends_on"};
      if (header.count(name)) {
        std::vector<std::string> values;
        const Expr& v = *s.value;
        try {
          if (v.kind == Expr::Str)
            values.push_back(string_of(v));
          else if (v.kind == Expr::List || v.kind == Expr::Tuple || v.kind == Expr::Set)
            for (const auto& item : v.items) values.push_back(string_of(*item));
          else if (v.kind != Expr::None)
            throw Unsupported{"value"};
        } catch (const Unsupported&) {
          throw ImportError{s.line, name + " is not a literal string, tuple or None"};
        }
        if (name == "revision") {
          if (values.size() != 1) throw ImportError{s.line, "revision must be a string"};
          tr.revision = values[0];
          have_revision = true;
        } else if (name == "down_revision") {
          tr.down_revisions = values;
        } else if (name == "branch_labels") {
          tr.branch_labels = values;
        } else {
          tr.depends_on = values;
        }
        continue;
      }
      try {
        assign(s, "");
      } catch (const Unsupported&) {
        // A module variable the translation cannot evaluate: using it makes that statement manual.
      }
      continue;
    }
  }
  if (!have_revision) throw ImportError{1, "no `revision = \"...\"` in the file"};
  // Alembic's message is the docstring's first paragraph; luamig's is one line, the first.
  for (const auto& l : split_lines(trim(docstring))) {
    std::string t = trim(l);
    if (tr.message.empty()) tr.message = t;
    if (starts_with(t, "Create Date:")) tr.create_date = trim(t.substr(12));
  }

  std::string out;
  out += comment_line("--", tr.message) + "\n--\n";
  out += "-- Revision ID: " + tr.revision + "\n";
  std::string revises;
  for (const auto& d : tr.down_revisions) revises += (revises.empty() ? "" : ", ") + d;
  out += comment_line("-- Revises:", revises) + "\n";
  out += comment_line("-- Create Date:", tr.create_date) + "\n";
  out += "--\n-- Imported from the Alembic revision " + source_name + ".\n\n";
  out += "revision = " + lua_quote(tr.revision) + "\n";
  out += "down_revision = " + header_value(tr.down_revisions, false) + "\n";
  out += "branch_labels = " + header_value(tr.branch_labels, false) + "\n";
  out += "depends_on = " + header_value(tr.depends_on, false) + "\n";
  auto function = [&](const Stmt* def, const char* name) {
    if (!def) return;
    out += std::string("\nfunction ") + name + "()\n";
    if (!def->params.empty()) {
      out += manual_part(*def, std::string(name) + "() with parameters (a multi-database template)", "  ");
    } else {
      locals_.clear();
      binds_.clear();
      out += body(def->body, 1);
    }
    out += "end\n";
  };
  if (unparsable_line_ > 0) {
    Stmt whole;
    whole.line = 1;
    whole.end_line = static_cast<int>(lines_.size());
    while (whole.end_line > 1 && trim(lines_[whole.end_line - 1]).empty()) --whole.end_line;
    std::string what = fmt::format("the file is outside the Python the importer reads ({} at line {})",
                                   unparsable_why_, unparsable_line_);
    out += "\nfunction upgrade()\n" + manual_part(whole, what, "  ") + "end\n";
    out += "\nfunction downgrade()\n  error(" + lua_quote("manual port needed: " + what) + ")\nend\n";
  }
  function(up, "upgrade");
  function(down, "downgrade");
  for (const Stmt* h : helpers) {
    out += "\n-- Python helper " + h->name + "() (lines " + std::to_string(h->line) + "-" +
           std::to_string(h->end_line) + "), not translated; calls to it are marked above:\n";
    for (int l = h->line; l <= h->end_line && l <= static_cast<int>(lines_.size()); ++l)
      out += comment_line("-- |", lines_[l - 1]) + "\n";
  }
  tr.lua = std::move(out);
  tr.manual = manual;
  return tr;
}

}  // namespace

namespace {

// For a file the tokenizer or parser refuses (Python outside the subset, or not Python): the docstring and
// the header assignments, read line by line, so that the revision still joins the graph.
std::vector<Stmt> header_only(std::string_view source, const SyntaxError& why) {
  std::vector<Stmt> out;
  std::vector<std::string> lines = split_lines(source);
  std::string text(source);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos &&
      (text.compare(first, 3, "\"\"\"") == 0 || text.compare(first, 3, "'''") == 0)) {
    size_t close = text.find(text.substr(first, 3), first + 3);
    if (close != std::string::npos) {
      Stmt doc;
      doc.kind = Stmt::Docstring;
      Expr e;
      e.kind = Expr::Str;
      e.text = text.substr(first + 3, close - first - 3);
      doc.value = std::make_shared<const Expr>(std::move(e));
      out.push_back(std::move(doc));
    }
  }
  static const std::regex header(R"(^(revision|down_revision|branch_labels|depends_on)\s*(:[^=]*)?=(.*)$)");
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, header)) continue;
    std::string rhs = trim(m[3]);
    // A tuple may go on over the next lines.
    for (size_t j = i + 1; j < lines.size() && j < i + 20; ++j) {
      try {
        parse_expression(rhs);
        break;
      } catch (const SyntaxError&) {
        rhs += "\n" + lines[j];
      }
    }
    Stmt a;
    a.kind = Stmt::Assign;
    a.line = a.end_line = static_cast<int>(i + 1);
    Expr target;
    target.kind = Expr::Name;
    target.text = m[1];
    a.targets.push_back(std::make_shared<const Expr>(std::move(target)));
    try {
      a.value = parse_expression(rhs);
    } catch (const SyntaxError&) {
      throw ImportError{a.line, std::string(m[1]) + " cannot be read (" + why.what() + " at line " +
                                    std::to_string(why.line) + ")"};
    }
    out.push_back(std::move(a));
  }
  bool has_revision = std::any_of(out.begin(), out.end(), [](const Stmt& st) {
    return st.kind == Stmt::Assign && st.targets[0]->text == "revision";
  });
  if (!has_revision) throw ImportError{why.line, why.what()};
  return out;
}

}  // namespace

Translation translate_revision(std::string_view python_source, const std::string& source_name) {
  std::vector<Stmt> stmts;
  Translator t(python_source);
  try {
    stmts = parse_module(python_source);
  } catch (const SyntaxError& e) {
    stmts = header_only(python_source, e);
    t.unparsable(e.line, e.what());
  }
  return t.module(stmts, source_name);
}

Translation translate_body_for_test(std::string_view python_body) {
  std::string src(python_body);
  std::vector<Stmt> stmts;
  try {
    stmts = parse_module(src);
  } catch (const SyntaxError& e) {
    throw ImportError{e.line, e.what()};
  }
  Translator t(src);
  Translation tr;
  tr.lua = t.body(stmts, 0);
  tr.manual = t.manual;
  return tr;
}

}  // namespace luamig::importer
