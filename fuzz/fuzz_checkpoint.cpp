// libFuzzer target: the checkpoint reader (train::read_checkpoint, read_checkpoint_expecting).
//
// Structure-aware: the input drives a small program that writes a checkpoint through
// write_checkpoint (arrays of fuzzed names and shapes), then edits it through the HDF5 API the
// way a damaged or foreign file could differ (a link deleted, a dataset of another type or
// shape or a group in its place, format_version of another value or type, /state and /config
// replaced), and finally truncates it. The reader must load the result completely or throw one
// CheckpointError line naming the file, and close every HDF5 object either way.
//
// Raw byte mutation of HDF5 files is not fuzzed here: it crashes inside libhdf5 1.10 itself
// (e.g. H5HG_read copying a corrupt global-heap length) within seconds, which nurture cannot
// fix; docs/RELIABILITY.md has the details. Truncation, the common real damage, is covered.
#include <fuzzer/FuzzedDataProvider.h>
#include <hdf5.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.h"
#include "train/checkpoint.h"

namespace {

using namespace nurture;

const char* const kNames[] = {"wte", "wpe", "h.0.attn.c_attn.weight", "lm_head.weight"};
const char* const kLinks[] = {"/params", "/optim", "/optim/m", "/optim/v", "/state", "/meta", "/config"};

std::string array_path(FuzzedDataProvider& in) {
  const char* const groups[] = {"/params/", "/optim/m/", "/optim/v/"};
  return std::string(groups[in.ConsumeIntegralInRange<int>(0, 2)]) + kNames[in.ConsumeIntegralInRange<int>(0, 3)];
}

std::vector<hsize_t> dims(FuzzedDataProvider& in) {
  std::vector<hsize_t> d(in.ConsumeIntegralInRange<int>(0, 3));
  for (auto& x : d) x = in.ConsumeIntegralInRange<hsize_t>(0, 6);
  return d;
}

hid_t space_of(const std::vector<hsize_t>& d) {
  return d.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(int(d.size()), d.data(), nullptr);
}

// A dataset (or a group) of a fuzzed type and shape at `path`, replacing what was there.
void replace_dataset(hid_t file, const std::string& path, FuzzedDataProvider& in) {
  H5Ldelete(file, path.c_str(), H5P_DEFAULT);
  const int kind = in.ConsumeIntegralInRange<int>(0, 4);
  if (kind == 4) {
    hid_t g = H5Gcreate2(file, path.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0) H5Gclose(g);
    return;
  }
  const hid_t types[] = {H5T_IEEE_F32LE, H5T_IEEE_F64BE, H5T_STD_I32LE, H5T_IEEE_F32BE};
  const std::vector<hsize_t> d = dims(in);
  hid_t space = space_of(d);
  hid_t ds = H5Dcreate2(file, path.c_str(), types[kind], space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (ds >= 0) H5Dclose(ds);  // data left unwritten: HDF5 fills with zeros
  H5Sclose(space);
}

// An attribute `name` on `object` with a fuzzed type and value, replacing any old one.
void replace_attribute(hid_t file, const char* object, const char* name, FuzzedDataProvider& in) {
  hid_t obj = H5Oopen(file, object, H5P_DEFAULT);
  if (obj < 0) return;
  H5Adelete(obj, name);
  const int kind = in.ConsumeIntegralInRange<int>(0, 3);
  if (kind < 3) {
    const hid_t types[] = {H5T_STD_I32LE, H5T_STD_I64LE, H5T_IEEE_F64LE};
    const hid_t mem[] = {H5T_NATIVE_INT64, H5T_NATIVE_INT64, H5T_NATIVE_DOUBLE};
    const int64_t i = in.ConsumeIntegral<int64_t>();
    const double f = in.ConsumeFloatingPoint<double>();
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, types[kind], space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
      H5Awrite(a, mem[kind], kind == 2 ? static_cast<const void*>(&f) : static_cast<const void*>(&i));
      H5Aclose(a);
    }
    H5Sclose(space);
  } else {  // a fixed-length string
    const std::string s = in.ConsumeRandomLengthString(16);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, s.size() + 1);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a >= 0) {
      H5Awrite(a, type, s.c_str());
      H5Aclose(a);
    }
    H5Sclose(space);
    H5Tclose(type);
  }
  H5Oclose(obj);
}

