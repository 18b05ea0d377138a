#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "config/config.h"
#include "config/config_error.h"
#include "train/distributed.h"
#include "train/trainer.h"

namespace nurture::cli {

Action add_train(CLI::App& app) {
  struct Opts {
    std::string config;
    std::vector<std::string> overrides;
    bool resume = false, overwrite = false;
  };
  auto o = std::make_shared<Opts>();
  app.add_option("config", o->config, "YAML config file (see configs/)")->required()->check(CLI::ExistingFile);
  app.add_option("overrides", o->overrides, "Dotted key=value overrides, e.g. optim.lr=3e-4 model.n_layer=2");
  app.add_flag("--resume", o->resume, "Continue from the newest checkpoint in output.dir");
  app.add_flag("--overwrite", o->overwrite, "Delete output.dir's checkpoints and metrics and start over");
  app.footer("Example: nurture train configs/tiny.yaml train.steps=20 output.dir=runs/tiny");
  return [o] {
    // Under mpirun every rank runs this; MPI is initialised only when a launcher started us.
    namespace dist = train::dist;
    dist::Session mpi(nullptr, nullptr);
    std::ostream quiet(nullptr);  // ranks other than 0 print nothing on success
    try {
      config::Config cfg = config::load_config(o->config, o->overrides);
      train::Trainer t(cfg, dist::is_root() ? std::cerr : quiet);
      t.setup(o->resume, o->overwrite);
      t.run();
      if (dist::is_root()) std::cout << "run directory: " << t.run_dir().string() << "\n";
      return 0;
    } catch (const config::ConfigError&) {
      // The same config reaches every rank, and it fails before any rank communicates: rank 0
      // reports it once and every rank ends normally.
      if (dist::is_root()) throw;
      return 1;
    } catch (const std::exception& e) {
      if (!dist::distributed()) throw;
      // Other ranks may be waiting in a collective for this one: report, then end the whole job.
      std::cerr << "nurture train: error: " + (dist::is_root() ? "" : "rank " + std::to_string(dist::rank()) + ": ") +
                       e.what() + "\n"
                << std::flush;
      dist::abort_job(1);
    }
  };
}

}  // namespace nurture::cli
