# Thin wrapper over CMake.  `make` builds build/trainctl; `make install
# PREFIX=~/.local` installs it with fmnist-train, the manual page and the
# bash and zsh completion.
BUILD ?= build
PREFIX ?= /usr/local
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)

.PHONY: all install test asan asan-test fuzz clean

all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTC_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

test: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTC_SANITIZE=ON -DTC_WERROR=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

asan-test: asan
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

fuzz:
	CC=clang cmake -S . -B build-fuzz -DTC_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target fuzz_spec

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
