#include "train/distributed.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#ifdef NURTURE_HAVE_MPI
#include <mpi.h>
#endif

namespace nurture::train::dist {

namespace {
// Set by Session once MPI is initialised; before that (and without MPI) the process is rank 0 of 1.
int g_rank = 0, g_size = 1;
[[maybe_unused]] bool g_active = false;  // MPI initialised by a Session (MPI builds only)

// Launchers announce the job through these (Open MPI, PMIx, MPICH/Hydra and Slurm's PMI).
// Slurm's own SLURM_PROCID is not enough: it is also set for a plain batch script.
const char* const kRankVars[] = {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"};
const char* const kSizeVars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};

int env_int(const char* const* names, size_t count) {
  for (size_t i = 0; i < count; ++i)
    if (const char* v = std::getenv(names[i])) return std::atoi(v);
  return -1;
}

#ifdef NURTURE_HAVE_MPI
void check(int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  throw std::runtime_error(std::string(what) + " failed: " + std::string(msg, size_t(len)));
}

int as_int(int64_t n, const char* what) {
  if (n > INT_MAX)
    throw std::runtime_error(std::string(what) + ": " + std::to_string(n) + " elements exceed MPI's int counts");
  return static_cast<int>(n);
}
#endif
}  // namespace

bool compiled_with_mpi() {
#ifdef NURTURE_HAVE_MPI
  return true;
#else
  return false;
#endif
}

bool launched_by_mpi() { return env_int(kRankVars, std::size(kRankVars)) >= 0; }

Session::Session(int* argc, char*** argv) {
  if (!launched_by_mpi()) return;
#ifdef NURTURE_HAVE_MPI
  int provided = 0;
  // Only the main thread calls MPI; OpenMP threads run between the calls.
  check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  g_active = true;
#else
  const int n = env_int(kSizeVars, std::size(kSizeVars));
  if (n > 1)
    throw std::runtime_error("started as one of " + std::to_string(n) +
                             " MPI ranks, but this nurture was built without MPI (NURTURE_MPI=OFF); install "
                             "libopenmpi-dev and rebuild, or run without mpirun");
#endif
}

Session::~Session() {
#ifdef NURTURE_HAVE_MPI
  if (!g_active) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
  g_active = false;
  g_rank = 0;
  g_size = 1;
#endif
}

void abort_job(int code) {
#ifdef NURTURE_HAVE_MPI
  if (g_active && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

int rank() { return g_rank; }
int size() { return g_size; }

void barrier() {
#ifdef NURTURE_HAVE_MPI
  if (g_size > 1) check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
#endif
}

void sum_ordered(float* data, int64_t n, std::vector<float>& scratch) {
#ifdef NURTURE_HAVE_MPI
  const int N = g_size;
  if (N == 1) return;
  if (N == 2) {
    // With two operands each element is one addition, g0 + g1 == g1 + g0 in IEEE arithmetic,
    // whatever algorithm the library picks: MPI_Allreduce is already rank-ordered, and faster.
    sum_mpi(data, n);
    return;
  }
  sum_ordered_alltoall(data, n, scratch);
#else
  (void)data, (void)n, (void)scratch;
#endif
}

void sum_ordered_alltoall(float* data, int64_t n, std::vector<float>& scratch) {
#ifdef NURTURE_HAVE_MPI
  const int N = g_size;
  if (N == 1) return;
  as_int(n, "gradient all-reduce");
  const size_t ranks = static_cast<size_t>(N);
  std::vector<int> off(ranks + 1), cnt(ranks), recv_cnt(ranks), recv_off(ranks);
  for (int j = 0; j <= N; ++j) off[j] = static_cast<int>(n * j / N);
  for (int j = 0; j < N; ++j) cnt[j] = off[j + 1] - off[j];
  const int mine = cnt[g_rank];
  for (int j = 0; j < N; ++j) recv_cnt[j] = mine, recv_off[j] = j * mine;
  scratch.resize(size_t(N) * size_t(mine));
  // Reduce-scatter: rank r receives chunk r of every rank's buffer...
  check(MPI_Alltoallv(data, cnt.data(), off.data(), MPI_FLOAT, scratch.data(), recv_cnt.data(), recv_off.data(),
                      MPI_FLOAT, MPI_COMM_WORLD),
        "MPI_Alltoallv");
  // ...and adds the N copies in rank order, the order a single process would use.
  float* out = data + off[g_rank];
  const float* s = scratch.data();
#pragma omp parallel for schedule(static)
  for (int i = 0; i < mine; ++i) {
    float acc = s[i];
    for (int j = 1; j < N; ++j) acc += s[size_t(j) * mine + i];
    out[i] = acc;
  }
  check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_FLOAT, data, cnt.data(), off.data(), MPI_FLOAT, MPI_COMM_WORLD),
        "MPI_Allgatherv");
#else
  (void)data, (void)n, (void)scratch;
#endif
}

void sum_mpi(float* data, int64_t n) {
#ifdef NURTURE_HAVE_MPI
  if (g_size > 1)
    check(MPI_Allreduce(MPI_IN_PLACE, data, as_int(n, "MPI_Allreduce"), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
#else
  (void)data, (void)n;
#endif
}

double sum_ordered(double value) {
#ifdef NURTURE_HAVE_MPI
  if (g_size == 1) return value;
  std::vector<double> all(static_cast<size_t>(g_size));
  check(MPI_Allgather(&value, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD), "MPI_Allgather");
  double acc = all[0];
  for (int j = 1; j < g_size; ++j) acc += all[j];
  return acc;
#else
  return value;
#endif
}

void sum(int64_t* data, int n) {
#ifdef NURTURE_HAVE_MPI
  if (g_size > 1) check(MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
#else
  (void)data, (void)n;
#endif
}

void sum(double* data, int n) {
#ifdef NURTURE_HAVE_MPI
  if (g_size > 1) check(MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
#else
  (void)data, (void)n;
#endif
}

void max(float* data, int n) {
#ifdef NURTURE_HAVE_MPI
  if (g_size > 1) check(MPI_Allreduce(MPI_IN_PLACE, data, n, MPI_FLOAT, MPI_MAX, MPI_COMM_WORLD), "MPI_Allreduce");
#else
  (void)data, (void)n;
#endif
}

bool any(bool value) {
#ifdef NURTURE_HAVE_MPI
  if (g_size == 1) return value;
  int v = value ? 1 : 0;
  check(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD), "MPI_Allreduce");
  return v != 0;
#else
  return value;
#endif
}

void broadcast(void* data, size_t bytes) {
#ifdef NURTURE_HAVE_MPI
  if (g_size == 1) return;
  auto* p = static_cast<char*>(data);
  while (bytes > 0) {
    const int part = static_cast<int>(std::min<size_t>(bytes, size_t(1) << 30));
    check(MPI_Bcast(p, part, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
    p += part;
    bytes -= size_t(part);
  }
#else
  (void)data, (void)bytes;
#endif
}

void send(int dest, const int64_t* data, int n) {
#ifdef NURTURE_HAVE_MPI
  check(MPI_Send(data, n, MPI_INT64_T, dest, 0, MPI_COMM_WORLD), "MPI_Send");
#else
  (void)dest, (void)data, (void)n;
  throw std::logic_error("dist::send without MPI");
#endif
}

void recv(int source, int64_t* data, int n) {
#ifdef NURTURE_HAVE_MPI
  check(MPI_Recv(data, n, MPI_INT64_T, source, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
#else
  (void)source, (void)data, (void)n;
  throw std::logic_error("dist::recv without MPI");
#endif
}

int recv_any(int64_t* data, int n) {
#ifdef NURTURE_HAVE_MPI
  MPI_Status st;
  for (int flag = 0;;) {
    check(MPI_Iprobe(MPI_ANY_SOURCE, 0, MPI_COMM_WORLD, &flag, &st), "MPI_Iprobe");
    if (flag) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  check(MPI_Recv(data, n, MPI_INT64_T, st.MPI_SOURCE, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
  return st.MPI_SOURCE;
#else
  (void)data, (void)n;
  throw std::logic_error("dist::recv_any without MPI");
#endif
}

void hide_launcher_environment() {
  std::vector<std::string> names;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string name = kv.substr(0, kv.find('='));
    for (const char* prefix : {"OMPI_", "PMIX_", "PMI_"})
      if (name.rfind(prefix, 0) == 0) names.push_back(name);
  }
  for (const auto& name : names) ::unsetenv(name.c_str());
}

int local_size() {
  for (const char* name : {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_NTASKS_PER_NODE"})
    if (const char* v = std::getenv(name))
      if (const int n = std::atoi(v); n > 0) return n;
  return 1;
}

}  // namespace nurture::train::dist
