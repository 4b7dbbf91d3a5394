#include "lint/sql_parse.hpp"

#include <fmt/format.h>
#include <pg_query.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>

#include "util/json.hpp"

namespace luamig::lint {
namespace {
using luahost::OpField;
using luahost::OpRecord;

OpField str_field(std::string s) { return {OpField::Type::string, std::move(s)}; }
OpField bool_field(bool b) { return {OpField::Type::boolean, b ? "true" : "false"}; }
OpField sql_field(std::string s) { return {OpField::Type::sql, std::move(s)}; }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The text of an expression starting at `pos`: up to the first top-level ',', ')' or ';' (quotes respected).
std::string expression_at(const std::string& sql, size_t pos) {
  int depth = 0;
  size_t i = pos;
  for (; i < sql.size(); ++i) {
    char c = sql[i];
    if (c == '\'' || c == '"') {
      char q = c;
      for (++i; i < sql.size() && sql[i] != q; ++i) {
      }
      continue;
    }
    if (c == '(')
      ++depth;
    else if (c == ')') {
      if (depth == 0) break;
      --depth;
    } else if ((c == ',' || c == ';') && depth == 0)
      break;
  }
  std::string out = sql.substr(pos, i - pos);
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

// The text between the first '(' at or after `pos` and its matching ')'.
std::string parenthesized_after(const std::string& sql, size_t pos) {
  size_t open = sql.find('(', pos);
  if (open == std::string::npos) return "";
  std::string inner = expression_at(sql, open + 1);
  return inner;
}

// "varchar(20)", "numeric(10,2)", "integer[]" from a TypeName node.
std::string type_text(const json::Value& tn) {
  std::vector<std::string> names;
  for (const auto& n : tn["names"].items) {
    std::string s = n["String"]["sval"].str();
    if (s != "pg_catalog") names.push_back(s);
  }
  static const std::map<std::string, std::string> familiar = {{"int4", "integer"},
                                                              {"int8", "bigint"},
                                                              {"int2", "smallint"},
                                                              {"bool", "boolean"},
                                                              {"float8", "double precision"},
                                                              {"float4", "real"},
                                                              {"bpchar", "char"}};
  if (names.size() == 1)
    if (auto it = familiar.find(names[0]); it != familiar.end()) names[0] = it->second;
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "." : "") + names[i];
  if (!tn["typmods"].items.empty()) {
    out += "(";
    bool first = true;
    for (const auto& m : tn["typmods"].items) {
      const json::Value& c = m["A_Const"];
      std::string v = c["ival"].is_object() ? c["ival"]["ival"].text : "";
      if (v.empty() && c["ival"].is_object()) v = "0";
      if (c["sval"].is_object()) v = c["sval"]["sval"].str();
      out += (first ? "" : ",") + v;
      first = false;
    }
    out += ")";
  }
  for (size_t i = 0; i < tn["arrayBounds"].items.size(); ++i) out += "[]";
  return out;
}

std::string relation_name(const json::Value& rel) { return rel["relname"].str(); }

void put_schema(OpRecord& r, const json::Value& rel) {
  if (rel["schemaname"].is_string()) r.fields["schema"] = str_field(rel["schemaname"].str());
}

void collect_functions(const json::Value& node, std::vector<std::string>& out) {
  if (node.is_object()) {
    auto it = node.fields.find("FuncCall");
    if (it != node.fields.end()) {
      const auto& names = it->second["funcname"].items;
      if (!names.empty()) out.push_back(lower(names.back()["String"]["sval"].str()));
    }
    for (const auto& [k, v] : node.fields) collect_functions(v, out);
  } else if (node.is_array()) {
    for (const auto& v : node.items) collect_functions(v, out);
  }
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// A column definition as the JSON column spec of an add_column record.
std::string column_spec(const json::Value& def, const std::string& sql) {
  std::string type = type_text(def["typeName"]);
  std::string out = "{\"name\":" + json::quote(def["colname"].str()) + ",\"type\":" + json::quote(type);
  bool not_null = false;
  for (const auto& c : def["constraints"].items) {
    const json::Value& con = c["Constraint"];
    std::string t = con["contype"].str();
    if (t == "CONSTR_NOTNULL" || t == "CONSTR_PRIMARY") not_null = true;
    if (t == "CONSTR_DEFAULT") {
      size_t loc = static_cast<size_t>(con["location"].number) + 7;  // after DEFAULT
      std::vector<std::string> fns;
      collect_functions(con["raw_expr"], fns);
      std::string text = expression_at(sql, std::min(loc, sql.size()));
      static const std::regex tail(
          R"(\s+(NOT\s+NULL|NULL|PRIMARY\s+KEY|UNIQUE|CHECK|REFERENCES|CONSTRAINT)\b.*$)", std::regex::icase);
      text = std::regex_replace(text, tail, "");
      size_t b = text.find_first_not_of(" \t\n");
      text = b == std::string::npos ? "" : text.substr(b);
      out += ",\"default\":{\"sql\":" + json::quote(text) + "}";
      out += ",\"default_functions\":" + json::quote(join(fns, ","));
    }
    if (t == "CONSTR_IDENTITY") out += ",\"identity\":true";
    if (t == "CONSTR_GENERATED") out += ",\"generated\":true";
    if (t == "CONSTR_FOREIGN") out += ",\"references\":" + json::quote(relation_name(con["pktable"]));
    if (t == "CONSTR_UNIQUE") out += ",\"unique\":true";
    if (t == "CONSTR_PRIMARY") out += ",\"primary_key\":true";
    if (t == "CONSTR_CHECK") out += ",\"check\":true";
  }
  if (not_null) out += ",\"nullable\":false";
  return out + "}";
}

OpRecord record(const char* kind, const std::string& table, const json::Value& rel) {
  OpRecord r;
  r.kind = kind;
  if (!table.empty()) r.fields["table"] = str_field(table);
  put_schema(r, rel);
  return r;
}

void alter_table(const json::Value& stmt, const std::string& sql, std::vector<OpRecord>& out) {
  const json::Value& rel = stmt["relation"];
  std::string table = relation_name(rel);
  if (stmt["objtype"].str() != "OBJECT_TABLE") {
    auto r = record("alter_table_other", table, rel);
    r.fields["subtype"] = str_field(stmt["objtype"].str());
    out.push_back(std::move(r));
    return;
  }
  for (const auto& c : stmt["cmds"].items) {
    const json::Value& cmd = c["AlterTableCmd"];
    std::string sub = cmd["subtype"].str();
    std::string col = cmd["name"].str();
    if (sub == "AT_AddColumn") {
      auto r = record("add_column", table, rel);
      r.fields["column"] = {OpField::Type::json, column_spec(cmd["def"]["ColumnDef"], sql)};
      out.push_back(std::move(r));
    } else if (sub == "AT_DropColumn") {
      auto r = record("drop_column", table, rel);
      r.fields["column"] = str_field(col);
      out.push_back(std::move(r));
    } else if (sub == "AT_AlterColumnType") {
      auto r = record("alter_column", table, rel);
      r.fields["column"] = str_field(col);
      const json::Value& def = cmd["def"]["ColumnDef"];
      r.fields["type"] = str_field(type_text(def["typeName"]));
      if (!def["raw_default"].is_null()) {
        size_t using_at = lower(sql).find("using", static_cast<size_t>(def["location"].number));
        r.fields["using"] = sql_field(using_at == std::string::npos ? "" : expression_at(sql, using_at + 5));
      }
      out.push_back(std::move(r));
    } else if (sub == "AT_SetNotNull" || sub == "AT_DropNotNull") {
      auto r = record("alter_column", table, rel);
      r.fields["column"] = str_field(col);
      r.fields["nullable"] = bool_field(sub == "AT_DropNotNull");
      out.push_back(std::move(r));
    } else if (sub == "AT_AddConstraint") {
      const json::Value& con = cmd["def"]["Constraint"];
      std::string t = con["contype"].str();
      const char* kind = t == "CONSTR_FOREIGN"     ? "create_foreign_key"
                         : t == "CONSTR_CHECK"     ? "create_check_constraint"
                         : t == "CONSTR_UNIQUE"    ? "create_unique_constraint"
                         : t == "CONSTR_PRIMARY"   ? "create_primary_key"
                         : t == "CONSTR_EXCLUSION" ? "create_exclusion_constraint"
                                                   : "alter_table_other";
      auto r = record(kind, table, rel);
      if (con["conname"].is_string()) r.fields["name"] = str_field(con["conname"].str());
      if (con["skip_validation"].truthy()) r.fields["not_valid"] = bool_field(true);
      if (con["indexname"].is_string()) r.fields["using_index"] = str_field(con["indexname"].str());
      if (t == "CONSTR_FOREIGN") r.fields["referent"] = str_field(relation_name(con["pktable"]));
      if (t == "CONSTR_CHECK")
        r.fields["condition"] = str_field(
            parenthesized_after(sql, lower(sql).find("check", static_cast<size_t>(con["location"].number))));
      std::string cols;
      for (const auto& k : con["keys"].items)
        cols += (cols.empty() ? "" : ",") + json::quote(k["String"]["sval"].str());
      for (const auto& k : con["fk_attrs"].items)
        cols += (cols.empty() ? "" : ",") + json::quote(k["String"]["sval"].str());
      if (!cols.empty()) r.fields["columns"] = {OpField::Type::json, "[" + cols + "]"};
      if (std::string(kind) == "alter_table_other") r.fields["subtype"] = str_field(t);
      out.push_back(std::move(r));
    } else if (sub == "AT_ValidateConstraint") {
      auto r = record("validate_constraint", table, rel);
      r.fields["name"] = str_field(col);
      out.push_back(std::move(r));
    } else if (sub == "AT_DropConstraint") {
      auto r = record("drop_constraint", table, rel);
      r.fields["name"] = str_field(col);
      out.push_back(std::move(r));
    } else if (sub == "AT_ColumnDefault") {
      auto r = record("alter_column", table, rel);
      r.fields["column"] = str_field(col);
      r.fields["default"] = cmd["def"].is_null() ? OpField{OpField::Type::null_default, ""} : sql_field("");
      out.push_back(std::move(r));
    } else {
      auto r = record("alter_table_other", table, rel);
      r.fields["subtype"] = str_field(sub);
      if (!col.empty()) r.fields["column"] = str_field(col);
      out.push_back(std::move(r));
    }
  }
}

std::vector<std::string> object_names(const json::Value& obj) {
  std::vector<std::string> parts;
  if (obj["List"].is_object())
    for (const auto& p : obj["List"]["items"].items) parts.push_back(p["String"]["sval"].str());
  return parts;
}

void translate(const std::string& node, const json::Value& stmt, const std::string& sql,
               std::vector<OpRecord>& out) {
  if (node == "IndexStmt") {
    auto r = record("create_index", relation_name(stmt["relation"]), stmt["relation"]);
    if (stmt["idxname"].is_string()) r.fields["name"] = str_field(stmt["idxname"].str());
    if (stmt["unique"].truthy()) r.fields["unique"] = bool_field(true);
    if (stmt["concurrent"].truthy()) r.fields["concurrently"] = bool_field(true);
    std::string cols;
    for (const auto& e : stmt["indexParams"].items)
      if (e["IndexElem"]["name"].is_string())
        cols += (cols.empty() ? "" : ",") + json::quote(e["IndexElem"]["name"].str());
    r.fields["columns"] = {OpField::Type::json, "[" + cols + "]"};
    out.push_back(std::move(r));
  } else if (node == "AlterTableStmt") {
    alter_table(stmt, sql, out);
  } else if (node == "DropStmt") {
    std::string type = stmt["removeType"].str();
    for (const auto& o : stmt["objects"].items) {
      auto parts = object_names(o);
      if (parts.empty()) continue;
      OpRecord r;
      if (type == "OBJECT_TABLE") {
        r.kind = "drop_table";
        r.fields["table"] = str_field(parts.back());
      } else if (type == "OBJECT_INDEX") {
        r.kind = "drop_index";
        r.fields["name"] = str_field(parts.back());
        if (stmt["concurrent"].truthy()) r.fields["concurrently"] = bool_field(true);
      } else {
        r.kind = "other";
        r.fields["node"] = str_field(node + ":" + type);
      }
      if (parts.size() > 1) r.fields["schema"] = str_field(parts[parts.size() - 2]);
      out.push_back(std::move(r));
    }
  } else if (node == "RenameStmt") {
    std::string type = stmt["renameType"].str();
    const json::Value& rel = stmt["relation"];
    if (type == "OBJECT_COLUMN") {
      auto r = record("rename_column", relation_name(rel), rel);
      r.fields["column"] = str_field(stmt["subname"].str());
      r.fields["new_name"] = str_field(stmt["newname"].str());
      out.push_back(std::move(r));
    } else if (type == "OBJECT_TABLE") {
      auto r = record("rename_table", relation_name(rel), rel);
      r.fields["new_name"] = str_field(stmt["newname"].str());
      out.push_back(std::move(r));
    } else {
      OpRecord r;
      r.kind = "other";
      r.fields["node"] = str_field(node + ":" + type);
      out.push_back(std::move(r));
    }
  } else if (node == "CreateStmt") {
    auto r = record("create_table", relation_name(stmt["relation"]), stmt["relation"]);
    std::string cols;
    for (const auto& e : stmt["tableElts"].items)
      if (e["ColumnDef"].is_object()) cols += (cols.empty() ? "" : ",") + column_spec(e["ColumnDef"], sql);
    r.fields["columns"] = {OpField::Type::json, "[" + cols + "]"};
    out.push_back(std::move(r));
  } else if (node == "VariableSetStmt") {
    OpRecord r;
    r.kind = "set";
    r.fields["name"] = str_field(lower(stmt["name"].str()));
    std::string value;
    for (const auto& a : stmt["args"].items) {
      const json::Value& c = a["A_Const"];
      if (c["sval"].is_object())
        value = c["sval"]["sval"].str();
      else if (c["ival"].is_object())
        value = c["ival"]["ival"].text.empty() ? "0" : c["ival"]["ival"].text;
    }
    r.fields["value"] = str_field(value);
    r.fields["local"] = bool_field(stmt["is_local"].truthy());
    out.push_back(std::move(r));
  } else if (node == "UpdateStmt" || node == "DeleteStmt" || node == "InsertStmt") {
    auto r = record("dml", relation_name(stmt["relation"]), stmt["relation"]);
    r.fields["verb"] = str_field(node == "UpdateStmt"   ? "UPDATE"
                                 : node == "DeleteStmt" ? "DELETE"
                                                        : "INSERT");
    if (node == "InsertStmt")
      r.fields["select"] = bool_field(stmt["selectStmt"]["SelectStmt"]["valuesLists"].is_null());
    out.push_back(std::move(r));
  } else {
    OpRecord r;
    r.kind = "other";
    r.fields["node"] = str_field(node);
    out.push_back(std::move(r));
  }
}

int count_lines(const std::string& s, size_t from, size_t to) {
  return static_cast<int>(
      std::count(s.begin() + static_cast<long>(from), s.begin() + static_cast<long>(to), '\n'));
}

// Skips whitespace and comments from `pos`; returns the position of the first token.
size_t first_token(const std::string& s, size_t pos) {
  while (pos < s.size()) {
    if (std::isspace(static_cast<unsigned char>(s[pos]))) {
      ++pos;
    } else if (s.compare(pos, 2, "--") == 0) {
      size_t nl = s.find('\n', pos);
      pos = nl == std::string::npos ? s.size() : nl + 1;
    } else if (s.compare(pos, 2, "/*") == 0) {
      size_t end = s.find("*/", pos + 2);
      pos = end == std::string::npos ? s.size() : end + 2;
    } else {
      break;
    }
  }
  return pos;
}
}  // namespace

SqlParse parse_sql(const std::string& sql) {
  SqlParse out;
  PgQueryParseResult r = pg_query_parse(sql.c_str());
  if (r.error) {
    out.error = r.error->message ? r.error->message : "syntax error";
    size_t pos = r.error->cursorpos > 0 ? static_cast<size_t>(r.error->cursorpos - 1) : 0;
    out.error_line = count_lines(sql, 0, std::min(pos, sql.size()));
    pg_query_free_parse_result(r);
    return out;
  }
  json::Value tree;
  try {
    tree = json::parse(r.parse_tree ? r.parse_tree : "{}");
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  pg_query_free_parse_result(r);
  for (const auto& s : tree["stmts"].items) {
    size_t loc = s["stmt_location"].is_null() ? 0 : static_cast<size_t>(s["stmt_location"].number);
    size_t len = s["stmt_len"].is_null() ? sql.size() - loc : static_cast<size_t>(s["stmt_len"].number);
    loc = std::min(loc, sql.size());
    len = std::min(len, sql.size() - loc);
    size_t start = first_token(sql, loc);
    SqlStatement st;
    st.line_offset = count_lines(sql, 0, std::min(start, sql.size()));
    st.text = start < loc + len ? sql.substr(start, loc + len - start) : "";
    while (!st.text.empty() &&
           (std::isspace(static_cast<unsigned char>(st.text.back())) || st.text.back() == ';'))
      st.text.pop_back();
    for (const auto& [node, body] : s["stmt"].fields) translate(node, body, sql, st.records);
    for (auto& rec : st.records) rec.sql = {st.text};
    out.statements.push_back(std::move(st));
  }
  return out;
}

std::vector<std::string> functions_called(const std::string& expression) {
  static const std::regex call(R"(([A-Za-z_][A-Za-z0-9_]*)\s*\()");
  std::vector<std::string> out;
  for (std::sregex_iterator it(expression.begin(), expression.end(), call), end; it != end; ++it)
    out.push_back(lower((*it)[1].str()));
  return out;
}
}  // namespace luamig::lint
