// Data-parallel training across processes: a thin wrapper over the few MPI calls the trainer
// needs, so no other file includes <mpi.h> and the build works without MPI.
//
// A process is distributed only when a launcher started it (mpirun/srun set the rank variables
// checked by launched_by_mpi()); a plain `nurture train` never initialises MPI, so it keeps
// working on machines where MPI is installed but unusable. Without MPI compiled in
// (NURTURE_MPI=OFF), every function below is the single-process identity: size 1, rank 0,
// reductions that return their input.
//
// Determinism: sum_ordered() adds the ranks' buffers in rank order, ((g0 + g1) + g2) + ..., on
// every rank, whatever MPI's reduction algorithm would do. With each rank's gradient computed
// into its own zeroed buffer, N ranks produce the same bits as one process that computes the
// same N slices one after another and adds them in slice order (the trainer's grad_accum path).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace nurture::train::dist {

// True when this binary was built with MPI (NURTURE_MPI=ON).
bool compiled_with_mpi();
// True when a launcher started this process as one rank of a job (environment variables of
// Open MPI, MPICH/Hydra, PMIx or Slurm's PMI), whether or not MPI is compiled in.
bool launched_by_mpi();

// Initialises MPI for the lifetime of the object when launched by MPI, otherwise does nothing.
// Throws std::runtime_error when launched by mpirun with more than one rank but MPI is not
// compiled in (N independent copies would each write the same run directory).
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();  // MPI_Finalize
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
};

// Ends every rank of the job now (MPI_Abort); when not distributed, std::exit(code).
[[noreturn]] void abort_job(int code);

int rank();  // 0 when not distributed
int size();  // 1 when not distributed
inline bool distributed() { return size() > 1; }
inline bool is_root() { return rank() == 0; }

void barrier();

// In place: every rank ends with g_0 + g_1 + ... + g_{N-1}, added in rank order (bit-identical on
// every rank and independent of the MPI library's algorithm). Reduce-scatter (MPI_Alltoallv of
// 1/N chunks, summed in rank order) then MPI_Allgatherv: each rank sends and receives
// 2·(N−1)/N of the buffer, as a ring all-reduce does. With N = 2 each element is a single
// addition, so it calls MPI_Allreduce directly. `scratch` is reused between calls.
void sum_ordered(float* data, int64_t n, std::vector<float>& scratch);
// The Alltoallv/Allgatherv path of sum_ordered for any N (also N = 2: the benchmark compares it).
void sum_ordered_alltoall(float* data, int64_t n, std::vector<float>& scratch);
// MPI_Allreduce(MPI_SUM) in place: the library's own algorithm (order unspecified for N > 2).
// Kept for the benchmark's comparison.
void sum_mpi(float* data, int64_t n);
// Sum of one value per rank, added in rank order.
double sum_ordered(double value);
// Order-independent reductions, in place.
void sum(int64_t* data, int n);
// MPI_SUM on doubles: order unspecified, so exact only where at most one rank holds a non-zero.
void sum(double* data, int n);
void max(float* data, int n);
bool any(bool value);  // the loss-scaler's inf/nan decision: true if true on any rank

// Rank 0's bytes to every rank.
void broadcast(void* data, size_t bytes);

// Point to point, for small control messages (the distributed sweep's work queue).
void send(int dest, const int64_t* data, int n);
void recv(int source, int64_t* data, int n);
// Waits for a message from any rank, polling every few milliseconds instead of spinning (Open
// MPI's blocking receive busy-waits, which would take a core from the workers); returns the
// sender's rank.
int recv_any(int64_t* data, int n);

// Removes the launcher's variables (OMPI_*, PMIX_*, PMI_*) from this process's environment, so
// child processes it starts (the sweep's `nurture train` runs) are not taken for ranks of this
// job: a child that inherits them joins the job in its parent's place.
void hide_launcher_environment();
// Ranks on this node (Open MPI's OMPI_COMM_WORLD_LOCAL_SIZE, or Slurm's); 1 when unknown.
int local_size();

}  // namespace nurture::train::dist
