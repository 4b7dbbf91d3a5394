// The project builder (see project.hpp): migration() text, TempProject and its file helpers.
#include "support/project.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace luamig::test {

std::string migration(std::string rev, std::optional<std::string> down, std::string upgrade_body,
                      std::string downgrade_body, std::string message) {
  // A down value starting with '{' is emitted verbatim as a Lua table (merge
  // revisions), e.g. down = R"({"a1", "b2"})".
  bool raw_table = down && !down->empty() && down->front() == '{';
  std::string revises;
  if (down) {
    if (raw_table) {
      for (char c : *down)
        if (c != '{' && c != '}' && c != '"' && c != '\'') revises += c;
      revises.erase(0, revises.find_first_not_of(' '));
      while (!revises.empty() && revises.back() == ' ') revises.pop_back();
    } else {
      revises = *down;
    }
  }
  std::ostringstream s;
  s << "-- " << message << "\n"
    << "--\n"
    << "-- Revision ID: " << rev << "\n"
    << "-- Revises: " << revises << "\n"
    << "-- Create Date: 2026-11-21 10:00:00\n"
    << "\n"
    << "revision = \"" << rev << "\"\n";
  if (!down)
    s << "down_revision = nil\n";
  else if (raw_table)
    s << "down_revision = " << *down << "\n";
  else
    s << "down_revision = \"" << *down << "\"\n";
  s << "branch_labels = nil\n"
    << "depends_on = nil\n"
    << "\n"
    << "function upgrade()\n"
    << upgrade_body << "\n"
    << "end\n"
    << "\n"
    << "function downgrade()\n"
    << downgrade_body << "\n"
    << "end\n";
  return s.str();
}

std::string slugify(const std::string& message) {
  // Alembic: "_".join(re.findall(r"\w+", message)).lower(), truncated to 40.
  std::vector<std::string> words;
  std::string cur;
  for (unsigned char c : message) {
    if (std::isalnum(c) || c == '_' || c >= 0x80) {
      cur += static_cast<char>(std::tolower(c));
    } else if (!cur.empty()) {
      words.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) words.push_back(cur);
  std::string slug;
  for (const auto& w : words) {
    if (!slug.empty()) slug += '_';
    slug += w;
  }
  if (slug.size() > 40) {
    slug = slug.substr(0, 40);
    auto us = slug.rfind('_');
    slug = (us == std::string::npos ? slug : slug.substr(0, us)) + "_";
  }
  return slug;
}

TempProject::TempProject() {
  const char* tmp = std::getenv("TMPDIR");
  fs::path base = (tmp && *tmp && fs::is_directory(tmp)) ? fs::path(tmp) : fs::path("/tmp");
  std::string templ = (base / "luamig-proj-XXXXXX").string();
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
  root_ = fs::canonical(buf.data());
}

TempProject::~TempProject() {
  const char* keep = std::getenv("LUAMIG_KEEP_TMP");
  if (keep && *keep) {
    std::cerr << "luamig test harness: kept project directory " << root_.string() << "\n";
    return;
  }
  std::error_code ec;
  fs::remove_all(root_, ec);
}

fs::path TempProject::write(const std::string& relpath, const std::string& content) const {
  fs::path p = root_ / relpath;
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + p.string());
  return p;
}

std::string TempProject::read(const std::string& relpath) const {
  fs::path p = root_ / relpath;
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

bool TempProject::exists(const std::string& relpath) const {
  std::error_code ec;
  return fs::exists(root_ / relpath, ec);
}

std::vector<std::string> TempProject::list(const std::string& reldir) const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_ / reldir, ec))
    names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void TempProject::remove(const std::string& relpath) const {
  std::error_code ec;
  fs::remove_all(root_ / relpath, ec);
}

void TempProject::append(const std::string& relpath, const std::string& content) const {
  fs::path p = root_ / relpath;
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::app);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot append to " + p.string());
}

std::string TempProject::write_migration(std::string rev, std::optional<std::string> down,
                                         std::string upgrade_body, std::string downgrade_body,
                                         std::string message, const std::string& globals) const {
  std::string rel = "migrations/versions/" + rev + "_" + slugify(message) + ".lua";
  std::string src = migration(std::move(rev), std::move(down), std::move(upgrade_body),
                              std::move(downgrade_body), std::move(message));
  if (!globals.empty()) src.insert(src.find("function upgrade()"), globals + "\n");
  write(rel, src);
  return rel;
}

std::string TempProject::migration_file(const std::string& rev) const {
  for (const auto& name : list("migrations/versions"))
    if (name.rfind(rev, 0) == 0) return "migrations/versions/" + name;
  throw std::runtime_error("no revision file for " + rev + " in " + (root_ / "migrations/versions").string());
}

void write_three_tables(const TempProject& proj) {
  proj.write_migration("a1", std::nullopt, "  op.create_table('t_a1', {'id', 'int'})",
                       "  op.drop_table('t_a1')", "first");
  proj.write_migration("b2", "a1", "  op.create_table('t_b2', {'id', 'int'})", "  op.drop_table('t_b2')",
                       "second");
  proj.write_migration("c3", "b2", "  op.create_table('t_c3', {'id', 'int'})", "  op.drop_table('t_c3')",
                       "third");
}

void TempProject::write_config(std::string extra_lua) const {
  std::string text = "script_location = \"migrations\"\n";
  if (!extra_lua.empty()) {
    text += extra_lua;
    if (text.back() != '\n') text += '\n';
  }
  write("luamig.lua", text);
}

}  // namespace luamig::test
