// "Did you mean ...?" for misspelled keys and names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nurture::config {

// Optimal-string-alignment distance: Levenshtein plus adjacent transpositions ("bais" -> "bias"
// is one edit), the commonest typo.
size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate within 1 edit for words of up to 3 characters and 2 edits otherwise
// (short words are within 2 edits of almost anything). Case-insensitive, '-' reads as '_'.
// Ties go to the earlier candidate.
std::optional<std::string> nearest_name(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace nurture::config
