// Recursive-descent parser over py_tokenizer's tokens. Expressions follow Python's precedence (or, and, not,
// comparisons, |, ^, &, shifts, + -, * / // % @, unary, **, then trailers: attribute, call, subscript).
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

namespace {

struct Unparsable {};  // an expression outside the modelled subset; its statement becomes Other

class Parser {
 public:
  explicit Parser(std::vector<Token> toks) : t_(std::move(toks)) {}

  std::vector<Stmt> module() {
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

  ExprPtr single_expression() {
    try {
      auto e = test();
      if (peek().kind != Tok::Newline && peek().kind != Tok::End)
        throw SyntaxError(peek().line, "unexpected '" + peek().text + "'");
      return e;
    } catch (const Unparsable&) {
      throw SyntaxError(peek().line, "expression outside the supported subset");
    }
  }

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

  // Skips the rest of a logical line and any block under it; returns the last line covered.
  int skip_statement() {
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

  Stmt other(size_t start) {
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

  std::vector<Stmt> block() {
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

  Stmt statement() {
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
        while (!is_op(":") && peek().kind != Tok::Newline && peek().kind != Tok::End)
          ++pos_;  // -> annotation
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

  Stmt simple_statement(size_t start) {
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

  ExprPtr make(Expr e) { return std::make_shared<const Expr>(std::move(e)); }

  // A comma-separated list without brackets is a tuple.
  ExprPtr testlist() {
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

  ExprPtr star_or_test() {
    if (is_op("*")) {
      Expr e;
      e.kind = Expr::Starred;
      e.line = next().line;
      e.base = test();
      return make(std::move(e));
    }
    return test();
  }

  // Lambdas, conditional expressions and comprehensions are parsed over and stand as an opaque name: the
  // translator can drop them where they do not matter (a Python-side default=lambda: ...) and names them
  // otherwise.
  ExprPtr opaque(int line, const char* what) {
    Expr e;
    e.kind = Expr::Name;
    e.text = what;
    e.line = line;
    return make(std::move(e));
  }

  ExprPtr test() {
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

  // After `for` inside brackets: skips the rest of a comprehension up to (not including) the closing bracket.
  void skip_comprehension() {
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

  // Precedence levels, lowest first.
  static int level_of(const Token& tk, const Token& after) {
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

  ExprPtr binary(int min_level) {
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

  ExprPtr unary() {
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

  ExprPtr primary() {
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

  // Elements up to the closing bracket; comprehensions are outside the subset.
  void elements(Expr& into, const char* close) {
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

  ExprPtr atom() {
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
};

}  // namespace

std::vector<Stmt> parse_module(std::string_view source) { return Parser(tokenize(source)).module(); }

ExprPtr parse_expression(std::string_view source) { return Parser(tokenize(source)).single_expression(); }

}  // namespace luamig::importer
