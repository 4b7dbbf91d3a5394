// The editor annotations (lua/annotations/luamig.lua) against the implementation: lua/op.lua is run in a
// plain LuaJIT state with a stand-in host, and every public function of the op table it returns (names not
// starting with `_`) must be annotated; every option an op function accepts (read from its own "unknown
// option ... (known:
// ...)" error) must be a field of the annotated options class luamig.op.<name>.opts. Conversely every
// annotated op function must exist.
#include <catch2/catch.hpp>
#include <cstring>
#include <lua.hpp>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "luahost/embedded.hpp"
#include "support/lua_state.hpp"

namespace {
// A stand-in host: every field is a function that returns a fresh stand-in; engine_module loads the embedded
// module when there is one (dialects, types, batch), else returns a stand-in.
const char* kProbe = R"LUA(
local op_source, modules = ...
local function stub()
  return setmetatable({}, {
    __index = function(t, k) local f = function() return stub() end; rawset(t, k, f); return f end,
    __call = function() return stub() end,
  })
end
local host = stub()
host.dialect = "postgresql"
host.offline = false
host.NULL = setmetatable({}, { __tostring = function() return "NULL" end })
host.engine_module = function(name, ...)
  local src = modules["lua/" .. name .. ".lua"]
  if src then
    local chunk = loadstring(src, "=" .. name)
    if chunk then
      local ok, m = pcall(chunk, ...)
      if ok and m ~= nil then return m end
    end
  end
  return stub()
end
host.execute = function() return 0 end
host.where = function() return nil end
local values = host.engine_module("values", host)
local recorder = host.engine_module("plan", host, values)
local op = assert(loadstring(op_source, "=lua/op.lua"))(host, values, recorder)
local names, options = {}, {}
for k, v in pairs(op) do
  if type(k) == "string" and k:sub(1, 1) ~= "_" and type(v) == "function" then
    names[#names + 1] = k
    -- Find the options position: probe each argument position with an unknown option key.
    local fillers = {
      function() return "t" end,
      function() return { "c", "integer" } end,
      function() return { "c" } end,
    }
    for pos = 1, 6 do
      for _, fill in ipairs(fillers) do
        local args = {}
        for i = 1, 6 do args[i] = fill() end
        args[pos] = { __luamig_probe = true }
        local ok, err = pcall(v, unpack(args, 1, 6))
        local known = not ok and tostring(err):match("unknown option '__luamig_probe' %(known: ([^)]*)%)")
        if known then options[k] = known; break end
      end
      if options[k] then break end
    end
  end
end
table.sort(names)
local lines = {}
for _, n in ipairs(names) do lines[#lines + 1] = n .. "=" .. (options[n] or "") end
return table.concat(lines, "\n")
)LUA";

}  // namespace

TEST_CASE("annotations name every public op function and option of the implementation", "[unit]") {
  luamig::test::BareLua lua;
  std::string op_source = luamig::test::embedded_source("lua/op.lua");
  auto probe = lua.call(kProbe, "=probe", [&](lua_State* L) {
    lua_pushlstring(L, op_source.data(), op_source.size());
    lua_newtable(L);
    for (const auto& f : luamig::embedded::files()) {
      lua_pushlstring(L, f.path.data(), f.path.size());
      lua_pushlstring(L, f.content.data(), f.content.size());
      lua_settable(L, -3);
    }
    return 2;
  });
  std::string result = probe.value;
  INFO(result);
  REQUIRE(probe.ok);

  std::map<std::string, std::set<std::string>>
      implemented;  // function -> its options ("" list when none found)
  std::istringstream in(result);
  std::string line;
  size_t with_options = 0;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    auto& opts = implemented[line.substr(0, eq)];
    std::istringstream list(line.substr(eq + 1));
    std::string o;
    while (std::getline(list, o, ',')) {
      o.erase(0, o.find_first_not_of(' '));
      if (!o.empty()) opts.insert(o);
    }
    with_options += !opts.empty();
  }
  // The probe must really see the API (guards against a silently empty comparison).
  REQUIRE(implemented.count("create_table"));
  REQUIRE(implemented.count("execute"));
  REQUIRE(with_options >= 10);

  const std::string meta = luamig::test::embedded_source("lua/annotations/luamig.lua");
  for (const auto& [fn, opts] : implemented) {
    INFO("op." << fn);
    CHECK(meta.find("function op." + fn + "(") != std::string::npos);
    if (opts.empty()) continue;
    auto cls = meta.find("---@class luamig.op." + fn + ".opts\n");
    REQUIRE(cls != std::string::npos);
    // The class's fields: the ---@field lines right after it.
    std::set<std::string> fields;
    std::istringstream body(meta.substr(cls));
    std::getline(body, line);
    while (std::getline(body, line) && line.rfind("---@field ", 0) == 0) {
      auto name = line.substr(10, line.find_first_of("? ", 10) - 10);
      fields.insert(name);
    }
    for (const auto& o : opts) {
      INFO("option " << o);
      CHECK(fields.count(o) == 1);
    }
    for (const auto& f : fields) {
      INFO("annotated option " << f << " is not accepted by the implementation");
      CHECK(opts.count(f) == 1);
    }
  }
  // Every annotated op function exists.
  std::istringstream lines(meta);
  while (std::getline(lines, line)) {
    if (line.rfind("function op.", 0) != 0) continue;
    auto name = line.substr(12, line.find('(') - 12);
    INFO("annotated op." << name);
    CHECK(implemented.count(name) == 1);
  }
}
