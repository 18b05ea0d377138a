// Whole-file reads and cache directories. Writes go through core/atomic_file.h.
#pragma once

#include <filesystem>
#include <string>

namespace nurture::data {

// Reads a file's bytes; throws DataError naming the file if it cannot be read.
std::string read_file(const std::filesystem::path& path);

// Creates `dir` (and parents); throws DataError with a fix hint if that is impossible.
void ensure_directory(const std::filesystem::path& dir);

}  // namespace nurture::data
