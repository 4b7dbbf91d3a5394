#pragma once
// SQLAlchemy column types (generic, sqlalchemy.dialects.postgresql, sqlmodel's AutoString) mapped to what
// SQLAlchemy 1.4 emits for PostgreSQL, written as luamig types: op.types.* where luamig's portable type
// renders the same on PostgreSQL, the PostgreSQL type string otherwise.
#include <optional>
#include <string>
#include <vector>

#include "importer/py_ast.hpp"

namespace luamig::importer {

// What the type mapper needs from the translator: names resolved through the file's imports and variables.
class ExprEval {
 public:
  virtual ~ExprEval() = default;
  // "sa.String", "pg.JSONB", "op.create_table", "sqlmodel.AutoString": the callee's name with import aliases
  // resolved; "" when the expression is not a dotted name.
  virtual std::string canonical(const Expr& e) = 0;
  // Follows variables to the expression they were assigned.
  virtual const Expr& resolve(const Expr& e) = 0;
  // Literal values; throw Unsupported for anything else.
  virtual std::string string_of(const Expr& e) = 0;
  virtual long long int_of(const Expr& e) = 0;
  virtual bool bool_of(const Expr& e) = 0;
};

struct EnumType {
  std::string name;
  std::string schema;
  std::vector<std::string> values;
  bool create = true;  // postgresql.ENUM(create_type=False) is never created by create_table
};

struct SqlType {
  std::string lua;                                         // Lua expression for the column's type
  std::string pg;                                          // the PostgreSQL spelling (ARRAY items, messages)
  enum Int { None, Integer, Big, Small } int_kind = None;  // for SERIAL/BIGSERIAL/SMALLSERIAL
  std::optional<EnumType> enumeration;
};

// Throws Unsupported for a type it does not know (application TypeDecorators, sqlalchemy_utils, Enum of a
// Python enum class...).
SqlType map_type(const Expr& e, ExprEval& ev);

// The enum described by sa.Enum/postgresql.ENUM (for .create()/.drop() calls); throws Unsupported when `e` is
// not one.
EnumType enum_of(const Expr& e, ExprEval& ev);

// `name` or `"Name"`, schema-qualified, as PostgreSQL needs it in DDL.
std::string pg_ident(const std::string& name);
std::string enum_type_name(const EnumType& e);
// CREATE TYPE ... AS ENUM (...) / DROP TYPE ...; with checkfirst, guarded as SQLAlchemy's checkfirst is.
std::string create_enum_sql(const EnumType& e, bool checkfirst);
std::string drop_enum_sql(const EnumType& e, bool checkfirst);
// An SQL string literal.
std::string sql_literal(const std::string& s);

}  // namespace luamig::importer
