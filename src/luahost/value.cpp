#include "luahost/value.hpp"

namespace luamig::luahost {
const Value* Value::get(const std::string& key) const {
  if (!is_table()) return nullptr;
  for (const auto& [k, v] : table())
    if (k.is_string() && k.str() == key) return &v;
  return nullptr;
}

std::vector<std::string> Value::string_list() const {
  std::vector<std::string> out;
  if (is_string()) {
    out.push_back(str());
  } else if (is_table()) {
    for (size_t i = 1;; ++i) {
      const Value* found = nullptr;
      for (const auto& [k, v] : table())
        if (k.is_number() && k.num() == static_cast<double>(i)) found = &v;
      if (!found || !found->is_string()) break;
      out.push_back(found->str());
    }
  }
  return out;
}

const char* Value::type_name() const {
  switch (v.index()) {
    case 0:
      return "nil";
    case 1:
      return "boolean";
    case 2:
      return "number";
    case 3:
      return "string";
    default:
      return "table";
  }
}

Value Value::list(const std::vector<Value>& items) {
  auto t = std::make_shared<Table>(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    (*t)[i].first.v.emplace<double>(static_cast<double>(i + 1));
    (*t)[i].second = items[i];
  }
  return Value{t};
}

Value Value::list(const std::vector<std::string>& items) {
  auto t = std::make_shared<Table>(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    (*t)[i].first.v.emplace<double>(static_cast<double>(i + 1));
    (*t)[i].second.v.emplace<std::string>(items[i]);
  }
  return Value{t};
}

Value Value::record(const std::vector<std::pair<std::string, Value>>& fields) {
  auto t = std::make_shared<Table>();
  for (const auto& [k, v] : fields)
    if (!v.is_nil()) t->emplace_back(Value{k}, v);
  return Value{t};
}
}  // namespace luamig::luahost
