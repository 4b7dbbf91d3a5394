// Output conventions as pure functions: escaping of printed values, the JSON writer (checked by parsing what
// it writes), colour selection from the environment, and "did you mean" suggestions.
#include <catch2/catch.hpp>
#include <string>

#include "support/json.hpp"
#include "util/json.hpp"
#include "util/output.hpp"
#include "util/suggest.hpp"

using namespace luamig;
namespace tj = luamig::test::json;

TEST_CASE("escape makes control characters visible and passes UTF-8 text through", "[unit]") {
  CHECK(out::escape("plain id 3f2a") == "plain id 3f2a");
  CHECK(out::escape("\x1b[2J\x1b[H") == "\\x1b[2J\\x1b[H");
  CHECK(out::escape("abc\n3f2a (head)") == "abc\\n3f2a (head)");
  CHECK(out::escape("a\rb\tc") == "a\\rb\\tc");
  CHECK(out::escape(std::string("a\0b", 3)) == "a\\x00b");
  CHECK(out::escape("\x7f") == "\\x7f");
  CHECK(out::escape("caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80") ==
        "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80");
  // C1 controls (CSI is U+009B) and bytes that are not UTF-8.
  CHECK(out::escape("\xc2\x9b"
                    "2J") == "\\u009b2J");
  CHECK(out::escape("\xff\xfe") == "\\xff\\xfe");
  CHECK(out::escape("\xc3") == "\\xc3");                    // truncated sequence
  CHECK(out::escape("\xc0\xaf") == "\\xc0\\xaf");           // overlong
  CHECK(out::escape("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // surrogate
  // No output of escape contains a byte below 0x20 or DEL, whatever the input.
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  for (char c : out::escape(all)) CHECK((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
  // The line-keeping form keeps newlines and tabs only.
  CHECK(out::escape_keep_lines("a\nb\tc\x1b") == "a\nb\tc\\x1b");
}

TEST_CASE("the JSON writer escapes strings so that a strict parser reads them back", "[unit]") {
  const std::string tricky = std::string("quote \" backslash \\ nl \n tab \t nul ") + '\0' +
                             " esc \x1b del \x7f caf\xc3\xa9 \xf0\x9f\x98\x80 / end";
  auto text = json::Object()
                  .add("s", tricky)
                  .add("n", 42)
                  .add("neg", -7LL)
                  .add("f", 1.5)
                  .add("t", true)
                  .add("list", std::vector<std::string>{"a", "b\n"})
                  .add_null("none")
                  .add("obj", json::Object().add("k", "v"))
                  .add("arr", json::Array().push(json::Object().add("x", 1)).push("y"))
                  .str();
  for (char c : text) CHECK(static_cast<unsigned char>(c) >= 0x20);
  auto v = tj::parse(text);
  CHECK(v["s"].str() == tricky);
  CHECK(v["n"].number() == 42);
  CHECK(v["neg"].number() == -7);
  CHECK(v["f"].number() == 1.5);
  CHECK(v["t"].boolean());
  CHECK(v["list"][1].str() == "b\n");
  CHECK(v["none"].is_null());
  CHECK(v["obj"]["k"].str() == "v");
  CHECK(v["arr"][0]["x"].number() == 1);
  CHECK(v["arr"][1].str() == "y");
  // Invalid UTF-8 becomes U+FFFD; the document stays valid.
  auto bad = tj::parse(json::Object()
                           .add("s", std::string("a\xff"
                                                 "b\xc3"))
                           .str());
  CHECK(bad["s"].str() ==
        "a\xef\xbf\xbd"
        "b\xef\xbf\xbd");
  CHECK(json::quote("") == "\"\"");
  CHECK(json::Object().str() == "{}");
  CHECK(json::Array().str() == "[]");
  CHECK_THROWS(tj::parse("{\"a\":1,}"));
  CHECK_THROWS(tj::parse("{\"a\":\"\x01\"}"));
}

TEST_CASE("colour follows --no-color, NO_COLOR, CLICOLOR_FORCE and TERM=dumb", "[unit]") {
  // no flag, no variables: a terminal gets colour, a pipe does not
  CHECK(out::colour_wanted(false, nullptr, nullptr, "xterm", true));
  CHECK_FALSE(out::colour_wanted(false, nullptr, nullptr, "xterm", false));
  // NO_COLOR non-empty disables; empty does not (no-color.org)
  CHECK_FALSE(out::colour_wanted(false, "1", nullptr, "xterm", true));
  CHECK_FALSE(out::colour_wanted(false, "false", nullptr, "xterm", true));
  CHECK(out::colour_wanted(false, "", nullptr, "xterm", true));
  // TERM=dumb disables
  CHECK_FALSE(out::colour_wanted(false, nullptr, nullptr, "dumb", true));
  // CLICOLOR_FORCE forces, even off a terminal and with TERM=dumb; "0" and "" do not
  CHECK(out::colour_wanted(false, nullptr, "1", "xterm", false));
  CHECK(out::colour_wanted(false, nullptr, "1", "dumb", false));
  CHECK_FALSE(out::colour_wanted(false, nullptr, "0", "xterm", false));
  CHECK_FALSE(out::colour_wanted(false, nullptr, "", "xterm", false));
  // NO_COLOR and --no-color win over CLICOLOR_FORCE
  CHECK_FALSE(out::colour_wanted(false, "1", "1", "xterm", true));
  CHECK_FALSE(out::colour_wanted(true, nullptr, "1", "xterm", true));
}

TEST_CASE("did-you-mean suggests the nearest verb or flag, and nothing for far-off words", "[unit]") {
  const std::vector<std::string> verbs = {"init",    "revision", "merge", "upgrade", "downgrade", "current",
                                          "history", "heads",    "show",  "stamp",   "check",     "config"};
  CHECK(cli::nearest("updgrade", verbs) == std::optional<std::string>("upgrade"));
  CHECK(cli::nearest("upgrad", verbs) == std::optional<std::string>("upgrade"));
  CHECK(cli::nearest("downgrade", verbs) == std::optional<std::string>("downgrade"));
  CHECK(cli::nearest("hsitory", verbs) == std::optional<std::string>("history"));
  CHECK(cli::nearest("curent", verbs) == std::optional<std::string>("current"));
  CHECK(cli::nearest("hed", verbs) == std::optional<std::string>("heads"));
  CHECK_FALSE(cli::nearest("frobnicate", verbs).has_value());
  CHECK(cli::nearest("--dry-rn", {"--dry-run", "--sql", "--force"}) ==
        std::optional<std::string>("--dry-run"));
  CHECK(cli::nearest("--verb", {"--verbose", "--version"}) == std::optional<std::string>("--verbose"));
  CHECK(cli::edit_distance("abc", "acb") == 1);
  CHECK(cli::edit_distance("", "abc") == 3);
}
