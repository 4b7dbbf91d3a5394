#pragma once
// The syntax tree of the Python subset that Alembic revision files use, and its parser. Statements the parser
// does not model (loops, conditionals, try blocks, classes...) are kept as `Other` with their line range, so
// that the translator can quote them; an expression it cannot parse (a lambda, a comprehension) makes its
// statement `Other`.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace luamig::importer {

struct Expr;
using ExprPtr = std::shared_ptr<const Expr>;

struct Expr {
  enum Kind {
    Name,
    Str,
    Num,
    None,
    True,
    False,
    Ellipsis,
    Attr,
    Call,
    Tuple,
    List,
    Dict,
    Set,
    Subscript,
    Unary,
    Binary,
    Starred
  };
  Kind kind = Name;
  std::string text;  // Name: identifier; Str: value; Num: literal; Attr: attribute; Unary/Binary: operator
  bool fstring = false;  // Str: (part of) an f-string
  bool bytes = false;    // Str: a bytes literal
  ExprPtr base;          // Attr/Call/Subscript: the object; Unary/Starred: operand; Binary: left
  ExprPtr right;         // Binary: right; Subscript: the index
  std::vector<ExprPtr>
      items;  // Call: positional arguments; Tuple/List/Set: elements; Dict: key, value, key, ...
  std::vector<std::pair<std::string, ExprPtr>> kwargs;  // Call: keyword arguments ("**" for **mapping)
  int line = 0;

  // "sa.Column", "op.create_table", "postgresql.ENUM": the dotted name of a Name/Attr chain, "" for anything
  // else.
  std::string dotted() const;
  // Call: the keyword argument `name`, or nullptr.
  const Expr* kwarg(std::string_view name) const;
};

struct Stmt {
  enum Kind { ExprStmt, Assign, Pass, With, Def, Import, Docstring, If, Other };
  Kind kind = Other;
  int line = 0;      // first line (decorators included)
  int end_line = 0;  // last line
  ExprPtr value;     // ExprStmt/Assign: the expression; With: the context manager; Docstring: the string
  std::vector<ExprPtr> targets;     // Assign: each `target =`
  std::string name;                 // Def: function name; With: the `as` name ("" when none)
  std::vector<std::string> params;  // Def: parameter names
  std::vector<Stmt> body;           // Def/With
  // If: one (condition, body) per `if`/`elif`; a null condition for `else`.
  std::vector<std::pair<ExprPtr, std::vector<Stmt>>> branches;
  std::string keyword;  // Other: the statement's first word ("for", "if", "try", ...)
};

// Parses a module. Throws SyntaxError (py_tokenizer.hpp) when the file is not even tokenizable or its blocks
// do not nest; anything else unknown becomes an Other statement.
std::vector<Stmt> parse_module(std::string_view source);

// Parses one expression (for tests). Throws SyntaxError.
ExprPtr parse_expression(std::string_view source);

}  // namespace luamig::importer
