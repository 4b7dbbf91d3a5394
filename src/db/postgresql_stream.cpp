#include "db/postgresql_stream.hpp"

namespace luamig::db {

Cell::Kind kind_of(pqxx::oid type) {
  switch (type) {
    case 20:
    case 21:
    case 23:
    case 26:
      return Cell::Integer;  // int8 int2 int4 oid
    case 700:
    case 701:
      return Cell::Float;  // float4 float8
    case 16:
      return Cell::Boolean;
    default:
      return Cell::Text;
  }
}

}  // namespace luamig::db
