#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "train/config.h"
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
    train::Config cfg = train::load_config(o->config, o->overrides);
    train::Trainer t(cfg, std::cerr);
    t.setup(o->resume, o->overwrite);
    t.run();
    std::cout << "run directory: " << t.run_dir().string() << "\n";
    return 0;
  };
}

}  // namespace nurture::cli
