# The README's two commands, complete on a fresh machine with only Python and pip.
#   make demo   - the main job on the embedded default (digits)
#   make test   - the whole test suite (bounded: < 20 min on 2 cores)
#   make test-long  - the long cross-check campaign (not in CI)
#   make synth-deps - the optional YoWASP synthesis tools
#   make test-ibex  - the Ibex model against the Ibex RTL (needs IBEX_ROOT, Verilator, FuseSoC)
#   make test-boards - firmware built with the GNU toolchains, run on QEMU and DOSBox (apt packages, see docs/firmware.md)
#   make test-gcc   - the C baselines by the cross GCCs (apt-get install -y gcc-arm-none-eabi gcc-riscv64-unknown-elf gcc-aarch64-linux-gnu)
#   make bench      - the issue-12 bench table and plot of docs/performance.md
#   make test-nasm  - the 8086 kernels' NASM dialect against the GNU bytes (needs: apt-get install -y nasm)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch is pinned here, not in pyproject: on these machines 2.13.0 is a local
# CPU wheel, while an unpinned install would fetch a multi-GB CUDA build.
TORCH  ?= torch==2.13.0

.PHONY: demo test test-long test-ibex test-boards test-gcc test-nasm synth-deps bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/torus-hw demo --out demo-out

test: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -n 2 --dist loadgroup -q

test-long: $(STAMP)
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest -n 2 --dist loadgroup -q -p no:cacheprovider

# IBEX_ROOT: a lowRISC Ibex checkout; the simple system is built there once (FuseSoC + Verilator, minutes).
test-ibex: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -q -p no:cacheprovider -m ibex_rtl -rs tests/test_ibex_rtl.py

test-boards: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -q -p no:cacheprovider -m boards

test-gcc: $(STAMP)
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -q -m gcc -p no:cacheprovider tests/test_baselines.py

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_table.py --json bench.json --plot docs/bench-baselines.png

test-nasm: $(STAMP)
	@command -v nasm >/dev/null || { echo "needs nasm: apt-get install -y nasm"; exit 1; }
	HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest -q -m nasm -p no:cacheprovider

synth-deps: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,synth]"

clean:
	rm -rf $(VENV) demo-out .pytest_cache .hypothesis
