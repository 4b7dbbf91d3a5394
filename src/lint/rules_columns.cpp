// The rules on columns: add_column (NOT NULL without a default, volatile defaults that rewrite, inline
// indexes), alter_column (type changes that rewrite, SET NOT NULL without a validated CHECK) and renames
// while running code uses the old name; each keeps the schema knowledge of column types up to date.
#include <fmt/format.h>

#include <string>
#include <vector>

#include "lint/linter.hpp"
#include "lint/sql_parse.hpp"
#include "lint/types.hpp"
#include "util/json.hpp"

namespace luamig::lint::detail {

void Linter::add_column(const Item& it, const std::string& t, bool existing) {
  json::Value c;
  try {
    c = column_object(json::parse(it.rec.get("column", "{}")));
  } catch (const std::exception&) {
    return;
  }
  std::string col = c["name"].str(), type = type_from_json(c["type"]);
  schema_.set_column_type(t, col, type);
  if (!existing) return;
  const json::Value& def = c["default"];
  bool has_default = !def.is_null() && !(def.is_object() && def["null_default"].truthy());
  std::string lt = lower(type);
  bool serial =
      lt == "serial" || lt == "bigserial" || lt == "smallserial" || lt == "serial4" || lt == "serial8";
  bool identity = c["identity"].truthy() || c["autoincrement"].truthy();
  std::vector<std::string> fns;
  std::string def_sql;
  if (def.is_object() && def["sql"].is_string()) {
    def_sql = def["sql"].text;
    if (c["default_functions"].is_string()) {
      std::string list = c["default_functions"].text;
      size_t s = 0;
      while (s < list.size()) {
        size_t e = list.find(',', s);
        fns.push_back(list.substr(s, e == std::string::npos ? std::string::npos : e - s));
        if (e == std::string::npos) break;
        s = e + 1;
      }
    } else {
      fns = functions_called(def_sql);
    }
  }
  std::string volatile_fn;
  for (const auto& f : fns)
    if (volatile_functions().count(f)) volatile_fn = f + "()";
  if (serial) volatile_fn = type + " (nextval())";
  if (identity) volatile_fn = "an identity column";
  if (c["generated"].truthy()) volatile_fn = "a stored generated column";
  if (c["nullable"].is_object() ||
      (c["nullable"].type == json::Value::Type::boolean && !c["nullable"].boolean)) {
    if (!has_default && !serial && !identity && !c["generated"].truthy() && !c["primary_key"].truthy())
      add(it, "adding-required-field",
          fmt::format("ADD COLUMN \"{}\".\"{}\" NOT NULL without a default: fails when \"{}\" has rows", t,
                      col, t),
          fmt::format(
              "-- revision 1:\nop.add_column({0}, {{ {1}, {2} }})\n-- revision 2 (transactional = false): "
              "backfill {3}.{4} in batches (luamig.backfill)\n-- revision 3:\n"
              "op.create_check_constraint(\"{3}_{4}_not_null\", {0}, \"{4} IS NOT NULL\", {{ not_valid = "
              "true }})\n-- revision 4:\nop.execute(\"ALTER TABLE {3} VALIDATE CONSTRAINT "
              "{3}_{4}_not_null\")\n"
              "op.alter_column({0}, {1}, {{ nullable = false }})\n"
              "op.drop_constraint(\"{3}_{4}_not_null\", {0}, {{ type_ = \"check\" }})\n"
              "-- or, when one value fits every existing row: op.add_column({0}, {{ {1}, {2}, nullable = "
              "false, server_default = \"...\" }})",
              lua_quote(t), lua_quote(col), lua_quote(type), t, col),
          t, col);
  }
  bool old_server = ctx_.server_version < 110000 && has_default;
  if (!volatile_fn.empty() || old_server) {
    std::string what = !volatile_fn.empty()
                           ? volatile_fn
                           : fmt::format("a default on PostgreSQL {}", ctx_.server_version / 10000);
    add(it, "adding-volatile-default",
        fmt::format("ADD COLUMN \"{}\".\"{}\" with {} rewrites the table", t, col, what),
        fmt::format(
            "-- revision 1 (instant):\nop.add_column({0}, {{ {1}, {2} }})\n-- revision 2: a default for "
            "new rows only, then backfill in batches (luamig.backfill, transactional = false):\n"
            "op.alter_column({0}, {1}, {{ server_default = op.text({3}) }})\n"
            "-- revision 3: NOT NULL through a validated CHECK, if wanted",
            lua_quote(t), lua_quote(col), lua_quote(serial ? "bigint" : type),
            lua_quote(def_sql.empty() ? "..." : def_sql)),
        t, col);
  }
  if (c["index"].truthy() || c["unique"].truthy())
    add(it, "require-concurrent-index-creation",
        fmt::format("ADD COLUMN \"{}\".\"{}\" with {} builds an index without CONCURRENTLY", t, col,
                    c["unique"].truthy() ? "unique = true" : "index = true"),
        fmt::format("op.add_column({0}, {{ {1}, {2} }})\n-- then, in a revision of its own:\n"
                    "op.autocommit_block(function()\n  op.create_index(\"ix_{3}_{4}\", {0}, {{ {1} }}, {{ {5}"
                    "concurrently = true }})\nend)",
                    lua_quote(t), lua_quote(col), lua_quote(type), t, col,
                    c["unique"].truthy() ? "unique = true, " : ""),
        t, col);
}

void Linter::alter_column(const Item& it, const std::string& t, bool existing, bool utc) {
  const auto& r = it.rec;
  std::string col = r.get("column");
  if (const OpField* tf = field(r, "type")) {
    std::string to = type_of(tf);
    std::string from = type_of(field(r, "existing_type"));
    if (from.empty()) from = schema_.column_type(t, col);
    bool using_clause = r.has("using");
    if (existing) {
      auto change = classify_type_change(from, to, using_clause);
      std::string tmp = col + "_new";
      std::string expand = fmt::format(
          "-- revision 1 (expand):\nop.add_column({0}, {{ {1}, {2} }})\n"
          "-- deploy code that writes both {3} and {4} (or a trigger)\n"
          "-- revision 2 (backfill, transactional = false):\n"
          "luamig.backfill({{ table = {0}, set = \"{4} = {3}::{5}\" }})  -- in batches\n"
          "-- revision 3 (contract, after code reads {4}):\n"
          "op.drop_column({0}, {6})\nop.alter_column({0}, {1}, {{ new_name = {6} }})",
          lua_quote(t), lua_quote(tmp), lua_quote(to), col, tmp, to, lua_quote(col));
      if (change == TypeChange::rewrite)
        add(it, "changing-column-type",
            fmt::format("ALTER COLUMN \"{}\".\"{}\" TYPE {} -> {} rewrites the table and its indexes", t, col,
                        from, to),
            expand, t, col);
      else if (change == TypeChange::unknown)
        add(it, "changing-column-type",
            fmt::format(
                "ALTER COLUMN \"{}\".\"{}\" TYPE {}: the old type is not known, so whether it rewrites "
                "cannot be told (give existing_type)",
                t, col, to),
            fmt::format("op.alter_column({}, {}, {{ type = {}, existing_type = \"<the current type>\" }})",
                        lua_quote(t), lua_quote(col), lua_quote(to)),
            t, col, Severity::warning);
      else if (change == TypeChange::safe_if_utc && !utc)
        add(it, "changing-column-type",
            fmt::format(
                "ALTER COLUMN \"{}\".\"{}\" TYPE {} -> {} rewrites unless the session TimeZone is UTC", t,
                col, from, to),
            fmt::format(
                "op.execute(\"SET LOCAL TimeZone = 'UTC'\")\nop.alter_column({}, {}, {{ type = {} }})",
                lua_quote(t), lua_quote(col), lua_quote(to)),
            t, col);
    }
    schema_.set_column_type(t, col, to);
  }
  if (r.get("nullable") == "false" && existing && !schema_.has_validated_not_null(t, col, index_)) {
    std::string ck = t + "_" + col + "_not_null";
    add(it, "setting-not-nullable-field",
        fmt::format("SET NOT NULL on \"{}\".\"{}\" scans the whole table under ACCESS EXCLUSIVE", t, col),
        fmt::format(
            "-- revision 1:\nop.create_check_constraint({0}, {1}, \"{2} IS NOT NULL\", {{ not_valid = true "
            "}})\n-- revision 2:\nop.execute(\"ALTER TABLE {3} VALIDATE CONSTRAINT {4}\")\n"
            "-- revision 3 (PostgreSQL 12+ skips the scan):\nop.alter_column({1}, {5}, {{ nullable = false "
            "}})\nop.drop_constraint({0}, {1}, {{ type_ = \"check\" }})",
            lua_quote(ck), lua_quote(t), col, t, ck, lua_quote(col)),
        t, col);
  }
  if (r.has("new_name")) {
    if (existing) rename_column(it, t, col, r.get("new_name"));
    schema_.rename_column(t, col, r.get("new_name"));
  }
}

void Linter::rename_column(const Item& it, const std::string& t, const std::string& from,
                           const std::string& to) {
  std::string type = schema_.column_type(t, from);
  add(it, "renaming-column",
      fmt::format("RENAME COLUMN \"{}\".\"{}\" TO \"{}\" while running code uses \"{}\"", t, from, to, from),
      fmt::format("-- revision 1:\nop.add_column({0}, {{ {1}, {2} }})\n-- deploy code that writes both\n"
                  "-- revision 2 (transactional = false): backfill {3} = {4} in batches\n"
                  "-- deploy code that reads {3}\n-- revision 3:\nop.drop_column({0}, {5})",
                  lua_quote(t), lua_quote(to), lua_quote(type.empty() ? "<type of " + from + ">" : type), to,
                  from, lua_quote(from)),
      t, from);
}

}  // namespace luamig::lint::detail
