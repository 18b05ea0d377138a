// The GPT-2 kind of data::Tokenizer: OpenAI's byte-level BPE, read from a Hugging Face model
// directory's vocab.json + merges.txt, so imported GPT-2-family models see exactly the ids they were
// trained on.
//
// The algorithm is GPT-2's own (openai/gpt-2 src/encoder.py; Hugging Face GPT2Tokenizer and
// tiktoken's "gpt2" give the same ids):
//  1. Pre-tokenise with the pattern
//       's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//     It needs Unicode letter/number categories and a lookahead, which std::regex lacks, so it runs
//     on PCRE2 (UTF + UCP, JIT when available). Bytes that are not valid UTF-8 (which GPT-2, working
//     on Python str, never sees) match no alternative; each run of them becomes a pre-token of its
//     own, so every byte string still encodes and round-trips.
//  2. Write each pre-token's bytes as one token per byte, then repeatedly merge every occurrence
//     (left to right) of the adjacent pair with the lowest rank in merges.txt until no pair has one.
// vocab.json spells tokens through GPT-2's byte-to-unicode map (printable Latin-1 bytes stand for
// themselves, the other 68 bytes for U+0100..U+0143, e.g. ' ' -> 'Ġ', '\n' -> 'Ċ').
#pragma once

#include <filesystem>
#include <memory>

#include "data/tokenizer_impl.h"

namespace nurture::data {

// See Tokenizer::load_gpt2_bpe for what is checked; errors are one-line DataErrors naming the file
// and the line or entry.
std::shared_ptr<const Tokenizer::Impl> load_gpt2_bpe(const std::filesystem::path& vocab_json,
                                                     const std::filesystem::path& merges_txt);

}  // namespace nurture::data
