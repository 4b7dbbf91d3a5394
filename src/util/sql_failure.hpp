#pragma once
// A statement the database refused. Thrown by db/, carried through Lua by luahost/, reported by runner/.
// Its Failure value (util/failure.hpp) has kind Sql, db_message, sql, and sqlstate when the database gave
// one.
#include <string>

#include "util/error.hpp"

namespace luamig {
class SqlFailure : public Error {
 public:
  SqlFailure(std::string message, std::string sql, std::string sqlstate)
      : Error(make(message, sql, sqlstate)),
        message_(std::move(message)),
        sql_(std::move(sql)),
        sqlstate_(std::move(sqlstate)) {}
  const std::string& message() const { return message_; }    // the database's own message
  const std::string& sql() const { return sql_; }            // the statement as sent
  const std::string& sqlstate() const { return sqlstate_; }  // "" when unknown (connection lost...)

 private:
  static Failure make(const std::string& message, const std::string& sql, const std::string& sqlstate) {
    Failure f;
    f.kind = FailureKind::Sql;
    f.message = message;
    f.db_message = message;
    f.sql = sql;
    if (!sqlstate.empty()) f.sqlstate = sqlstate;
    return f;
  }
  std::string message_, sql_, sqlstate_;
};

// "message (SQLSTATE 42P01)", or the message alone when the SQLSTATE is unknown: how a statement's failure
// reads inside another message.
inline std::string sql_error_text(const SqlFailure& e) {
  return e.sqlstate().empty() ? e.message() : e.message() + " (SQLSTATE " + e.sqlstate() + ")";
}
}  // namespace luamig
