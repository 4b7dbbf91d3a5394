#pragma once
// Internal to the importer: the Translator that the translator*.cpp files share (translator.hpp is the
// public surface). One Translator reads one Alembic revision file; its members live in one file per idea.
// - translator.cpp: the module (header assignments, upgrade()/downgrade(), helpers, unparsable files).
// - translator_statements.cpp: the statement walk (assignments, imports, `if` on the dialect, `with` blocks,
//   manual parts).
// - translator_ops.cpp: op.*, batch_op.* and connection.execute() calls to luamig op calls.
// - translator_tables.cpp: sa.Column, table constraints, create_table; alter_column, index and foreign key
//   options (SQLAlchemy types themselves: sa_types.cpp).
// - translator_values.cpp: expressions evaluated at translation time (names, literals, SQL text, defaults).
#include <fmt/format.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "importer/py_ast.hpp"
#include "importer/sa_types.hpp"
#include "importer/translator.hpp"
#include "importer/unsupported.hpp"

namespace luamig::importer::detail {

// translator.cpp
std::vector<std::string> split_lines(std::string_view s);
std::string trim(const std::string& s);
bool starts_with(const std::string& s, std::string_view p);
// "<prefix> <text>" without trailing whitespace (luacheck flags it in comments).
std::string comment_line(const std::string& prefix, std::string text);
// Keyword arguments for other databases than PostgreSQL do not change what Alembic emits there.
bool other_dialect_kwarg(const std::string& k);

// translator_values.cpp
// Rewrites SQLAlchemy text() bind parameters (:name) as $1, $2... in order of first use; `\:` is a literal
// colon.
std::string numbered_params(const std::string& sql, const std::vector<std::string>& names,
                            std::vector<std::string>& order);
// `\:` in text() is a literal colon.
std::string unescape_colons(const std::string& sql);

class Translator : public ExprEval {
 public:
  explicit Translator(std::string_view source) : lines_(split_lines(source)) {
    aliases_ = {{"sa", "sqlalchemy"}, {"op", "alembic.op"}, {"postgresql", "sqlalchemy.dialects.postgresql"}};
  }

  // translator.cpp
  Translation module(const std::vector<Stmt>& stmts, const std::string& source_name);
  // The file could not be parsed: upgrade() and downgrade() become manual parts covering the whole file.
  void unparsable(int line, const std::string& why) {
    unparsable_line_ = line;
    unparsable_why_ = why;
  }
  std::vector<ManualPart> manual;

  // ExprEval (translator_values.cpp)
  std::string canonical(const Expr& e0) override;
  const Expr& resolve(const Expr& e) override;
  std::string string_of(const Expr& e0) override;
  long long int_of(const Expr& e0) override;
  bool bool_of(const Expr& e0) override;

  // translator_statements.cpp
  std::string body(const std::vector<Stmt>& stmts, int indent);
  std::string manual_part(const Stmt& s, const std::string& what, const std::string& ind);
  std::string statement(const Stmt& s, int indent);

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

  // translator_values.cpp
  // op.f(name) and batch_op.f(name): the name as given.
  bool is_f_call(const Expr& e);
  std::string describe(const Expr& e);
  std::string number(const Expr& e);
  std::string value(const Expr& e0, bool none_is_null = false);
  // SQL text from sa.text(), sa.func.*(), sa.true()/false(): op.text("...").
  std::string sql_expression(const Expr& e);
  std::string sql_of(const Expr& e0);
  // server_default=: a string is a literal, sa.text()/func a raw SQL expression.
  std::string server_default(const Expr& e0);
  std::vector<std::string> string_list(const Expr& e0);
  static std::string list_lua(const std::vector<std::string>& v);
  // Options table from (lua key, value) pairs, nil entries skipped; "" when empty.
  static std::string options(const std::vector<std::pair<std::string, std::string>>& kv);
  std::string opt_str(const Expr* e);
  std::string opt_bool(const Expr* e);
  std::string opt_value(const Expr* e);
  std::string opt_sql(const Expr* e);
  static std::string args(std::vector<std::string> parts, const std::string& opts = "");
  bool is_bind(const Expr& e0);
  // Whether evaluating `e` has no effect: literals, names, SQLAlchemy constructors and types.
  bool pure(const Expr& e);

  // translator_tables.cpp
  FkTarget fk_target(const std::string& spec);
  // sa.Column(...) for a table whose primary key columns are `pk` (needed for SQLAlchemy's SERIAL rule).
  ColumnOut column(const Expr& e0, const std::vector<std::string>& pk, bool pk_by_constraint);
  // Table-level constraints inside create_table.
  std::string constraint(const Expr& e, const std::string& f);
  std::string create_table(const Expr& e, const std::string& ind);
  // op.alter_column / batch_op.alter_column options.
  std::string alter_options(Call& c);
  std::string index_options(Call& c, bool create);
  // Index columns: names, or sa.text() expressions; postgresql_ops={"col": "opclass"} puts an operator class
  // after a column (then written as an expression: "col" opclass).
  std::string index_columns(const Expr& e0, const Expr* ops_e = nullptr);
  std::string fk_options(Call& c);

  // translator_ops.cpp
  // op.execute / connection.execute: a string or sa.text(), with bind parameters from a dict or keywords.
  std::string execute(const Expr& e, const std::string& name, size_t skip_kw = 0);
  std::string op_call(const Expr& e, const std::string& f, const std::string& ind);
  std::pair<std::string, std::string> table_of(const Expr& call);
  std::string batch_call(const Expr& e, const std::string& method, const std::string& ind);
  std::string call_statement(const Expr& e, const std::string& ind);

  // translator_statements.cpp
  std::string assign(const Stmt& s, const std::string& ind);
  // Records the names an import binds; returns the modules it imports that are not SQLAlchemy, Alembic or the
  // standard typing helpers (the application's own code, whose use cannot be translated).
  std::vector<std::string> record_imports(const Stmt& s);
  // The database's dialect name, as migrations ask for it: op.get_bind().dialect.name,
  // op.get_context().dialect.name, conn.dialect.name.
  bool is_dialect_name(const Expr& e0);
  // A condition on the dialect: op.dialect == "postgresql", or a combination of such with and/or/not.
  std::string dialect_condition(const Expr& e);
  // if/elif/else on the dialect becomes Lua's if; any other condition is a manual part as a whole.
  std::string if_statement(const Stmt& s, const std::string& ind, int indent);
  std::string with(const Stmt& s, const std::string& ind, int indent);
};
}  // namespace luamig::importer::detail
