// The one way nurture writes a file (docs/RELIABILITY.md, guarantee 1). A sweep runs for hours
// and gets killed: a reader (a resumed run, `nurture report`, a parallel variant sharing the data
// cache) must see the previous version or the new one, never half of one, and a file that was
// reported written must survive a power cut. It lives in core, the lowest module, so that every
// module (and fuzz/, which compiles a few sources alone) can use it without new dependencies.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nurture::core {

// "cannot write '<path>': <OS reason>". `reason()` is the OS part alone, for callers that name the
// file in their own words (checkpoints).
class WriteError : public std::runtime_error {
 public:
  WriteError(const std::filesystem::path& path, const std::string& reason);
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// A file written under the temporary name "<path>.tmp-<pid>" in the target's own directory (so the
// rename never crosses filesystems). commit() fsyncs it, renames it over `path` and fsyncs the
// directory. An AtomicFile destroyed without commit() removes its temporary file, so a failed
// write leaves the previous version of `path` intact. Writers of the same path in one process
// take turns, because the temporary name holds only the pid (what remove_stale_temp_files and
// the kill tests recognise).
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // For a file another program fills in (gnuplot's PNGs): it must write this name in place
  // (open with truncation, as fopen "w" does), so that commit() syncs the same file.
  const std::filesystem::path& temp_path() const { return tmp_; }
  void write(std::string_view bytes);
  void commit();

 private:
  [[noreturn]] void fail(const std::string& reason);
  std::filesystem::path path_, tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Deletes the "<name>.tmp-<pid>" files that a killed writer left in `dir` (never files under a
// final name); returns how many. Call only when no other process writes into `dir`.
int remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace nurture::core
