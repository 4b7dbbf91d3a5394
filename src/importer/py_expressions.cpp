// Python expressions for the recursive-descent parser, with Python's precedence (or, and, not, comparisons,
// |, ^, &, shifts, + -, * / // % @, unary, **, then trailers: attribute, call, subscript). Lambdas and
// comprehensions throw Unparsable, which makes the statement holding them Other.
#include <set>
#include <string>

#include "importer/py_parser.hpp"

namespace luamig::importer::detail {

ExprPtr Parser::single_expression() {
  try {
    auto e = test();
    if (peek().kind != Tok::Newline && peek().kind != Tok::End)
      throw SyntaxError(peek().line, "unexpected '" + peek().text + "'");
    return e;
  } catch (const Unparsable&) {
    throw SyntaxError(peek().line, "expression outside the supported subset");
  }
}

ExprPtr Parser::testlist() {
  int line = peek().line;
  ExprPtr first = star_or_test();
  if (!is_op(",")) return first;
  Expr tup;
  tup.kind = Expr::Tuple;
  tup.line = line;
  tup.items.push_back(first);
  while (is_op(",")) {
    ++pos_;
    if (peek().kind == Tok::Newline || is_op("=") || is_op(")") || is_op(":")) break;
    tup.items.push_back(star_or_test());
  }
  return make(std::move(tup));
}

ExprPtr Parser::star_or_test() {
  if (is_op("*")) {
    Expr e;
    e.kind = Expr::Starred;
    e.line = next().line;
    e.base = test();
    return make(std::move(e));
  }
  return test();
}

ExprPtr Parser::opaque(int line, const char* what) {
  Expr e;
  e.kind = Expr::Name;
  e.text = what;
  e.line = line;
  return make(std::move(e));
}

ExprPtr Parser::test() {
  int line = peek().line;
  if (is_name("lambda")) {
    ++pos_;
    while (!is_op(":") && peek().kind != Tok::Newline && peek().kind != Tok::End) ++pos_;
    expect_op(":");
    test();
    return opaque(line, "<lambda>");
  }
  ExprPtr e = binary(0);
  if (is_name("if")) {
    ++pos_;
    binary(0);
    if (!is_name("else")) throw Unparsable{};
    ++pos_;
    test();
    return opaque(line, "<conditional expression>");
  }
  return e;
}

void Parser::skip_comprehension() {
  int depth = 0;
  while (peek().kind != Tok::End && peek().kind != Tok::Newline) {
    const Token& tk = peek();
    if (tk.kind == Tok::Op && (tk.text == "(" || tk.text == "[" || tk.text == "{")) ++depth;
    if (tk.kind == Tok::Op && (tk.text == ")" || tk.text == "]" || tk.text == "}")) {
      if (depth == 0) return;
      --depth;
    }
    ++pos_;
  }
  throw Unparsable{};
}

int Parser::level_of(const Token& tk, const Token& after) {
  if (tk.kind == Tok::Name) {
    if (tk.text == "or") return 1;
    if (tk.text == "and") return 2;
    if (tk.text == "in" || tk.text == "is") return 4;
    if (tk.text == "not" && after.kind == Tok::Name && after.text == "in") return 4;
    return -1;
  }
  if (tk.kind != Tok::Op) return -1;
  const std::string& o = tk.text;
  if (o == "<" || o == ">" || o == "==" || o == ">=" || o == "<=" || o == "!=") return 4;
  if (o == "|") return 5;
  if (o == "^") return 6;
  if (o == "&") return 7;
  if (o == "<<" || o == ">>") return 8;
  if (o == "+" || o == "-") return 9;
  if (o == "*" || o == "/" || o == "//" || o == "%" || o == "@") return 10;
  return -1;
}

ExprPtr Parser::binary(int min_level) {
  ExprPtr left = unary();
  for (;;) {
    int lv = level_of(peek(), peek(1));
    if (lv < 0 || lv < min_level) return left;
    Expr b;
    b.kind = Expr::Binary;
    b.line = peek().line;
    b.text = next().text;
    if (b.text == "not") {
      ++pos_;
      b.text = "not in";
    } else if (b.text == "is" && is_name("not")) {
      ++pos_;
      b.text = "is not";
    }
    b.base = left;
    b.right = binary(lv + 1);
    left = make(std::move(b));
  }
}

ExprPtr Parser::unary() {
  if (is_op("-") || is_op("+") || is_op("~") || is_name("not")) {
    Expr u;
    u.kind = Expr::Unary;
    u.line = peek().line;
    u.text = next().text;
    u.base = u.text == "not" ? binary(3) : unary();
    return make(std::move(u));
  }
  if (is_name("await")) throw Unparsable{};
  ExprPtr e = primary();
  if (is_op("**")) {
    Expr b;
    b.kind = Expr::Binary;
    b.line = next().line;
    b.text = "**";
    b.base = e;
    b.right = unary();
    return make(std::move(b));
  }
  return e;
}

ExprPtr Parser::primary() {
  ExprPtr e = atom();
  for (;;) {
    if (is_op(".")) {
      ++pos_;
      if (peek().kind != Tok::Name) throw Unparsable{};
      Expr a;
      a.kind = Expr::Attr;
      a.line = peek().line;
      a.text = next().text;
      a.base = e;
      e = make(std::move(a));
    } else if (is_op("(")) {
      Expr c;
      c.kind = Expr::Call;
      c.line = next().line;
      c.base = e;
      while (!is_op(")")) {
        if (is_op("**")) {
          ++pos_;
          c.kwargs.emplace_back("**", test());
        } else if (peek().kind == Tok::Name && is_op("=", 1)) {
          std::string k = next().text;
          ++pos_;
          c.kwargs.emplace_back(k, test());
        } else {
          c.items.push_back(star_or_test());
          if (is_name("for")) {  // generator argument
            skip_comprehension();
            c.items.back() = opaque(c.line, "<comprehension>");
          }
        }
        if (!is_op(",")) break;
        ++pos_;
      }
      expect_op(")");
      e = make(std::move(c));
    } else if (is_op("[")) {
      Expr s;
      s.kind = Expr::Subscript;
      s.line = next().line;
      s.base = e;
      if (is_op(":")) throw Unparsable{};
      s.right = testlist();
      if (is_op(":")) throw Unparsable{};  // slices
      expect_op("]");
      e = make(std::move(s));
    } else {
      return e;
    }
  }
}

void Parser::elements(Expr& into, const char* close) {
  while (!is_op(close)) {
    into.items.push_back(star_or_test());
    if (is_name("for")) {
      skip_comprehension();
      into.items.back() = opaque(into.line, "<comprehension>");
    }
    if (!is_op(",")) break;
    ++pos_;
  }
  expect_op(close);
}

ExprPtr Parser::atom() {
  const Token& tk = peek();
  Expr e;
  e.line = tk.line;
  switch (tk.kind) {
    case Tok::Name: {
      static const std::set<std::string> reserved = {"if",    "else",   "for", "in",     "lambda", "def",
                                                     "class", "return", "and", "or",     "not",    "is",
                                                     "yield", "with",   "as",  "import", "from"};
      if (reserved.count(tk.text)) throw Unparsable{};
      ++pos_;
      if (tk.text == "None")
        e.kind = Expr::None;
      else if (tk.text == "True")
        e.kind = Expr::True;
      else if (tk.text == "False")
        e.kind = Expr::False;
      else {
        e.kind = Expr::Name;
        e.text = tk.text;
      }
      return make(std::move(e));
    }
    case Tok::Number:
      ++pos_;
      e.kind = Expr::Num;
      e.text = tk.text;
      return make(std::move(e));
    case Tok::String:
      e.kind = Expr::Str;
      while (peek().kind == Tok::String) {  // implicit concatenation
        const Token& s = next();
        e.text += s.text;
        e.fstring = e.fstring || s.fstring;
        e.bytes = e.bytes || s.bytes;
      }
      return make(std::move(e));
    case Tok::Op:
      if (tk.text == "...") {
        ++pos_;
        e.kind = Expr::Ellipsis;
        return make(std::move(e));
      }
      if (tk.text == "(") {
        ++pos_;
        if (is_op(")")) {
          ++pos_;
          e.kind = Expr::Tuple;
          return make(std::move(e));
        }
        ExprPtr first = star_or_test();
        if (is_name("for")) {
          skip_comprehension();
          expect_op(")");
          return opaque(e.line, "<comprehension>");
        }
        if (is_op(")")) {
          ++pos_;
          return first;  // parenthesised expression
        }
        e.kind = Expr::Tuple;
        e.items.push_back(first);
        expect_op(",");
        elements(e, ")");
        return make(std::move(e));
      }
      if (tk.text == "[") {
        ++pos_;
        e.kind = Expr::List;
        elements(e, "]");
        return make(std::move(e));
      }
      if (tk.text == "{") {
        ++pos_;
        if (is_op("}")) {
          ++pos_;
          e.kind = Expr::Dict;
          return make(std::move(e));
        }
        if (is_op("**")) throw Unparsable{};
        ExprPtr first = test();
        if (is_op(":")) {
          e.kind = Expr::Dict;
          ++pos_;
          e.items.push_back(first);
          e.items.push_back(test());
          if (is_name("for")) {
            skip_comprehension();
            expect_op("}");
            return opaque(e.line, "<comprehension>");
          }
          while (is_op(",")) {
            ++pos_;
            if (is_op("}")) break;
            if (is_op("**")) throw Unparsable{};
            e.items.push_back(test());
            expect_op(":");
            e.items.push_back(test());
          }
          expect_op("}");
          return make(std::move(e));
        }
        e.kind = Expr::Set;
        e.items.push_back(first);
        if (is_name("for")) {
          skip_comprehension();
          expect_op("}");
          return opaque(e.line, "<comprehension>");
        }
        if (is_op(",")) {
          ++pos_;
          elements(e, "}");
        } else {
          expect_op("}");
        }
        return make(std::move(e));
      }
      throw Unparsable{};
    default:
      throw Unparsable{};
  }
}

}  // namespace luamig::importer::detail
