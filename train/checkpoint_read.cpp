#include <filesystem>
#include <map>
#include <stdexcept>

#include "train/checkpoint_h5.h"

namespace nurture::train {
namespace {

using h5::check;
using h5::Handle;

// Names, shapes and types are checked for the whole file before any array data is read, so a
// mismatch costs nothing and nothing is returned half-loaded.
std::vector<ArraySpec> list_arrays(hid_t file, const std::string& group_path, uintmax_t file_size) {
  Handle group = h5::open_group(file, group_path, group_path);
  std::vector<ArraySpec> specs;
  for (const auto& name : h5::link_names(group, group_path)) {
    const std::string what = group_path + "/" + name;
    Handle ds = check(H5Dopen2(group, name.c_str(), H5P_DEFAULT), H5Dclose, what + " is not a dataset");
    Handle type = check(H5Dget_type(ds), H5Tclose, "cannot read " + what);
    if (H5Tget_class(type) != H5T_FLOAT) throw CheckpointError(what + " is not a float dataset");
    Handle space = check(H5Dget_space(ds), H5Sclose, "cannot read " + what);
    int rank = H5Sget_simple_extent_ndims(space);
    if (rank < 0) h5::fail("cannot read the shape of " + what);
    std::vector<hsize_t> dims(rank);
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    ArraySpec spec{name, std::vector<int64_t>(dims.begin(), dims.end())};
    // A corrupt header could claim any size; contiguous data has to fit in the file.
    double bytes = static_cast<double>(H5Tget_size(type));
    for (hsize_t d : dims) bytes *= static_cast<double>(d);
    if (bytes > static_cast<double>(file_size))
      throw CheckpointError(what + " claims shape " + shape_string(spec.shape) + ", more than the file holds");
    specs.push_back(std::move(spec));
  }
  return specs;
}

// /optim/{m,v} must mirror /params; returns `other` in the order of `params`.
std::vector<ArraySpec> match_params(const std::vector<ArraySpec>& params, const std::vector<ArraySpec>& other,
                                    const std::string& group) {
  std::map<std::string, const ArraySpec*> by_name;
  for (const auto& s : other) by_name[s.name] = &s;
  for (const auto& p : params) {
    auto it = by_name.find(p.name);
    if (it == by_name.end()) throw CheckpointError(group + "/" + p.name + " is missing");
    if (it->second->shape != p.shape)
      throw CheckpointError(group + "/" + p.name + " has shape " + shape_string(it->second->shape) + " but /params/" +
                            p.name + " has " + shape_string(p.shape));
  }
  if (other.size() != params.size()) {
    for (const auto& s : other) {
      bool known = false;
      for (const auto& p : params) known = known || p.name == s.name;
      if (!known) throw CheckpointError(group + "/" + s.name + " has no counterpart in /params");
    }
  }
  return params;
}

std::vector<ArraySpec> match_expected(const std::vector<ArraySpec>& found, const std::vector<ArraySpec>& expected) {
  std::map<std::string, const ArraySpec*> by_name;
  for (const auto& s : found) by_name[s.name] = &s;
  std::map<std::string, bool> wanted;
  for (const auto& e : expected) {
    wanted[e.name] = true;
    auto it = by_name.find(e.name);
    if (it == by_name.end())
      throw CheckpointError("/params/" + e.name + " is missing (expected shape " + shape_string(e.shape) + ")");
    if (it->second->shape != e.shape)
      throw CheckpointError("/params/" + e.name + " has shape " + shape_string(it->second->shape) + ", expected " +
                            shape_string(e.shape));
  }
  for (const auto& s : found)
    if (!wanted.count(s.name)) throw CheckpointError("/params/" + s.name + " is not a parameter of this model");
  return expected;
}

// dest given: array i goes to dest[i] and the returned NamedArray keeps only its name and shape.
std::vector<NamedArray> read_arrays(hid_t file, const std::string& group_path, const std::vector<ArraySpec>& specs,
                                    const std::vector<float*>* dest = nullptr) {
  std::vector<NamedArray> out;
  out.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const ArraySpec& spec = specs[i];
    const std::string what = group_path + "/" + spec.name;
    Handle ds = check(H5Dopen2(file, what.c_str(), H5P_DEFAULT), H5Dclose, "cannot open " + what);
    NamedArray a{spec.name, spec.shape, {}};
    if (!dest) a.data.resize(static_cast<size_t>(element_count(spec.shape)));
    float* to = dest ? (*dest)[i] : a.data.data();
    if (element_count(spec.shape) > 0)
      check(H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, to), "cannot read " + what);
    out.push_back(std::move(a));
  }
  return out;
}

