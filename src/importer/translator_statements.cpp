// The statement walk inside upgrade()/downgrade() (and at module level for assignments): each Python
// statement becomes Lua text, or, when it raises Unsupported, a manual part (the Python kept as a comment and
// an error() call). Assignments of pure values become substitutions, imports record aliases, `if` on the
// dialect becomes Lua's if, `with op.batch_alter_table` and autocommit_block become their op functions.
#include <algorithm>
#include <string>

#include "importer/lua_text.hpp"
#include "importer/py_tokenizer.hpp"
#include "importer/translator_impl.hpp"

namespace luamig::importer::detail {

std::string Translator::assign(const Stmt& s, const std::string& ind) {
  (void)ind;
  if (s.targets.size() != 1 || s.targets[0]->kind != Expr::Name)
    throw Unsupported{"assignment to several names"};
  const std::string& name = s.targets[0]->text;
  const Expr& v = *s.value;
  auto& vars = in_module_ ? module_vars_ : locals_;
  binds_.erase(name);
  tables_.erase(name);
  vars.erase(name);
  if (is_bind(v)) {
    binds_.insert(name);
    return "";
  }
  if (v.kind == Expr::Call) {
    std::string f = canonical(*v.base);
    if (f == "sa.table" || f == "sa.Table") {
      if (f == "sa.Table") throw Unsupported{"sa.Table() with MetaData"};
      tables_[name] = table_of(v);
      return "";
    }
  }
  if (pure(v)) {
    vars[name] = s.value;
    return "";
  }
  throw Unsupported{"assignment of " + describe(v) + " to " + name};
}

std::vector<std::string> Translator::record_imports(const Stmt& s) {
  std::vector<std::string> foreign;
  std::string text;
  for (int l = s.line; l <= s.end_line && l <= static_cast<int>(lines_.size()); ++l)
    text += trim(lines_[l - 1]) + "\n";
  std::vector<Token> toks;
  try {
    toks = tokenize(text);
  } catch (const SyntaxError&) {
    return {"an import"};
  }
  std::vector<std::string> words;
  for (const auto& t : toks)
    if (t.kind == Tok::Name || (t.kind == Tok::Op && (t.text == "." || t.text == ",")))
      words.push_back(t.text);
  // Join dotted names: "sqlalchemy . dialects" -> "sqlalchemy.dialects".
  std::vector<std::string> w;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i] == "." && !w.empty() && i + 1 < words.size()) {
      w.back() += "." + words[++i];
    } else {
      w.push_back(words[i]);
    }
  }
  auto bind = [&](const std::string& local, const std::string& qualified) {
    aliases_[local] = qualified;
    bool known = starts_with(qualified, "sqlalchemy") || starts_with(qualified, "alembic") ||
                 starts_with(qualified, "sqlmodel") || starts_with(qualified, "typing") ||
                 starts_with(qualified, "__future__");
    if (!known) {
      imported_.insert(local);
      foreign.push_back(qualified);
    }
  };
  if (!w.empty() && w[0] == "import") {
    for (size_t i = 1; i < w.size(); ++i) {
      if (w[i] == ",") continue;
      std::string mod = w[i];
      if (i + 2 < w.size() && w[i + 1] == "as") {
        bind(w[i + 2], mod);
        i += 2;
      } else {
        bind(mod.substr(0, mod.find('.')), mod.substr(0, mod.find('.')));
      }
    }
  } else if (w.size() >= 4 && w[0] == "from" && w[2] == "import") {
    std::string mod = w[1];
    for (size_t i = 3; i < w.size(); ++i) {
      if (w[i] == ",") continue;
      std::string name = w[i];
      if (i + 2 < w.size() && w[i + 1] == "as") {
        bind(w[i + 2], mod + "." + name);
        i += 2;
      } else {
        bind(name, mod + "." + name);
      }
    }
  }
  return foreign;
}

bool Translator::is_dialect_name(const Expr& e0) {
  const Expr& e = resolve(e0);
  if (e.kind != Expr::Attr || e.text != "name" || e.base->kind != Expr::Attr || e.base->text != "dialect")
    return false;
  const Expr& owner = resolve(*e.base->base);
  if (is_bind(owner)) return true;
  return owner.kind == Expr::Call && canonical(*owner.base) == "op.get_context";
}

std::string Translator::dialect_condition(const Expr& e) {
  if (e.kind == Expr::Binary && (e.text == "==" || e.text == "!=")) {
    const Expr* name = is_dialect_name(*e.base)    ? e.right.get()
                       : is_dialect_name(*e.right) ? e.base.get()
                                                   : nullptr;
    if (!name) throw Unsupported{"if statement"};
    return "op.dialect " + std::string(e.text == "==" ? "==" : "~=") + " " + lua_quote(string_of(*name));
  }
  if (e.kind == Expr::Binary && (e.text == "and" || e.text == "or"))
    // Built piecewise: g++ 12 warns (-Wrestrict, a false positive) on "(" + std::string temporaries.
    return std::string("(").append(dialect_condition(*e.base)) + " " + e.text + " " +
           dialect_condition(*e.right) + ")";
  if (e.kind == Expr::Unary && e.text == "not") return "not (" + dialect_condition(*e.base) + ")";
  throw Unsupported{"if statement"};
}

