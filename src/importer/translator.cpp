// Statement-by-statement translation of Alembic revision files. Expressions are evaluated at translation time
// where Alembic would evaluate them to DDL (types, server defaults, names); variables holding such values are
// substituted where they are used. Anything with an effect the translator does not model raises Unsupported,
// and the whole statement becomes a manual part. This file holds the module level: the header assignments,
// upgrade()/downgrade() and helper functions, files the parser refuses, and the text helpers the other
// translator_*.cpp files share (translator_impl.hpp says which file holds which part of the Translator).
#include "importer/translator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>

#include "importer/lua_text.hpp"
#include "importer/py_ast.hpp"
#include "importer/py_tokenizer.hpp"
#include "importer/translator_impl.hpp"

namespace luamig::importer {
namespace detail {

std::vector<std::string> split_lines(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t nl = s.find('\n', start);
    if (nl == std::string_view::npos) nl = s.size();
    std::string line(s.substr(start, nl - start));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    start = nl + 1;
  }
  return out;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

// "<prefix> <text>" without trailing whitespace (luacheck flags it in comments).
std::string comment_line(const std::string& prefix, std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  return text.empty() ? prefix : prefix + " " + text;
}

// Keyword arguments for other databases than PostgreSQL do not change what Alembic emits there.
bool other_dialect_kwarg(const std::string& k) {
  return starts_with(k, "mysql_") || starts_with(k, "mariadb_") || starts_with(k, "sqlite_") ||
         starts_with(k, "mssql_") || starts_with(k, "oracle_") || k == "info";
}

namespace {
std::string header_value(const std::vector<std::string>& v, bool list_even_if_one) {
  if (v.empty()) return "nil";
  if (v.size() == 1 && !list_even_if_one) return lua_quote(v[0]);
  std::string out = "{ ";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + lua_quote(v[i]);
  return out + " }";
}
}  // namespace

Translation Translator::module(const std::vector<Stmt>& stmts, const std::string& source_name) {
  Translation tr;
  bool have_revision = false;
  const Stmt* up = nullptr;
  const Stmt* down = nullptr;
  std::vector<const Stmt*> helpers;
  std::string docstring;
  std::map<std::string, bool> down_is_tuple;
  for (size_t i = 0; i < stmts.size(); ++i) {
    const Stmt& s = stmts[i];
    if (i == 0 && s.kind == Stmt::Docstring) {
      docstring = s.value->text;
      continue;
    }
    if (s.kind == Stmt::Import) {
      record_imports(s);
      continue;
    }
    if (s.kind == Stmt::Def) {
      if (s.name == "upgrade")
        up = &s;
      else if (s.name == "downgrade")
        down = &s;
      else {
        helpers_.insert(s.name);
        helpers.push_back(&s);
      }
      continue;
    }
    if (s.kind == Stmt::Assign && s.targets.size() == 1 && s.targets[0]->kind == Expr::Name) {
      const std::string& name = s.targets[0]->text;
      static const std::set<std::string> header = {"revision", "down_revision", "branch_labels",
                                                   "depends_on"};
      if (header.count(name)) {
        std::vector<std::string> values;
        const Expr& v = *s.value;
        try {
          if (v.kind == Expr::Str)
            values.push_back(string_of(v));
          else if (v.kind == Expr::List || v.kind == Expr::Tuple || v.kind == Expr::Set)
            for (const auto& item : v.items) values.push_back(string_of(*item));
          else if (v.kind != Expr::None)
            throw Unsupported{"value"};
        } catch (const Unsupported&) {
          throw ImportError{s.line, name + " is not a literal string, tuple or None"};
        }
        if (name == "revision") {
          if (values.size() != 1) throw ImportError{s.line, "revision must be a string"};
          tr.revision = values[0];
          have_revision = true;
        } else if (name == "down_revision") {
          tr.down_revisions = values;
        } else if (name == "branch_labels") {
          tr.branch_labels = values;
        } else {
          tr.depends_on = values;
        }
        continue;
      }
      try {
        assign(s, "");
      } catch (const Unsupported&) {
        // A module variable the translation cannot evaluate: using it makes that statement manual.
      }
      continue;
    }
  }
  if (!have_revision) throw ImportError{1, "no `revision = \"...\"` in the file"};
  // Alembic's message is the docstring's first paragraph; luamig's is one line, the first.
  for (const auto& l : split_lines(trim(docstring))) {
    std::string t = trim(l);
    if (tr.message.empty()) tr.message = t;
    if (starts_with(t, "Create Date:")) tr.create_date = trim(t.substr(12));
  }

  std::string out;
  out += comment_line("--", tr.message) + "\n--\n";
  out += "-- Revision ID: " + tr.revision + "\n";
  std::string revises;
  for (const auto& d : tr.down_revisions) revises += (revises.empty() ? "" : ", ") + d;
  out += comment_line("-- Revises:", revises) + "\n";
  out += comment_line("-- Create Date:", tr.create_date) + "\n";
  out += "--\n-- Imported from the Alembic revision " + source_name + ".\n\n";
  out += "revision = " + lua_quote(tr.revision) + "\n";
  out += "down_revision = " + header_value(tr.down_revisions, false) + "\n";
  out += "branch_labels = " + header_value(tr.branch_labels, false) + "\n";
  out += "depends_on = " + header_value(tr.depends_on, false) + "\n";
  auto function = [&](const Stmt* def, const char* name) {
    if (!def) return;
    out += std::string("\nfunction ") + name + "()\n";
    if (!def->params.empty()) {
      out += manual_part(*def, std::string(name) + "() with parameters (a multi-database template)", "  ");
    } else {
      locals_.clear();
      binds_.clear();
      out += body(def->body, 1);
    }
    out += "end\n";
  };
  if (unparsable_line_ > 0) {
    Stmt whole;
    whole.line = 1;
    whole.end_line = static_cast<int>(lines_.size());
    while (whole.end_line > 1 && trim(lines_[whole.end_line - 1]).empty()) --whole.end_line;
    std::string what = fmt::format("the file is outside the Python the importer reads ({} at line {})",
                                   unparsable_why_, unparsable_line_);
    out += "\nfunction upgrade()\n" + manual_part(whole, what, "  ") + "end\n";
    out += "\nfunction downgrade()\n  error(" + lua_quote("manual port needed: " + what) + ")\nend\n";
  }
  function(up, "upgrade");
  function(down, "downgrade");
  for (const Stmt* h : helpers) {
    out += "\n-- Python helper " + h->name + "() (lines " + std::to_string(h->line) + "-" +
           std::to_string(h->end_line) + "), not translated; calls to it are marked above:\n";
    for (int l = h->line; l <= h->end_line && l <= static_cast<int>(lines_.size()); ++l)
      out += comment_line("-- |", lines_[l - 1]) + "\n";
  }
  tr.lua = std::move(out);
  tr.manual = manual;
  return tr;
}

}  // namespace detail

namespace {

using detail::split_lines;
using detail::Translator;
using detail::trim;

// For a file the tokenizer or parser refuses (Python outside the subset, or not Python): the docstring and
// the header assignments, read line by line, so that the revision still joins the graph.
std::vector<Stmt> header_only(std::string_view source, const SyntaxError& why) {
  std::vector<Stmt> out;
  std::vector<std::string> lines = split_lines(source);
  std::string text(source);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos &&
      (text.compare(first, 3, "\"\"\"") == 0 || text.compare(first, 3, "'''") == 0)) {
    size_t close = text.find(text.substr(first, 3), first + 3);
    if (close != std::string::npos) {
      Stmt doc;
      doc.kind = Stmt::Docstring;
      Expr e;
      e.kind = Expr::Str;
      e.text = text.substr(first + 3, close - first - 3);
      doc.value = std::make_shared<const Expr>(std::move(e));
      out.push_back(std::move(doc));
    }
  }
  static const std::regex header(R"(^(revision|down_revision|branch_labels|depends_on)\s*(:[^=]*)?=(.*)$)");
  for (size_t i = 0; i < lines.size(); ++i) {
    std::smatch m;
    if (!std::regex_match(lines[i], m, header)) continue;
    std::string rhs = trim(m[3]);
    // A tuple may go on over the next lines.
    for (size_t j = i + 1; j < lines.size() && j < i + 20; ++j) {
      try {
        parse_expression(rhs);
        break;
      } catch (const SyntaxError&) {
        rhs += "\n" + lines[j];
      }
    }
    Stmt a;
    a.kind = Stmt::Assign;
    a.line = a.end_line = static_cast<int>(i + 1);
    Expr target;
    target.kind = Expr::Name;
    target.text = m[1];
    a.targets.push_back(std::make_shared<const Expr>(std::move(target)));
    try {
      a.value = parse_expression(rhs);
    } catch (const SyntaxError&) {
      throw ImportError{a.line, std::string(m[1]) + " cannot be read (" + why.what() + " at line " +
                                    std::to_string(why.line) + ")"};
    }
    out.push_back(std::move(a));
  }
  bool has_revision = std::any_of(out.begin(), out.end(), [](const Stmt& st) {
    return st.kind == Stmt::Assign && st.targets[0]->text == "revision";
  });
  if (!has_revision) throw ImportError{why.line, why.what()};
  return out;
}

}  // namespace

Translation translate_revision(std::string_view python_source, const std::string& source_name) {
  std::vector<Stmt> stmts;
  Translator t(python_source);
  try {
    stmts = parse_module(python_source);
  } catch (const SyntaxError& e) {
    stmts = header_only(python_source, e);
    t.unparsable(e.line, e.what());
  }
  return t.module(stmts, source_name);
}

Translation translate_body_for_test(std::string_view python_body) {
  std::string src(python_body);
  std::vector<Stmt> stmts;
  try {
    stmts = parse_module(src);
  } catch (const SyntaxError& e) {
    throw ImportError{e.line, e.what()};
  }
  Translator t(src);
  Translation tr;
  tr.lua = t.body(stmts, 0);
  tr.manual = t.manual;
  return tr;
}

}  // namespace luamig::importer
