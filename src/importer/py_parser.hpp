#pragma once
// Internal to the importer: the recursive-descent Parser over py_tokenizer's tokens (py_ast.hpp declares
// what it builds and the two entry points). Statements are parsed in py_parser.cpp, expressions in
// py_expressions.cpp; statements call into expressions, never the other way.
#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "importer/py_ast.hpp"
#include "importer/py_tokenizer.hpp"

namespace luamig::importer::detail {

struct Unparsable {};  // an expression outside the modelled subset; its statement becomes Other

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  // py_parser.cpp
  std::vector<Stmt> module();
  // py_expressions.cpp
  ExprPtr single_expression();

 private:
  std::vector<Token> t_;
  size_t pos_ = 0;

  const Token& peek(size_t ahead = 0) const { return t_[std::min(pos_ + ahead, t_.size() - 1)]; }
  const Token& next() { return t_[std::min(pos_++, t_.size() - 1)]; }
  bool is_op(const char* s, size_t ahead = 0) const {
    return peek(ahead).kind == Tok::Op && peek(ahead).text == s;
  }
  bool is_name(const char* s, size_t ahead = 0) const {
    return peek(ahead).kind == Tok::Name && peek(ahead).text == s;
  }
  void expect_op(const char* s) {
    if (!is_op(s)) throw Unparsable{};
    ++pos_;
  }
  ExprPtr make(Expr e) { return std::make_shared<const Expr>(std::move(e)); }

  // py_parser.cpp: statements
  // Skips the rest of a logical line and any block under it; returns the last line covered.
  int skip_statement();
  Stmt other(size_t start);
  std::vector<Stmt> block();
  Stmt statement();
  Stmt simple_statement(size_t start);

  // py_expressions.cpp: expressions
  // A comma-separated list without brackets is a tuple.
  ExprPtr testlist();
  ExprPtr star_or_test();
  // Lambdas, conditional expressions and comprehensions are parsed over and stand as an opaque name: the
  // translator can drop them where they do not matter (a Python-side default=lambda: ...) and names them
  // otherwise.
  ExprPtr opaque(int line, const char* what);
  ExprPtr test();
  // After `for` inside brackets: skips the rest of a comprehension up to (not including) the closing bracket.
  void skip_comprehension();
  // Precedence levels, lowest first.
  static int level_of(const Token& tk, const Token& after);
  ExprPtr binary(int min_level);
  ExprPtr unary();
  ExprPtr primary();
  // Elements up to the closing bracket; comprehensions are outside the subset.
  void elements(Expr& into, const char* close);
  ExprPtr atom();
};
}  // namespace luamig::importer::detail
