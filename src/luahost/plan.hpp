#pragma once
// The recorded plan of one call into a migration (its upgrade() or downgrade()): one OpRecord per op the call
// made, in order, with the SQL each rendered to and the migration line that made it. Built by lua/op.lua's
// emit() and lua/plan.lua; read with Engine::plan(). The same whether statements ran against a database, were
// echoed
// (--dry-run) or printed (--sql). The kinds and their fields are written down in docs/ops-plan.md.
// No Lua headers here: lint, trace and diff code uses these values without the Lua host.
#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace luamig::luahost {

// One field of a record, typed as the migration gave it.
struct OpField {
  enum class Type {
    string,        // text: the value itself
    number,        // text: the number as written in SQL ("42", "0.5")
    boolean,       // text: "true" or "false"
    null,          // op.NULL; text empty
    sql,           // op.text(...): text is the raw SQL
    null_default,  // op.NULL_DEFAULT (alter_column: drop the default); text empty
    json,          // a table (column specs, lists of names, constraints...): text is JSON. Nested op.text is
           // {"sql": "..."}, op.NULL is null, op.NULL_DEFAULT is {"null_default": true}; a column spec
           // { "id", "uuid", nullable = false } is {"name": "id", "type": "uuid", "nullable": false}.
  };
  Type type = Type::string;
  std::string text;
  bool operator==(const OpField& o) const { return type == o.type && text == o.text; }
};

struct OpRecord {
  std::string kind;                       // "add_column", "execute", "query"... (docs/ops-plan.md)
  std::map<std::string, OpField> fields;  // the record's data, by name; absent options are absent
  std::vector<std::string> sql;           // the statements it rendered to, in order (bound parameters as $n)
  std::string file;                       // the migration (or project lib) file whose line made the op
  int line = 0;                           // 0 when unknown

  // The field's text, or `fallback` when absent.
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = fields.find(name);
    return it == fields.end() ? fallback : it->second.text;
  }
  bool has(const std::string& name) const { return fields.count(name) != 0; }
};

struct Plan {
  std::vector<OpRecord> records;
  // Records made beyond the per-call cap (lua/plan.lua MAX_RECORDS, 10,000) are counted here, not kept.
  size_t dropped = 0;
};

struct Value;
// Converts the plan as lua/plan.lua exports it (a plain Value) into C++ values. Throws std::runtime_error on
// a malformed export (a bug in the engine's Lua).
Plan plan_from_value(const Value& exported);

}  // namespace luamig::luahost
