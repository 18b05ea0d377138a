#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <set>
#include <string_view>

#include "core/atomic_file.h"
#include "train/checkpoint_h5.h"

#ifndef NURTURE_VERSION
#define NURTURE_VERSION "unknown"
#endif

namespace nurture::train {
namespace {

using h5::check;
using h5::Handle;

// Everything that can be wrong with the caller's input is refused before a file is created.
void check_arrays(const std::vector<ArrayRef>& arrays, const std::string& group) {
  std::set<std::string> seen;
  for (const auto& a : arrays) {
    const std::string where = group + "/" + a.name;
    if (a.name.empty() || a.name == "." || a.name == ".." || a.name.find('/') != std::string::npos)
      throw CheckpointError("invalid array name '" + a.name + "' (must be non-empty, without '/')");
    if (!seen.insert(a.name).second) throw CheckpointError(where + " is given twice");
    for (int64_t d : a.shape)
      if (d < 0) throw CheckpointError(where + " has a negative dimension " + shape_string(a.shape));
    if (!a.data && element_count(a.shape) > 0) throw CheckpointError(where + " has no data");
  }
}

void check_same_layout(const std::vector<ArrayRef>& params, const std::vector<ArrayRef>& other,
                       const std::string& group) {
  if (other.size() != params.size())
    throw CheckpointError(group + " has " + std::to_string(other.size()) + " arrays but /params has " +
                          std::to_string(params.size()));
  for (size_t i = 0; i < params.size(); ++i)
    if (other[i].name != params[i].name || other[i].shape != params[i].shape)
      throw CheckpointError(group + "/" + other[i].name + " " + shape_string(other[i].shape) +
                            " does not match /params/" + params[i].name + " " + shape_string(params[i].shape));
}

void check_attribute_names(const CheckpointState& s, const std::string& group) {
  std::set<std::string> seen;
  auto add = [&](const std::string& name) {
    if (name.empty()) throw CheckpointError(group + " has an attribute with an empty name");
    if (!seen.insert(name).second) throw CheckpointError(group + " attribute '" + name + "' is given with two types");
  };
  for (const auto& kv : s.ints) add(kv.first);
  for (const auto& kv : s.uints) add(kv.first);
  for (const auto& kv : s.reals) add(kv.first);
  for (const auto& [name, value] : s.strings) {
    add(name);
    if (value.find('\0') != std::string::npos)
      throw CheckpointError(group + " attribute '" + name + "' contains a NUL character");
  }
}

void check_contents(const CheckpointContents& c) {
  check_arrays(c.params, "/params");
  if (!c.m.empty() || !c.v.empty()) {
    check_same_layout(c.params, c.m, "/optim/m");
    check_same_layout(c.params, c.v, "/optim/v");
    check_arrays(c.m, "/optim/m");
    check_arrays(c.v, "/optim/v");
  }
  check_attribute_names(c.state, "/state");
  check_attribute_names(c.meta, "/meta");
  if (c.meta.ints.count("format_version") || c.meta.uints.count("format_version") ||
      c.meta.reals.count("format_version") || c.meta.strings.count("format_version"))
    throw CheckpointError("/meta format_version is set by the writer, not the caller");
  if (c.config_yaml.find('\0') != std::string::npos) throw CheckpointError("the config text contains a NUL character");
}

std::string iso_utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// See h5::create_ordered_group: no modification times, so equal content gives equal bytes.
Handle untimed(hid_t plist_class) {
  Handle p = check(H5Pcreate(plist_class), H5Pclose, "H5Pcreate");
  check(H5Pset_obj_track_times(p, false), "H5Pset_obj_track_times");
  return p;
}

void write_arrays(hid_t parent, const std::string& group_name, const std::vector<ArrayRef>& arrays) {
  Handle group = h5::create_ordered_group(parent, group_name);
  Handle dcpl = untimed(H5P_DATASET_CREATE);  // contiguous, uncompressed: fast to read from h5py
  for (const auto& a : arrays) {
    std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
    Handle space = check(dims.empty() ? H5Screate(H5S_SCALAR)
                                      : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                         H5Sclose, "H5Screate");
    const std::string what = group_name + "/" + a.name;
    Handle ds = check(H5Dcreate2(group, a.name.c_str(), H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                      H5Dclose, "cannot create " + what);
    if (element_count(a.shape) > 0)
      check(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.data), "cannot write " + what);
  }
}

size_t array_bytes(const std::vector<ArrayRef>& arrays) {
  size_t n = 0;
  for (const auto& a : arrays) n += static_cast<size_t>(element_count(a.shape)) * sizeof(float);
  return n;
}

// Builds the whole file in memory (HDF5 core driver) and returns its bytes. HDF5 never touches
// the disk: when a write to a real file fails (disk full), HDF5 1.10 cannot close that file and
// crashes at exit, so all disk I/O is done by core::AtomicFile instead. The price is a
// transient second copy of the checkpoint in memory.
std::vector<char> build_image(const std::string& name, const CheckpointContents& c) {
  const size_t estimate = array_bytes(c.params) + array_bytes(c.m) + array_bytes(c.v) + (1 << 20);
  Handle fapl = check(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "H5Pcreate");
  check(H5Pset_fapl_core(fapl, estimate, /*backing_store=*/false), "H5Pset_fapl_core");
  // Default (earliest) format bounds on purpose: with a version-2 superblock (libver >= 1.8)
  // HDF5 1.10.8's H5Fget_file_image returns an image whose superblock checksum does not verify.
  // Creation-order tracking still upgrades the groups that need it.
  Handle file = check(H5Fcreate(name.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), H5Fclose, "cannot create " + name);
  write_arrays(file, "params", c.params);
  if (!c.m.empty()) {
    Handle optim = h5::create_ordered_group(file, "optim");
    write_arrays(optim, "m", c.m);
    write_arrays(optim, "v", c.v);
  }
  if (c.arrays_copied) c.arrays_copied();
  {
    Handle state = h5::create_ordered_group(file, "state");
    h5::write_attributes(state, c.state);
  }
  h5::write_string_dataset(file, "config", c.config_yaml);
  {
    Handle meta = h5::create_ordered_group(file, "meta");
    h5::write_int32_attribute(meta, "format_version", kCheckpointFormatVersion);
    CheckpointState m = c.meta;
    m.strings.try_emplace("nurture_version", NURTURE_VERSION);
    m.strings.try_emplace("created", iso_utc_now());
    h5::write_attributes(meta, m);
  }
  check(H5Fflush(file, H5F_SCOPE_GLOBAL), "cannot flush " + name);
  const ssize_t size = H5Fget_file_image(file, nullptr, 0);
  if (size < 0) h5::fail("cannot get the image of " + name);
  std::vector<char> image(static_cast<size_t>(size));
  if (H5Fget_file_image(file, image.data(), image.size()) != size) h5::fail("cannot get the image of " + name);
  check(file.close(), "cannot close " + name);
  return image;
}

// Test hook (docs/RELIABILITY.md): NURTURE_SLOW_CHECKPOINT_WRITE_MS=N spreads each temp-file
// write over about N ms in eight pieces, so the kill -9 harness can land kills mid-write.
int slow_write_ms() {
  const char* v = std::getenv("NURTURE_SLOW_CHECKPOINT_WRITE_MS");
  return v ? std::max(0, std::atoi(v)) : 0;
}

}  // namespace

void write_checkpoint(const std::string& path, const CheckpointContents& contents) {
  try {
    check_contents(contents);
    std::vector<char> image;
    {
      h5::QuietErrors quiet;
      image = build_image(path, contents);
    }
    core::AtomicFile out(path);
    const int slow_ms = slow_write_ms();
    const size_t piece = slow_ms > 0 ? image.size() / 8 + 1 : image.size();
    for (size_t done = 0; done < image.size(); done += piece) {
      if (slow_ms > 0 && done > 0) ::usleep(static_cast<useconds_t>(slow_ms) * 1000 / 8);
      out.write(std::string_view(image.data() + done, std::min(piece, image.size() - done)));
    }
    out.commit();
  } catch (const core::WriteError& e) {
    throw CheckpointError("cannot write checkpoint '" + path + "': " + e.reason());
  } catch (const CheckpointError& e) {
    throw CheckpointError("cannot write checkpoint '" + path + "': " + e.what());
  }
}

int64_t element_count(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace nurture::train
