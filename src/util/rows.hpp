#pragma once
// Values crossing between the database layer and the Lua host: bound parameters and streamed rows.
#include <optional>
#include <string>
#include <vector>

namespace luamig {

// One bound parameter ($1, $2...): std::nullopt is SQL NULL.
using Param = std::optional<std::string>;

// A column value of a result row, with the type class the database reported.
struct Cell {
  enum Kind { Null, Integer, Float, Boolean, Text } kind = Null;
  std::string text;
};

// Streams rows of a query. Destroying it early closes the underlying cursor/statement.
class RowStream {
 public:
  virtual ~RowStream() = default;
  virtual const std::vector<std::string>& columns() const = 0;
  // Fills `row` (one cell per column); false at the end.
  virtual bool next(std::vector<Cell>& row) = 0;
};
}  // namespace luamig
