// Write a whole file under a temporary name, fsync, rename over the final name: a reader never
// sees a half-written file, and a failed write leaves the previous version intact.
#pragma once

#include <filesystem>
#include <string_view>

namespace nurture::train {

void write_file_atomic(const std::filesystem::path& path, std::string_view contents);

// Deletes the "<name>.tmp-<pid>" files that a killed writer left in `dir` (never files under a
// final name); returns how many. Call only when no other process writes into `dir`.
int remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace nurture::train
