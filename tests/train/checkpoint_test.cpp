// Checkpoints: exact round trips, model-only exports, refusing bad files, atomic replacement.
#include <gtest/gtest.h>
#include <hdf5.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "config/config.h"
#include "tests/support/support.h"
#include "train/checkpoint.h"

namespace nurture::train {
namespace {

namespace fs = std::filesystem;

// Arrays that own their data, with views for the writer.
struct Arrays {
  std::vector<NamedArray> owned;

  void add(std::string name, std::vector<int64_t> shape, float seed) {
    std::vector<float> data(static_cast<size_t>(element_count(shape)));
    for (size_t i = 0; i < data.size(); ++i) data[i] = seed + 0.001f * static_cast<float>(i) - 0.37f * (i % 3);
    owned.push_back({std::move(name), std::move(shape), std::move(data)});
  }
  std::vector<ArrayRef> refs() const {
    std::vector<ArrayRef> out;
    for (const auto& a : owned) out.push_back({a.name, a.shape, a.data.data()});
    return out;
  }
};

// Deliberately not alphabetical: the file must keep the writer's order.
Arrays model_arrays(float seed) {
  Arrays a;
  a.add("wte", {16, 8}, seed);
  a.add("wpe", {4, 8}, seed + 1);
  a.add("h.0.attn.c_attn.weight", {24, 8}, seed + 2);
  a.add("h.0.ln_1.bias", {8}, seed + 3);
  a.add("lm_head.weight", {16, 8}, seed + 4);
  return a;
}

std::vector<ArraySpec> specs_of(const Arrays& a) {
  std::vector<ArraySpec> out;
  for (const auto& x : a.owned) out.push_back({x.name, x.shape});
  return out;
}

bool bit_identical(const NamedArray& a, const NamedArray& b) {
  return a.name == b.name && a.shape == b.shape && a.data.size() == b.data.size() &&
         (a.data.empty() || std::memcmp(a.data.data(), b.data.data(), a.data.size() * sizeof(float)) == 0);
}

class CheckpointTest : public ::testing::Test {
 protected:
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Files in the directory other than `keep`, e.g. leftover temp files.
  std::vector<std::string> stray_files(const std::string& keep) const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename() != keep) out.push_back(e.path().filename().string());
    return out;
  }

  CheckpointContents contents(const Arrays& p, const Arrays* m, const Arrays* v, int64_t step) const {
    CheckpointContents c;
    c.params = p.refs();
    if (m) c.m = m->refs();
    if (v) c.v = v->refs();
    c.state.ints["step"] = step;
    c.config_yaml = "model:\n  n_layer: 1\n";
    c.meta.strings["precision"] = "bf16";
    return c;
  }

  std::string error_of(const std::function<void()>& f) {
    const std::string e = test::error_of<CheckpointError>(f);
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
    return e;
  }

  test::TempDir dir_{std::string("ckpt-") + ::testing::UnitTest::GetInstance()->current_test_info()->name()};
};

TEST_F(CheckpointTest, RoundTripIsBitIdentical) {
  Arrays p = model_arrays(1), m = model_arrays(2), v = model_arrays(3);
  // Values a lossy path would change: signed zero, subnormals, infinities, NaN payloads.
  p.owned[0].data[0] = -0.0f;
  p.owned[0].data[1] = std::numeric_limits<float>::denorm_min();
  p.owned[0].data[2] = -std::numeric_limits<float>::infinity();
  p.owned[0].data[3] = std::numeric_limits<float>::quiet_NaN();
  p.owned[0].data[4] = std::numeric_limits<float>::max();
  p.add("scalar", {}, 9);
  p.add("empty", {0, 8}, 0);
  m.add("scalar", {}, 10);
  m.add("empty", {0, 8}, 0);
  v.add("scalar", {}, 11);
  v.add("empty", {0, 8}, 0);

  CheckpointContents c = contents(p, &m, &v, 1234);
  c.state.ints["min"] = std::numeric_limits<int64_t>::min();
  c.state.ints["max"] = std::numeric_limits<int64_t>::max();
  c.state.uints["rng"] = std::numeric_limits<uint64_t>::max();
  c.state.uints["sampler"] = 0x8000000000000001ull;
  c.state.reals["loss_scale"] = 65536.0;
  c.state.reals["third"] = 1.0 / 3.0;
  c.state.reals["tiny"] = std::numeric_limits<double>::denorm_min();
  c.state.strings["note"] = "ünïcødé ✓";
  c.state.strings["empty"] = "";
  c.config_yaml = config::to_yaml(config::parse_config("precision: {dtype: fp16}"));
  c.meta.ints["world_size"] = 1;

  const std::string file = path("ckpt.h5");
  write_checkpoint(file, c);
  const Checkpoint r = read_checkpoint(file);

  ASSERT_EQ(r.params.size(), p.owned.size());
  ASSERT_EQ(r.m.size(), m.owned.size());
  ASSERT_EQ(r.v.size(), v.owned.size());
  for (size_t i = 0; i < p.owned.size(); ++i) {
    EXPECT_TRUE(bit_identical(r.params[i], p.owned[i])) << p.owned[i].name;
    EXPECT_TRUE(bit_identical(r.m[i], m.owned[i])) << m.owned[i].name;
    EXPECT_TRUE(bit_identical(r.v[i], v.owned[i])) << v.owned[i].name;
  }
  EXPECT_TRUE(r.has_optimizer_state);
  EXPECT_EQ(r.state, c.state);
  EXPECT_EQ(r.config_yaml, c.config_yaml);
  EXPECT_EQ(config::parse_config(r.config_yaml), config::parse_config(c.config_yaml));
  EXPECT_EQ(r.format_version, kCheckpointFormatVersion);
  EXPECT_EQ(r.meta.strings.at("precision"), "bf16");
  EXPECT_EQ(r.meta.ints.at("world_size"), 1);
  EXPECT_EQ(r.meta.ints.count("format_version"), 0u);
  EXPECT_FALSE(r.meta.strings.at("nurture_version").empty());
  const std::string created = r.meta.strings.at("created");
  EXPECT_EQ(created.size(), 20u) << created;  // 2025-01-31T12:00:00Z
  EXPECT_EQ(created.back(), 'Z');
  ASSERT_NE(r.find_param("h.0.ln_1.bias"), nullptr);
  EXPECT_EQ(r.find_param("nope"), nullptr);
  EXPECT_TRUE(stray_files("ckpt.h5").empty());
}

