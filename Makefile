# nurture: `make demo` and `make test` work on a fresh Debian 12 machine with nothing else done.
BUILD    ?= build
JOBS     ?= $(shell nproc)
SUDO     := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_ENV  := DEBIAN_FRONTEND=noninteractive
# What the `nurture` binary needs to build and run (Debian 12 packages). oneDNN's CMake config
# needs OpenCL's headers, which libdnnl-dev only recommends (and we install without recommends).
# libpcre2-dev runs GPT-2's pre-tokenisation pattern (Unicode categories, lookahead).
DEPS     := cmake g++ make pkg-config libeigen3-dev libyaml-cpp-dev libsentencepiece-dev \
            libhdf5-dev libdnnl-dev ocl-icd-opencl-dev libcli11-dev nlohmann-json3-dev \
            gnuplot-nox openmpi-bin libopenmpi-dev libpcre2-dev
# Added for the tests, the benchmarks and the fuzzers (clang builds libFuzzer targets).
TEST_DEPS := $(DEPS) libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
# Only for `make bench`: the PyTorch peer (with an optimised BLAS: without libopenblas0,
# --no-install-recommends leaves torch on the reference BLAS, 20-40x slower).
BENCH_DEPS := python3-torch libopenblas0

# How long `make fuzz` runs each libFuzzer target (`make test` runs them too).
FUZZ_SECONDS ?= 30

.PHONY: deps deps-test deps-bench build build-cli demo test test-unit bench test-sanitize fuzz clean

# Idempotent: apt-get runs only when a package is missing.
install = @dpkg -s $(1) >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  $(SUDO) $(APT_ENV) apt-get install -y -q --no-install-recommends $(1); }
deps:
	$(call install,$(DEPS))
deps-test:
	$(call install,$(TEST_DEPS))
deps-bench: deps-test
	$(call install,$(BENCH_DEPS))

build: deps-test
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON
	cmake --build $(BUILD) -j $(JOBS)

# The demo needs the binary only: no tests, no benchmarks (a few minutes less on 2 cores).
build-cli: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF
	cmake --build $(BUILD) -j $(JOBS) --target nurture

demo: build-cli
	./scripts/demo.sh $(BUILD)

# The whole check CI runs (.ci/run): the unit tests, the same tests under ASan + UBSan, and
# every fuzzer for FUZZ_SECONDS (docs/RELIABILITY.md).
test: test-unit test-sanitize fuzz

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build deps-bench
	./bench/run_all.sh $(BUILD)

# Debug (assertions on) at -O1, as the sanitizer manuals advise: -O0 makes the training tests
# ~10x slower for no extra findings. Any report fails the test that triggered it. Left to
# test-unit, because under ASan they only repeat code the other tests already run, for minutes
# each (measured under ASan on a loaded 2-core machine): the two sweeps over all 2^32 floats
# (precision_exhaustive.bf16/fp16, 375 s / 216 s), the hardware-vs-reference rounding sweeps
# (precision_hardware, 100 s each), the 600-step fp16 underflow training (553 s) and the README and docs
# examples (137 s; every command they run has its own CLI test).
SANITIZE_SKIP := precision_exhaustive\.(bf16|fp16)$$|precision_hardware\.|Fp16UnderflowWithoutLossScalingAndItsCure|ReadmeTest\.ExamplesRunAsDocumented
test-sanitize: deps-test
	cmake -S . -B $(BUILD)-sanitize -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-g -O1" -DNURTURE_SANITIZE=ON
	cmake --build $(BUILD)-sanitize -j $(JOBS)
	cd $(BUILD)-sanitize && LSAN_OPTIONS=suppressions=$(CURDIR)/fuzz/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
	  ctest --output-on-failure -j $(JOBS) -E '$(SANITIZE_SKIP)|^mpi_tests'
	# Open MPI's plugins leak at exit (frames in libmpi and in unloaded MCA modules, which no
	# suppression can name): the MPI tests run with leak checking off, ASan and UBSan still on.
	cd $(BUILD)-sanitize && UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=0 \
	  ctest --output-on-failure -j $(JOBS) -R '^mpi_tests'

# libFuzzer targets (fuzz/, built with clang in $(BUILD)-fuzz), FUZZ_SECONDS each.
fuzz: deps-test
	CC=clang CXX=clang++ cmake -S fuzz -B $(BUILD)-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD)-fuzz -j $(JOBS)
	./fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(BUILD)-sanitize $(BUILD)-fuzz
