// The rules: one walk over each revision's plan (op records, and the records parsed from its raw SQL), with
// the schema knowledge of the revisions before it. This file holds the walk itself (expanding records, adding
// findings with their severity and silencing), the rules about a revision as a whole, and lint(); the rules
// per record are in rules_tables.cpp (tables, indexes, constraints) and rules_columns.cpp (columns).
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "lint/lint.hpp"
#include "lint/linter.hpp"
#include "lint/silence.hpp"
#include "lint/sql_parse.hpp"
#include "util/json.hpp"

namespace luamig::lint {
namespace detail {

bool truthy(const OpRecord& r, const char* field) { return r.get(field) == "true"; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A type as an op gives it (string, op.text, or a generic type) as SQL text.
std::string type_of(const OpField* f) {
  if (!f) return "";
  if (f->type != OpField::Type::json) return f->text;
  try {
    json::Value j = json::parse(f->text);
    if (j.is_string()) return j.text;
    if (j["sql"].is_string()) return j["sql"].text;
    std::string g = j["generic"].str();
    if (g == "string") return j["length"].is_null() ? "varchar" : "varchar(" + j["length"].text + ")";
    if (g == "numeric")
      return j["precision"].is_null() ? "numeric"
                                      : "numeric(" + j["precision"].text + "," +
                                            (j["scale"].is_null() ? "0" : j["scale"].text) + ")";
    if (g == "timestamp") return j["timezone"].truthy() ? "timestamptz" : "timestamp";
    if (g == "float") return "float8";
    if (g == "binary") return "bytea";
    return g;
  } catch (const std::exception&) {
    return "";
  }
}

const OpField* field(const OpRecord& r, const char* name) {
  auto it = r.fields.find(name);
  return it == r.fields.end() ? nullptr : &it->second;
}

std::string type_from_json(const json::Value& t) {
  if (t.is_string()) return t.text;
  if (t["sql"].is_string()) return t["sql"].text;
  std::string g = t["generic"].str();
  if (g == "string") return t["length"].is_null() ? "varchar" : "varchar(" + t["length"].text + ")";
  if (g == "numeric")
    return t["precision"].is_null() ? "numeric"
                                    : "numeric(" + t["precision"].text + "," +
                                          (t["scale"].is_null() ? "0" : t["scale"].text) + ")";
  if (g == "timestamp") return t["timezone"].truthy() ? "timestamptz" : "timestamp";
  return g;
}

// A column spec without options is exported as a list { name, type }: make it an object.
json::Value column_object(const json::Value& c) {
  if (!c.is_array()) return c;
  json::Value o;
  o.type = json::Value::Type::object;
  if (!c.items.empty()) o.fields["name"] = c.items[0];
  if (c.items.size() > 1) o.fields["type"] = c.items[1];
  return o;
}

const std::set<std::string>& volatile_functions() {
  static const std::set<std::string> fns = {"random",
                                            "gen_random_uuid",
                                            "uuid_generate_v1",
                                            "uuid_generate_v1mc",
                                            "uuid_generate_v4",
                                            "clock_timestamp",
                                            "timeofday",
                                            "nextval",
                                            "txid_current",
                                            "statement_timestamp",
                                            "setseed",
                                            "random_normal",
                                            "gen_random_bytes",
                                            "uuidv4",
                                            "uuidv7"};
  return fns;
}

std::string lua_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void Linter::revision(const RevisionInput& rev, int index) {
  rev_ = &rev;
  index_ = index;
  auto items = expand(rev);
  bool lock_timeout = ctx_.lock_timeout_configured, utc = false, warned_lock = false;
  const Item* first_exclusive = nullptr;
  const Item* first_backfill = nullptr;
  const Item* first_other_ddl = nullptr;
  bool has_ddl = false, autocommit = !rev.transactional;
  for (const auto& it : items) {
    const auto& r = it.rec;
    const std::string& k = r.kind;
    const std::string table = r.get("table");
    const bool existing = !table.empty() && !schema_.created_in(table, index);
    if (it.in_autocommit) autocommit = true;
    if (k == "autocommit_block") continue;
    if (k == "set") {
      std::string name = r.get("name"), value = lower(r.get("value"));
      if (name == "lock_timeout" && value != "0" && !value.empty()) lock_timeout = true;
      if (name == "timezone" && (value == "utc" || value == "etc/utc" || value == "gmt")) utc = true;
      continue;
    }
    const bool ddl = is_ddl(k);
    has_ddl = has_ddl || ddl;
    const bool concurrent_index = (k == "create_index" || k == "drop_index") && truthy(r, "concurrently");
    if (ddl && !concurrent_index && !it.in_autocommit && !first_other_ddl) first_other_ddl = &it;
    if (takes_exclusive(r) && existing && !it.in_autocommit && rev.transactional) {
      if (!first_exclusive) first_exclusive = &it;
      if (!lock_timeout && !warned_lock) {
        warned_lock = true;
        add(it, "require-lock-timeout",
            fmt::format("{} takes a lock on \"{}\" with no lock_timeout in force", describe(k), table),
            fmt::format(
                "-- luamig.lua (for this environment): lock_timeout = \"5s\", lock_retries = 3\n"
                "-- or as the first line of upgrade():\nop.execute(\"SET LOCAL lock_timeout = '5s'\")"),
            table);
      }
    }
    if (k == "dml" && existing && !it.in_autocommit && rev.transactional) {
      std::string verb = r.get("verb");
      if ((verb != "INSERT" || truthy(r, "select")) && !first_backfill) first_backfill = &it;
    }
    check(it, existing, utc);
  }
  // A revision with both: the DDL's lock is held until the backfill commits.
  if (first_exclusive && first_backfill) {
    const auto& b = *first_backfill;
    std::string t = b.rec.get("table");
    add(b, "ddl-with-backfill",
        fmt::format("{} of \"{}\" runs in the same transaction as {} (line {})", b.rec.get("verb"), t,
                    describe(first_exclusive->rec.kind), first_exclusive->line),
        fmt::format(
            "-- revision 1: the schema change only\n-- revision 2, its own file:\ntransactional = false\n"
            "function upgrade()\n  op.execute({})  -- or luamig.backfill(...) in batches\nend",
            lua_quote(b.statement.empty() ? "UPDATE " + t + " SET ..." : b.statement)),
        t);
  }
  if (autocommit && first_other_ddl) {
    const auto& d = *first_other_ddl;
    add(d, "mixed-autocommit-ddl",
        fmt::format("{} runs {} in a revision that also does autocommit work", describe(d.rec.kind),
                    rev.transactional ? "in the revision's transaction" : "without a transaction"),
        "-- move the concurrent index work to a revision of its own:\nfunction upgrade()\n  "
        "op.autocommit_block(function()\n    -- op.create_index(..., { concurrently = true })\n  end)\nend",
        d.rec.get("table"));
  }
  if (has_ddl && (!rev.has_downgrade || rev.downgrade_empty)) {
    Item at;
    at.file = rev.path;
    at.line = downgrade_line_;
    add(at, "missing-downgrade",
        fmt::format("revision {} changes the schema but its downgrade() {}", rev.id,
                    rev.has_downgrade ? "is empty" : "is missing"),
        "function downgrade()\n  -- undo upgrade() in reverse order (op.drop_column, op.drop_index, "
        "...)\nend",
        "");
  }
  if (!rev.incomplete.empty()) {
    Item at;
    at.file = rev.incomplete_file;
    at.line = at.call_line = rev.incomplete_line;
    add(at, "lint-incomplete",
        fmt::format("revision {} stops offline here ({}): the ops after this line were not linted", rev.id,
                    rev.incomplete),
        "-- move the backfill or query to a revision of its own (transactional = false), after the DDL,\n"
        "-- so that the schema changes are linted in full",
        "");
  }
  if (rev.id.size() > 32) {
    Item at;
    at.file = rev.path;
    add(at, "revision-id-too-long",
        fmt::format("revision id '{}' is {} characters long (at most 32)", rev.id, rev.id.size()),
        fmt::format("revision = {}", lua_quote(rev.id.substr(0, 12))), "");
  }
}

bool Linter::is_ddl(const std::string& k) {
  static const std::set<std::string> kinds = {"create_table",
                                              "drop_table",
                                              "rename_table",
                                              "add_column",
                                              "drop_column",
                                              "alter_column",
                                              "rename_column",
                                              "create_index",
                                              "drop_index",
                                              "create_primary_key",
                                              "create_unique_constraint",
                                              "create_foreign_key",
                                              "create_check_constraint",
                                              "create_exclusion_constraint",
                                              "drop_constraint",
                                              "alter_table_other",
                                              "validate_constraint"};
  return kinds.count(k) != 0;
}

bool Linter::takes_exclusive(const OpRecord& r) {
  static const std::set<std::string> kinds = {"drop_table",
                                              "rename_table",
                                              "add_column",
                                              "drop_column",
                                              "alter_column",
                                              "rename_column",
                                              "create_primary_key",
                                              "create_unique_constraint",
                                              "create_foreign_key",
                                              "create_check_constraint",
                                              "create_exclusion_constraint",
                                              "drop_constraint",
                                              "alter_table_other"};
  return kinds.count(r.kind) != 0;
}

std::string Linter::describe(const std::string& k) {
  std::string s = k;
  std::replace(s.begin(), s.end(), '_', ' ');
  return s;
}

std::vector<Item> Linter::expand(const RevisionInput& rev) {
  std::vector<Item> out;
  std::vector<std::string> lines;
  int autocommit_left = 0;
  for (const auto& r : rev.records) {
    bool inside = autocommit_left > 0;
    if (inside) --autocommit_left;
    if (r.kind == "autocommit_block") {
      autocommit_left += std::max(0, std::atoi(r.get("records", "0").c_str()));
      Item it;
      it.rec = r;
      out.push_back(std::move(it));
      continue;
    }
    if (r.kind == "execute" || r.kind == "query") {
      for (const auto& sql : r.sql) {
        auto parsed = parse_sql(sql);
        int shift = long_bracket_shift(r);
        if (!parsed.error.empty()) {
          Item it;
          it.rec = r;
          it.from_sql = true;
          it.file = r.file;
          it.call_line = r.line;
          it.line = r.line + parsed.error_line + shift;
          it.statement = sql;
          add(it, "sql-syntax-error", fmt::format("PostgreSQL's parser rejects the SQL: {}", parsed.error),
              "-- correct the SQL; `luamig upgrade --sql` prints what the revision would run", "");
          continue;
        }
        for (const auto& st : parsed.statements) {
          for (const auto& rec : st.records) {
            Item it;
            it.rec = rec;
            it.from_sql = true;
            it.in_autocommit = inside;
            it.file = r.file;
            it.call_line = r.line;
            it.line = r.line + st.line_offset + shift;
            it.statement = st.text;
            out.push_back(std::move(it));
          }
        }
      }
      continue;
    }
    Item it;
    it.rec = r;
    it.in_autocommit = inside;
    it.file = r.file;
    it.line = it.call_line = r.line;
    it.statement = r.sql.empty() ? "" : r.sql.front();
    out.push_back(std::move(it));
  }
  return out;
}

int Linter::long_bracket_shift(const OpRecord& r) {
  if (!source_lines_ || r.line < 1 || static_cast<size_t>(r.line) > source_lines_->size()) return 0;
  if (r.file != rev_->path) return 0;
  const std::string& text = (*source_lines_)[static_cast<size_t>(r.line - 1)];
  static const std::regex open(R"(\[=*\[\s*$)");
  return std::regex_search(text, open) ? 1 : 0;
}

std::string Linter::size_note(const std::string& table) const {
  double rows = rows_of(table);
  return rows < 0 ? "" : fmt::format(" (~{:.0f} rows)", rows);
}

double Linter::rows_of(const std::string& table) const {
  auto it = ctx_.table_rows.find(table);
  return it == ctx_.table_rows.end() ? -1 : it->second;
}

void Linter::add(const Item& it, const char* rule, std::string message, std::string alternative,
                 const std::string& table, const std::string& column, std::optional<Severity> severity) {
  const RuleInfo* info = find_rule(rule);
  Finding f;
  f.rule = rule;
  f.severity = severity.value_or(info->severity);
  if (auto o = opts_.severity.find(rule); o != opts_.severity.end())
    f.severity = o->second;
  else if (!table.empty() && rows_of(table) >= opts_.large_table_rows)
    f.severity = Severity::error;
  f.revision = rev_ ? rev_->id : "";
  f.file = it.file;
  f.line = it.line;
  f.message = std::move(message) + size_note(table);
  f.effect = info->effect;
  f.statement = it.statement;
  f.alternative = std::move(alternative);
  f.table = table;
  f.column = column;
  f.from_sql = it.from_sql;
  if (opts_.disable.count(rule)) f.silenced = "config: disabled in luamig.lua";
  call_lines_.push_back(it.call_line);
  findings_.push_back(std::move(f));
}

}  // namespace detail

namespace {
using detail::Linter;

int downgrade_line(const std::vector<std::string>& lines) {
  for (size_t i = 0; i < lines.size(); ++i)
    if (lines[i].find("function downgrade") != std::string::npos) return static_cast<int>(i + 1);
  return 0;
}
}  // namespace

std::vector<Finding> lint(const std::vector<RevisionInput>& revisions, const Context& context,
                          const Options& options,
                          const std::function<std::string(const std::string&)>& source_of) {
  Linter linter(context, options);
  std::map<std::string, std::vector<std::string>> sources;
  auto lines_of = [&](const std::string& file) -> const std::vector<std::string>& {
    auto it = sources.find(file);
    if (it != sources.end()) return it->second;
    return sources[file] =
               source_of && !file.empty() ? split_lines(source_of(file)) : std::vector<std::string>{};
  };
  for (size_t i = 0; i < revisions.size(); ++i) {
    const auto& rev = revisions[i];
    size_t before = linter.findings().size();
    const auto& lines = lines_of(rev.path);
    linter.source_lines_ = &lines;
    linter.set_downgrade_line(downgrade_line(lines));
    linter.revision(rev, static_cast<int>(i));
    if (!rev.report) {
      linter.findings().resize(before);
      linter.call_lines_.resize(before);
    }
  }
  if (context.heads.size() > 1) {
    Finding f;
    f.rule = "multiple-heads";
    f.severity = options.severity.count(f.rule) ? options.severity.at(f.rule) : Severity::error;
    std::string list;
    for (const auto& h : context.heads) list += (list.empty() ? "" : ", ") + h;
    f.message = fmt::format("the revision graph has {} heads: {}", context.heads.size(), list);
    f.effect = find_rule(f.rule)->effect;
    f.alternative = "luamig merge heads -m \"merge heads\"";
    if (options.disable.count(f.rule)) f.silenced = "config: disabled in luamig.lua";
    linter.findings().push_back(f);
    linter.call_lines_.push_back(0);
  }
  auto& out = linter.findings();
  for (size_t i = 0; i < out.size(); ++i) {
    auto& f = out[i];
    if (!f.silenced.empty() || f.file.empty()) continue;
    const auto& lines = lines_of(f.file);
    auto reason = allowed_by_comment(lines, f.line, f.rule);
    if (!reason && linter.call_lines_[i] && linter.call_lines_[i] != f.line)
      reason = allowed_by_comment(lines, linter.call_lines_[i], f.rule);
    if (reason) f.silenced = "comment: " + (reason->empty() ? std::string("allowed") : *reason);
  }
  if (options.only)
    out.erase(
        std::remove_if(out.begin(), out.end(), [&](const Finding& f) { return f.severity < *options.only; }),
        out.end());
  return std::move(out);
}
}  // namespace luamig::lint
