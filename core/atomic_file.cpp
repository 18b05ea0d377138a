#include "core/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>

namespace nurture::core {

namespace fs = std::filesystem;

namespace {

// Temporary names being written by this process: a second writer of the same path waits for the
// first instead of truncating its temporary file.
std::mutex busy_mutex;
std::condition_variable busy_freed;
std::set<std::string> busy;

void take_turn(const std::string& tmp) {
  std::unique_lock lock(busy_mutex);
  busy_freed.wait(lock, [&] { return !busy.count(tmp); });
  busy.insert(tmp);
}

void end_turn(const std::string& tmp) {
  {
    std::lock_guard lock(busy_mutex);
    busy.erase(tmp);
  }
  busy_freed.notify_all();
}

// Makes the rename itself durable. Best effort: some filesystems refuse to fsync a directory.
void fsync_directory_of(const fs::path& path) {
  const fs::path dir = path.parent_path();
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

WriteError::WriteError(const fs::path& path, const std::string& reason)
    : std::runtime_error("cannot write '" + path.string() + "': " + reason), reason_(reason) {}

AtomicFile::AtomicFile(fs::path path) : path_(std::move(path)) {
  tmp_ = path_.string() + ".tmp-" + std::to_string(::getpid());
  take_turn(tmp_.string());
  // O_CLOEXEC: a child started meanwhile (gnuplot, a sweep stage) must not hold the file open.
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    const std::string reason = std::strerror(errno);
    end_turn(tmp_.string());
    throw WriteError(path_, reason);
  }
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(tmp_.c_str());
  }
  end_turn(tmp_.string());
}

void AtomicFile::fail(const std::string& reason) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  throw WriteError(path_, reason);
}

void AtomicFile::write(std::string_view bytes) {
  for (size_t done = 0; done < bytes.size();) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail(std::strerror(errno));
  const int closed = ::close(fd_);
  fd_ = -1;
  if (closed != 0) fail(std::strerror(errno));
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail(std::strerror(errno));
  committed_ = true;
  fsync_directory_of(path_);
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  AtomicFile f(path);
  f.write(bytes);
  f.commit();
}

int remove_stale_temp_files(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return 0;
  int removed = 0;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const size_t at = name.rfind(".tmp-");
    if (at == std::string::npos || at == 0 || at + 5 == name.size()) continue;
    if (name.find_first_not_of("0123456789", at + 5) != std::string::npos) continue;
    if (e.is_regular_file(ec) && fs::remove(e.path(), ec)) ++removed;
  }
  return removed;
}

}  // namespace nurture::core
