// Whole-file reads and crash-safe writes for the cache.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace nurture::data {

// Reads a file's bytes; throws DataError naming the file if it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Writes to a temporary sibling and renames it over `path`, so a reader (or a parallel sweep
// variant preparing the same data) never sees a half-written cache file.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Creates `dir` (and parents); throws DataError with a fix hint if that is impossible.
void ensure_directory(const std::filesystem::path& dir);

}  // namespace nurture::data
