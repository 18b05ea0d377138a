# nurture: `make demo` and `make test` work on a fresh Debian 12 machine with nothing else done.
BUILD    ?= build
JOBS     ?= $(shell nproc)
SUDO     := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
APT_ENV  := DEBIAN_FRONTEND=noninteractive
# Build and test dependencies (Debian 12 packages).
DEPS     := cmake g++ make pkg-config libeigen3-dev libyaml-cpp-dev libsentencepiece-dev \
            libhdf5-dev libgtest-dev libgmock-dev libbenchmark-dev libdnnl-dev libcli11-dev \
            nlohmann-json3-dev gnuplot-nox
# Only for `make bench`: the PyTorch peer (with an optimised BLAS: without libopenblas0,
# --no-install-recommends leaves torch on the reference BLAS, 20-40x slower).
BENCH_DEPS := python3-torch libopenblas0

.PHONY: deps deps-bench build demo test bench test-sanitize clean

# Idempotent: apt-get runs only when a package is missing.
deps:
	@dpkg -s $(DEPS) >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  $(SUDO) $(APT_ENV) apt-get install -y -q --no-install-recommends $(DEPS); }

deps-bench: deps
	@dpkg -s $(BENCH_DEPS) >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  $(SUDO) $(APT_ENV) apt-get install -y -q --no-install-recommends $(BENCH_DEPS); }

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./scripts/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build deps-bench
	./bench/run_all.sh $(BUILD)

test-sanitize: deps
	cmake -S . -B $(BUILD)-sanitize -DCMAKE_BUILD_TYPE=Debug -DNURTURE_SANITIZE=ON
	cmake --build $(BUILD)-sanitize -j $(JOBS)
	cd $(BUILD)-sanitize && ctest --output-on-failure -j $(JOBS)

clean:
	rm -rf $(BUILD) $(BUILD)-sanitize
