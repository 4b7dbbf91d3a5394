// Table definitions: sa.Column (type through sa_types.cpp, nullability, server default, SERIAL as SQLAlchemy
// decides it, identity, inline foreign keys and checks, and the constraints Alembic adds after an ADD
// COLUMN), table-level constraints and op.create_table; the options of alter_column, create_index/drop_index
// and create_foreign_key, shared by op.* and batch_op.* calls.
#include <algorithm>
#include <map>
#include <memory>
#include <string>

#include "importer/lua_text.hpp"
#include "importer/translator_impl.hpp"

namespace luamig::importer::detail {

Translator::FkTarget Translator::fk_target(const std::string& spec) {
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

Translator::ColumnOut Translator::column(const Expr& e0, const std::vector<std::string>& pk,
                                         bool pk_by_constraint) {
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
            {"ondelete", opt_str(od)},      {"onupdate", opt_str(ou)},
            {"deferrable", deferrable_lua}, {"initially", opt_str(initially)},
            {"match", opt_str(match)},      {"referent_schema", t.schema.empty() ? "" : lua_quote(t.schema)}};
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
                             list_lua({column_name}), list_lua({t.column}), opts.empty() ? "" : ", " + opts);
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

std::string Translator::constraint(const Expr& e, const std::string& f) {
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
    return fmt::format("op.foreign_key({}, {}, {}{})", list_lua(local), lua_quote(referent), list_lua(rcols),
                       o.empty() ? "" : ", " + o);
  }
  throw Unsupported{"create_table argument " + f};
}

std::string Translator::create_table(const Expr& e, const std::string& ind) {
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

std::string Translator::alter_options(Call& c) {
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

std::string Translator::index_options(Call& c, bool create) {
  std::vector<std::pair<std::string, std::string>> kv;
  if (create) {
    kv.emplace_back("unique", opt_bool(c.kw("unique")));
    kv.emplace_back("using", opt_str(c.kw("postgresql_using")));
    kv.emplace_back("where", opt_sql(c.kw("postgresql_where")));
    if (const Expr* inc = c.kw("postgresql_include")) kv.emplace_back("include", list_lua(string_list(*inc)));
    kv.emplace_back("if_not_exists", opt_bool(c.kw("if_not_exists")));
    c.kw("postgresql_ops");
  } else {
    kv.emplace_back("if_exists", opt_bool(c.kw("if_exists")));
  }
  kv.emplace_back("concurrently", opt_bool(c.kw("postgresql_concurrently")));
  kv.emplace_back("schema", opt_str(c.kw("schema")));
  return options(kv);
}

std::string Translator::index_columns(const Expr& e0, const Expr* ops_e) {
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

std::string Translator::fk_options(Call& c) {
  const Expr* deferrable = c.kw("deferrable");
  return options({{"ondelete", opt_str(c.kw("ondelete"))},
                  {"onupdate", opt_str(c.kw("onupdate"))},
                  {"deferrable", deferrable ? (bool_of(*deferrable) ? "true" : "false") : ""},
                  {"initially", opt_str(c.kw("initially"))},
                  {"match", opt_str(c.kw("match"))},
                  {"source_schema", opt_str(c.kw("source_schema"))},
                  {"referent_schema", opt_str(c.kw("referent_schema"))}});
}

}  // namespace luamig::importer::detail
