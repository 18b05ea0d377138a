// Checkpoints: model-agnostic HDF5 files of named fp32 arrays plus training state.
//
// File format, version 1 (README-ready; everything an h5py user needs):
//
//   /params/<name>    float32 dataset, contiguous and uncompressed, C order, one per model
//                     parameter with its GPT-2/nanoGPT name ("wte", "h.0.attn.c_attn.weight", ...;
//                     the dots are part of the name, not a hierarchy). Linear weights are
//                     [out, in] like torch.nn.Linear. The group tracks link creation order, which
//                     is the model's parameter order.
//   /optim/m/<name>   AdamW first moments: same names and shapes as /params.
//   /optim/v/<name>   AdamW second moments. /optim is absent in a model-only export.
//   /state            group whose scalar attributes are what a resume needs. `step` (int64) is the
//                     number of optimizer steps taken; the trainer adds e.g. loss_scale (float64),
//                     growth_tracker (int64), RNG / sampler state (uint64). Each attribute is int64,
//                     uint64, float64 or a UTF-8 string.
//   /config           scalar variable-length UTF-8 string dataset: the fully resolved YAML config
//                     of the run (config/config.h to_yaml), enough to rebuild the model.
//   /meta             group of scalar attributes: format_version (int32), nurture_version (string),
//                     created (string, ISO 8601 UTC, e.g. "2025-01-31T12:00:00Z"), and writer
//                     supplied ones such as precision (string: fp32 | bf16 | fp16).
//
//   import h5py
//   with h5py.File("ckpt.h5") as f:
//       sd = {k: torch.from_numpy(v[()]) for k, v in f["params"].items()}
//       step = int(f["state"].attrs["step"]); config = f["config"].asstr()[()]
//
// The file is assembled in memory (so peak memory while saving is about one extra copy of the
// checkpoint), written to "<path>.tmp-<pid>", fsync'd and renamed over <path>: a reader sees the
// old checkpoint or the new one, never a partial file. Files use HDF5's default (most widely
// readable) format versions. The HDF5 library used here is not thread-safe: call these
// functions from one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nurture::train {

inline constexpr int kCheckpointFormatVersion = 1;

// Any failure to write or read a checkpoint; what() is one line naming the file and the cause.
class CheckpointError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ArraySpec {
  std::string name;
  std::vector<int64_t> shape;
};

// A view for writing: `data` points at element_count(shape) contiguous floats (e.g. into the
// flat parameter buffer), so nothing is copied.
struct ArrayRef {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
};

// An array read back into its own memory.
struct NamedArray {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Named scalars, one map per stored type, so values come back with the type they were given.
struct CheckpointState {
  std::map<std::string, int64_t> ints;
  std::map<std::string, uint64_t> uints;
  std::map<std::string, double> reals;
  std::map<std::string, std::string> strings;
  bool operator==(const CheckpointState&) const = default;
};

struct CheckpointContents {
  std::vector<ArrayRef> params;
  std::vector<ArrayRef> m, v;  // both empty: model-only export (no /optim)
  CheckpointState state;       // should hold ints["step"]
  CheckpointState meta;        // e.g. strings["precision"]; format_version, nurture_version and
                               // created are added by the writer unless given
  std::string config_yaml;
  // Called once every array has been copied into the in-memory file and before that file is
  // written out: a caller that holds its arrays only for the write (nurture import) frees them
  // here, so it never holds three copies (its arrays, the HDF5 image, the bytes to write).
  std::function<void()> arrays_copied;
};

// Atomically replaces `path`. On any error the temp file is removed, `path` is left as it was,
// and CheckpointError says why ("No space left on device", "No such file or directory", ...).
void write_checkpoint(const std::string& path, const CheckpointContents& contents);

struct Checkpoint {
  std::vector<NamedArray> params;
  std::vector<NamedArray> m, v;      // empty when the file has no /optim or it was skipped
  bool has_optimizer_state = false;  // the file has /optim, whether or not it was read
  CheckpointState state, meta;       // meta without format_version (see below)
  std::string config_yaml;
  int format_version = 0;

  const NamedArray* find_param(std::string_view name) const;
};

enum class OptimizerState {
  skip,        // don't read /optim (evaluation, quantization)
  if_present,  // read it when the file has it
  require,     // refuse a model-only export (resuming training)
};

struct ReadOptions {
  bool arrays = true;  // false: only state, meta and config (cheap inspection)
  OptimizerState optimizer = OptimizerState::if_present;
};

// Reads everything into new memory, checking structure first: a missing group, a non-float or
// mismatched optimizer dataset, a format_version newer than kCheckpointFormatVersion, or a
// truncated/corrupt file throws CheckpointError, and nothing is returned half-loaded.
// Arrays come back in the file's creation order (the writer's order).
Checkpoint read_checkpoint(const std::string& path, const ReadOptions& options = {});

// As read_checkpoint, but the file must hold exactly `expected` (names and shapes) in /params
// (and /optim when read); checked before any array data is read. Arrays come back in the order
// of `expected`. Errors name the dataset: "/params/wpe has shape [128, 64], expected [256, 64]".
Checkpoint read_checkpoint_expecting(const std::string& path, const std::vector<ArraySpec>& expected,
                                     const ReadOptions& options = {});

// As read_checkpoint_expecting without /optim, but /params array i is read straight into dest[i]
// (room for element_count(expected[i].shape) floats, e.g. the model's flat buffer), so loading a
// model holds one copy of its weights, not two; the returned params carry names and shapes only.
Checkpoint read_params_into(const std::string& path, const std::vector<ArraySpec>& expected,
                            const std::vector<float*>& dest);

int64_t element_count(const std::vector<int64_t>& shape);
std::string shape_string(const std::vector<int64_t>& shape);  // "[3, 4]"; "[]" for a scalar

}  // namespace nurture::train
