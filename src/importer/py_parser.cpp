// Recursive-descent parser over py_tokenizer's tokens: the statements (module, blocks, simple and compound
// statements; those outside the modelled subset become Other with their line range) and the entry points.
// Expressions are parsed in py_expressions.cpp.
#include "importer/py_parser.hpp"

#include <set>

#include "importer/py_ast.hpp"
#include "importer/py_tokenizer.hpp"

namespace luamig::importer {

std::string Expr::dotted() const {
  if (kind == Name) return text;
  if (kind == Attr && base) {
    std::string b = base->dotted();
    return b.empty() ? "" : b + "." + text;
  }
  return "";
}

const Expr* Expr::kwarg(std::string_view name) const {
  for (const auto& [k, v] : kwargs)
    if (k == name) return v.get();
  return nullptr;
}

namespace detail {

std::vector<Stmt> Parser::module() {
  std::vector<Stmt> out;
  while (peek().kind != Tok::End) {
    if (peek().kind == Tok::Newline) {
      ++pos_;
      continue;
    }
    if (peek().kind == Tok::Indent || peek().kind == Tok::Dedent)
      throw SyntaxError(peek().line, "unexpected indentation");
    out.push_back(statement());
  }
  return out;
}

int Parser::skip_statement() {
  int last = peek().line;
  while (peek().kind != Tok::Newline && peek().kind != Tok::End) last = next().end_line;
  if (peek().kind == Tok::Newline) ++pos_;
  if (peek().kind == Tok::Indent) {
    int depth = 0;
    do {
      const Token& tk = next();
      if (tk.kind == Tok::Indent)
        ++depth;
      else if (tk.kind == Tok::Dedent)
        --depth;
      else if (tk.kind != Tok::Newline)
        last = tk.end_line;
    } while (depth > 0 && peek().kind != Tok::End);
  }
  return last;
}

Stmt Parser::other(size_t start) {
  pos_ = start;
  Stmt s;
  s.kind = Stmt::Other;
  s.line = peek().line;
  static const std::set<std::string> keywords = {
      "if",     "for",    "while",   "try",      "class", "async", "match",  "elif",
      "else",   "except", "finally", "return",   "raise", "del",   "global", "nonlocal",
      "assert", "yield",  "break",   "continue", "print", "await", "with",   "def"};
  s.keyword = peek().kind == Tok::Name && keywords.count(peek().text) ? peek().text : "";
  s.end_line = skip_statement();
  return s;
}

std::vector<Stmt> Parser::block() {
  std::vector<Stmt> body;
  if (peek().kind != Tok::Newline) {  // `def f(): pass` on one line
    body.push_back(simple_statement(pos_));
    return body;
  }
  ++pos_;
  if (peek().kind != Tok::Indent) throw SyntaxError(peek().line, "expected an indented block");
  ++pos_;
  while (peek().kind != Tok::Dedent && peek().kind != Tok::End) {
    if (peek().kind == Tok::Newline) {
      ++pos_;
      continue;
    }
    body.push_back(statement());
  }
  if (peek().kind == Tok::Dedent) ++pos_;
  return body;
}

Stmt Parser::statement() {
  size_t start = pos_;
  int first_line = peek().line;
  while (is_op("@")) {  // decorators: the function is kept as Other
    skip_statement();
    Stmt s = other(pos_);
    s.line = first_line;
    s.keyword = "decorated definition";
    return s;
  }
  if (is_name("def")) {
    try {
      Stmt s;
      s.kind = Stmt::Def;
      s.line = first_line;
      ++pos_;
      s.name = next().text;
      expect_op("(");
      int depth = 1;
      bool expect_param = true;
      while (depth > 0 && peek().kind != Tok::End) {
        const Token& tk = next();
        if (tk.kind == Tok::Op && (tk.text == "(" || tk.text == "[" || tk.text == "{"))
          ++depth;
        else if (tk.kind == Tok::Op && (tk.text == ")" || tk.text == "]" || tk.text == "}"))
          --depth;
        else if (depth == 1 && tk.kind == Tok::Op && tk.text == ",")
          expect_param = true;
        else if (depth == 1 && expect_param && tk.kind == Tok::Name) {
          s.params.push_back(tk.text);
          expect_param = false;
        } else if (depth == 1 && tk.kind == Tok::Op && (tk.text == ":" || tk.text == "="))
          expect_param = false;
      }
      while (!is_op(":") && peek().kind != Tok::Newline && peek().kind != Tok::End) ++pos_;  // -> annotation
      expect_op(":");
      s.body = block();
      s.end_line = t_[pos_ - 1].end_line;
      for (size_t k = pos_; k-- > start;)
        if (t_[k].kind != Tok::Newline && t_[k].kind != Tok::Dedent && t_[k].kind != Tok::Indent) {
          s.end_line = t_[k].end_line;
          break;
        }
      return s;
    } catch (const Unparsable&) {
      return other(start);
    }
  }
  if (is_name("with")) {
    try {
      Stmt s;
      s.kind = Stmt::With;
      s.line = first_line;
      ++pos_;
      s.value = test();
      if (is_name("as")) {
        ++pos_;
        if (peek().kind != Tok::Name) throw Unparsable{};
        s.name = next().text;
      }
      if (!is_op(":")) throw Unparsable{};  // several context managers
      ++pos_;
      s.body = block();
      for (size_t k = pos_; k-- > start;)
        if (t_[k].kind != Tok::Newline && t_[k].kind != Tok::Dedent && t_[k].kind != Tok::Indent) {
          s.end_line = t_[k].end_line;
          break;
        }
      return s;
    } catch (const Unparsable&) {
      return other(start);
    }
  }
  if (is_name("if")) {
    try {
      Stmt s;
      s.kind = Stmt::If;
      s.line = first_line;
      for (bool first = true;; first = false) {
        if (!first && !is_name("elif") && !is_name("else")) break;
        bool is_else = is_name("else");
        ++pos_;
        ExprPtr cond = is_else ? nullptr : test();
        expect_op(":");
        s.branches.emplace_back(cond, block());
        if (is_else) break;
      }
      for (size_t k = pos_; k-- > start;)
        if (t_[k].kind != Tok::Newline && t_[k].kind != Tok::Dedent && t_[k].kind != Tok::Indent) {
          s.end_line = t_[k].end_line;
          break;
        }
      return s;
    } catch (const Unparsable&) {
      Stmt s = other(start);
      // The whole chain is one statement.
      while (is_name("elif") || is_name("else")) s.end_line = skip_statement();
      return s;
    }
  }
  static const std::set<std::string> compound = {"if",    "for",  "while", "try",    "class",  "async",
                                                 "match", "elif", "else",  "except", "finally"};
  if (peek().kind == Tok::Name && compound.count(peek().text)) return other(start);
  return simple_statement(start);
}

Stmt Parser::simple_statement(size_t start) {
  Stmt s;
  s.line = peek().line;
  if (is_name("pass")) {
    ++pos_;
    if (peek().kind != Tok::Newline) return other(start);
    s.kind = Stmt::Pass;
    s.end_line = s.line;
    ++pos_;
    return s;
  }
  if (is_name("import") || is_name("from")) {
    s.kind = Stmt::Import;
    s.end_line = skip_statement();
    return s;
  }
  static const std::set<std::string> keywords = {"return",   "raise",  "del",   "global",
                                                 "nonlocal", "assert", "yield", "break",
                                                 "continue", "print",  "await"};
  if (peek().kind == Tok::Name && keywords.count(peek().text)) return other(start);
  try {
    std::vector<ExprPtr> parts{testlist()};
    if (is_op(":") && parts[0]->kind == Expr::Name) {  // annotated assignment: the annotation is ignored
      ++pos_;
      test();
      if (!is_op("=")) {
        s.kind = Stmt::Pass;  // a bare annotation declares nothing at run time
        s.end_line = t_[pos_ - 1].end_line;
        if (peek().kind != Tok::Newline) return other(start);
        ++pos_;
        return s;
      }
    }
    while (is_op("=")) {
      ++pos_;
      parts.push_back(testlist());
    }
    if (peek().kind != Tok::Newline) return other(start);  // ';', augmented assignment, ...
    s.end_line = t_[pos_ - 1].end_line;
    ++pos_;
    s.value = parts.back();
    parts.pop_back();
    s.targets = std::move(parts);
    if (s.targets.empty())
      s.kind = s.value->kind == Expr::Str ? Stmt::Docstring : Stmt::ExprStmt;
    else
      s.kind = Stmt::Assign;
    return s;
  } catch (const Unparsable&) {
    return other(start);
  }
}

}  // namespace detail

using detail::Parser;

std::vector<Stmt> parse_module(std::string_view source) { return Parser(tokenize(source)).module(); }

ExprPtr parse_expression(std::string_view source) { return Parser(tokenize(source)).single_expression(); }

}  // namespace luamig::importer
