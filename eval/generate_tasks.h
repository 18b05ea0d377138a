// In-domain zero-shot tasks generated from the held-out split of the training corpus, so that
// small models trained on that corpus can score above chance. Generated once, written as
// ordinary task files (eval/README.md "Generated tasks"), and reused.
//
// - last_word (LAMBADA-like): passages of about `words` words, from the start of a line, whose
//   last word (≥ min_target_chars letters, not a stop word, preceded by a space) already occurs
//   earlier in the passage. Lambada format, {"text": passage}; the target is the last word.
// - multiple_choice, style "story" (story-cloze-like): `context_sentences` consecutive sentences,
//   then the true next sentence among `choices - 1` sentences from other parts of the held-out
//   text, length-matched. Every ending starts a line and follows the same separator ("\n" or a
//   blank line) as the true one, so line breaks and speaker labels give no clue; the text keeps
//   its line breaks. The context keeps its trailing separator (read with target_delimiter "").
// - multiple_choice, style "completion" (HellaSwag-like): `context_sentences` sentences and the
//   first half of the next one; choices are the rest of that sentence and the second halves of
//   `choices - 1` other sentences (length-matched, whitespace-normalised, after a space). Local
//   syntax and sense decide, so even weakly trained models score above chance.
// Both multiple-choice styles use the generic format {"context", "choices", "label"}.
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
std::string generate_completion_jsonl(std::string_view text, const GeneratorSpec& g);

// The task file for a generated task: <cache_dir>/tasks/<lastword|cloze|completion>-<key>.jsonl with key =
// FNV-1a(generator version, kind, settings, seed, held-out text). Written (atomically) on first use;
// `created` tells whether this call wrote it.
std::filesystem::path generated_task_file(TaskKind kind, const GeneratorSpec& g, std::string_view heldout_text,
                                          const std::filesystem::path& cache_dir, bool* created = nullptr);

}  // namespace nurture::eval
