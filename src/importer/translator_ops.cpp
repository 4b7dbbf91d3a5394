// Calls with an effect: each op.* call (drop_table, add_column, alter_column, create_index, execute,
// bulk_insert...) and each batch_op.* call inside `with op.batch_alter_table(...)` becomes the luamig op call
// with its options; op.execute() and connection.execute() keep their SQL with numbered parameters; enum
// .create()/.drop() become CREATE/DROP TYPE. Any other call raises Unsupported.
#include <string>

#include "importer/lua_text.hpp"
#include "importer/translator_impl.hpp"

namespace luamig::importer::detail {

std::string Translator::execute(const Expr& e, const std::string& name, size_t skip_kw) {
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

std::string Translator::op_call(const Expr& e, const std::string& f, const std::string& ind) {
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

std::pair<std::string, std::string> Translator::table_of(const Expr& call) {
  if (call.items.empty()) throw Unsupported{"sa.table() without a name"};
  std::string schema;
  if (const Expr* s = call.kwarg("schema")) schema = string_of(*s);
  return {string_of(*call.items[0]), schema};
}

std::string Translator::batch_call(const Expr& e, const std::string& method, const std::string& ind) {
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
      if (!batch_schema_.empty()) throw Unsupported{"named constraint on batch_op.add_column with a schema"};
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

std::string Translator::call_statement(const Expr& e, const std::string& ind) {
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

}  // namespace luamig::importer::detail
