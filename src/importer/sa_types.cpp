#include "importer/sa_types.hpp"

#include <fmt/format.h>

#include <cctype>
#include <map>
#include <set>

#include "importer/lua_text.hpp"
#include "importer/unsupported.hpp"

namespace luamig::importer {

std::string sql_literal(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out.push_back('\'');
    out.push_back(c);
  }
  return out + "'";
}

std::string pg_ident(const std::string& name) {
  bool plain = !name.empty() && (std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_');
  for (unsigned char c : name) plain = plain && (std::islower(c) || std::isdigit(c) || c == '_');
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string enum_type_name(const EnumType& e) {
  return e.schema.empty() ? pg_ident(e.name) : pg_ident(e.schema) + "." + pg_ident(e.name);
}

std::string create_enum_sql(const EnumType& e, bool checkfirst) {
  std::string values;
  for (const auto& v : e.values) values += (values.empty() ? "" : ", ") + sql_literal(v);
  std::string create = fmt::format("CREATE TYPE {} AS ENUM ({})", enum_type_name(e), values);
  if (!checkfirst) return create;
  return fmt::format(
      "DO $luamig$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = "
      "t.typnamespace "
      "WHERE t.typname = {} AND {}) THEN {}; END IF; END $luamig$",
      sql_literal(e.name),
      e.schema.empty() ? "pg_type_is_visible(t.oid)" : "n.nspname = " + sql_literal(e.schema), create);
}

std::string drop_enum_sql(const EnumType& e, bool checkfirst) {
  return fmt::format("DROP TYPE {}{}", checkfirst ? "IF EXISTS " : "", enum_type_name(e));
}

namespace {

const Expr* arg(const Expr& call, size_t index, const char* keyword) {
  if (call.kind != Expr::Call) return nullptr;
  if (const Expr* k = call.kwarg(keyword)) return k;
  if (index < call.items.size()) return call.items[index].get();
  return nullptr;
}

// Keyword arguments that change nothing in the DDL SQLAlchemy emits for PostgreSQL.
bool harmless_kwarg(const std::string& k) {
  static const std::set<std::string> ok = {
      "as_uuid",           "convert_unicode",      "unicode_error",   "_warn_on_bytestring",
      "asdecimal",         "decimal_return_scale", "none_as_null",    "astext_type",
      "create_constraint", "validate_strings",     "values_callable", "length_",
      "_expect_unicode",   "_create_events",       "inherit_schema",  "quote",
      "omit_aliases",      "sort_key_function",    "zero_indexes",    "as_tuple",
      "item_type",         "dimensions",           "metadata",        "binary"};
  return ok.count(k) > 0;
}

void check_kwargs(const Expr& call, std::initializer_list<const char*> used, const std::string& type) {
  if (call.kind != Expr::Call) return;
  for (const auto& [k, v] : call.kwargs) {
    bool known = harmless_kwarg(k);
    for (const char* u : used) known = known || k == u;
    if (!known) throw Unsupported{fmt::format("{}({}=...)", type, k)};
  }
}

}  // namespace

EnumType enum_of(const Expr& e0, ExprEval& ev) {
  const Expr& e = ev.resolve(e0);
  std::string name = ev.canonical(e.kind == Expr::Call ? *e.base : e);
  if ((name != "sa.Enum" && name != "pg.ENUM") || e.kind != Expr::Call)
    throw Unsupported{"enum type " + name};
  EnumType out;
  for (const auto& item : e.items) {
    const Expr& v = ev.resolve(*item);
    if (v.kind != Expr::Str) throw Unsupported{"sa.Enum of a Python enum class"};
    out.values.push_back(ev.string_of(v));
  }
  if (const Expr* n = e.kwarg("name")) out.name = ev.string_of(*n);
  if (const Expr* s = e.kwarg("schema")) out.schema = ev.string_of(*s);
  if (const Expr* c = e.kwarg("create_type")) out.create = ev.bool_of(*c);
  if (out.name.empty()) throw Unsupported{"sa.Enum without name="};
  return out;
}

SqlType map_type(const Expr& e0, ExprEval& ev) {
  const Expr& e = ev.resolve(e0);
  const Expr& callee = e.kind == Expr::Call ? ev.resolve(*e.base) : e;
  std::string name = ev.canonical(callee);
  if (name.empty()) throw Unsupported{"column type expression"};
  auto dot = name.find('.');
  std::string module = dot == std::string::npos ? "" : name.substr(0, dot);
  std::string type = dot == std::string::npos ? name : name.substr(dot + 1);
  // sqlalchemy_utils' UUIDType is PostgreSQL's native uuid (native=True is its default).
  if (name == "sqlalchemy_utils.UUIDType" || name == "sqlalchemy_utils.types.uuid.UUIDType") {
    check_kwargs(e, {"binary", "native"}, name);
    if (e.kind == Expr::Call && e.kwarg("native") && !ev.bool_of(*e.kwarg("native")))
      throw Unsupported{name + "(native=False)"};
    SqlType t;
    t.lua = "op.types.uuid";
    t.pg = "UUID";
    return t;
  }
  if (module != "sa" && module != "pg" && module != "sqlmodel") throw Unsupported{"type " + name};
  SqlType t;
  auto simple = [&](const char* lua, const char* pg) {
    check_kwargs(e, {}, name);
    t.lua = lua;
    t.pg = pg;
    return t;
  };
  auto raw = [&](std::string pg) {
    t.lua = lua_quote(pg);
    t.pg = std::move(pg);
    return t;
  };
  static const std::map<std::string, std::string> raw_types = {{"INET", "INET"},
                                                               {"CIDR", "CIDR"},
                                                               {"MACADDR", "MACADDR"},
                                                               {"MONEY", "MONEY"},
                                                               {"OID", "OID"},
                                                               {"REGCLASS", "REGCLASS"},
                                                               {"TSVECTOR", "TSVECTOR"},
                                                               {"HSTORE", "HSTORE"},
                                                               {"REAL", "REAL"},
                                                               {"DOUBLE_PRECISION", "DOUBLE PRECISION"},
                                                               {"INT4RANGE", "INT4RANGE"},
                                                               {"INT8RANGE", "INT8RANGE"},
                                                               {"NUMRANGE", "NUMRANGE"},
                                                               {"DATERANGE", "DATERANGE"},
                                                               {"TSRANGE", "TSRANGE"},
                                                               {"TSTZRANGE", "TSTZRANGE"},
                                                               {"JSONPATH", "JSONPATH"},
                                                               {"CITEXT", "CITEXT"}};
  if (type == "String" || type == "Unicode" || type == "VARCHAR" || type == "AutoString") {
    check_kwargs(e, {"length", "collation"}, name);
    if (e.kind == Expr::Call && e.kwarg("collation")) throw Unsupported{name + "(collation=...)"};
    if (const Expr* len = arg(e, 0, "length"); len && len->kind != Expr::None) {
      long long n = ev.int_of(*len);
      t.lua = fmt::format("op.types.string({})", n);
      t.pg = fmt::format("VARCHAR({})", n);
    } else {
      t.lua = "op.types.string";
      t.pg = "VARCHAR";
    }
    return t;
  }
  if (type == "Text" || type == "UnicodeText" || type == "TEXT") {
    check_kwargs(e, {"length", "collation"}, name);
    if (e.kind == Expr::Call && e.kwarg("collation")) throw Unsupported{name + "(collation=...)"};
    t.lua = "op.types.text";
    t.pg = "TEXT";
    return t;
  }
  if (type == "CHAR" || type == "NCHAR") {
    check_kwargs(e, {"length"}, name);
    const Expr* len = arg(e, 0, "length");
    return raw(len && len->kind != Expr::None ? fmt::format("CHAR({})", ev.int_of(*len)) : "CHAR");
  }
  if (type == "Integer" || type == "INTEGER" || type == "INT") {
    simple("op.types.integer", "INTEGER");
    t.int_kind = SqlType::Integer;
    return t;
  }
  if (type == "BigInteger" || type == "BIGINT") {
    simple("op.types.bigint", "BIGINT");
    t.int_kind = SqlType::Big;
    return t;
  }
  if (type == "SmallInteger" || type == "SMALLINT") {
    simple("op.types.smallint", "SMALLINT");
    t.int_kind = SqlType::Small;
    return t;
  }
  if (type == "Boolean" || type == "BOOLEAN") return simple("op.types.boolean", "BOOLEAN");
  if (type == "DateTime" || type == "TIMESTAMP") {
    check_kwargs(e, {"timezone", "precision"}, name);
    const Expr* tz = arg(e, 0, "timezone");
    bool with_tz = tz && ev.bool_of(*tz);
    const Expr* precision = e.kind == Expr::Call ? e.kwarg("precision") : nullptr;
    if (precision && precision->kind != Expr::None)
      return raw(
          fmt::format("TIMESTAMP({}) {} TIME ZONE", ev.int_of(*precision), with_tz ? "WITH" : "WITHOUT"));
    t.lua = with_tz ? "op.types.timestamp{ timezone = true }" : "op.types.timestamp";
    t.pg = with_tz ? "TIMESTAMP WITH TIME ZONE" : "TIMESTAMP WITHOUT TIME ZONE";
    return t;
  }
  if (type == "Date" || type == "DATE") return simple("op.types.date", "DATE");
  if (type == "Time" || type == "TIME") {
    check_kwargs(e, {"timezone", "precision"}, name);
    const Expr* tz = arg(e, 0, "timezone");
    const Expr* precision = e.kind == Expr::Call ? e.kwarg("precision") : nullptr;
    std::string p =
        precision && precision->kind != Expr::None ? fmt::format("({})", ev.int_of(*precision)) : "";
    return raw(fmt::format("TIME{} {} TIME ZONE", p, tz && ev.bool_of(*tz) ? "WITH" : "WITHOUT"));
  }
  if (type == "Interval" || type == "INTERVAL") {
    check_kwargs(e, {"native", "second_precision", "day_precision", "fields", "precision"}, name);
    if (e.kind == Expr::Call && (e.kwarg("fields") || e.kwarg("precision") || e.kwarg("second_precision")))
      throw Unsupported{name + " with fields or precision"};
    return raw("INTERVAL");
  }
  if (type == "Float" || type == "FLOAT") {
    check_kwargs(e, {"precision"}, name);
    if (const Expr* p = arg(e, 0, "precision"); p && p->kind != Expr::None)
      return raw(fmt::format("FLOAT({})", ev.int_of(*p)));
    return simple("op.types.float", "FLOAT");
  }
  if (type == "Numeric" || type == "NUMERIC" || type == "DECIMAL") {
    check_kwargs(e, {"precision", "scale"}, name);
    const Expr* p = arg(e, 0, "precision");
    const Expr* s = arg(e, 1, "scale");
    if (p && p->kind != Expr::None) {
      long long pv = ev.int_of(*p);
      if (s && s->kind != Expr::None) {
        long long sv = ev.int_of(*s);
        t.lua = fmt::format("op.types.numeric({}, {})", pv, sv);
        t.pg = fmt::format("NUMERIC({}, {})", pv, sv);
      } else {
        return raw(fmt::format("NUMERIC({})", pv));
      }
      return t;
    }
    t.lua = "op.types.numeric";
    t.pg = "NUMERIC";
    return t;
  }
  if (type == "LargeBinary" || type == "BYTEA" || type == "BLOB" || type == "BINARY" || type == "VARBINARY") {
    check_kwargs(e, {"length"}, name);
    return simple("op.types.binary", "BYTEA");
  }
  if (type == "JSON") return raw("JSON");
  if (type == "JSONB") return raw("JSONB");
  if (type == "UUID" || type == "Uuid") return simple("op.types.uuid", "UUID");
  if (type == "ARRAY") {
    check_kwargs(e, {"item_type", "dimensions", "as_tuple", "zero_indexes"}, name);
    const Expr* item = arg(e, 0, "item_type");
    if (!item) throw Unsupported{name + " without an item type"};
    SqlType inner = map_type(*item, ev);
    if (inner.enumeration) throw Unsupported{"ARRAY of an enum"};
    long long dims = 1;
    if (const Expr* d = e.kwarg("dimensions"); d && d->kind != Expr::None) dims = ev.int_of(*d);
    std::string pg = inner.pg;
    for (long long i = 0; i < dims; ++i) pg += "[]";
    return raw(pg);
  }
  if (type == "Enum" || type == "ENUM") {
    check_kwargs(e, {"name", "schema", "create_type", "native_enum", "length"}, name);
    if (e.kind == Expr::Call && e.kwarg("native_enum") && !ev.bool_of(*e.kwarg("native_enum"))) {
      size_t longest = 0;
      for (const auto& item : e.items) longest = std::max(longest, ev.string_of(*item).size());
      if (const Expr* len = e.kwarg("length")) longest = static_cast<size_t>(ev.int_of(*len));
      t.lua = fmt::format("op.types.string({})", longest);
      t.pg = fmt::format("VARCHAR({})", longest);
      return t;
    }
    EnumType en = enum_of(e, ev);
    t.pg = enum_type_name(en);
    t.lua = lua_quote(t.pg);
    t.enumeration = en;
    return t;
  }
  if (module == "pg") {
    if (auto it = raw_types.find(type); it != raw_types.end()) {
      check_kwargs(e, {}, name);
      return raw(it->second);
    }
    if (type == "BIT") {
      check_kwargs(e, {"length", "varying"}, name);
      const Expr* len = arg(e, 0, "length");
      bool varying = e.kind == Expr::Call && e.kwarg("varying") && ev.bool_of(*e.kwarg("varying"));
      std::string base = varying ? "BIT VARYING" : "BIT";
      return raw(len && len->kind != Expr::None ? fmt::format("{}({})", base, ev.int_of(*len))
                                                : (varying ? base : "BIT(1)"));
    }
  }
  if (type == "REAL") return raw("REAL");
  throw Unsupported{"type " + name};
}

}  // namespace luamig::importer
