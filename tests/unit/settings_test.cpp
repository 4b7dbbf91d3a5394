// The settings registry and its value parsers (config/settings.hpp).
#include "config/settings.hpp"

#include <catch2/catch.hpp>
#include <set>

using namespace luamig::config;

TEST_CASE("settings: the registry has unique keys and valid defaults", "[unit][config]") {
  std::set<std::string> keys;
  for (const auto& s : setting_specs()) {
    INFO(s.key);
    CHECK(keys.insert(s.key).second);
    CHECK(find_setting(s.key) == &s);
    CHECK(s.help != nullptr);
    if (s.default_value && s.kind == Kind::Bool) CHECK(parse_bool_text(s.default_value).has_value());
    if (s.default_value && s.kind == Kind::Count) CHECK(parse_count_text(s.default_value).has_value());
  }
  CHECK(find_setting("no_such_key") == nullptr);
  CHECK(find_setting("lock_timeout")->kind == Kind::Duration);
  CHECK(find_setting("url")->env_var == std::string("DATABASE_URL"));
  // script_location shapes the whole project: never per environment.
  CHECK(known_setting_names(Scope::Anywhere).find("script_location") == std::string::npos);
  CHECK(known_setting_names().find("script_location") != std::string::npos);
}

TEST_CASE("settings: booleans and counts written as text", "[unit][config]") {
  for (const char* t : {"true", "TRUE", "yes", "on", "1"}) CHECK(parse_bool_text(t) == true);
  for (const char* t : {"false", "No", "off", "0"}) CHECK(parse_bool_text(t) == false);
  for (const char* t : {"", "maybe", "2", "tru"}) CHECK_FALSE(parse_bool_text(t).has_value());
  CHECK(parse_count_text("0") == 0);
  CHECK(parse_count_text("3") == 3);
  CHECK(parse_count_text("1000000") == 1000000);
  for (const char* t : {"", "-1", "1.5", "1000001", "12345678", "3 "})
    CHECK_FALSE(parse_count_text(t).has_value());
}