std::string Translator::if_statement(const Stmt& s, const std::string& ind, int indent) {
  std::vector<std::string> conditions;
  for (const auto& [cond, body_stmts] : s.branches)
    conditions.push_back(cond ? dialect_condition(*cond) : "");
  std::string out;
  for (size_t i = 0; i < s.branches.size(); ++i) {
    if (i == 0)
      out += ind + "if " + conditions[i] + " then\n";
    else if (!conditions[i].empty())
      out += ind + "elseif " + conditions[i] + " then\n";
    else
      out += ind + "else\n";
    out += body(s.branches[i].second, indent + 1);
  }
  return out + ind + "end\n";
}

std::string Translator::with(const Stmt& s, const std::string& ind, int indent) {
  const Expr& ctx = *s.value;
  if (ctx.kind == Expr::Call && canonical(*ctx.base) == "op.batch_alter_table") {
    Call c{ctx, "op.batch_alter_table", {}};
    std::string table = string_of(*c.get(0, "table_name"));
    std::string o = options({{"schema", opt_str(c.kw("schema"))}});
    for (const char* k : {"recreate", "partial_reordering", "copy_from", "table_args", "table_kwargs",
                          "reflect_args", "reflect_kwargs", "naming_convention"})
      c.kw(k);
    if (const Expr* r = ctx.kwarg("recreate");
        r && resolve(*r).kind == Expr::Str && string_of(*r) == "always")
      throw Unsupported{"op.batch_alter_table(recreate=\"always\")"};
    c.done(1);
    std::string var = s.name.empty() ? "batch_op" : s.name;
    std::string saved_var = batch_var_, saved_table = batch_table_, saved_schema = batch_schema_;
    batch_var_ = var;
    batch_table_ = table;
    batch_schema_ = o;
    std::string inner = body(s.body, indent + 1);
    batch_var_ = saved_var;
    batch_table_ = saved_table;
    batch_schema_ = saved_schema;
    return ind + "op.batch_alter_table(" + lua_quote(table) + ", function(" + var + ")\n" + inner + ind +
           "end" + (o.empty() ? "" : ", " + o) + ")\n";
  }
  if (ctx.kind == Expr::Call && ctx.base->kind == Expr::Attr && ctx.base->text == "autocommit_block" &&
      ctx.base->base->kind == Expr::Call && canonical(*ctx.base->base->base) == "op.get_context" &&
      s.name.empty()) {
    std::string inner = body(s.body, indent + 1);
    return ind + "op.autocommit_block(function()\n" + inner + ind + "end)\n";
  }
  throw Unsupported{"with " + describe(ctx)};
}

std::string Translator::manual_part(const Stmt& s, const std::string& what, const std::string& ind) {
  ManualPart m{s.line, s.end_line, what};
  manual.push_back(m);
  size_t common = std::string::npos;
  for (int l = s.line; l <= s.end_line && l <= static_cast<int>(lines_.size()); ++l) {
    const std::string& text = lines_[l - 1];
    size_t first = text.find_first_not_of(" \t");
    if (first != std::string::npos) common = std::min(common, first);
  }
  if (common == std::string::npos) common = 0;
  std::string out =
      ind +
      fmt::format("-- manual port needed (Python line{} {}):\n", s.end_line > s.line ? "s" : "",
                  s.end_line > s.line ? fmt::format("{}-{}", s.line, s.end_line) : std::to_string(s.line));
  for (int l = s.line; l <= s.end_line && l <= static_cast<int>(lines_.size()); ++l) {
    std::string text = lines_[l - 1].size() > common ? lines_[l - 1].substr(common) : "";
    out += ind + comment_line("-- |", text) + "\n";
  }
  return out + ind + "error(" +
         lua_quote("manual port needed: " + what + " (line " + std::to_string(s.line) + ")") + ")\n";
}

std::string Translator::statement(const Stmt& s, int indent) {
  std::string ind(static_cast<size_t>(indent) * 2, ' ');
  try {
    switch (s.kind) {
      case Stmt::Pass:
        return "";
      case Stmt::Import: {
        auto foreign = record_imports(s);
        if (!foreign.empty()) throw Unsupported{"import of " + foreign[0]};
        return "";
      }
      case Stmt::Docstring: {
        std::string out;
        for (const auto& l : split_lines(trim(s.value->text)))
          out += ind + comment_line("--", trim(l)) + "\n";
        return out;
      }
      case Stmt::Assign:
        return assign(s, ind);
      case Stmt::ExprStmt:
        return call_statement(*s.value, ind);
      case Stmt::With:
        return with(s, ind, indent);
      case Stmt::Def:
        throw Unsupported{"nested function " + s.name + "()"};
      case Stmt::If:
        return if_statement(s, ind, indent);
      case Stmt::Other:
        throw Unsupported{s.keyword.empty() ? "a statement outside the Python the importer reads (augmented "
                                              "assignment, starred target, ...)"
                                            : s.keyword + " statement"};
    }
  } catch (const Unsupported& u) {
    return manual_part(s, u.what, ind);
  }
  return "";
}

std::string Translator::body(const std::vector<Stmt>& stmts, int indent) {
  std::string out;
  in_module_ = false;
  for (size_t i = 0; i < stmts.size(); ++i) {
    Stmt s = stmts[i];
    // if/elif/else, try/except/finally: one manual part.
    while (s.kind == Stmt::Other && i + 1 < stmts.size() && stmts[i + 1].kind == Stmt::Other &&
           (stmts[i + 1].keyword == "elif" || stmts[i + 1].keyword == "else" ||
            stmts[i + 1].keyword == "except" || stmts[i + 1].keyword == "finally"))
      s.end_line = stmts[++i].end_line;
    out += statement(s, indent);
  }
  return out;
}

}  // namespace luamig::importer::detail
