#include "luahost/plan.hpp"

#include <stdexcept>

#include "luahost/value.hpp"

namespace luamig::luahost {
namespace {

OpField::Type field_type(const std::string& name) {
  if (name == "string") return OpField::Type::string;
  if (name == "number") return OpField::Type::number;
  if (name == "boolean") return OpField::Type::boolean;
  if (name == "null") return OpField::Type::null;
  if (name == "sql") return OpField::Type::sql;
  if (name == "null_default") return OpField::Type::null_default;
  if (name == "json") return OpField::Type::json;
  throw std::runtime_error("plan export: unknown field type '" + name + "'");
}

const std::string& text_of(const Value* v, const char* what) {
  if (!v || !v->is_string())
    throw std::runtime_error(std::string("plan export: ") + what + " is not a string");
  return v->str();
}

}  // namespace

Plan plan_from_value(const Value& exported) {
  Plan plan;
  if (!exported.is_table()) throw std::runtime_error("plan export: not a table");
  if (const Value* d = exported.get("dropped"); d && d->is_number())
    plan.dropped = static_cast<size_t>(d->num());
  // Records sit at keys 1..n, in whatever order next() gave them.
  std::map<size_t, const Value*> by_index;
  for (const auto& [k, v] : exported.table())
    if (k.is_number() && k.num() >= 1) by_index[static_cast<size_t>(k.num())] = &v;
  plan.records.reserve(by_index.size());
  for (const auto& [index, rec] : by_index) {
    (void)index;
    OpRecord r;
    r.kind = text_of(rec->get("kind"), "kind");
    if (const Value* f = rec->get("file"); f && f->is_string()) r.file = f->str();
    if (const Value* l = rec->get("line"); l && l->is_number()) r.line = static_cast<int>(l->num());
    if (const Value* sql = rec->get("sql")) r.sql = sql->string_list();
    if (const Value* fields = rec->get("fields"); fields && fields->is_table()) {
      std::map<size_t, const Value*> ordered;
      for (const auto& [k, v] : fields->table())
        if (k.is_number()) ordered[static_cast<size_t>(k.num())] = &v;
      for (const auto& [i, f] : ordered) {
        (void)i;
        auto parts = f->string_list();
        if (parts.size() != 3) throw std::runtime_error("plan export: a field is not {name, type, text}");
        r.fields[parts[0]] = OpField{field_type(parts[1]), parts[2]};
      }
    }
    plan.records.push_back(std::move(r));
  }
  return plan;
}

}  // namespace luamig::luahost
