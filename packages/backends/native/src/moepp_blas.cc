// moepp_blas: cblas_sgemm of the system OpenBLAS on typed-array views, for the `blas` kernels of
// @moepp/backends (src/blas/). The views usually alias the wasm heap (an ArrayBuffer, or a
// SharedArrayBuffer for the threaded build), so products are written in place without copies.
// Every offset and size is checked against the views before OpenBLAS sees a pointer: a wrong
// shape from JS must raise an exception, never write outside a tensor.
#include <napi.h>
#include <cblas.h>

#include <cstdint>
#include <cstring>
#include <string>

namespace {

Napi::Value Fail(const Napi::Env& env, const std::string& message) {
  Napi::RangeError::New(env, "moepp_blas: " + message).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool IsFloat32Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
}

bool IsInt32Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array;
}

bool ReadDim(const Napi::Value& v, int64_t* out) {
  if (!v.IsNumber()) return false;
  double d = v.As<Napi::Number>().DoubleValue();
  // Dimensions go to OpenBLAS as int (blasint, 32-bit in Debian's build).
  if (!(d >= 0 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int64_t>(d))) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

// sgemmBatch(transA, transB, m, n, k, a, aOffsets, b, bOffsets, c): for each entry i,
//   C_i (m, n) = op(A_i) · op(B_i), row-major, where A_i starts at a[aOffsets[i]], B_i at
//   b[bOffsets[i]] and C_i at c[i·m·n]; op transposes when the flag is set (A_i stored (k, m),
//   B_i stored (n, k)). Broadcast batches repeat an offset. c is overwritten (beta = 0).
Napi::Value SgemmBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 10) return Fail(env, "sgemmBatch takes 10 arguments");
  if (!info[0].IsBoolean() || !info[1].IsBoolean()) return Fail(env, "transA and transB must be booleans");
  const bool transA = info[0].As<Napi::Boolean>().Value();
  const bool transB = info[1].As<Napi::Boolean>().Value();
  int64_t m, n, k;
  if (!ReadDim(info[2], &m) || !ReadDim(info[3], &n) || !ReadDim(info[4], &k)) return Fail(env, "m, n, k must be integers in [0, 2^31)");
  if (!IsFloat32Array(info[5]) || !IsFloat32Array(info[7]) || !IsFloat32Array(info[9])) return Fail(env, "a, b and c must be Float32Arrays");
  if (!IsInt32Array(info[6]) || !IsInt32Array(info[8])) return Fail(env, "aOffsets and bOffsets must be Int32Arrays");
  auto a = info[5].As<Napi::Float32Array>();
  auto b = info[7].As<Napi::Float32Array>();
  auto c = info[9].As<Napi::Float32Array>();
  auto aOffsets = info[6].As<Napi::Int32Array>();
  auto bOffsets = info[8].As<Napi::Int32Array>();
  const size_t batch = aOffsets.ElementLength();
  if (bOffsets.ElementLength() != batch) return Fail(env, "aOffsets and bOffsets must have the same length");
  const uint64_t mk = static_cast<uint64_t>(m) * k, kn = static_cast<uint64_t>(k) * n, mn = static_cast<uint64_t>(m) * n;
  if (static_cast<uint64_t>(batch) * mn > c.ElementLength()) return Fail(env, "c is smaller than batch · m · n");
  for (size_t i = 0; i < batch; i++) {
    const int64_t ao = aOffsets[i], bo = bOffsets[i];
    if (ao < 0 || static_cast<uint64_t>(ao) + mk > a.ElementLength()) return Fail(env, "an entry of a lies outside the array");
    if (bo < 0 || static_cast<uint64_t>(bo) + kn > b.ElementLength()) return Fail(env, "an entry of b lies outside the array");
  }
  if (mn == 0) return env.Undefined();
  float* cData = c.Data();
  if (k == 0) {
    std::memset(cData, 0, static_cast<size_t>(batch * mn) * sizeof(float));
    return env.Undefined();
  }
  const float* aData = a.Data();
  const float* bData = b.Data();
  // Leading dimensions of the row-major stored operands (at least 1, as BLAS requires).
  const int lda = static_cast<int>(transA ? m : k);
  const int ldb = static_cast<int>(transB ? k : n);
  for (size_t i = 0; i < batch; i++) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), 1.0f,
                aData + aOffsets[i], lda > 0 ? lda : 1, bData + bOffsets[i], ldb > 0 ? ldb : 1,
                0.0f, cData + i * mn, static_cast<int>(n > 0 ? n : 1));
  }
  return env.Undefined();
}

// setNumThreads(n): OpenBLAS's thread count for every later call; returns the count it reports.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t n;
  if (info.Length() != 1 || !ReadDim(info[0], &n) || n < 1) return Fail(env, "setNumThreads takes one integer >= 1");
  openblas_set_num_threads(static_cast<int>(n));
  return Napi::Number::New(env, openblas_get_num_threads());
}

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), openblas_get_num_threads());
}

// info(): what the loaded library says about itself (recorded with runs).
Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("config", Napi::String::New(env, openblas_get_config()));
  out.Set("corename", Napi::String::New(env, openblas_get_corename()));
  // 0: sequential, 1: pthreads, 2: OpenMP (OpenBLAS's own numbering).
  const int parallel = openblas_get_parallel();
  out.Set("parallel", Napi::String::New(env, parallel == 1 ? "pthread" : parallel == 2 ? "openmp" : "sequential"));
  out.Set("threads", Napi::Number::New(env, openblas_get_num_threads()));
  return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("sgemmBatch", Napi::Function::New(env, SgemmBatch, "sgemmBatch"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(moepp_blas, Init)
