#pragma once
// The slug in a revision file's name (<revision>_<slug>.lua), as Alembic makes it: used by `luamig revision`,
// `merge` and `import-alembic`.
#include <string>

namespace luamig::scripts {
// "_".join(re.findall(r"\w+", message)).lower(), cut to 40 bytes at a word boundary with a trailing "_".
std::string message_slug(const std::string& message);
}  // namespace luamig::scripts
