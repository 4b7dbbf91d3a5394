#pragma once
// Suggestions for mistyped verbs and flags ("updgrade" -> "upgrade"), and where the project is.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace luamig::cli {
// Levenshtein distance (insertions, deletions, substitutions; a transposition counts as one).
size_t edit_distance(const std::string& a, const std::string& b);
// The candidate nearest to `word`, if it is close enough to be a plausible typo (distance <= max(1,
// len/3)+1).
std::optional<std::string> nearest(const std::string& word, const std::vector<std::string>& candidates);

// Finds luamig.lua in `start` or its nearest parent, as git finds .git. nullopt when none has one.
std::optional<std::filesystem::path> find_project_upward(const std::filesystem::path& start);
}  // namespace luamig::cli
