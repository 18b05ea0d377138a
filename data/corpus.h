// Reading a text corpus: files, directories of *.txt, or a list of both.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace nurture::data {

// Separator between documents (files) in Corpus::text: a blank line, like a paragraph break, so
// no word is glued across files and the tokenizer sees an ordinary boundary.
inline constexpr std::string_view kDocumentSeparator = "\n\n";

struct Corpus {
  std::string text;                          // all documents joined with kDocumentSeparator
  std::vector<std::filesystem::path> files;  // documents in the order they were joined
  // FNV-1a over every document's file name (not its directory, so a moved corpus keeps its cache),
  // size and bytes, in order. Keys the tokenizer and token caches.
  uint64_t hash = 0;
};

// Expands corpus specs into files, in order. A file is taken as is (any extension); a directory
// contributes its *.txt files (not recursive), sorted by file name. Throws DataError for a missing
// path, a directory without *.txt files, or an empty spec list.
std::vector<std::filesystem::path> resolve_corpus_files(const std::vector<std::string>& specs);

// Reads and joins the documents. Throws DataError if a file is not valid UTF-8 (naming file, byte
// offset and line) or if the corpus holds no bytes at all.
Corpus read_corpus(const std::vector<std::string>& specs);

// Where caches go when the caller does not choose: `<dir>/.nurture-cache` for the first spec,
// where <dir> is the spec itself if it is a directory, else the directory containing the file.
std::filesystem::path default_cache_dir(const std::vector<std::string>& specs);

}  // namespace nurture::data
