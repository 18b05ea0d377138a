// In-domain zero-shot tasks generated from the held-out split of the training corpus, so that
// small models trained on that corpus score well above chance. Generated once, written as
// ordinary task files (eval/README.md "Generated tasks"), and reused.
//
// - last_word (LAMBADA-like): passages of `words` words whose last word (≥ min_target_chars
//   letters, not a stop word, preceded by a space) already occurs earlier in the passage. The
//   file is in the lambada format, {"text": passage}; the target is the last word.
// - multiple_choice (story-cloze-like): `context_sentences` consecutive sentences, then the true
//   next sentence among `choices - 1` sentences drawn from other parts of the held-out text
//   (length-matched where possible). Endings are whitespace-normalised so line breaks give no
//   clue. The file is the generic format {"context", "choices", "label"}.
//
// Passages never overlap. When there are more candidates than `items`, a seeded draw picks
// which ones, kept in text order. Output is a pure function of (text, settings, seed).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "eval/task_spec.h"

namespace nurture::eval {

std::string generate_last_word_jsonl(std::string_view text, const GeneratorSpec& g);
std::string generate_cloze_jsonl(std::string_view text, const GeneratorSpec& g);

// The task file for a generated task: <cache_dir>/tasks/<lastword|cloze>-<key>.jsonl with key =
// FNV-1a(generator version, kind, settings, seed, held-out text). Written (atomically) on first use;
// `created` tells whether this call wrote it.
std::filesystem::path generated_task_file(TaskKind kind, const GeneratorSpec& g, std::string_view heldout_text,
                                          const std::filesystem::path& cache_dir, bool* created = nullptr);

}  // namespace nurture::eval
