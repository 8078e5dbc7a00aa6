#!/usr/bin/env python3
"""PyTorch's plain matmul rate at the expert shapes of the paper width, for BENCHMARKS.md's
"what would close the gap" (ours/PyTorch is bounded by the two backends' GEMM rates).

  /usr/bin/python3 bench/peers/torch_matmul_rate.py [threads ...]    (default: 1 2)

Prints GFLOP/s (median of 20 after 3 warm-up) of (rows, 768) @ (768, 2048) for the rows per
expert of MoE 16E (512) and MoE++ (16+4)E at tau 0.1 (79) and 0.75 (194), 2048 tokens, top-2.
Each thread count is set on torch and on its OpenBLAS (which ignores torch.set_num_threads) and
printed as OpenBLAS reports it.
"""
import os
import statistics
import sys
import time

threads = [int(t) for t in sys.argv[1:]] or [1, 2]
# Before torch loads OpenBLAS, so its pool starts at the first count.
os.environ.setdefault("OPENBLAS_NUM_THREADS", str(threads[0]))

import torch  # noqa: E402

from openblas_threads import require_openblas_threads  # noqa: E402

torch.manual_seed(0)
for n in threads:
    torch.set_num_threads(n)
    openblas_threads, _ = require_openblas_threads(n)
    for rows in (512, 194, 79):
        a = torch.randn(rows, 768)
        b = torch.randn(768, 2048)
        times = []
        for i in range(23):
            t0 = time.perf_counter()
            torch.mm(a, b)
            if i >= 3:
                times.append(time.perf_counter() - t0)
        ms = statistics.median(times) * 1000
        print(f"torch {torch.__version__}, {n} thread(s) (OpenBLAS reports {openblas_threads}): ({rows}, 768) @ (768, 2048): {ms:.2f} ms, {2 * rows * 768 * 2048 / ms / 1e6:.1f} GFLOP/s")
