// Helpers for the CLI tests: a sandbox that looks like the repository root to `nurture`, a way
// to run shell commands in it, and the parser for the README's tested code blocks.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/support/support.h"

namespace nurture::test {

namespace fs = std::filesystem;

struct RunResult {
  int status = -1;  // exit status, or 128 + signal number
  std::string out, err;
  std::string both() const { return out + err; }
};

// A temporary directory standing in for the repository root: configs/ and datasets/ are
// symlinks into the source tree (read-only use; the tokenizer cache under
// datasets/<corpus>/.nurture-cache/ is gitignored), bin/nurture is the binary under test, and
// everything a command writes (runs/, files it creates) stays in the sandbox, which is removed
// at the end.
class Sandbox {
 public:
  explicit Sandbox(const std::string& name) : root_("cli-" + name) {
    fs::create_directories(root_ / "bin");
    const fs::path src = NURTURE_SOURCE_DIR;
    fs::create_directory_symlink(src / "configs", root_ / "configs");
    fs::create_directory_symlink(src / "datasets", root_ / "datasets");
    fs::create_symlink(fs::absolute(NURTURE_BIN), root_ / "bin" / "nurture");
  }
  const fs::path& root() const { return root_.path(); }

  // Runs `command` with /bin/sh -c in the sandbox, `nurture` first on PATH (so argv[0] is
  // "nurture", as for a user who put build/cli on PATH). OMP_NUM_THREADS is inherited (ctest
  // sets 1).
  RunResult run(const std::string& command) const {
    const fs::path out_file = root_ / ".stdout", err_file = root_ / ".stderr";
    const std::string path =
        (root_ / "bin").string() + ":" + (std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin");
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
      const int o = ::open(out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int n = ::open("/dev/null", O_RDONLY);
      if (o < 0 || e < 0 || n < 0 || ::chdir(root_.path().c_str()) != 0) ::_exit(126);
      ::dup2(n, 0);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::setenv("PATH", path.c_str(), 1);
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0) {
    }
    RunResult r;
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = read_text(out_file);
    r.err = read_text(err_file);
    return r;
  }

 private:
  TempDir root_;
};

// Lines of `text` with trailing whitespace removed and trailing empty lines dropped: how README
// blocks and program output are compared.
inline std::vector<std::string> normalized_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.pop_back();
    lines.push_back(line);
  }
  while (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// The convention for tested examples in README.md and the manual under docs/ (documented in
// docs/DEVELOPMENT.md, "Tested documentation"):
//
//   <!-- test -->              before a ```sh block: every command runs in order and must
//                              exit 0; `#` lines are comments, a trailing `\` continues a line.
//   <!-- test -->              before a ```console block: `$ ` lines are commands, the lines
//   <!-- test: exit=N -->      after each are its exact output (stdout then stderr; trailing
//                              spaces ignored); the exit status must be 0, or N when given.
//
// All tested blocks of all documents share one sandbox and run in order (README.md first, then
// the manual pages in kTestedDocs order), so a later block may use what an earlier one wrote
// (e.g. the CLI reference samples the checkpoint that the README's quick start trained).
struct ReadmeCommand {
  int line = 0;  // 1-based line of the command in its document
  std::string command;
  bool check_output = false;
  std::string expected;  // normalized expected output when check_output
  int expected_status = 0;
};

// `doc` names the document in error messages ("README.md:12: ...").
inline std::vector<ReadmeCommand> parse_readme_examples(const std::string& text, const std::string& doc = "README.md") {
  std::vector<std::string> lines;
  {
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  auto trim = [](std::string s) {
    const size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  std::vector<ReadmeCommand> cmds;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string marker = trim(lines[i]);
    if (marker.rfind("<!-- test", 0) != 0) continue;
    int status = 0;
    if (marker == "<!-- test -->") {
      status = 0;
    } else if (marker.rfind("<!-- test: exit=", 0) == 0 && marker.size() > 20 &&
               marker.compare(marker.size() - 4, 4, " -->") == 0) {
      status = std::stoi(marker.substr(16, marker.size() - 20));
    } else {
      throw std::runtime_error(doc + ":" + std::to_string(i + 1) + ": unrecognised test marker '" + marker + "'");
    }
    size_t j = i + 1;
    while (j < lines.size() && trim(lines[j]).empty()) ++j;
    const std::string fence = j < lines.size() ? trim(lines[j]) : "";
    const bool console = fence == "```console";
    if (fence != "```sh" && !console)
      throw std::runtime_error(doc + ":" + std::to_string(i + 1) +
                               ": a test marker must be followed by a ```sh or ```console block");
    if (!console && status != 0)
      throw std::runtime_error(doc + ":" + std::to_string(i + 1) +
                               ": exit=N needs a ```console block with the expected output");
    std::vector<std::string> expected;
    const size_t first = cmds.size();
    auto flush_expected = [&] {
      if (console && cmds.size() > first) cmds.back().expected = join_lines(normalized_lines(join_lines(expected)));
      expected.clear();
    };
    size_t k = j + 1;
    for (; k < lines.size() && trim(lines[k]) != "```"; ++k) {
      std::string l = lines[k];
      const bool is_command = console ? l.rfind("$ ", 0) == 0 : !(trim(l).empty() || trim(l)[0] == '#');
      if (!is_command) {
        if (console && cmds.size() == first && !trim(l).empty())
          throw std::runtime_error(doc + ":" + std::to_string(k + 1) + ": output before the first `$ ` command");
        if (console) expected.push_back(l);
        continue;
      }
      flush_expected();
      ReadmeCommand c;
      c.line = static_cast<int>(k + 1);
      c.command = console ? l.substr(2) : l;
      while (!c.command.empty() && c.command.back() == '\\' && k + 1 < lines.size()) {
        c.command.pop_back();
        c.command += "\n" + lines[++k];
      }
      c.check_output = console;
      c.expected_status = status;
      cmds.push_back(c);
    }
    if (k == lines.size()) throw std::runtime_error(doc + ":" + std::to_string(j + 1) + ": unterminated code block");
    flush_expected();
    i = k;
  }
  return cmds;
}

// The text between `begin` and `end` marker lines (exclusive), or throws.
inline std::string between_markers(const std::string& text, const std::string& begin, const std::string& end) {
  const size_t b = text.find(begin);
  if (b == std::string::npos) throw std::runtime_error("marker '" + begin + "' not found");
  const size_t start = text.find('\n', b);
  const size_t e = text.find(end, start);
  if (start == std::string::npos || e == std::string::npos) throw std::runtime_error("marker '" + end + "' not found");
  return text.substr(start + 1, e - start - 1);
}

}  // namespace nurture::test
