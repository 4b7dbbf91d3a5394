#pragma once
// Checksums of revision files, as recorded in the history table.
//
// Algorithm version 1 (kChecksumAlgorithm, stored in every history row):
//   checksum   = SHA-256 of the file with line endings normalised: CRLF and lone CR become LF, and trailing
//                line breaks are dropped. A file saved with other line endings keeps its checksum.
//   normalised = SHA-256 of the file's Lua token stream (normalise_lua): comments removed, whitespace
//                outside strings collapsed. Two files with equal `normalised` differ at most in comments and
//                whitespace, which cannot change what the migration does: validation warns instead of
//                failing.
// A row recorded with another algorithm version is re-baselined with a warning, never failed.
#include <string>
#include <string_view>

namespace luamig::history {

inline constexpr int kChecksumAlgorithm = 1;

struct FileChecksums {
  std::string checksum;    // 64 hex digits
  std::string normalised;  // 64 hex digits
};

// CRLF/CR -> LF, trailing line breaks removed.
std::string normalise_line_endings(std::string_view text);

// The Lua-token-level normal form of `text` (after normalise_line_endings):
//   - a leading "#..." line (shebang) is dropped;
//   - comments ("--" to the end of the line, and long comments "--[==[ ... ]==]") are removed;
//   - string literals ('..', "..", long strings [==[ ... ]==]) are kept byte for byte;
//   - every run of whitespace and comments outside strings becomes one space when the characters on both
//     sides are both identifier characters [A-Za-z0-9_] or both punctuation (so that no two tokens merge:
//     `a b`, `- -1`, `. .`, and a digit next to a dot), and disappears otherwise (`a = b` -> `a=b`), as it
//     does next to a string literal and at the start and end.
// Unterminated strings or comments run to the end of the text (the Lua compiler rejects such files anyway).
std::string normalise_lua(std::string_view text);

FileChecksums checksums_of(std::string_view text);
}  // namespace luamig::history
