#include "train/checkpoint_h5.h"

namespace nurture::train::h5 {

Handle& Handle::operator=(Handle&& o) noexcept {
  if (this != &o) {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
  }
  return *this;
}

herr_t Handle::close() {
  herr_t status = 0;
  if (id_ >= 0 && close_) status = close_(id_);
  id_ = H5I_INVALID_HID;
  return status;
}

void Handle::reset() { close(); }

QuietErrors::QuietErrors() {
  H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
}

QuietErrors::~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }

namespace {

herr_t innermost(unsigned n, const H5E_error2_t* err, void* out) {
  if (n == 0 && err->desc) *static_cast<std::string*>(out) = err->desc;
  return 0;
}

}  // namespace

std::string last_error() {
  std::string desc;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, innermost, &desc);
  // Low-level I/O failures read "file write failed: time = ..., errno = 28, error message =
  // 'No space left on device', buf = ..."; the OS message is the useful part.
  const std::string marker = "error message = '";
  if (auto at = desc.find(marker); at != std::string::npos) {
    auto begin = at + marker.size();
    return desc.substr(begin, desc.find('\'', begin) - begin);
  }
  for (char& c : desc)
    if (c == '\n') c = ' ';
  return desc.empty() ? "unknown HDF5 error" : desc;
}

void fail(const std::string& what) { throw CheckpointError(what + ": " + last_error()); }

Handle check(hid_t id, Handle::Closer close, const std::string& what) {
  if (id < 0) fail(what);
  return Handle(id, close);
}

hid_t utf8_string_type() {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, H5T_VARIABLE);
  H5Tset_cset(t, H5T_CSET_UTF8);
  return t;
}

Handle create_ordered_group(hid_t parent, const std::string& name) {
  Handle gcpl = check(H5Pcreate(H5P_GROUP_CREATE), H5Pclose, "H5Pcreate");
  check(H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
        "cannot track creation order");
  // Without this, object headers carry modification times and identical checkpoints differ.
  check(H5Pset_obj_track_times(gcpl, false), "H5Pset_obj_track_times");
  return check(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl, H5P_DEFAULT), H5Gclose,
               "cannot create group " + name);
}

Handle open_group(hid_t parent, const std::string& name, const std::string& path_for_errors) {
  if (H5Lexists(parent, name.c_str(), H5P_DEFAULT) <= 0) throw CheckpointError(path_for_errors + " is missing");
  return check(H5Gopen2(parent, name.c_str(), H5P_DEFAULT), H5Gclose, path_for_errors + " is not a group");
}

