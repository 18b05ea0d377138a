#include "data/corpus.h"

#include <gtest/gtest.h>

#include "data/error.h"
#include "data/utf8.h"
#include "test_support.h"

namespace nurture::data {
namespace {

using testing::TempDir;
using testing::write_text;

std::string error_of(const std::vector<std::string>& specs) {
  return test::error_of<DataError>([&] { read_corpus(specs); });
}

TEST(DataUtf8, AcceptsValidAndRejectsMalformed) {
  EXPECT_FALSE(find_invalid_utf8("plain ascii\n"));
  EXPECT_FALSE(find_invalid_utf8("caf\xC3\xA9 \xE2\x80\x9Cquote\xE2\x80\x9D \xF0\x9F\x98\x80"));
  EXPECT_EQ(find_invalid_utf8("ab\xFF"), 2u);            // never valid
  EXPECT_EQ(find_invalid_utf8("a\x80"), 1u);             // stray continuation
  EXPECT_EQ(find_invalid_utf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(find_invalid_utf8("x\xED\xA0\x80"), 1u);     // UTF-16 surrogate
  EXPECT_EQ(find_invalid_utf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("ok\xE2\x80"), 2u);        // truncated at end
  EXPECT_EQ(find_invalid_utf8("\xE2(\xA1"), 0u);         // bad continuation
}

TEST(DataCorpus, SingleFile) {
  TempDir dir;
  write_text(dir / "a.txt", "hello\n");
  const Corpus c = read_corpus({(dir / "a.txt").string()});
  EXPECT_EQ(c.text, "hello\n");
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_NE(c.hash, 0u);
}

TEST(DataCorpus, DirectoryTakesSortedTxtFilesOnly) {
  TempDir dir;
  write_text(dir / "b.txt", "second");
  write_text(dir / "a.txt", "first");
  write_text(dir / "notes.md", "ignored");
  std::filesystem::create_directories(dir / "sub");
  write_text(dir / "sub" / "c.txt", "not recursive");
  const Corpus c = read_corpus({dir.path().string()});
  EXPECT_EQ(c.text, "first\n\nsecond");
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_EQ(c.files[0].filename(), "a.txt");
}

TEST(DataCorpus, ListOfFilesAndDirectories) {
  TempDir dir;
  std::filesystem::create_directories(dir / "d");
  write_text(dir / "d" / "x.txt", "X");
  write_text(dir / "y.txt", "Y");
  const Corpus c = read_corpus({(dir / "y.txt").string(), (dir / "d").string()});
  EXPECT_EQ(c.text, "Y\n\nX");
}

TEST(DataCorpus, HashIsStableAndContentSensitive) {
  TempDir a, b;
  write_text(a / "t.txt", "same bytes");
  write_text(b / "t.txt", "same bytes");
  const uint64_t h1 = read_corpus({(a / "t.txt").string()}).hash;
  EXPECT_EQ(h1, read_corpus({(b / "t.txt").string()}).hash) << "moving the corpus must keep the cache key";
  write_text(b / "t.txt", "same bytez");
  EXPECT_NE(h1, read_corpus({(b / "t.txt").string()}).hash);
  write_text(b / "u.txt", "same bytes");
  EXPECT_NE(h1, read_corpus({(b / "u.txt").string()}).hash) << "file names are part of the key";
}

TEST(DataCorpus, InvalidUtf8NamesFileOffsetAndLine) {
  TempDir dir;
  write_text(dir / "bad.txt", "line one\nline tw\xE9 latin-1\n");
  const std::string msg = error_of({(dir / "bad.txt").string()});
  EXPECT_NE(msg.find("bad.txt"), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte offset 16"), std::string::npos) << msg;
  EXPECT_NE(msg.find("line 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("0xE9"), std::string::npos) << msg;
  EXPECT_NE(msg.find("iconv"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
}

TEST(DataCorpus, EmptyCorpusIsAnError) {
  TempDir dir;
  write_text(dir / "empty.txt", "");
  EXPECT_NE(error_of({(dir / "empty.txt").string()}).find("corpus is empty"), std::string::npos);
  EXPECT_NE(error_of({dir.path().string() + "/missing.txt"}).find("does not exist"), std::string::npos);
  std::filesystem::create_directories(dir / "none");
  EXPECT_NE(error_of({(dir / "none").string()}).find("no *.txt files"), std::string::npos);
  EXPECT_NE(error_of({}).find("no corpus given"), std::string::npos);
}

TEST(DataCorpus, DefaultCacheDirSitsNextToTheCorpus) {
  TempDir dir;
  write_text(dir / "a.txt", "x");
  EXPECT_EQ(default_cache_dir({(dir / "a.txt").string()}), dir.path() / ".nurture-cache");
  EXPECT_EQ(default_cache_dir({dir.path().string()}), dir.path() / ".nurture-cache");
}

}  // namespace
}  // namespace nurture::data
