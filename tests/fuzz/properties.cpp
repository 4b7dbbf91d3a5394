#include "fuzz/properties.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <lua.hpp>
#include <optional>
#include <set>

#include "config/url.hpp"
#include "db/statement_shape.hpp"
#include "dialect/inline_params.hpp"
#include "dialect/postgresql.hpp"
#include "dialect/sqlite.hpp"
#include "graph/revision_map.hpp"
#include "graph/target.hpp"
#include "importer/py_tokenizer.hpp"
#include "luahost/embedded.hpp"
#include "scripts/header_scan.hpp"
#include "util/duration.hpp"
#include "util/error.hpp"

namespace luamig::fuzz {
namespace {

[[noreturn]] void violated(std::string_view what, std::string_view input) {
  throw PropertyViolation(fmt::format("{} (input: {:?})", what, std::string(input)));
}

size_t line_count(std::string_view s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')) + 1;
}

// ---- URLs

// The password a URL or conninfo string carries as parse_url reads it, or nullopt when it is rejected.
std::optional<std::string> password_of(std::string_view text) {
  try {
    return config::parse_url(text).password;
  } catch (const ConfigError&) {
    return std::nullopt;
  }
}

// ---- Durations: a reference reading of "<digits>[.<digits>]<spaces><unit>" (no signs, exponents or hex).
struct Plain {
  double number;
  std::string unit;  // lower case
};
std::optional<Plain> plain_number(std::string_view s) {
  size_t b = 0, e = s.size();
  auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
  };
  while (b < e && space(s[b])) ++b;
  while (e > b && space(s[e - 1])) --e;
  s = s.substr(b, e - b);
  size_t i = 0;
  double v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i < 12) v = v * 10 + (s[i++] - '0');
  if (i == 0 || (i < s.size() && s[i] >= '0' && s[i] <= '9')) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    double scale = 0.1;
    size_t digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && digits < 3) {
      v += (s[i++] - '0') * scale;
      scale /= 10;
      ++digits;
    }
    if (digits == 0 || (i < s.size() && s[i] >= '0' && s[i] <= '9')) return std::nullopt;
  }
  while (i < s.size() && space(s[i])) ++i;
  std::string unit(s.substr(i));
  for (char c : unit)
    if (!std::isalpha(static_cast<unsigned char>(c))) return std::nullopt;
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return Plain{v, unit};
}

// ---- The graph targets are resolved against: a <- b <- c, then two branches from c (d1 labelled "feat",
// and e1), merged by m.
const graph::RevisionMap& sample_map() {
  static const graph::RevisionMap map = [] {
    auto rev = [](std::string id, std::vector<std::string> down, std::vector<std::string> labels = {}) {
      graph::Revision r;
      r.id = std::move(id);
      r.down_revisions = std::move(down);
      r.branch_labels = std::move(labels);
      return r;
    };
    return graph::RevisionMap({rev("aaaa1111", {}), rev("bbbb2222", {"aaaa1111"}),
                               rev("cccc3333", {"bbbb2222"}), rev("dddd4444", {"cccc3333"}, {"feat"}),
                               rev("eeee5555", {"cccc3333"}), rev("ffff6666", {"dddd4444", "eeee5555"})});
  }();
  return map;
}

// ---- lua/sqlite_ddl.lua in a bare Lua state, loaded once.
constexpr const char* kSqliteDdlCheck = R"LUA(
local ddl, s = ...
local expected = { "unterminated quoted text at offset ", "unbalanced parentheses in: ",
  "not a table definition with columns: ", "no column definitions in: ", "cannot read a column definition: " }
