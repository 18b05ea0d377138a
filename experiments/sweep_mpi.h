// `mpirun -np N nurture sweep GRID.yaml`: the sweep spread over the ranks of an MPI job.
#pragma once

#include <iosfwd>

#include "experiments/grid.h"
#include "experiments/sweep.h"

namespace nurture::experiments {

// True when this process is a rank of an MPI job (mpirun/srun set its rank variables).
bool sweep_launched_by_mpi();

// Rank 0 hands out the selected variants from a work queue, one at a time, to ranks 1..N-1, and
// prints one line per finished variant and the summary to `out`. Each worker runs its variant
// exactly as `nurture sweep GRID --only <name>` would (status.json, log, resume), so results land
// in the same runs/ tree and a failure marks only that variant failed. With one rank, that rank
// runs the whole sweep. The training runs started by the workers are ordinary single-process
// runs. Returns the exit status (on rank 0: 1 if a variant failed).
int run_sweep_mpi(const Grid& grid, const SweepOptions& opt, std::ostream& out);

}  // namespace nurture::experiments