TEST_F(CheckpointTest, DatasetsAreContiguousFloat32) {
  Arrays p = model_arrays(1);
  const std::string file = path("ckpt.h5");
  write_checkpoint(file, contents(p, nullptr, nullptr, 1));
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  ASSERT_GE(f, 0);
  hid_t ds = H5Dopen2(f, "/params/h.0.attn.c_attn.weight", H5P_DEFAULT);
  ASSERT_GE(ds, 0);
  hid_t dcpl = H5Dget_create_plist(ds);
  EXPECT_EQ(H5Pget_layout(dcpl), H5D_CONTIGUOUS);
  EXPECT_EQ(H5Pget_nfilters(dcpl), 0);
  hid_t type = H5Dget_type(ds);
  EXPECT_TRUE(H5Tequal(type, H5T_IEEE_F32LE) > 0);
  H5Tclose(type);
  H5Pclose(dcpl);
  H5Dclose(ds);
  H5Fclose(f);
}

TEST_F(CheckpointTest, SameContentGivesSameBytes) {
  Arrays p = model_arrays(1), m = model_arrays(2), v = model_arrays(3);
  CheckpointContents c = contents(p, &m, &v, 7);
  c.meta.strings["created"] = "2025-01-01T00:00:00Z";  // the only time-dependent field
  write_checkpoint(path("a.h5"), c);
  // Across a second boundary, so a modification time HDF5 stores in any object (seconds) shows
  // as a difference every time, not in the ~2% of runs that straddle a second.
  const std::time_t t0 = std::time(nullptr);
  while (std::time(nullptr) == t0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_checkpoint(path("b.h5"), c);
  std::ifstream a(path("a.h5"), std::ios::binary), b(path("b.h5"), std::ios::binary);
  std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
  EXPECT_FALSE(sa.empty());
  EXPECT_TRUE(sa == sb);
}

TEST_F(CheckpointTest, ModelOnlyExport) {
  Arrays p = model_arrays(1);
  const std::string file = path("model.h5");
  write_checkpoint(file, contents(p, nullptr, nullptr, 50));
  const Checkpoint r = read_checkpoint(file);
  EXPECT_FALSE(r.has_optimizer_state);
  EXPECT_TRUE(r.m.empty());
  EXPECT_TRUE(r.v.empty());
  ASSERT_EQ(r.params.size(), p.owned.size());
  EXPECT_TRUE(bit_identical(r.params[2], p.owned[2]));
  EXPECT_EQ(r.state.ints.at("step"), 50);

  EXPECT_EQ(error_of([&] { read_checkpoint(file, {.optimizer = OptimizerState::require}); }),
            "cannot read checkpoint '" + file +
                "': no optimizer state (/optim): it is a model-only export and cannot resume training");
}

TEST_F(CheckpointTest, ReadOptions) {
  Arrays p = model_arrays(1), m = model_arrays(2), v = model_arrays(3);
  const std::string file = path("ckpt.h5");
  write_checkpoint(file, contents(p, &m, &v, 3));

  const Checkpoint skip = read_checkpoint(file, {.optimizer = OptimizerState::skip});
  EXPECT_TRUE(skip.has_optimizer_state);
  EXPECT_TRUE(skip.m.empty());
  EXPECT_EQ(skip.params.size(), p.owned.size());

  const Checkpoint info = read_checkpoint(file, {.arrays = false});
  EXPECT_TRUE(info.params.empty());
  EXPECT_EQ(info.state.ints.at("step"), 3);
  EXPECT_EQ(info.config_yaml, "model:\n  n_layer: 1\n");

  EXPECT_EQ(read_checkpoint(file, {.optimizer = OptimizerState::require}).v.size(), v.owned.size());
}

TEST_F(CheckpointTest, ExpectingReordersAndChecksShapes) {
  Arrays p = model_arrays(1), m = model_arrays(2), v = model_arrays(3);
  const std::string file = path("ckpt.h5");
  write_checkpoint(file, contents(p, &m, &v, 3));

  std::vector<ArraySpec> expected = specs_of(p);
  std::reverse(expected.begin(), expected.end());
  const Checkpoint r = read_checkpoint_expecting(file, expected);
  ASSERT_EQ(r.params.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.params[i].name, expected[i].name);
    EXPECT_EQ(r.m[i].name, expected[i].name);  // moments follow the same order
    EXPECT_TRUE(bit_identical(r.v[i], v.owned[p.owned.size() - 1 - i]));
  }

  const std::string prefix = "cannot read checkpoint '" + file + "': ";
  auto wrong_shape = specs_of(p);
  wrong_shape[0].shape = {17, 8};
  EXPECT_EQ(error_of([&] { read_checkpoint_expecting(file, wrong_shape); }),
            prefix + "/params/wte has shape [16, 8], expected [17, 8]");

  auto more = specs_of(p);
  more.push_back({"ln_f.weight", {8}});
  EXPECT_EQ(error_of([&] { read_checkpoint_expecting(file, more); }),
            prefix + "/params/ln_f.weight is missing (expected shape [8])");

  auto fewer = specs_of(p);
  fewer.pop_back();
  EXPECT_EQ(error_of([&] { read_checkpoint_expecting(file, fewer); }),
            prefix + "/params/lm_head.weight is not a parameter of this model");
}

