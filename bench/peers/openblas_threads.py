"""OpenBLAS's thread count for the PyTorch peers, set on the library torch actually loaded.

Debian's PyTorch runs its matrix products in the system OpenBLAS, whose pthread pool ignores
torch.set_num_threads (torch only sizes its own OpenMP pool), so "1 thread" figures measured
with torch.set_num_threads(1) alone ran OpenBLAS on every core. OPENBLAS_NUM_THREADS set before
torch is imported fixes the initial count; set_openblas_threads() sets it on the loaded library
through ctypes and reads it back with openblas_get_num_threads(), so that the peers report the
count OpenBLAS really uses.

  /usr/bin/python3 bench/peers/openblas_threads.py [threads]   prints {"requested", "verified", "library"}
"""
import ctypes
import json
import sys


def loaded_openblas():
    """Path of the OpenBLAS shared library mapped into this process, or None (e.g. an MKL build)."""
    with open("/proc/self/maps") as f:
        paths = {line.split()[-1] for line in f if "/" in line}
    # Debian's pthread variant is libopenblasp-r<version>.so (libopenblas.so.0 points at it).
    found = sorted(p for p in paths if "libopenblas" in p.rsplit("/", 1)[-1])
    return found[0] if found else None


def set_openblas_threads(threads):
    """Sets OpenBLAS's thread count; returns (the count it then reports, the library), or (None, None)."""
    path = loaded_openblas()
    if path is None:
        return None, None
    lib = ctypes.CDLL(path)  # the already-loaded library: dlopen returns the same instance
    lib.openblas_set_num_threads(ctypes.c_int(threads))
    return int(lib.openblas_get_num_threads()), path


def require_openblas_threads(threads):
    """set_openblas_threads, failing loudly when OpenBLAS is loaded but reports another count."""
    verified, path = set_openblas_threads(threads)
    if verified is not None and verified != threads:
        raise SystemExit(f"OpenBLAS ({path}) reports {verified} threads after setting {threads}")
    return verified, path


if __name__ == "__main__":
    import torch  # noqa: F401  (loads the OpenBLAS torch uses)

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    verified, path = set_openblas_threads(n)
    print(json.dumps({"requested": n, "verified": verified, "library": path}))
