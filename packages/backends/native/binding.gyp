{
  # Built by build.mjs (the package's install script), which finds OpenBLAS and passes it in
  # MOEPP_OPENBLAS_INCLUDE / MOEPP_OPENBLAS_LIBDIR.
  "targets": [
    {
      # The vectorised exponentials of the cross-entropy (and the float64 squared norm): fast-math
      # (all of it: glibc declares libmvec's expf only then) lets GCC call libmvec; kept apart so
      # that the rest keeps strict IEEE semantics. Non-finite logits still give a non-finite loss
      # (a test checks it on this build).
      "target_name": "moepp_fast_math",
      "type": "static_library",
      "sources": ["src/training_math.cc"],
      "cflags": ["-fPIC"],
      "cflags_cc": ["-O3", "-ffast-math"]
    },
    {
      "target_name": "moepp_blas",
      "sources": ["src/moepp_blas.cc", "src/adamw.cc", "src/row_ops.cc", "src/rms_norm.cc", "src/swiglu.cc", "src/causal_attention.cc", "src/packed_gemm.cc", "src/packed_swiglu_expert.cc", "src/cuda_gemm.cc"],
      "dependencies": ["moepp_fast_math"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"process.env.MOEPP_OPENBLAS_INCLUDE\")"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      # No contraction of a product and a sum into one FMA: the row moves, AdamW and the layer
      # kernels must round as their JS / tf-ops counterparts do.
      "cflags_cc": ["-O3", "-ffp-contract=off"],
      # The pthread variant by path (and rpath), not whichever libopenblas.so.0 the alternatives
      # system points at: its thread count can be set at run time without OpenMP.
      "libraries": [
        "-L<!(node -p \"process.env.MOEPP_OPENBLAS_LIBDIR\")",
        "-lopenblas",
        "-Wl,-rpath,<!(node -p \"process.env.MOEPP_OPENBLAS_LIBDIR\")",
        "-lmvec",
        "-lm",
        "-ldl"
      ]
    }
  ]
}