namespace {

void write_scalar_attribute(hid_t obj, const std::string& name, hid_t file_type, hid_t mem_type,
                            const void* value) {
  Handle space = check(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  Handle attr = check(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                      "cannot create attribute " + name);
  check(H5Awrite(attr, mem_type, value), "cannot write attribute " + name);
}

// Reads a string from an attribute (read_attr) or dataset, either variable- or fixed-length.
template <class ReadFn>
std::string read_string(hid_t file_type, ReadFn read, const std::string& what) {
  if (H5Tis_variable_str(file_type) > 0) {
    Handle mem = check(utf8_string_type(), H5Tclose, "H5Tcopy");
    H5Tset_cset(mem, H5Tget_cset(file_type));
    char* buf = nullptr;
    check(read(mem.get(), static_cast<void*>(&buf)), "cannot read " + what);
    std::string s = buf ? buf : "";
    H5free_memory(buf);
    return s;
  }
  size_t size = H5Tget_size(file_type);
  Handle mem = check(H5Tcopy(file_type), H5Tclose, "H5Tcopy");
  std::string s(size, '\0');
  check(read(mem.get(), static_cast<void*>(s.data())), "cannot read " + what);
  s.resize(s.find('\0') == std::string::npos ? size : s.find('\0'));
  return s;
}

herr_t collect_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

herr_t collect_attr_name(hid_t, const char* name, const H5A_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->emplace_back(name);
  return 0;
}

}  // namespace

void write_int32_attribute(hid_t obj, const std::string& name, int32_t value) {
  write_scalar_attribute(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &value);
}

void write_attributes(hid_t obj, const CheckpointState& values) {
  for (const auto& [name, v] : values.ints) write_scalar_attribute(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
  for (const auto& [name, v] : values.uints) write_scalar_attribute(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
  for (const auto& [name, v] : values.reals) write_scalar_attribute(obj, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
  Handle str = check(utf8_string_type(), H5Tclose, "H5Tcopy");
  for (const auto& [name, v] : values.strings) {
    const char* p = v.c_str();
    write_scalar_attribute(obj, name, str, str, &p);
  }
}

CheckpointState read_attributes(hid_t obj, const std::string& path_for_errors) {
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_INC, &idx, collect_attr_name, &names),
        "cannot list attributes of " + path_for_errors);
  CheckpointState out;
  for (const auto& name : names) {
    const std::string what = path_for_errors + " attribute " + name;
    Handle attr = check(H5Aopen(obj, name.c_str(), H5P_DEFAULT), H5Aclose, "cannot open " + what);
    Handle space = check(H5Aget_space(attr), H5Sclose, "cannot read " + what);
    if (H5Sget_simple_extent_npoints(space) != 1) throw CheckpointError(what + " is not a scalar");
    Handle type = check(H5Aget_type(attr), H5Tclose, "cannot read " + what);
    switch (H5Tget_class(type)) {
      case H5T_INTEGER:
        if (H5Tget_sign(type) == H5T_SGN_NONE) check(H5Aread(attr, H5T_NATIVE_UINT64, &out.uints[name]), "cannot read " + what);
        else check(H5Aread(attr, H5T_NATIVE_INT64, &out.ints[name]), "cannot read " + what);
        break;
      case H5T_FLOAT:
        check(H5Aread(attr, H5T_NATIVE_DOUBLE, &out.reals[name]), "cannot read " + what);
        break;
      case H5T_STRING:
        out.strings[name] = read_string(type, [&](hid_t mem, void* buf) { return H5Aread(attr, mem, buf); }, what);
        break;
      default:
        throw CheckpointError(what + " has an unsupported type (expected integer, float or string)");
    }
  }
  return out;
}

void write_string_dataset(hid_t parent, const std::string& name, const std::string& text) {
  Handle type = check(utf8_string_type(), H5Tclose, "H5Tcopy");
  Handle space = check(H5Screate(H5S_SCALAR), H5Sclose, "H5Screate");
  // No modification time (as in create_ordered_group): with one, two writes of the same content
  // a second apart differ in four bytes.
  Handle dcpl = check(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "H5Pcreate");
  check(H5Pset_obj_track_times(dcpl, false), "H5Pset_obj_track_times");
  Handle ds = check(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose,
                    "cannot create dataset " + name);
  const char* p = text.c_str();
  check(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), "cannot write dataset " + name);
}

std::string read_string_dataset(hid_t parent, const std::string& name, const std::string& path_for_errors) {
  if (H5Lexists(parent, name.c_str(), H5P_DEFAULT) <= 0) throw CheckpointError(path_for_errors + " is missing");
  Handle ds = check(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), H5Dclose, path_for_errors + " is not a dataset");
  Handle type = check(H5Dget_type(ds), H5Tclose, "cannot read " + path_for_errors);
  if (H5Tget_class(type) != H5T_STRING) throw CheckpointError(path_for_errors + " is not a string");
  return read_string(
      type, [&](hid_t mem, void* buf) { return H5Dread(ds, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf); },
      path_for_errors);
}

std::vector<std::string> link_names(hid_t group, const std::string& path_for_errors) {
  Handle gcpl = check(H5Gget_create_plist(group), H5Pclose, "cannot inspect " + path_for_errors);
  unsigned flags = 0;
  check(H5Pget_link_creation_order(gcpl, &flags), "cannot inspect " + path_for_errors);
  const H5_index_t index = (flags & H5P_CRT_ORDER_INDEXED) ? H5_INDEX_CRT_ORDER : H5_INDEX_NAME;
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Literate(group, index, H5_ITER_INC, &idx, collect_name, &names), "cannot list " + path_for_errors);
  return names;
}

}  // namespace nurture::train::h5
