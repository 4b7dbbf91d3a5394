// Reading a migration file's header without running it (src/scripts/header_scan).
#include "scripts/header_scan.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using luamig::scripts::scan_header;
using Strings = std::vector<std::string>;

TEST_CASE("header scan: the file format of the contract", "[unit][header]") {
  auto h = scan_header(
      "-- add phone_number to users\n"
      "--\n"
      "-- Revision ID: 3f2a1c9d8e7b\n"
      "-- Revises: a1b2c3d4e5f6\n"
      "-- Create Date: 2026-11-21 10:00:00\n"
      "\n"
      "revision = \"3f2a1c9d8e7b\"\n"
      "down_revision = \"a1b2c3d4e5f6\"   -- nil for a base; a list of ids for a merge point\n"
      "branch_labels = nil               -- nil, a string or a list\n"
      "depends_on = nil                  -- nil, a string or a list\n"
      "\n"
      "function upgrade()\n"
      "  op.add_column(\"users\", { \"phone_number\", \"varchar(20)\", nullable = true })\n"
      "end\n"
      "\n"
      "function downgrade()\n"
      "  op.drop_column(\"users\", \"phone_number\")\n"
      "end\n");
  CHECK(h.complete);
  REQUIRE(h.revision);
  CHECK(*h.revision == "3f2a1c9d8e7b");
  CHECK(h.revision_line == 7);
  CHECK_FALSE(h.revision_not_string);
  CHECK(h.down_revision_set);
  CHECK(h.down_revisions == Strings{"a1b2c3d4e5f6"});
  CHECK(h.branch_labels.empty());
  CHECK(h.depends_on.empty());
  CHECK(h.message == "add phone_number to users");
  CHECK(h.create_date == "2026-11-21 10:00:00");
  CHECK(h.has_upgrade);
  CHECK(h.has_downgrade);
}

TEST_CASE("header scan: nil, strings and lists", "[unit][header]") {
  auto base = scan_header("revision = 'a1'\ndown_revision = nil\n");
  CHECK(base.complete);
  CHECK(*base.revision == "a1");
  CHECK(base.down_revision_set);
  CHECK(base.down_revisions.empty());

  auto merge = scan_header(
      "revision=\"m1\"\ndown_revision = { \"a1\", 'b2', }\nbranch_labels = \"feature\"\n"
      "depends_on = {\"x1\"; \"y2\"}\n");
  CHECK(merge.complete);
  CHECK(merge.down_revisions == Strings{"a1", "b2"});
  CHECK(merge.branch_labels == Strings{"feature"});
  CHECK(merge.depends_on == Strings{"x1", "y2"});

  auto empty_list = scan_header("revision = \"e1\"\ndown_revision = {}\n");
  CHECK(empty_list.complete);
  CHECK(empty_list.down_revisions.empty());

  auto semicolon = scan_header("revision = \"s1\";\n");
  CHECK(semicolon.complete);
  CHECK(*semicolon.revision == "s1");

  auto no_down = scan_header("revision = \"n1\"\n");
  CHECK_FALSE(no_down.down_revision_set);
}

TEST_CASE("header scan: what is not a plain literal is left to Lua", "[unit][header]") {
  CHECK_FALSE(scan_header("revision = \"a\" .. \"b\"\n").complete);
  CHECK_FALSE(scan_header("revision = \"a\\\"b\"\n").complete);  // escapes
  CHECK_FALSE(scan_header("revision = 42\n").complete);
  CHECK_FALSE(scan_header("revision = ID\n").complete);
  CHECK_FALSE(scan_header("revision = \"a\"\nrevision = \"b\"\n").complete);  // assigned twice
  CHECK_FALSE(scan_header("revision = \"a\"\ndown_revision = { \"x\", OTHER }\n").complete);
  CHECK_FALSE(scan_header("revision = \"a\"\ndown_revision = {\n  \"x\",\n}\n").complete);  // multi-line list
  auto unclosed = scan_header("revision = \"abc\n");
  CHECK_FALSE(unclosed.complete);
  CHECK(unclosed.revision_line == 1);
  // revision = nil is a header that is not a string.
  auto nil = scan_header("revision = nil\n");
  CHECK(nil.complete);
  CHECK(nil.revision_not_string);
}

TEST_CASE("header scan: only top-level assignments outside long strings count", "[unit][header]") {
  auto h = scan_header(
      "--[[\n"
      "revision = \"in_comment\"\n"
      "]]\n"
      "local doc = [[\n"
      "down_revision = \"in_string\"\n"
      "]]\n"
      "revision = \"real\"\n"
      "function upgrade()\n"
      "  revision = \"indented\"\n"
      "  local down_revision = \"local\"\n"
      "end\n"
      "revision_note = \"x\"\n"
      "if revision == \"y\" then end\n");
  CHECK(h.complete);
  REQUIRE(h.revision);
  CHECK(*h.revision == "real");
  CHECK(h.revision_line == 7);
  CHECK_FALSE(h.down_revision_set);
}

TEST_CASE("header scan: the message is the first non-empty comment line before code", "[unit][header]") {
  CHECK(scan_header("--\n--   create users  \nrevision = \"a\"\n").message == "create users");
  CHECK(scan_header("revision = \"a\"\n-- later comment\n").message.empty());
  CHECK(scan_header("--[[ block ]]\n-- msg\nrevision = \"a\"\n").message == "msg");
  CHECK(scan_header("").message.empty());
  // Windows line endings.
  auto crlf = scan_header(
      "-- from windows\r\n-- Create Date: 2026-01-02 03:04:05\r\nrevision = \"w1\"\r\n"
      "down_revision = nil\r\nfunction downgrade()\r\nend\r\n");
  CHECK(crlf.complete);
  CHECK(crlf.message == "from windows");
  CHECK(crlf.create_date == "2026-01-02 03:04:05");
  CHECK(*crlf.revision == "w1");
  CHECK(crlf.has_downgrade);
}

TEST_CASE("header scan: upgrade and downgrade definitions", "[unit][header]") {
  auto has_down = [](const std::string& src) {
    return scan_header("revision = \"a\"\n" + src).has_downgrade;
  };
  CHECK(has_down("function downgrade()\nend\n"));
  CHECK(has_down("function  downgrade ()\nend\n"));
  CHECK(has_down("function\tdowngrade(x)\nend\n"));
  CHECK(has_down("downgrade = function() end\n"));
  CHECK(has_down("downgrade=function()\nend\n"));
  CHECK_FALSE(has_down("function downgrade_helper()\nend\n"));
  CHECK_FALSE(has_down("local function downgrade()\nend\n"));
  CHECK_FALSE(has_down("downgrade = functional\n"));
  CHECK_FALSE(has_down("downgrade == function() end\n"));
  CHECK_FALSE(has_down("-- function downgrade()\n"));
  CHECK_FALSE(has_down("function upgrade()\nend\n"));
  CHECK(scan_header("function upgrade()\nend\n").has_upgrade);
  CHECK(scan_header("upgrade = function() end\n").has_upgrade);
  CHECK_FALSE(scan_header("function upgraded()\nend\n").has_upgrade);
}
