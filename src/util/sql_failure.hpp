#pragma once
// A statement the database refused. Thrown by db/, carried through Lua by luahost/, reported by runner/.
#include <stdexcept>
#include <string>

namespace luamig {
class SqlFailure : public std::runtime_error {
 public:
  SqlFailure(std::string message, std::string sql, std::string sqlstate)
      : std::runtime_error(message), message_(std::move(message)), sql_(std::move(sql)), sqlstate_(std::move(sqlstate)) {}
  const std::string& message() const { return message_; }   // the database's own message
  const std::string& sql() const { return sql_; }            // the statement as sent
  const std::string& sqlstate() const { return sqlstate_; }  // "" when unknown (connection lost...)

 private:
  std::string message_, sql_, sqlstate_;
};
}  // namespace luamig
