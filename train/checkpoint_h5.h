// Thin C++ layer over the HDF5 C API for the checkpoint reader and writer: owning handles,
// failures turned into one-line CheckpointErrors, and the typed scalar attributes of
// CheckpointState. Internal to train/.
#pragma once

#include <hdf5.h>

#include <string>
#include <vector>

#include "train/checkpoint.h"

namespace nurture::train::h5 {

// Owns an hid_t and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer close) : id_(id), close_(close) {}
  Handle(Handle&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }
  // Closes now and reports failure, which the destructor cannot.
  herr_t close();
  void reset();

 private:
  hid_t id_ = H5I_INVALID_HID;
  Closer close_ = nullptr;
};

// HDF5 prints its whole error stack to stderr by default; we report errors as exceptions
// instead. Restores the previous handler on destruction.
class QuietErrors {
 public:
  QuietErrors();
  ~QuietErrors();
  QuietErrors(const QuietErrors&) = delete;
  QuietErrors& operator=(const QuietErrors&) = delete;

 private:
  H5E_auto2_t func_ = nullptr;
  void* data_ = nullptr;
};

// The innermost message on the current HDF5 error stack, reduced to the OS error text
// ("No space left on device") when HDF5 recorded one.
std::string last_error();

// Throws CheckpointError("<what>: <last_error()>").
[[noreturn]] void fail(const std::string& what);

// Wrap a handle-returning call; throws on failure.
Handle check(hid_t id, Handle::Closer close, const std::string& what);
inline void check(herr_t status, const std::string& what) {
  if (status < 0) fail(what);
}

hid_t utf8_string_type();  // variable-length UTF-8; caller closes with H5Tclose

// Groups that remember link creation order, so arrays come back in the writer's order.
Handle create_ordered_group(hid_t parent, const std::string& name);
Handle open_group(hid_t parent, const std::string& name, const std::string& path_for_errors);

void write_int32_attribute(hid_t obj, const std::string& name, int32_t value);
void write_attributes(hid_t obj, const CheckpointState& values);
CheckpointState read_attributes(hid_t obj, const std::string& path_for_errors);

void write_string_dataset(hid_t parent, const std::string& name, const std::string& text);
std::string read_string_dataset(hid_t parent, const std::string& name, const std::string& path_for_errors);

// Link names in a group, in creation order when tracked, else by name (files written by h5py).
std::vector<std::string> link_names(hid_t group, const std::string& path_for_errors);

}  // namespace nurture::train::h5