TEST_F(CheckpointTest, RefusesANewerFormatVersion) {
  Arrays p = model_arrays(1);
  const std::string file = path("future.h5");
  write_checkpoint(file, contents(p, nullptr, nullptr, 1));
  {
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t meta = H5Gopen2(f, "/meta", H5P_DEFAULT);
    hid_t attr = H5Aopen(meta, "format_version", H5P_DEFAULT);
    int version = kCheckpointFormatVersion + 1;
    ASSERT_GE(H5Awrite(attr, H5T_NATIVE_INT, &version), 0);
    H5Aclose(attr);
    H5Gclose(meta);
    H5Fclose(f);
  }
  EXPECT_EQ(error_of([&] { read_checkpoint(file); }),
            "cannot read checkpoint '" + file +
                "': format_version 2 is newer than this build of nurture reads (1); "
                "update nurture");
}

TEST_F(CheckpointTest, RefusesMismatchedOptimizerState) {
  Arrays p = model_arrays(1), m = model_arrays(2), v = model_arrays(3);
  const std::string file = path("ckpt.h5");
  write_checkpoint(file, contents(p, &m, &v, 1));
  {
    hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(H5Ldelete(f, "/optim/v/wpe", H5P_DEFAULT), 0);
    H5Fclose(f);
  }
  EXPECT_EQ(error_of([&] { read_checkpoint(file); }), "cannot read checkpoint '" + file + "': /optim/v/wpe is missing");
  // A reader that doesn't want the moments doesn't care.
  EXPECT_EQ(read_checkpoint(file, {.optimizer = OptimizerState::skip}).params.size(), p.owned.size());
}

TEST_F(CheckpointTest, RefusesTruncatedAndForeignFiles) {
  Arrays p = model_arrays(1), m = model_arrays(2), v = model_arrays(3);
  const std::string file = path("ckpt.h5");
  write_checkpoint(file, contents(p, &m, &v, 1));
  const auto size = fs::file_size(file);
  for (auto keep : {size - 1, size / 2, uintmax_t{600}, uintmax_t{10}, uintmax_t{0}}) {
    const std::string cut = path("cut.h5");
    fs::copy_file(file, cut, fs::copy_options::overwrite_existing);
    fs::resize_file(cut, keep);
    const std::string err = error_of([&] { read_checkpoint(cut); });
    EXPECT_EQ(err.rfind("cannot read checkpoint '" + cut + "': ", 0), 0u) << "kept " << keep << " bytes: " << err;
    if (keep >= size / 2) {
      EXPECT_NE(err.find("truncated file"), std::string::npos) << err;
    }
  }
  const std::string text = path("notes.txt");
  std::ofstream(text) << "not a checkpoint\n";
  EXPECT_EQ(error_of([&] { read_checkpoint(text); }),
            "cannot read checkpoint '" + text + "': not an HDF5 file (or the file is corrupt)");
  EXPECT_EQ(error_of([&] { read_checkpoint(path("missing.h5")); }),
            "cannot read checkpoint '" + path("missing.h5") + "': no such file");
}

