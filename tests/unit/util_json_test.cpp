// util/json: the reader (json::parse, json::Value) and the string quoting that verify, trace and lint share.
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>

#include "util/json.hpp"

namespace json = luamig::json;

TEST_CASE("json::parse reads objects, arrays, strings, numbers, booleans and null", "[unit]") {
  auto v = json::parse(R"( {"a": [1, -2.5e3, "x"], "b": {"c": true, "d": false, "e": null}, "f": ""} )");
  REQUIRE(v.is_object());
  REQUIRE(v["a"].is_array());
  REQUIRE(v["a"].items.size() == 3);
  CHECK(v["a"].items[0].type == json::Value::Type::number);
  CHECK(v["a"].items[0].number == 1);
  CHECK(v["a"].items[1].number == -2500);
  CHECK(v["a"].items[1].text == "-2.5e3");  // a number keeps its digits as written
  CHECK(v["a"].items[2].str() == "x");
  CHECK(v["b"]["c"].type == json::Value::Type::boolean);
  CHECK(v["b"]["c"].truthy());
  CHECK_FALSE(v["b"]["d"].truthy());
  CHECK(v["b"]["e"].is_null());
  CHECK_FALSE(v["b"]["e"].truthy());
  CHECK(v["f"].is_string());
  CHECK(v["f"].truthy());  // only null and false are falsy
  CHECK(json::parse("[]").is_array());
  CHECK(json::parse("{}").is_object());
}

TEST_CASE("json::Value: a missing member, or a member of a non-object, is null and never throws", "[unit]") {
  auto v = json::parse(R"({"a": {"b": "c"}, "n": 3})");
  CHECK(v["nope"].is_null());
  CHECK(v["a"]["nope"]["deeper"].is_null());
  CHECK(v["n"]["b"].is_null());
  CHECK(v["a"]["b"]["c"].is_null());
  CHECK(v["nope"].str("fallback") == "fallback");
  CHECK(v["n"].str("not a string") == "not a string");
}

TEST_CASE("json::parse decodes every escape, and \\u surrogate pairs to UTF-8", "[unit]") {
  auto v = json::parse(R"(["q\" b\\ s\/ n\n t\t r\r b\b f\f", "\u00e9\u20ac\ud83d\ude00", "\u0001"])");
  CHECK(v.items[0].str() == "q\" b\\ s/ n\n t\t r\r b\b f\f");
  CHECK(v.items[1].str() == "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  CHECK(v.items[2].str() == std::string("\x01"));
}

TEST_CASE("json::parse names the offset of malformed text", "[unit]") {
  auto message = [](const std::string& text) {
    try {
      json::parse(text);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("(parsed)");
  };
  CHECK(message(R"({"a": 1} x)") == "malformed JSON at offset 9: trailing text");
  CHECK(message(R"({"a" 1})") == "malformed JSON at offset 5: expected ':'");
  CHECK(message(R"(["a", )") == "malformed JSON at offset 6: unexpected end");
  CHECK(message(R"("abc)") == "malformed JSON at offset 4: unterminated string");
  CHECK(message(R"(["\u12"])") == "malformed JSON at offset 7: bad \\u escape");
  CHECK(message("tru") == "malformed JSON at offset 0: unexpected word");
  CHECK(message("") == "malformed JSON at offset 0: unexpected end");
  CHECK(message(std::string(3000, '[')).find("nested too deeply") != std::string::npos);
}

TEST_CASE("json::quote escapes quotes, backslashes and control characters, and parse reads it back",
          "[unit]") {
  CHECK(json::quote("a\"b\\c\nd\x01") == "\"a\\\"b\\\\c\\nd\\u0001\"");
  CHECK(json::quote("tab\there\rcr") == "\"tab\\there\\rcr\"");
  const std::string tricky = std::string("quote \" backslash \\ nl \n tab \t nul ") + '\0' +
                             " bs \b ff \f esc \x1b del \x7f caf\xc3\xa9 \xf0\x9f\x98\x80 / end";
  CHECK(json::parse(json::quote(tricky)).str() == tricky);
  auto doc = json::parse(json::Object().add("s", tricky).add("n", 7).add_null("z").str());
  CHECK(doc["s"].str() == tricky);
  CHECK(doc["n"].number == 7);
  CHECK(doc["z"].is_null());
}
