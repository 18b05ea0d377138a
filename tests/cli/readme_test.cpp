// The README and the manual in docs/ cannot drift from the program: their tested examples run
// against the built binary, and the config reference is the generated one.
#include <gtest/gtest.h>

#include <algorithm>

#include "config/config.h"
#include "tests/cli/cli_support.h"

namespace nurture::test {
namespace {

const fs::path kSource = NURTURE_SOURCE_DIR;
// The documents whose examples run, in the order they run (one sandbox: the CLI reference uses
// the runs the README's quick start made).
const std::vector<std::string> kTestedDocs = {"README.md",
                                              "docs/CLI.md",
                                              "docs/OUTPUT-FORMATS.md",
                                              "docs/MIXED-PRECISION.md",
                                              "docs/MPI.md",
                                              "docs/REPRODUCE-PAPER.md",
                                              "docs/CONFIG.md",
                                              "docs/DEVELOPMENT.md"};

// A manual page with test markers that kTestedDocs leaves out would silently go untested.
TEST(ReadmeTest, EveryDocumentWithExamplesIsTested) {
  for (const auto& entry : fs::directory_iterator(kSource / "docs")) {
    if (entry.path().extension() != ".md") continue;
    const std::string rel = "docs/" + entry.path().filename().string();
    if (read_text(entry.path()).find("<!-- test") == std::string::npos) continue;
    EXPECT_NE(std::find(kTestedDocs.begin(), kTestedDocs.end(), rel), kTestedDocs.end())
        << rel << " has tested examples but is not in kTestedDocs";
  }
}

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

// Every example marked <!-- test --> in README.md and the manual, in order, in one sandbox.
TEST(ReadmeTest, ExamplesRunAsDocumented) {
  Sandbox box("readme");
  size_t total = 0;
  for (const std::string& doc : kTestedDocs) {
    const auto cmds = parse_readme_examples(read_text(kSource / doc), doc);
    total += cmds.size();
    for (const auto& c : cmds) {
      SCOPED_TRACE(doc + ":" + std::to_string(c.line) + ": " + c.command);
      const RunResult r = box.run(c.command);
      EXPECT_EQ(r.status, c.expected_status) << "stdout:\n" << r.out << "stderr:\n" << r.err;
      if (c.check_output) {
        EXPECT_EQ(join_lines(normalized_lines(r.both())), c.expected);
      }
    }
  }
  EXPECT_GE(total, 40u) << "the documents lost their tested examples (<!-- test --> markers)";
}

TEST(ReadmeTest, ConfigReferenceIsGenerated) {
  const std::string documented = between_markers(read_text(kSource / "docs/CONFIG.md"), "<!-- config-reference:begin",
                                                 "<!-- config-reference:end -->");
  const std::string generated = config::config_reference_markdown();
  if (join_lines(normalized_lines(documented)) != join_lines(normalized_lines(generated))) {
    const fs::path out = fs::absolute("config_reference.md");
    write_text(out, generated);
    ADD_FAILURE() << "docs/CONFIG.md's config reference differs from config::config_reference_markdown(). "
                  << "Replace the text between the config-reference markers with " << out.string();
  }
}

}  // namespace
}  // namespace nurture::test