Checkpoint read(const std::string& path, const std::vector<ArraySpec>* expected, const ReadOptions& options,
                const std::vector<float*>* dest = nullptr) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw CheckpointError("no such file");
  const uintmax_t file_size = std::filesystem::file_size(path, ec);
  h5::QuietErrors quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0) throw CheckpointError("not an HDF5 file (or the file is corrupt)");
  Handle fapl = check(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
  // Checkpoints are never modified in place (writes go through a rename), so locking buys nothing
  // and fails on filesystems without lock support.
  check(H5Pset_file_locking(fapl, false, true), "H5Pset_file_locking");
  Handle file = check(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), H5Fclose, "cannot open (truncated or corrupt?)");

  Checkpoint ck;
  {
    Handle meta = h5::open_group(file, "meta", "/meta");
    ck.meta = h5::read_attributes(meta, "/meta");
  }
  auto version = ck.meta.ints.find("format_version");
  if (version == ck.meta.ints.end()) throw CheckpointError("/meta has no format_version; not a nurture checkpoint");
  ck.format_version = static_cast<int>(version->second);
  if (ck.format_version > kCheckpointFormatVersion)
    throw CheckpointError("format_version " + std::to_string(ck.format_version) +
                          " is newer than this build of nurture reads (" + std::to_string(kCheckpointFormatVersion) +
                          "); update nurture");
  if (ck.format_version < 1) throw CheckpointError("invalid format_version " + std::to_string(ck.format_version));
  ck.meta.ints.erase(version);
  {
    Handle state = h5::open_group(file, "state", "/state");
    ck.state = h5::read_attributes(state, "/state");
  }
  ck.config_yaml = h5::read_string_dataset(file, "config", "/config");
  ck.has_optimizer_state = H5Lexists(file, "optim", H5P_DEFAULT) > 0;
  if (!options.arrays) return ck;

  if (options.optimizer == OptimizerState::require && !ck.has_optimizer_state)
    throw CheckpointError("no optimizer state (/optim): it is a model-only export and cannot resume training");
  const bool with_optim = options.optimizer != OptimizerState::skip && ck.has_optimizer_state;

  std::vector<ArraySpec> params = list_arrays(file, "/params", file_size);
  if (expected) params = match_expected(params, *expected);
  std::vector<ArraySpec> m, v;
  if (with_optim) {
    m = match_params(params, list_arrays(file, "/optim/m", file_size), "/optim/m");
    v = match_params(params, list_arrays(file, "/optim/v", file_size), "/optim/v");
  }
  ck.params = read_arrays(file, "/params", params, dest);
  if (with_optim) {
    ck.m = read_arrays(file, "/optim/m", m);
    ck.v = read_arrays(file, "/optim/v", v);
  }
  return ck;
}

Checkpoint read_or_throw(const std::string& path, const std::vector<ArraySpec>* expected, const ReadOptions& options,
                         const std::vector<float*>* dest = nullptr) {
  try {
    return read(path, expected, options, dest);
  } catch (const CheckpointError& e) {
    throw CheckpointError("cannot read checkpoint '" + path + "': " + e.what());
  } catch (const std::bad_alloc&) {
    throw CheckpointError("cannot read checkpoint '" + path + "': out of memory");
  }
}

}  // namespace

Checkpoint read_checkpoint(const std::string& path, const ReadOptions& options) {
  return read_or_throw(path, nullptr, options);
}

Checkpoint read_checkpoint_expecting(const std::string& path, const std::vector<ArraySpec>& expected,
                                     const ReadOptions& options) {
  return read_or_throw(path, &expected, options);
}

Checkpoint read_params_into(const std::string& path, const std::vector<ArraySpec>& expected,
                            const std::vector<float*>& dest) {
  if (dest.size() != expected.size()) throw std::invalid_argument("read_params_into: one destination per array");
  ReadOptions ro;
  ro.optimizer = OptimizerState::skip;
  return read_or_throw(path, &expected, ro, &dest);
}

const NamedArray* Checkpoint::find_param(std::string_view name) const {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

}  // namespace nurture::train
