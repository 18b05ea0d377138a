#include "data/file_io.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "data/error.h"

namespace nurture::data {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw DataError("cannot open '" + path.string() + "': " + std::strerror(errno) +
                    "; check the path and permissions");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  std::string bytes(static_cast<size_t>(size), '\0');
  if (size > 0 && !in.read(bytes.data(), size))
    throw DataError("cannot read '" + path.string() + "'; check that the file is readable");
  return bytes;
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
  // pid + counter keep concurrent writers (processes or threads) off each other's temp files;
  // the ".tmp" suffix matches the repo's .gitignore.
  static std::atomic<unsigned> counter{0};
  const fs::path tmp = path.string() + "." + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out)
      throw DataError("cannot write '" + tmp.string() + "': " + std::strerror(errno) +
                      "; make the cache directory writable or choose another cache_dir");
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) {
      std::error_code ignored;
      fs::remove(tmp, ignored);
      throw DataError("failed writing '" + tmp.string() + "' (disk full?); free space or choose another cache_dir");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    throw DataError("cannot rename '" + tmp.string() + "' to '" + path.string() + "': " + ec.message());
  }
}

void ensure_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw DataError("cannot create cache directory '" + dir.string() + "': " + (ec ? ec.message() : "not a directory") +
                    "; set cache_dir to a writable directory");
}

}  // namespace nurture::data