local function own_error(e)
  if type(e) ~= "string" then return false end
  for _, prefix in ipairs(expected) do
    if e:sub(1, #prefix) == prefix then return true end
  end
  return false
end
local ok, toks = pcall(ddl.tokenize, s)
if not ok then
  if own_error(toks) then return nil end
  return "tokenize failed with a foreign error: " .. tostring(toks)
end
local out = {}
for i, t in ipairs(toks) do out[i] = t.s end
if table.concat(out) ~= s then return "the tokens do not give the text back" end
local ok2, info = pcall(ddl.parse_table, s)
if not ok2 then
  if own_error(info) then return nil end
  return "parse_table failed with a foreign error: " .. tostring(info)
end
for _, c in ipairs(info.columns) do
  if type(c.name) ~= "string" then return "a column without a name" end
  local ok3, e3 = pcall(ddl.remove_default, c.constraints)
  if not ok3 and not own_error(e3) then return "remove_default: " .. tostring(e3) end
  local ok4, e4 = pcall(ddl.remove_not_null, c.constraints)
  if not ok4 and not own_error(e4) then return "remove_not_null: " .. tostring(e4) end
end
return nil
)LUA";

struct DdlState {
  lua_State* L = nullptr;
  int module_ref = LUA_NOREF, check_ref = LUA_NOREF;
  DdlState() {
    L = luaL_newstate();
    luaL_openlibs(L);
    const auto* f = embedded::find("lua/sqlite_ddl.lua");
    if (f == nullptr) throw std::runtime_error("lua/sqlite_ddl.lua is not embedded");
    if (luaL_loadbuffer(L, f->content.data(), f->content.size(), "=lua/sqlite_ddl.lua") ||
        lua_pcall(L, 0, 1, 0))
      throw std::runtime_error(lua_tostring(L, -1));
    module_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    if (luaL_loadbuffer(L, kSqliteDdlCheck, std::strlen(kSqliteDdlCheck), "=sqlite_ddl_check"))
      throw std::runtime_error(lua_tostring(L, -1));
    check_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  ~DdlState() { lua_close(L); }
  DdlState(const DdlState&) = delete;
  DdlState& operator=(const DdlState&) = delete;
};

// ---- Seeds

std::vector<std::string> url_seeds() {
  return {"postgresql://app@db/app",
          "postgres://smart:p%40ss%2Fw0rd@10.0.0.5:6543/my%20db?sslmode=require",
          "postgresql://u:pw6@[::1]:5433/db",
          "postgresql:///app?host=/var/run/postgresql&port=5499&user=me&password=qpw1",
          "postgresql://u:p@ss@h/db",
          "host=db.internal port=5433 dbname=app user=svc password='two words'",
          "password=secret host=x",
          "sqlite:///rel.db",
          "sqlite:////abs/path.db",
          "sqlite://:memory:",
          "mysql://root:hunter2@localhost/db",
          ""};
}

std::vector<std::string> header_seeds() {
  return {
      "-- add phone_number to users\n--\n-- Revision ID: 3f2a1c9d8e7b\n-- Revises: a1b2c3d4e5f6\n"
      "-- Create Date: 2026-11-21 10:00:00\n\nrevision = \"3f2a1c9d8e7b\"\ndown_revision = \"a1b2c3d4e5f6\"\n"
      "branch_labels = nil\ndepends_on = nil\n\nfunction upgrade()\nend\n\nfunction downgrade()\nend\n",
      "revision = 'a1'\ndown_revision = nil\n",
      "revision = \"m1\"\ndown_revision = { \"a1\", 'b2' }\nbranch_labels = \"feat\"\n",
      "revision = [[long]]\ndown_revision = {}\ndepends_on = { [[x1]] }\n",
      "revision = \"s1\";\n",
      "local x = 1\nrevision = compute()\n",
      "revision = 42\n"};
}

std::vector<std::string> target_seeds() {
  return {"head",
          "heads",
          "base",
          "aaaa",
          "cccc3333",
          "feat@head",
          "feat@heads",
          "feat@+1",
          "feat@-1",
          "+1",
          "-2",
          "head-1",
          "base+2",
          "aaaa1111+3",
          "ffff6666",
          "feat@dddd4",
          "x-99999999999999999999",
          "dddd4444-1",
          "@",
          "+",
          "-"};
}

std::vector<std::string> sql_seeds() {
  return {"SELECT $1, $2, $3",
          "SELECT '$1', \"$1\", $1",
          "SELECT 'it''s $1', $1",
          "SELECT E'\\'$1', $2",
          "SELECT $$ $1 $$, $tag$ $2 $tag$, $3",
          "SELECT 1 -- $4\n, $1",
          "SELECT /* $9 /* nested $8 */ */ $2",
          "WITH x AS (SELECT 1) SELECT * FROM x WHERE a = $1",
          "(SELECT 1) FOR UPDATE",
          "INSERT INTO t VALUES ($1) RETURNING id",
          "BEGIN",
          "x$1 = $1::int",
          "U&'\\0041' || $1",
          "SELECT 'open"};
}

std::vector<std::string> duration_seeds() {
  return {"250ms", "60s",     "10min", "2h",  "1.5s", "0",   " 7 ",   "3 hours", "512MiB", "64MB",
          "1GiB",  "1048576", "1e3",   "-1s", "nan",  "inf", "0x10s", "s",       "",       "999999999999h"};
}

std::vector<std::string> ddl_seeds() {
  return {
      "CREATE TABLE \"a(b\" (\"x(\" INTEGER DEFAULT 0.00001, [y z] TEXT DEFAULT 'it''s', `q``r` BLOB "
      "DEFAULT X'00ff')",
      "CREATE TABLE t (a INTEGER NOT NULL DEFAULT (1, 2), b VARCHAR(10) CHECK (b <> ')'), CONSTRAINT \"c k\" "
      "UNIQUE (a), CHECK (a > 0)) WITHOUT ROWID",
      "CREATE TABLE t (a INT NOT NULL ON CONFLICT REPLACE DEFAULT -1, b TEXT COLLATE NOCASE)",
      "CREATE TABLE t AS SELECT 1",
      "SELECT -1e10, .5, 0x1F, 1e+3, $1, ?2, :n, @m, a->>'$.b', a||b, a<>b, a!=b -- tail",
      "/* unterminated comment is the rest",
      "CREATE TABLE x (\"open",
      "名前 é"};
}

std::vector<std::string> py_seeds() {
  return {
      "\"\"\"add users\n\nRevision ID: abc\n\"\"\"\nfrom alembic import op\nimport sqlalchemy as sa\n\n"
      "revision = 'abc'\ndown_revision = None\n\n\ndef upgrade():\n    op.create_table(\n        'users',\n"
      "        sa.Column('id', sa.Integer(), primary_key=True),  # type: ignore\n    )\n\n\ndef "
      "downgrade():\n"
      "    op.drop_table('users')\n",
      "x = r'a\\b' + b\"c\" + u'd' + f'{e}'\n",
      "if a:\n\tb = 1\n  else:\n",
      "s = '''open",
      "x = (1,\n     2)\\\n  + 3\n",
      "def f():\n    pass\n  oops\n"};
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

void check_url(std::string_view input) {
  const std::string masked_input = config::mask_passwords(input);
  config::DatabaseUrl url;
  try {
    url = config::parse_url(input);
  } catch (const ConfigError& e) {
    if (masked_input != input && std::string_view(e.what()).find(input) != std::string_view::npos)
      violated("an error message shows the unmasked URL", input);
    return;
  }
  const std::string masked = url.masked();
  if (url.password.empty()) return;
  // Re-reading the masked text finds no password, "***", or "***" followed by text that was never part of the
  // password (a malformed conninfo value such as password='x'tail): never the password or a piece of it.
  auto again = password_of(masked);
  if (!again || again->empty() || *again == "***") return;
  std::string_view rest(*again);
  if (rest.substr(0, 3) == "***") rest.remove_prefix(3);
  if (*again == url.password || (rest.size() >= 2 && url.password.find(rest) != std::string::npos))
    violated(fmt::format("the masked URL {:?} still carries the password {:?}", masked, *again), input);
  if (url.password.size() >= 3 && masked.find(url.password) != std::string::npos)
    violated(fmt::format("the masked URL {:?} shows the password", masked), input);
}

std::string format_header(const HeaderSpec& spec) {
  auto lit = [&](const std::string& s) {
    if (spec.quote == '[') return "[[" + s + "]]";
    return std::string(1, spec.quote) + s + std::string(1, spec.quote);
  };
  auto list = [&](const std::vector<std::string>& v, bool as_list) {
    if (v.empty()) return std::string("nil");
    if (v.size() == 1 && !as_list) return lit(v[0]);
    std::string r = "{ ";
    for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + lit(v[i]);
    return r + " }";
  };
  std::string text = "-- " + spec.message + "\n--\n-- Revision ID: " + spec.revision + "\n\n";
  text += "revision = " + lit(spec.revision) + "\n";
  text += "down_revision = " + list(spec.down_revisions, spec.down_as_list) + "\n";
  text += "branch_labels = " + list(spec.branch_labels, false) + "\n";
  text += "depends_on = " + list(spec.depends_on, true) + "\n\n";
  text += "function upgrade()\nend\n\nfunction downgrade()\nend\n";
  return text;
}

void check_header_round_trip(const HeaderSpec& spec) {
  const std::string text = format_header(spec);
  auto h = scripts::scan_header(text);
  // Long brackets are left to evaluation (the loader runs the file): only a complete scan must be right.
  if (!h.complete && spec.quote == '[') return;
  if (!h.complete) violated("a literal header is not read as complete", text);
  if (!h.revision || *h.revision != spec.revision) violated("revision does not read back", text);
  if (h.revision_line != 5) violated("revision_line is not the line of the assignment", text);
  if (h.down_revisions != spec.down_revisions) violated("down_revision does not read back", text);
  if (h.branch_labels != spec.branch_labels) violated("branch_labels does not read back", text);
  if (h.depends_on != spec.depends_on) violated("depends_on does not read back", text);
  if (h.message != spec.message) violated("the message does not read back", text);
  if (!h.has_upgrade || !h.has_downgrade) violated("upgrade/downgrade not seen", text);
}

void check_header(std::string_view input) {
  auto h = scripts::scan_header(input);
  if (h.revision && h.revision_line < 1) violated("a revision without its line", input);
  if (h.revision_line > 0 && static_cast<size_t>(h.revision_line) > line_count(input))
    violated("revision_line past the end of the text", input);
  if (h.message.find('\n') != std::string::npos) violated("a message spanning lines", input);
}

void check_target(std::string_view input) {
  // parse_relative against a reference: the last sign, followed by nothing but (at least one) digit.
  std::optional<std::pair<std::string_view, long>> expected;
  bool expect_too_large = false;
  if (size_t sign = input.find_last_of("+-"); sign != std::string_view::npos && sign + 1 < input.size()) {
    std::string_view digits = input.substr(sign + 1);
    if (std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      __int128 n = 0;
      for (char c : digits) {
        n = n * 10 + (c - '0');
        if (n > LONG_MAX) break;
      }
      if (n > LONG_MAX)
        expect_too_large = true;
      else
        expected = std::make_pair(input.substr(0, sign),
                                  input[sign] == '-' ? -static_cast<long>(n) : static_cast<long>(n));
    }
  }
  try {
    auto rel = graph::parse_relative(input);
    if (expect_too_large) violated("parse_relative accepted a number that does not fit", input);
    if (rel.has_value() != expected.has_value())
      violated("parse_relative disagrees with the reference", input);
    if (rel && (rel->base != expected->first || rel->steps != expected->second))
      violated("parse_relative read another base or step count", input);
  } catch (const graph::GraphError&) {
    if (!expect_too_large) violated("parse_relative threw on a well-formed or foreign text", input);
  }
  const auto& map = sample_map();
  for (const std::set<std::string>& current : {std::set<std::string>{}, std::set<std::string>{"bbbb2222"},
                                               std::set<std::string>{"dddd4444", "eeee5555"}}) {
    try {
      for (const auto& id : graph::resolve_target(map, input, current))
        if (map.find(id) == nullptr) violated(fmt::format("resolved to {:?}, not in the graph", id), input);
    } catch (const graph::GraphError&) {
    }
  }
}

void check_inline_params(std::string_view input) {
  static const dialect::PostgreSQL pg;
  static const dialect::SQLite sqlite;
  static const std::vector<Param> params{"it's", std::nullopt, "$1 \\ $2", "x"};
  const std::string sql(input);
  const auto shape = db::statement_shape(input);
  bool threw = false, zero = false;
  dialect::InlinedSql out;
  try {
    out = dialect::inline_params(pg, sql, params);
  } catch (const std::invalid_argument& e) {
    threw = true;
    zero = std::string_view(e.what()).find("uses $0") != std::string_view::npos;  // there is no $0
  }
  if (threw != (shape.max_placeholder > params.size()) && !zero)
    violated(fmt::format("inline_params and statement_shape disagree on the placeholders (max ${})",
                         shape.max_placeholder),
             input);
  if (!threw && db::statement_shape(out.text).max_placeholder != 0)
    violated(fmt::format("a placeholder is left after inlining: {:?}", out.text), input);
  try {
    if (dialect::inline_params(pg, sql, {}).text != sql)
      violated("without parameters the text changed", input);
  } catch (const std::invalid_argument&) {
  }
  try {
    (void)dialect::inline_params(sqlite, sql, params);
    (void)dialect::script_statement(pg, sql, threw ? std::vector<Param>{} : params);
  } catch (const std::invalid_argument&) {
  }
}

void check_duration(std::string_view input) {
  auto plain = plain_number(input);
  std::optional<std::chrono::milliseconds> got;
  try {
    got = parse_duration(input, "t");
  } catch (const ConfigError&) {
  }
  if (plain) {
    const std::string& u = plain->unit;
    std::optional<double> ms;
    if (u.empty() || u == "s" || u == "sec" || u == "secs" || u == "second" || u == "seconds")
      ms = plain->number * 1000;
    else if (u == "ms")
      ms = plain->number;
    else if (u == "min" || u == "m" || u == "mins" || u == "minute" || u == "minutes")
      ms = plain->number * 60000;
    else if (u == "h" || u == "hour" || u == "hours")
      ms = plain->number * 3600000;
    if (ms && *ms > 1e12) ms.reset();  // "too long": beyond what a clock deadline can hold
    if (ms.has_value() != got.has_value())
      violated("parse_duration disagrees with the reference on accepting", input);
    if (ms && std::llabs(got->count() - static_cast<long long>(*ms)) > 1)
      violated(fmt::format("parse_duration read {} ms, the reference {}", got->count(), *ms), input);
  }
  if (got && got->count() < 0) violated("a negative duration", input);
  if (got) (void)format_duration(*got);
  std::optional<size_t> size;
  try {
    size = parse_size(input, "t");
  } catch (const ConfigError&) {
  }
  if (plain) {
    const std::string& u = plain->unit;
    std::optional<double> mult;
    if (u.empty() || u == "b")
      mult = 1;
    else if (u == "k" || u == "kb" || u == "kib")
      mult = 1024.0;
    else if (u == "m" || u == "mb" || u == "mib")
      mult = 1024.0 * 1024;
    else if (u == "g" || u == "gb" || u == "gib")
      mult = 1024.0 * 1024 * 1024;
    if (mult && plain->number * *mult > 1e18) mult.reset();  // documented: "too large"
    if (mult.has_value() != size.has_value())
      violated("parse_size disagrees with the reference on accepting", input);
    if (mult && static_cast<double>(*size) != static_cast<double>(static_cast<size_t>(plain->number * *mult)))
      violated("parse_size read another size than the reference", input);
  }
}

void check_statement_shape(std::string_view input) {
  auto same = [](const db::StatementShape& a, const db::StatementShape& b) {
    return a.cursor_allowed == b.cursor_allowed && a.transaction_control == b.transaction_control &&
           a.max_placeholder == b.max_placeholder;
  };
  const auto shape = db::statement_shape(input);
  const std::string text(input);
  if (!same(shape, db::statement_shape("/* c */ " + text)))
    violated("a leading comment changed the shape", input);
  if (!same(shape, db::statement_shape("-- c\n" + text)))
    violated("a leading line comment changed the shape", input);
  if (!same(shape, db::statement_shape(text + "\n"))) violated("a trailing newline changed the shape", input);
}

void check_sqlite_ddl(std::string_view input) {
  static DdlState state;
  lua_State* L = state.L;
  lua_rawgeti(L, LUA_REGISTRYINDEX, state.check_ref);
  lua_rawgeti(L, LUA_REGISTRYINDEX, state.module_ref);
  lua_pushlstring(L, input.data(), input.size());
  if (lua_pcall(L, 2, 1, 0) != 0) {
    std::string err = lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object)";
    lua_settop(L, 0);
    violated("the check itself failed: " + err, input);
  }
  if (!lua_isnil(L, -1)) {
    std::string err = lua_tostring(L, -1);
    lua_settop(L, 0);
    violated(err, input);
  }
  lua_settop(L, 0);
  lua_gc(L, LUA_GCSTEP, 0);
}

void check_py_tokenizer(std::string_view input) {
  const size_t lines = line_count(input);
  std::vector<importer::Token> toks;
  try {
    toks = importer::tokenize(input);
  } catch (const importer::SyntaxError& e) {
    if (e.line < 1 || static_cast<size_t>(e.line) > lines + 1)
      violated(fmt::format("a syntax error on line {} of {}", e.line, lines), input);
    return;
  }
  if (toks.empty() || toks.back().kind != importer::Tok::End)
    violated("the tokens do not end with End", input);
  long depth = 0;
  int last_line = 0;
  for (const auto& t : toks) {
    if (t.kind == importer::Tok::Indent) ++depth;
    if (t.kind == importer::Tok::Dedent && --depth < 0) violated("a Dedent without its Indent", input);
    if (t.line < last_line) violated("a token line goes back", input);
    if (t.line < 1 || t.end_line < t.line || static_cast<size_t>(t.end_line) > lines + 1)
      violated(fmt::format("a token on lines {}..{} of {}", t.line, t.end_line, lines), input);
    if (t.kind == importer::Tok::Name && input.find(t.text) == std::string_view::npos)
      violated("a Name that is not in the text", input);
    last_line = t.line;
  }
  if (depth != 0) violated("Indents and Dedents do not balance", input);
}

const std::vector<Target>& targets() {
  static const std::vector<Target> all{
      {"url", check_url, url_seeds, ":/@?&=%[]' \\\"\t\npostgresqlitepassword"},
      {"header", check_header, header_seeds,
       "=\"'[]{},-\n;\\ revisiondown_nilbranch_labelsdepends_onfunction"},
      {"target", check_target, target_seeds, "+-@0123456789abcdefheadsbase"},
      {"inline_params", check_inline_params, sql_seeds, "$'\"\\-/*\nE&U0123456789 "},
      {"duration", check_duration, duration_seeds, "0123456789. msinhMiBGKxe+-\t"},
      {"statement_shape", check_statement_shape, sql_seeds, "$'\"\\-/*\n();EUselctwhupdaorvWITHFOR "},
      {"sqlite_ddl", check_sqlite_ddl, ddl_seeds, "'\"`[]()-/*,\nX0123456789.e+CREATETABLENOTNULLDEFAULT "},
      {"py_tokenizer", check_py_tokenizer, py_seeds, "'\"\\#()[]{}:\n\t rbuf=.0123456789"},
  };
  return all;
}

}  // namespace luamig::fuzz
