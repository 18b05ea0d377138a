// The one file writer's contract: the new bytes go to "<path>.tmp-<pid>" beside the target and
// reach the final name only by rename, a failed or abandoned write leaves the previous file and
// no temp file, and an error is one line naming the target and the OS reason.
#include "core/atomic_file.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <string>

#include "tests/support/support.h"

namespace nurture::core {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;
using test::write_text;

std::string temp_name(const fs::path& p) { return p.string() + ".tmp-" + std::to_string(::getpid()); }

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicFile, WritesUnderATempNameAndRenamesOnCommit) {
  const TempDir dir("atomic");
  const fs::path target = dir / "status.json";
  write_text(target, "old");
  {
    AtomicFile f(target);
    EXPECT_EQ(f.temp_path(), fs::path(temp_name(target)));
    f.write("ne");
    f.write("w");
    EXPECT_EQ(read_text(target), "old") << "the final name changes only at commit";
    EXPECT_TRUE(fs::exists(f.temp_path()));
    f.commit();
  }
  EXPECT_EQ(read_text(target), "new");
  EXPECT_EQ(entries(dir), 1u) << "no temp file left";

  write_file_atomic(target, "");
  EXPECT_EQ(read_text(target), "");
  EXPECT_EQ(entries(dir), 1u);
}

TEST(AtomicFile, AbandonedWriteKeepsThePreviousFile) {
  const TempDir dir("atomic");
  const fs::path target = dir / "ptq.json";
  write_text(target, "previous");
  {
    AtomicFile f(target);
    f.write("half of a new");
  }
  EXPECT_EQ(read_text(target), "previous");
  EXPECT_EQ(entries(dir), 1u);
}

TEST(AtomicFile, ErrorIsOneLineNamingThePathAndTheReason) {
  const TempDir dir("atomic");
  const fs::path target = dir / "no/such/dir/summary.csv";
  try {
    write_file_atomic(target, "x");
    FAIL() << "no error";
  } catch (const WriteError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot write '" + target.string() + "': No such file or directory");
    EXPECT_EQ(e.reason(), "No such file or directory");
  }
}

TEST(AtomicFile, FullDiskKeepsThePreviousFileAndNoTempFile) {
  const TempDir dir("atomic");
  const fs::path target = dir / "big.bin";
  write_text(target, "previous");
  std::string err;
  {
    const test::FileSizeLimit limit(4096);
    ASSERT_TRUE(limit.ok());
    err = test::error_of<WriteError>([&] { write_file_atomic(target, std::string(8192, 'x')); });
  }
  EXPECT_EQ(err, "cannot write '" + target.string() + "': File too large");
  EXPECT_EQ(read_text(target), "previous");
  EXPECT_EQ(entries(dir), 1u);
}

TEST(AtomicFile, StaleTempFilesAreRemovedAndNothingElse) {
  const TempDir dir("atomic");
  for (const char* name : {"a.h5.tmp-123", "config.yaml.tmp-9", "a.h5", "b.tmp-", "c.tmp-12x", ".tmp-5", "d.tmp"})
    write_text(dir / name, "x");
  EXPECT_EQ(remove_stale_temp_files(dir), 2);
  EXPECT_FALSE(fs::exists(dir / "a.h5.tmp-123"));
  EXPECT_FALSE(fs::exists(dir / "config.yaml.tmp-9"));
  EXPECT_EQ(entries(dir), 5u);
  EXPECT_EQ(remove_stale_temp_files(dir / "missing"), 0);
}

}  // namespace
}  // namespace nurture::core
