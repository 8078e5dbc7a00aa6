{
  # Built by build.mjs (the package's install script), which finds OpenBLAS and passes it in
  # MOEPP_OPENBLAS_INCLUDE / MOEPP_OPENBLAS_LIBDIR.
  "targets": [
    {
      "target_name": "moepp_blas",
      "sources": ["src/moepp_blas.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"process.env.MOEPP_OPENBLAS_INCLUDE\")"
      ],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2"],
      # The pthread variant by path (and rpath), not whichever libopenblas.so.0 the alternatives
      # system points at: its thread count can be set at run time without OpenMP.
      "libraries": [
        "-L<!(node -p \"process.env.MOEPP_OPENBLAS_LIBDIR\")",
        "-lopenblas",
        "-Wl,-rpath,<!(node -p \"process.env.MOEPP_OPENBLAS_LIBDIR\")"
      ]
    }
  ]
}