void edit(const std::string& path, FuzzedDataProvider& in) {
  const bool quiet = H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr) >= 0;
  (void)quiet;
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) return;
  const int edits = in.ConsumeIntegralInRange<int>(0, 5);
  for (int e = 0; e < edits; ++e) {
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0: H5Ldelete(file, kLinks[in.ConsumeIntegralInRange<int>(0, 6)], H5P_DEFAULT); break;
      case 1: H5Ldelete(file, array_path(in).c_str(), H5P_DEFAULT); break;
      case 2: replace_dataset(file, array_path(in), in); break;
      case 3: replace_attribute(file, "/meta", "format_version", in); break;
      case 4: {
        const char* const names[] = {"step", "adam_step", "loss_scale", "created"};
        const int k = in.ConsumeIntegralInRange<int>(0, 3);
        replace_attribute(file, k == 3 ? "/meta" : "/state", names[k], in);
        break;
      }
      case 5: replace_dataset(file, "/config", in); break;
    }
  }
  H5Fclose(file);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path =
      (std::filesystem::temp_directory_path() / ("nurture-fuzz-ckpt-" + std::to_string(::getpid()) + ".h5")).string();
  FuzzedDataProvider in(data, size);

  // 1. A checkpoint as the writer makes it, with fuzzed names and shapes.
  std::vector<std::vector<float>> storage;
  train::CheckpointContents c;
  const int arrays = in.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < arrays; ++i) {
    std::vector<int64_t> shape;
    for (hsize_t d : dims(in)) shape.push_back(static_cast<int64_t>(d));
    storage.emplace_back(static_cast<size_t>(train::element_count(shape)), in.ConsumeFloatingPoint<float>());
    c.params.push_back({kNames[in.ConsumeIntegralInRange<int>(0, 3)], shape, storage.back().data()});
  }
  if (in.ConsumeBool()) c.m = c.v = c.params;
  c.state.ints["step"] = in.ConsumeIntegral<int64_t>();
  c.config_yaml = in.ConsumeRandomLengthString(64);
  try {
    train::write_checkpoint(path, c);
  } catch (const train::CheckpointError&) {
    return 0;  // invalid contents (a repeated name, a NUL in the config): refused before writing
  }

  // 2. Damage it, 3. cut it.
  edit(path, in);
  if (in.ConsumeBool()) {
    const auto full = std::filesystem::file_size(path);
    std::filesystem::resize_file(path, in.ConsumeIntegralInRange<uintmax_t>(0, full));
  }

  // 4. Read it back as the trainer, the evaluator and an inspector would.
  const std::string where = "cannot read checkpoint '" + path + "'";
  const train::OptimizerState modes[] = {train::OptimizerState::skip, train::OptimizerState::if_present,
                                         train::OptimizerState::require};
  train::ReadOptions options;
  options.arrays = in.ConsumeBool();
  options.optimizer = modes[in.ConsumeIntegralInRange<int>(0, 2)];
  try {
    const train::Checkpoint got = train::read_checkpoint(path, options);
    std::vector<train::ArraySpec> expected;
    for (const auto& a : got.params) expected.push_back({a.name, a.shape});
    if (!expected.empty() && in.ConsumeBool()) expected.back().shape.push_back(2);  // a model that differs
    (void)train::read_checkpoint_expecting(path, expected, options);
  } catch (const train::CheckpointError& e) {
    fuzz::check_error_line(e.what(), where);
  } catch (const std::exception& e) {
    fuzz::unexpected(e.what());
  }
  if (const ssize_t open = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); open != 0) {
    std::fprintf(stderr, "%zd HDF5 objects left open after reading\n", open);
    std::abort();
  }
  return 0;
}
