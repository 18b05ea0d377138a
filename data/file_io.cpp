#include "data/file_io.h"

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

void ensure_directory(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw DataError("cannot create cache directory '" + dir.string() + "': " + (ec ? ec.message() : "not a directory") +
                    "; set cache_dir to a writable directory");
}

}  // namespace nurture::data
