#!/usr/bin/env bash
# Prints the environment assignments that make this machine compute with another set of
# float kernels (the same model, other last bits), for a float path named as its argument:
#   native    nothing: the CPU's own kernels and thread count
#   avx2      torch, MKL and oneDNN capped at AVX2: what an AVX2-only CPU runs (AMD EPYC
#             before Zen 4, older Xeons); the same as native on such a CPU
#   portable  torch's unvectorised kernels, MKL at SSE4.2, oneDNN at SSE4.1, one thread:
#             differs from native on every x86-64 CPU (the tests' second run in .ci/run)
#   threads1  one compute thread (other reduction orders)
# Usage: env $(bash tools/misc/float_path_env.sh avx2) python ...
# Read by tools/analysis_tools/toy_spread.sh and the Makefile's test-portable target.
set -euo pipefail
case ${1:-native} in
  native) echo "" ;;
  avx2) echo "ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2" ;;
  portable) echo "ATEN_CPU_CAPABILITY=default MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1" ;;
  threads1) echo "OMP_NUM_THREADS=1 MKL_NUM_THREADS=1" ;;
  *) echo "float_path_env.sh: unknown float path '$1' (native, avx2, portable, threads1)" >&2; exit 2 ;;
esac
