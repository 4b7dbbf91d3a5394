#pragma once
// Thrown while translating a statement that uses something outside the supported shapes; the statement
// becomes a marked manual part of the revision file.
#include <string>

namespace luamig::importer {

struct Unsupported {
  std::string what;  // short description: "for loop", "f-string", "type app.models.GUID"
};

}  // namespace luamig::importer
