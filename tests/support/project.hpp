// The one project builder of the tests: a temporary directory holding luamig.lua and migrations/versions/.
//
//   luamig::test::TempProject proj;
//   proj.write_config();                                   // luamig.lua (script_location + extra lines)
//   proj.write_migration("a1", std::nullopt, "  op.create_table(...)", "  op.drop_table(...)");
//   proj.write_migration("b2", "a1", "", "", "msg", "transactional = false");   // + top-level lines
//   proj.migration_file("b2");                             // "migrations/versions/b2_msg.lua"
//   write_three_tables(proj);                              // a1 -> b2 -> c3, each creating t_<rev>
//
// migration() gives the source of one revision file in a fixed layout (so tests can name its lines); unit
// tests use TempProject as a plain temporary directory too (write, read, list, remove).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace luamig::test {

// Lua source of a migration script, in exactly this layout:
//
//   -- <message>
//   --
//   -- Revision ID: <rev>
//   -- Revises: <down or empty>
//   -- Create Date: 2026-11-21 10:00:00
//
//   revision = "<rev>"
//   down_revision = "<down>"        (or: down_revision = nil)
//   branch_labels = nil
//   depends_on = nil
//
//   function upgrade()
//   <upgrade_body>
//   end
//
//   function downgrade()
//   <downgrade_body>
//   end
std::string migration(std::string rev, std::optional<std::string> down, std::string upgrade_body,
                      std::string downgrade_body, std::string message = "msg");

// Alembic-style file-name slug of a message ("Add users table" -> "add_users_table").
std::string slugify(const std::string& message);

// A temporary directory, removed (recursively) at destruction unless
// $LUAMIG_KEEP_TMP is set.
class TempProject {
 public:
  TempProject();
  ~TempProject();
  TempProject(const TempProject&) = delete;
  TempProject& operator=(const TempProject&) = delete;

  // Absolute path of the project root (converts implicitly to std::string).
  const std::filesystem::path& path() const { return root_; }
  // Absolute path of relpath inside the project.
  std::filesystem::path path(const std::string& relpath) const { return root_ / relpath; }

  // Writes content (creating parent directories); returns the absolute path.
  std::filesystem::path write(const std::string& relpath, const std::string& content) const;
  // Contents of relpath; throws std::runtime_error if it cannot be read.
  std::string read(const std::string& relpath) const;
  bool exists(const std::string& relpath) const;
  // Sorted entry names (files and directories) directly inside reldir;
  // empty if reldir does not exist.
  std::vector<std::string> list(const std::string& reldir = ".") const;
  void remove(const std::string& relpath) const;

  // Appends content to relpath (creating it and its parent directories).
  void append(const std::string& relpath, const std::string& content) const;

  // Writes migrations/versions/<rev>_<slug>.lua (see migration()); returns its
  // path relative to the project root. `globals` (top-level Lua lines, e.g. `transactional = false`) are
  // placed just before `function upgrade()`.
  std::string write_migration(std::string rev, std::optional<std::string> down, std::string upgrade_body,
                              std::string downgrade_body, std::string message = "msg",
                              const std::string& globals = "") const;
  // "migrations/versions/<name>" of the revision file whose name starts with `rev`; throws
  // std::runtime_error when there is none.
  std::string migration_file(const std::string& rev) const;
  // Writes luamig.lua: `script_location = "migrations"` plus extra_lua.
  void write_config(std::string extra_lua = "") const;

 private:
  std::filesystem::path root_;
};

// Three linear revisions a1 -> b2 -> c3 (messages "first", "second", "third"), each creating a table
// t_<rev> (one int column `id`) and dropping it on downgrade. luamig.lua is not written.
void write_three_tables(const TempProject& proj);

}  // namespace luamig::test
