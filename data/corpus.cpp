#include "data/corpus.h"

#include <algorithm>
#include <cstdio>

#include "data/error.h"
#include "data/file_io.h"
#include "data/hash.h"
#include "data/utf8.h"

namespace nurture::data {

namespace fs = std::filesystem;

namespace {

// Bumped if the hashing scheme changes, so old cache entries are not mistaken for new ones.
constexpr std::string_view kCorpusHashVersion = "nurture-corpus-v1";

std::vector<fs::path> txt_files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().extension() == ".txt") files.push_back(entry.path());
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename().string() < b.filename().string(); });
  return files;
}

void check_utf8(const fs::path& file, std::string_view bytes) {
  const auto bad = find_invalid_utf8(bytes);
  if (!bad) return;
  const size_t line = 1 + static_cast<size_t>(std::count(bytes.begin(), bytes.begin() + *bad, '\n'));
  char byte_hex[8];
  std::snprintf(byte_hex, sizeof byte_hex, "0x%02X", static_cast<unsigned char>(bytes[*bad]));
  throw DataError("corpus file '" + file.string() + "' is not valid UTF-8: bad byte " + byte_hex + " at byte offset " +
                  std::to_string(*bad) + " (line " + std::to_string(line) +
                  "); convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8) or remove it from the corpus");
}

}  // namespace

std::vector<fs::path> resolve_corpus_files(const std::vector<std::string>& specs) {
  if (specs.empty())
    throw DataError("no corpus given; set the corpus to a text file, a directory of *.txt files, or a list of them");
  std::vector<fs::path> files;
  for (const std::string& spec : specs) {
    const fs::path p(spec);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      auto in_dir = txt_files_in(p);
      if (in_dir.empty())
        throw DataError("corpus directory '" + spec +
                        "' contains no *.txt files; add text files or list the files explicitly");
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p);
    } else {
      throw DataError("corpus path '" + spec + "' does not exist or is not a file/directory; check the corpus setting");
    }
  }
  return files;
}

Corpus read_corpus(const std::vector<std::string>& specs) {
  Corpus corpus;
  corpus.files = resolve_corpus_files(specs);
  Fnv1a64 hash;
  hash.update(kCorpusHashVersion).update_u64(corpus.files.size());
  size_t content_bytes = 0;
  for (size_t i = 0; i < corpus.files.size(); ++i) {
    const fs::path& file = corpus.files[i];
    const std::string bytes = read_file(file);
    check_utf8(file, bytes);
    hash.update(file.filename().string()).update_u64(bytes.size()).update(bytes);
    if (i > 0) corpus.text += kDocumentSeparator;
    corpus.text += bytes;
    content_bytes += bytes.size();
  }
  if (content_bytes == 0) {
    std::string names;
    for (const auto& f : corpus.files) names += (names.empty() ? "" : ", ") + f.string();
    throw DataError("corpus is empty: " + names + " contain no text; point the corpus at non-empty UTF-8 .txt files");
  }
  corpus.hash = hash.digest();
  return corpus;
}

fs::path default_cache_dir(const std::vector<std::string>& specs) {
  if (specs.empty()) return ".nurture-cache";
  const fs::path first(specs.front());
  std::error_code ec;
  fs::path dir = fs::is_directory(first, ec) ? first : first.parent_path();
  if (dir.empty()) dir = ".";
  return dir / ".nurture-cache";
}

}  // namespace nurture::data
