// The rules per record, dispatched by the record's kind (check()): tables (rename, drop), indexes
// (CONCURRENTLY in and out of transactions), constraints (foreign keys, CHECK and NOT VALID, UNIQUE and
// PRIMARY KEY built under ACCESS EXCLUSIVE), with the schema knowledge they update; columns go to
// rules_columns.cpp.
#include <fmt/format.h>

#include <regex>
#include <string>

#include "lint/linter.hpp"
#include "util/json.hpp"

namespace luamig::lint::detail {

void Linter::check(const Item& it, bool existing, bool utc) {
  const auto& r = it.rec;
  const std::string& k = r.kind;
  const std::string t = r.get("table");
  if (k == "create_table") {
    schema_.create_table(t, index_);
    try {
      for (const auto& c : json::parse(r.get("columns", "[]")).items) {
        json::Value spec = column_object(c);
        schema_.set_column_type(t, spec["name"].str(), type_from_json(spec["type"]));
      }
    } catch (const std::exception&) {
    }
  } else if (k == "create_index") {
    std::string name = r.get("name", "ix_" + t);
    std::string cols = columns_lua(r.get("columns", "[]"));
    if (truthy(r, "concurrently")) {
      if (!it.in_autocommit && rev_->transactional)
        add(it, "ban-concurrent-index-creation-in-transaction",
            fmt::format("CREATE INDEX CONCURRENTLY {} on \"{}\" inside the revision's transaction", name, t),
            fmt::format(
                "op.autocommit_block(function()\n  op.create_index({}, {}, {}, {{ {}concurrently = true "
                "}})\nend)",
                lua_quote(name), lua_quote(t), cols, truthy(r, "unique") ? "unique = true, " : ""),
            t);
    } else if (existing) {
      add(it, "require-concurrent-index-creation",
          fmt::format(
              "CREATE {}INDEX {} on \"{}\", a table created before this revision, without CONCURRENTLY",
              truthy(r, "unique") ? "UNIQUE " : "", name, t),
          fmt::format(
              "op.autocommit_block(function()\n  op.create_index({}, {}, {}, {{ {}concurrently = true "
              "}})\nend)",
              lua_quote(name), lua_quote(t), cols, truthy(r, "unique") ? "unique = true, " : ""),
          t);
    }
  } else if (k == "drop_index") {
    std::string name = r.get("name");
    if (truthy(r, "concurrently")) {
      if (!it.in_autocommit && rev_->transactional)
        add(it, "ban-concurrent-index-creation-in-transaction",
            fmt::format("DROP INDEX CONCURRENTLY {} inside the revision's transaction", name),
            fmt::format(
                "op.autocommit_block(function()\n  op.drop_index({}, {{ concurrently = true }})\nend)",
                lua_quote(name)),
            t);
    } else if (t.empty() || existing) {
      add(it, "require-concurrent-index-deletion", fmt::format("DROP INDEX {} without CONCURRENTLY", name),
          fmt::format("op.autocommit_block(function()\n  op.drop_index({}, {{ concurrently = true }})\nend)",
                      lua_quote(name)),
          t);
    }
  } else if (k == "add_column") {
    add_column(it, t, existing);
  } else if (k == "alter_column") {
    alter_column(it, t, existing, utc);
  } else if (k == "rename_column") {
    if (existing) rename_column(it, t, r.get("column"), r.get("new_name"));
    schema_.rename_column(t, r.get("column"), r.get("new_name"));
  } else if (k == "rename_table") {
    std::string to = r.get("new_name");
    if (existing)
      add(it, "renaming-table",
          fmt::format("RENAME TABLE \"{}\" TO \"{}\" while running code uses \"{}\"", t, to, t),
          fmt::format("-- revision 1:\nop.rename_table({0}, {1})\nop.execute(\"CREATE VIEW {2} AS SELECT * "
                      "FROM {3}\")"
                      "  -- the old name keeps working\n-- deploy code that uses \"{3}\"\n-- revision 2:\n"
                      "op.execute(\"DROP VIEW {2}\")",
                      lua_quote(t), lua_quote(to), t, to),
          t);
    schema_.rename_table(t, to);
  } else if (k == "drop_column") {
    std::string c = r.get("column");
    if (existing)
      add(it, "ban-drop-column",
          fmt::format("DROP COLUMN \"{}\".\"{}\" while running code may still use it", t, c),
          fmt::format(
              "-- deploy code that no longer reads or writes {0}.{1} first (Rails: ignored_columns; "
              "SQLAlchemy: remove it from the model), then in a later revision:\nop.drop_column({2}, {3})",
              t, c, lua_quote(t), lua_quote(c)),
          t, c);
  } else if (k == "drop_table") {
    if (existing)
      add(it, "ban-drop-table", fmt::format("DROP TABLE \"{}\" while running code may still use it", t),
          fmt::format(
              "-- deploy code that no longer uses {} first, then in a later revision:\nop.drop_table({})", t,
              lua_quote(t)),
          t);
    schema_.drop_table(t);
  } else if (k == "create_foreign_key") {
    if (existing && !truthy(r, "not_valid")) {
      std::string name = r.get("name", "fk_" + t);
      add(it, "adding-foreign-key-constraint",
          fmt::format("FOREIGN KEY {} on \"{}\" -> \"{}\" is validated while both tables are locked", name, t,
                      r.get("referent")),
          fmt::format(
              "-- revision 1 (instant, no scan):\nop.execute(\"ALTER TABLE {0} ADD CONSTRAINT {1} FOREIGN "
              "KEY ({2}) REFERENCES {3} NOT VALID\")\n-- revision 2 (scans with SHARE UPDATE EXCLUSIVE: "
              "reads and writes go on):\nop.execute(\"ALTER TABLE {0} VALIDATE CONSTRAINT {1}\")",
              t, name, columns_sql(r.get("columns", "[]")), r.get("referent")),
          t);
    }
  } else if (k == "create_check_constraint") {
    std::string name = r.get("name", "ck_" + t), cond = r.get("condition");
    bool valid = !truthy(r, "not_valid");
    if (existing && valid)
      add(it, "constraint-missing-not-valid",
          fmt::format("CHECK {} on \"{}\" is validated under ACCESS EXCLUSIVE", name, t),
          fmt::format("-- revision 1:\nop.create_check_constraint({0}, {1}, {2}, {{ not_valid = true }})\n"
                      "-- revision 2:\nop.execute(\"ALTER TABLE {3} VALIDATE CONSTRAINT {4}\")",
                      lua_quote(name), lua_quote(t), lua_quote(cond), t, name),
          t);
    std::string col = not_null_column(cond);
    if (!col.empty()) {
      if (valid)
        schema_.add_not_null_check(t, col, index_);
      else
        pending_checks_[name] = {t, col};
    }
  } else if (k == "validate_constraint") {
    if (auto p = pending_checks_.find(r.get("name")); p != pending_checks_.end())
      schema_.add_not_null_check(p->second.first, p->second.second, index_);
  } else if (k == "create_unique_constraint" || k == "create_primary_key") {
    if (existing && r.get("using_index").empty()) {
      std::string name = r.get("name", (k == "create_primary_key" ? "pk_" : "uq_") + t);
      std::string what = k == "create_primary_key" ? "PRIMARY KEY" : "UNIQUE";
      add(it, "disallowed-unique-constraint",
          fmt::format("{} constraint {} on \"{}\" builds its index under ACCESS EXCLUSIVE", what, name, t),
          fmt::format(
              "-- revision 1:\ntransactional = false\nfunction upgrade()\n  "
              "op.autocommit_block(function()\n"
              "    op.create_index({0}, {1}, {2}, {{ unique = true, concurrently = true }})\n  end)\nend\n"
              "-- revision 2:\nop.execute(\"ALTER TABLE {3} ADD CONSTRAINT {4} {5} USING INDEX {4}\")",
              lua_quote(name), lua_quote(t), columns_lua(r.get("columns", "[]")), t, name, what),
          t);
    }
  }
}

std::string Linter::not_null_column(const std::string& cond) {
  static const std::regex re(R"(^\s*\(?\s*\"?([A-Za-z_][A-Za-z0-9_]*)\"?\s+IS\s+NOT\s+NULL\s*\)?\s*$)",
                             std::regex::icase);
  std::smatch m;
  return std::regex_match(cond, m, re) ? m[1].str() : "";
}

std::string Linter::columns_lua(const std::string& text) {
  std::string out = "{ ";
  try {
    bool first = true;
    for (const auto& c : json::parse(text).items) {
      out += (first ? "" : ", ") +
             (c.is_string() ? lua_quote(c.text) : "op.text(" + lua_quote(c["sql"].str()) + ")");
      first = false;
    }
  } catch (const std::exception&) {
  }
  return out + " }";
}

std::string Linter::columns_sql(const std::string& text) {
  std::string out;
  try {
    for (const auto& c : json::parse(text).items) out += (out.empty() ? "" : ", ") + c.str();
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace luamig::lint::detail
