// The README cannot drift from the program: its tested examples run against the built binary,
// and its config reference is the generated one.
#include <gtest/gtest.h>

#include "tests/cli/cli_support.h"
#include "train/config.h"

namespace nurture::test {
namespace {

const fs::path kReadme = fs::path(NURTURE_SOURCE_DIR) / "README.md";

TEST(ReadmeTest, ParserFindsMarkedBlocks) {
  const std::string md =
      "text\n<!-- test -->\n```sh\n# a comment\nnurture train a.yaml \\\n  x=1\n\nnurture cast 1\n```\n"
      "```sh\nnot tested\n```\n"
      "<!-- test: exit=2 -->\n```console\n$ nurture cast abc\nnurture cast: bad value  \n\n$ nurture cast x\n```\n";
  const auto cmds = parse_readme_examples(md);
  ASSERT_EQ(cmds.size(), 4u);
  EXPECT_EQ(cmds[0].command, "nurture train a.yaml \n  x=1");
  EXPECT_EQ(cmds[0].line, 5);
  EXPECT_FALSE(cmds[0].check_output);
  EXPECT_EQ(cmds[1].command, "nurture cast 1");
  EXPECT_EQ(cmds[2].command, "nurture cast abc");
  EXPECT_TRUE(cmds[2].check_output);
  EXPECT_EQ(cmds[2].expected, "nurture cast: bad value\n");
  EXPECT_EQ(cmds[2].expected_status, 2);
  EXPECT_EQ(cmds[3].expected, "");
  EXPECT_THROW(parse_readme_examples("<!-- test -->\ntext\n"), std::runtime_error);
  EXPECT_THROW(parse_readme_examples("<!-- test: exit=1 -->\n```sh\nx\n```\n"), std::runtime_error);
  EXPECT_THROW(parse_readme_examples("<!-- tests -->\n```sh\nx\n```\n"), std::runtime_error);
}

// Every example marked <!-- test --> in README.md, in order, in one sandbox.
TEST(ReadmeTest, ExamplesRunAsDocumented) {
  const auto cmds = parse_readme_examples(read_text(kReadme));
  ASSERT_GE(cmds.size(), 10u) << "README.md lost its tested examples (<!-- test --> markers)";
  Sandbox box("readme");
  for (const auto& c : cmds) {
    SCOPED_TRACE("README.md:" + std::to_string(c.line) + ": " + c.command);
    const RunResult r = box.run(c.command);
    EXPECT_EQ(r.status, c.expected_status) << "stdout:\n" << r.out << "stderr:\n" << r.err;
    if (c.check_output) {
      EXPECT_EQ(join_lines(normalized_lines(r.both())), c.expected);
    }
  }
}

TEST(ReadmeTest, ConfigReferenceIsGenerated) {
  const std::string readme = read_text(kReadme);
  const std::string documented =
      between_markers(readme, "<!-- config-reference:begin", "<!-- config-reference:end -->");
  const std::string generated = train::config_reference_markdown();
  if (join_lines(normalized_lines(documented)) != join_lines(normalized_lines(generated))) {
    const fs::path out = fs::absolute("config_reference.md");
    write_text(out, generated);
    ADD_FAILURE() << "README.md's config reference differs from train::config_reference_markdown(). "
                  << "Replace the text between the config-reference markers with " << out.string();
  }
}

}  // namespace
}  // namespace nurture::test
