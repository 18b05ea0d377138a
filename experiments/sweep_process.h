// Child processes of a sweep: each stage runs as `nurture <stage> ...` (the same binary), its
// output appended to the variant's log, so a crash or an abort in one variant cannot take the
// sweep down and every variant's log reads like a terminal session.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace nurture::experiments {

// The running executable (/proc/self/exe resolved).
std::string self_executable();

// Runs argv[0] with argv, stdin from /dev/null, stdout and stderr appended to `log`, and
// OMP_NUM_THREADS=threads in its environment; waits for it. Returns the exit status, or
// 128 + signal number when it was killed. The child gets SIGTERM if the sweep dies first.
// `cpu_seconds` (optional) receives the child's user + system CPU time: on a shared machine the
// wall time says little about what a stage costs.
int run_logged(const std::vector<std::string>& argv, const std::filesystem::path& log, int threads,
               double* cpu_seconds = nullptr);

// "exit status 1" / "killed by signal 9 (Killed)".
std::string describe_status(int status);

// The last `lines` non-empty lines of a text file ("" when it cannot be read).
std::string log_tail(const std::filesystem::path& file, int lines);

// A command line as a shell would need it typed (arguments with spaces or specials quoted).
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace nurture::experiments