TEST_F(CheckpointTest, RefusesAnHdf5FileThatIsNotACheckpoint) {
  const std::string file = path("other.h5");
  hid_t f = H5Fcreate(file.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  H5Fclose(f);
  EXPECT_EQ(error_of([&] { read_checkpoint(file); }), "cannot read checkpoint '" + file + "': /meta is missing");
}

TEST_F(CheckpointTest, OverwriteIsAtomic) {
  const std::string file = path("ckpt.h5");
  Arrays first = model_arrays(1), second = model_arrays(5);
  write_checkpoint(file, contents(first, nullptr, nullptr, 100));
  write_checkpoint(file, contents(second, nullptr, nullptr, 200));
  const Checkpoint r = read_checkpoint(file);
  EXPECT_EQ(r.state.ints.at("step"), 200);
  EXPECT_TRUE(bit_identical(r.params[0], second.owned[0]));
  EXPECT_TRUE(stray_files("ckpt.h5").empty());
}

TEST_F(CheckpointTest, FailedWriteKeepsTheOldFile) {
  const std::string file = path("ckpt.h5");
  Arrays good = model_arrays(1);
  write_checkpoint(file, contents(good, nullptr, nullptr, 100));

  // Invalid input is refused before anything touches the disk.
  Arrays dup = model_arrays(2);
  dup.add("wte", {2}, 0);
  EXPECT_EQ(error_of([&] { write_checkpoint(file, contents(dup, nullptr, nullptr, 200)); }),
            "cannot write checkpoint '" + file + "': /params/wte is given twice");
  Arrays m = model_arrays(2);
  m.owned[1].shape = {8, 4};
  EXPECT_EQ(error_of([&] { write_checkpoint(file, contents(good, &m, &good, 200)); }),
            "cannot write checkpoint '" + file + "': /optim/m/wpe [8, 4] does not match /params/wpe [4, 8]");

  // A write that fails halfway: the file-size limit makes write(2) fail with EFBIG, as a full disk
  // would with ENOSPC.
  Arrays big;
  big.add("huge", {1 << 20}, 0);
  std::string err;
  {
    const test::FileSizeLimit limit(64 * 1024);
    ASSERT_TRUE(limit.ok());
    err = error_of([&] { write_checkpoint(file, contents(big, nullptr, nullptr, 300)); });
  }
  EXPECT_EQ(err.rfind("cannot write checkpoint '" + file + "': ", 0), 0u) << err;
  EXPECT_NE(err.find("File too large"), std::string::npos) << err;

  const Checkpoint r = read_checkpoint(file);
  EXPECT_EQ(r.state.ints.at("step"), 100);
  EXPECT_TRUE(bit_identical(r.params[0], good.owned[0]));
  EXPECT_TRUE(stray_files("ckpt.h5").empty());
}

TEST_F(CheckpointTest, UnwritableDestination) {
  Arrays p = model_arrays(1);
  const std::string file = path("no/such/dir/ckpt.h5");
  const std::string err = error_of([&] { write_checkpoint(file, contents(p, nullptr, nullptr, 1)); });
  EXPECT_EQ(err, "cannot write checkpoint '" + file + "': No such file or directory");

  if (::geteuid() != 0) {  // root ignores directory permissions
    fs::create_directories(path("ro"));
    fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    const std::string ro = path("ro/ckpt.h5");
    const std::string ro_err = error_of([&] { write_checkpoint(ro, contents(p, nullptr, nullptr, 1)); });
    EXPECT_NE(ro_err.find("Permission denied"), std::string::npos) << ro_err;
    fs::permissions(path("ro"), fs::perms::owner_all);
  }
  for (const auto& e : fs::recursive_directory_iterator(dir_))
    EXPECT_EQ(e.path().string().find(".tmp-"), std::string::npos) << e.path();
}

TEST(CheckpointShapeTest, Shapes) {
  EXPECT_EQ(element_count({}), 1);
  EXPECT_EQ(element_count({3, 0}), 0);
  EXPECT_EQ(element_count({2, 3, 4}), 24);
  EXPECT_EQ(shape_string({}), "[]");
  EXPECT_EQ(shape_string({16, 8}), "[16, 8]");
}

}  // namespace
}  // namespace nurture::train
