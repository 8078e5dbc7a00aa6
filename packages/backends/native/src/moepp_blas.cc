// moepp_blas: cblas_sgemm of the system OpenBLAS on typed-array views, for the `blas` kernels of
// @moepp/backends (src/blas/), and the non-GEMM kernels of a training step (training_math.h,
// layer_math.h), and the `cuda` route's cuBLAS products (cuda_gemm.h, opened at run time).
// The views usually alias the wasm heap (an ArrayBuffer, or a SharedArrayBuffer for the threaded
// build), so results are written in place without copies. Every offset and size is checked
// against the views before native code sees a pointer: a wrong shape from JS must raise an
// exception, never write outside a tensor.
#include <napi.h>
#include <cblas.h>

#include "cuda_gemm.h"
#include "layer_math.h"
#include "packed_gemm.h"
#include "packed_swiglu_expert.h"
#include "row_ops.h"
#include "training_math.h"

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <vector>

namespace {

Napi::Value Fail(const Napi::Env& env, const std::string& message) {
  Napi::RangeError::New(env, "moepp_blas: " + message).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool IsFloat32Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array;
}

bool IsFloat64Array(const Napi::Value& v) {
  return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float64_array;
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

// The arguments of sgemmBatch and cudaSgemmBatch, checked: every entry inside its array.
struct GemmBatchArgs {
  bool transA, transB;
  int64_t m, n, k;
  const float* a;
  const int32_t* aOffsets;
  const float* b;
  const int32_t* bOffsets;
  size_t batch;
  float* c;
};

bool ReadGemmBatch(const Napi::CallbackInfo& info, const char* name, GemmBatchArgs* out, std::string* why) {
  if (info.Length() != 10) return *why = std::string(name) + " takes 10 arguments", false;
  if (!info[0].IsBoolean() || !info[1].IsBoolean()) return *why = "transA and transB must be booleans", false;
  out->transA = info[0].As<Napi::Boolean>().Value();
  out->transB = info[1].As<Napi::Boolean>().Value();
  if (!ReadDim(info[2], &out->m) || !ReadDim(info[3], &out->n) || !ReadDim(info[4], &out->k)) return *why = "m, n, k must be integers in [0, 2^31)", false;
  if (!IsFloat32Array(info[5]) || !IsFloat32Array(info[7]) || !IsFloat32Array(info[9])) return *why = "a, b and c must be Float32Arrays", false;
  if (!IsInt32Array(info[6]) || !IsInt32Array(info[8])) return *why = "aOffsets and bOffsets must be Int32Arrays", false;
  auto a = info[5].As<Napi::Float32Array>();
  auto b = info[7].As<Napi::Float32Array>();
  auto c = info[9].As<Napi::Float32Array>();
  auto aOffsets = info[6].As<Napi::Int32Array>();
  auto bOffsets = info[8].As<Napi::Int32Array>();
  out->batch = aOffsets.ElementLength();
  if (bOffsets.ElementLength() != out->batch) return *why = "aOffsets and bOffsets must have the same length", false;
  const uint64_t mk = static_cast<uint64_t>(out->m) * out->k, kn = static_cast<uint64_t>(out->k) * out->n, mn = static_cast<uint64_t>(out->m) * out->n;
  if (static_cast<uint64_t>(out->batch) * mn > c.ElementLength()) return *why = "c is smaller than batch · m · n", false;
  for (size_t i = 0; i < out->batch; i++) {
    const int64_t ao = aOffsets[i], bo = bOffsets[i];
    if (ao < 0 || static_cast<uint64_t>(ao) + mk > a.ElementLength()) return *why = "an entry of a lies outside the array", false;
    if (bo < 0 || static_cast<uint64_t>(bo) + kn > b.ElementLength()) return *why = "an entry of b lies outside the array", false;
  }
  out->a = a.Data();
  out->b = b.Data();
  out->c = c.Data();
  out->aOffsets = aOffsets.Data();
  out->bOffsets = bOffsets.Data();
  return true;
}

// The products with nothing to multiply: an empty C, or k = 0 (C is zeros). True when handled.
bool EmptyGemm(const GemmBatchArgs& g) {
  const size_t mn = static_cast<size_t>(g.m * g.n);
  if (mn != 0 && g.k == 0) std::memset(g.c, 0, g.batch * mn * sizeof(float));
  return mn == 0 || g.k == 0;
}

// sgemmBatch(transA, transB, m, n, k, a, aOffsets, b, bOffsets, c): for each entry i,
//   C_i (m, n) = op(A_i) · op(B_i), row-major, where A_i starts at a[aOffsets[i]], B_i at
//   b[bOffsets[i]] and C_i at c[i·m·n]; op transposes when the flag is set (A_i stored (k, m),
//   B_i stored (n, k)). Broadcast batches repeat an offset. c is overwritten (beta = 0).
Napi::Value SgemmBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GemmBatchArgs g;
  std::string why;
  if (!ReadGemmBatch(info, "sgemmBatch", &g, &why)) return Fail(env, why);
  if (EmptyGemm(g)) return env.Undefined();
  const size_t mn = static_cast<size_t>(g.m * g.n);
  // Leading dimensions of the row-major stored operands (at least 1, as BLAS requires).
  const int lda = static_cast<int>(g.transA ? g.m : g.k);
  const int ldb = static_cast<int>(g.transB ? g.k : g.n);
  for (size_t i = 0; i < g.batch; i++) {
    cblas_sgemm(CblasRowMajor, g.transA ? CblasTrans : CblasNoTrans, g.transB ? CblasTrans : CblasNoTrans,
                static_cast<int>(g.m), static_cast<int>(g.n), static_cast<int>(g.k), 1.0f,
                g.a + g.aOffsets[i], lda > 0 ? lda : 1, g.b + g.bOffsets[i], ldb > 0 ? ldb : 1,
                0.0f, g.c + i * mn, static_cast<int>(g.n > 0 ? g.n : 1));
  }
  return env.Undefined();
}

// cudaOpen(dirs): opens the CUDA runtime and cuBLAS (each folder of dirs first, then the loader's
// search path) and device 0 (cuda_gemm.h). Returns { ok: true, device, computeCapability, … } or
// { ok: false, reason }.
Napi::Value CudaOpenJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsArray()) return Fail(env, "cudaOpen takes one array of folder paths");
  auto array = info[0].As<Napi::Array>();
  std::vector<std::string> dirs;
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value v = array.Get(i);
    if (!v.IsString()) return Fail(env, "cudaOpen: every folder must be a string");
    dirs.push_back(v.As<Napi::String>().Utf8Value());
  }
  moepp::CudaDeviceInfo device;
  std::string why;
  Napi::Object out = Napi::Object::New(env);
  const bool ok = moepp::CudaOpen(dirs, &device, &why);
  out.Set("ok", Napi::Boolean::New(env, ok));
  if (!ok) {
    out.Set("reason", Napi::String::New(env, why));
    return out;
  }
  out.Set("device", Napi::String::New(env, device.device));
  out.Set("computeCapability", Napi::String::New(env, std::to_string(device.ccMajor) + "." + std::to_string(device.ccMinor)));
  out.Set("memoryMiB", Napi::Number::New(env, device.memoryMiB));
  out.Set("runtimeVersion", Napi::Number::New(env, device.runtimeVersion));
  out.Set("driverVersion", Napi::Number::New(env, device.driverVersion));
  out.Set("cublasVersion", Napi::Number::New(env, device.cublasVersion));
  out.Set("cudart", Napi::String::New(env, device.cudartPath));
  out.Set("cublas", Napi::String::New(env, device.cublasPath));
  return out;
}

// cudaSgemmBatch: sgemmBatch's contract and checks, computed by cuBLAS on the GPU (cuda_gemm.h).
Napi::Value CudaSgemmBatchJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  GemmBatchArgs g;
  std::string why;
  if (!ReadGemmBatch(info, "cudaSgemmBatch", &g, &why)) return Fail(env, why);
  if (EmptyGemm(g)) return env.Undefined();
  if (!moepp::CudaSgemmBatch(g.transA, g.transB, g.m, g.n, g.k, g.a, g.aOffsets, g.b, g.bOffsets, g.batch, g.c, &why)) return Fail(env, "cudaSgemmBatch: " + why);
  return env.Undefined();
}

// cudaLastTimings(): seconds and bytes of the last cudaSgemmBatch's copies and products.
Napi::Value CudaLastTimingsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const moepp::CudaTimings t = moepp::CudaLastTimings();
  Napi::Object out = Napi::Object::New(env);
  out.Set("upload", Napi::Number::New(env, t.upload));
  out.Set("compute", Napi::Number::New(env, t.compute));
  out.Set("download", Napi::Number::New(env, t.download));
  out.Set("bytesUp", Napi::Number::New(env, t.bytesUp));
  out.Set("bytesDown", Napi::Number::New(env, t.bytesDown));
  return out;
}

Napi::Value CudaCloseJs(const Napi::CallbackInfo& info) {
  moepp::CudaClose();
  return info.Env().Undefined();
}

// softmaxCrossEntropy(logits, targets, rows, cols, loss, lse): per row, lse = log Σ exp(logits)
//   and loss = lse − logits[target] (training_math.h); loss and lse hold `rows` entries.
Napi::Value SoftmaxCrossEntropy(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6) return Fail(env, "softmaxCrossEntropy takes 6 arguments");
  int64_t rows, cols;
  if (!ReadDim(info[2], &rows) || !ReadDim(info[3], &cols) || cols == 0) return Fail(env, "rows and cols must be integers in [0, 2^31), cols > 0");
  if (!IsFloat32Array(info[0]) || !IsInt32Array(info[1]) || !IsFloat32Array(info[4]) || !IsFloat32Array(info[5])) return Fail(env, "logits, loss and lse must be Float32Arrays, targets an Int32Array");
  auto logits = info[0].As<Napi::Float32Array>();
  auto targets = info[1].As<Napi::Int32Array>();
  auto loss = info[4].As<Napi::Float32Array>();
  auto lse = info[5].As<Napi::Float32Array>();
  if (logits.ElementLength() != static_cast<size_t>(rows * cols)) return Fail(env, "logits must hold rows · cols values");
  if (targets.ElementLength() != static_cast<size_t>(rows) || loss.ElementLength() != static_cast<size_t>(rows) || lse.ElementLength() != static_cast<size_t>(rows)) return Fail(env, "targets, loss and lse must hold one value per row");
  for (int64_t n = 0; n < rows; n++) {
    if (targets[static_cast<size_t>(n)] < 0 || targets[static_cast<size_t>(n)] >= cols) return Fail(env, "a target lies outside [0, cols)");
  }
  moepp::SoftmaxCrossEntropy(logits.Data(), targets.Data(), rows, cols, loss.Data(), lse.Data());
  return env.Undefined();
}

// softmaxCrossEntropyGrad(logits, lse, targets, rows, cols, scale, dlogits):
//   dlogits = scale · (softmax(logits) − onehot(targets)), from the forward's lse.
Napi::Value SoftmaxCrossEntropyGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 7) return Fail(env, "softmaxCrossEntropyGrad takes 7 arguments");
  int64_t rows, cols;
  if (!ReadDim(info[3], &rows) || !ReadDim(info[4], &cols) || cols == 0) return Fail(env, "rows and cols must be integers in [0, 2^31), cols > 0");
  if (!info[5].IsNumber()) return Fail(env, "scale must be a number");
  if (!IsFloat32Array(info[0]) || !IsFloat32Array(info[1]) || !IsInt32Array(info[2]) || !IsFloat32Array(info[6])) return Fail(env, "logits, lse and dlogits must be Float32Arrays, targets an Int32Array");
  auto logits = info[0].As<Napi::Float32Array>();
  auto lse = info[1].As<Napi::Float32Array>();
  auto targets = info[2].As<Napi::Int32Array>();
  auto dlogits = info[6].As<Napi::Float32Array>();
  const size_t size = static_cast<size_t>(rows * cols);
  if (logits.ElementLength() != size || dlogits.ElementLength() != size) return Fail(env, "logits and dlogits must hold rows · cols values");
  if (lse.ElementLength() != static_cast<size_t>(rows) || targets.ElementLength() != static_cast<size_t>(rows)) return Fail(env, "lse and targets must hold one value per row");
  for (int64_t n = 0; n < rows; n++) {
    if (targets[static_cast<size_t>(n)] < 0 || targets[static_cast<size_t>(n)] >= cols) return Fail(env, "a target lies outside [0, cols)");
  }
  moepp::SoftmaxCrossEntropyGrad(logits.Data(), lse.Data(), targets.Data(), rows, cols, info[5].As<Napi::Number>().FloatValue(), dlogits.Data());
  return env.Undefined();
}

// sumOfSquares([x0, x1, …]): Σ over every array of x², accumulated in float64.
Napi::Value SumOfSquares(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsArray()) return Fail(env, "sumOfSquares takes one array of Float32Arrays");
  auto arrays = info[0].As<Napi::Array>();
  double total = 0;
  for (uint32_t i = 0; i < arrays.Length(); i++) {
    Napi::Value x = arrays[i];
    if (!IsFloat32Array(x)) return Fail(env, "sumOfSquares takes one array of Float32Arrays");
    auto a = x.As<Napi::Float32Array>();
    total += moepp::SumOfSquares(a.Data(), static_cast<int64_t>(a.ElementLength()));
  }
  return Napi::Number::New(env, total);
}

// adamwUpdate(p, g, m, v, pOut, mOut, vOut, scalars): one AdamW step of one parameter
//   (training_math.h); scalars = [β₁, β₂, (1−β₁)s, (1−β₂)s², 1/(1−β₂ᵗ), ε, 1 − lr·λ, lr/(1−β₁ᵗ)].
Napi::Value AdamWUpdate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 8) return Fail(env, "adamwUpdate takes 8 arguments");
  for (int i = 0; i < 7; i++) {
    if (!IsFloat32Array(info[i])) return Fail(env, "p, g, m, v, pOut, mOut and vOut must be Float32Arrays");
  }
  if (!info[7].IsTypedArray() || info[7].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || info[7].As<Napi::Float64Array>().ElementLength() != 8) {
    return Fail(env, "scalars must be a Float64Array of 8 values");
  }
  const size_t n = info[0].As<Napi::Float32Array>().ElementLength();
  float* data[7];
  for (int i = 0; i < 7; i++) {
    auto a = info[i].As<Napi::Float32Array>();
    if (a.ElementLength() != n) return Fail(env, "p, g, m, v and the outputs must have the same length");
    data[i] = a.Data();
  }
  auto s = info[7].As<Napi::Float64Array>();
  const moepp::AdamWStep step = {static_cast<float>(s[0]), static_cast<float>(s[1]), static_cast<float>(s[2]), static_cast<float>(s[3]),
                                 static_cast<float>(s[4]), static_cast<float>(s[5]), static_cast<float>(s[6]), static_cast<float>(s[7])};
  moepp::AdamWUpdate(data[0], data[1], data[2], data[3], static_cast<int64_t>(n), step, data[4], data[5], data[6]);
  return env.Undefined();
}

// The host executor's row moves (row_ops.h). Arguments, by position: for scatterAddWeighted
//   (out, y, w, index, weightIndex, d); gatherWeighted (dst, g, w, index, weightIndex, d);
//   scatterAddWithDot (dx, dW, dxe, y, g, index, weightIndex, d). Slot i moves row i of the
//   per-slot array (y, dst, dxe) and row index[i] of the per-token array (out, g, dx); w and dW
//   are indexed by weightIndex[i].
struct RowMove {
  int64_t count = 0, d = 0;
};

// Checks that `index` rows of d values fit `tokenRows`, `weightIndex` fits `weights` and the
// per-slot arrays hold count rows; fills `move` or returns false with `why` set.
bool CheckRowMove(const Napi::Int32Array& index, const Napi::Int32Array& weightIndex, int64_t d, size_t tokenValues, size_t weights,
                  std::initializer_list<size_t> slotValues, RowMove* move, std::string* why) {
  const size_t count = index.ElementLength();
  if (weightIndex.ElementLength() != count) { *why = "index and weightIndex must have the same length"; return false; }
  if (d == 0) { *why = "d must be > 0"; return false; }
  for (size_t v : slotValues) {
    if (v != count * static_cast<size_t>(d)) { *why = "a per-slot array does not hold count · d values"; return false; }
  }
  const int64_t tokens = static_cast<int64_t>(tokenValues) / d;
  if (static_cast<size_t>(tokens * d) != tokenValues) { *why = "a per-token array does not hold whole rows of d"; return false; }
  for (size_t i = 0; i < count; i++) {
    if (index[i] < 0 || index[i] >= tokens) { *why = "a slot's token lies outside the per-token array"; return false; }
    if (weightIndex[i] < 0 || static_cast<size_t>(weightIndex[i]) >= weights) { *why = "a slot's weight lies outside the weights"; return false; }
  }
  move->count = static_cast<int64_t>(count);
  move->d = d;
  return true;
}

bool AllFloat32(const Napi::CallbackInfo& info, std::initializer_list<int> at) {
  for (int i : at) {
    if (!IsFloat32Array(info[i])) return false;
  }
  return true;
}

Napi::Value ScatterAddWeighted(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t d;
  if (info.Length() != 6 || !AllFloat32(info, {0, 1, 2}) || !IsInt32Array(info[3]) || !IsInt32Array(info[4]) || !ReadDim(info[5], &d)) {
    return Fail(env, "scatterAddWeighted takes (out, y, w: Float32Array, index, weightIndex: Int32Array, d)");
  }
  auto out = info[0].As<Napi::Float32Array>(), y = info[1].As<Napi::Float32Array>(), w = info[2].As<Napi::Float32Array>();
  auto index = info[3].As<Napi::Int32Array>(), weightIndex = info[4].As<Napi::Int32Array>();
  RowMove move;
  std::string why;
  if (!CheckRowMove(index, weightIndex, d, out.ElementLength(), w.ElementLength(), {y.ElementLength()}, &move, &why)) return Fail(env, "scatterAddWeighted: " + why);
  moepp::ScatterAddWeighted(out.Data(), y.Data(), w.Data(), index.Data(), weightIndex.Data(), move.count, move.d);
  return env.Undefined();
}

Napi::Value GatherWeighted(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t d;
  if (info.Length() != 6 || !AllFloat32(info, {0, 1, 2}) || !IsInt32Array(info[3]) || !IsInt32Array(info[4]) || !ReadDim(info[5], &d)) {
    return Fail(env, "gatherWeighted takes (dst, g, w: Float32Array, index, weightIndex: Int32Array, d)");
  }
  auto dst = info[0].As<Napi::Float32Array>(), g = info[1].As<Napi::Float32Array>(), w = info[2].As<Napi::Float32Array>();
  auto index = info[3].As<Napi::Int32Array>(), weightIndex = info[4].As<Napi::Int32Array>();
  RowMove move;
  std::string why;
  if (!CheckRowMove(index, weightIndex, d, g.ElementLength(), w.ElementLength(), {dst.ElementLength()}, &move, &why)) return Fail(env, "gatherWeighted: " + why);
  moepp::GatherWeighted(dst.Data(), g.Data(), w.Data(), index.Data(), weightIndex.Data(), move.count, move.d);
  return env.Undefined();
}

Napi::Value ScatterAddWithDot(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t d;
  if (info.Length() != 8 || !AllFloat32(info, {0, 1, 2, 3, 4}) || !IsInt32Array(info[5]) || !IsInt32Array(info[6]) || !ReadDim(info[7], &d)) {
    return Fail(env, "scatterAddWithDot takes (dx, dW, dxe, y, g: Float32Array, index, weightIndex: Int32Array, d)");
  }
  auto dx = info[0].As<Napi::Float32Array>(), dW = info[1].As<Napi::Float32Array>(), dxe = info[2].As<Napi::Float32Array>();
  auto y = info[3].As<Napi::Float32Array>(), g = info[4].As<Napi::Float32Array>();
  auto index = info[5].As<Napi::Int32Array>(), weightIndex = info[6].As<Napi::Int32Array>();
  if (g.ElementLength() != dx.ElementLength()) return Fail(env, "scatterAddWithDot: dx and g must have the same length");
  RowMove move;
  std::string why;
  if (!CheckRowMove(index, weightIndex, d, dx.ElementLength(), dW.ElementLength(), {dxe.ElementLength(), y.ElementLength()}, &move, &why)) return Fail(env, "scatterAddWithDot: " + why);
  moepp::ScatterAddWithDot(dx.Data(), dW.Data(), dxe.Data(), y.Data(), g.Data(), index.Data(), weightIndex.Data(), move.count, move.d);
  return env.Undefined();
}

// Whether info[i] is a Float32Array of exactly `length` values, for every i in `at`.
bool Float32Of(const Napi::CallbackInfo& info, std::initializer_list<int> at, uint64_t length) {
  for (int i : at) {
    if (!IsFloat32Array(info[i]) || info[i].As<Napi::Float32Array>().ElementLength() != length) return false;
  }
  return true;
}

float* F32(const Napi::CallbackInfo& info, int i) { return info[i].As<Napi::Float32Array>().Data(); }

// rmsNorm(x, gain, rows, d, eps, y, rstd)
Napi::Value RmsNorm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t rows, d;
  if (info.Length() != 7 || !ReadDim(info[2], &rows) || !ReadDim(info[3], &d) || d < 1 || !info[4].IsNumber()) return Fail(env, "rmsNorm takes (x, gain, rows, d, eps, y, rstd)");
  const uint64_t size = static_cast<uint64_t>(rows) * d;
  if (!Float32Of(info, {0, 5}, size) || !Float32Of(info, {1}, d) || !Float32Of(info, {6}, rows)) return Fail(env, "rmsNorm: x and y must hold rows · d float32 values, gain d and rstd rows");
  moepp::RmsNorm(F32(info, 0), F32(info, 1), rows, d, info[4].As<Napi::Number>().FloatValue(), F32(info, 5), F32(info, 6));
  return env.Undefined();
}

// rmsNormGrad(x, gain, rstd, dy, rows, d, dx, dgain)
Napi::Value RmsNormGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t rows, d;
  if (info.Length() != 8 || !ReadDim(info[4], &rows) || !ReadDim(info[5], &d) || d < 1) return Fail(env, "rmsNormGrad takes (x, gain, rstd, dy, rows, d, dx, dgain)");
  const uint64_t size = static_cast<uint64_t>(rows) * d;
  if (!Float32Of(info, {0, 3, 6}, size) || !Float32Of(info, {1, 7}, d) || !Float32Of(info, {2}, rows)) return Fail(env, "rmsNormGrad: x, dy and dx must hold rows · d float32 values, gain and dgain d, rstd rows");
  moepp::RmsNormGrad(F32(info, 0), F32(info, 1), F32(info, 2), F32(info, 3), rows, d, F32(info, 6), F32(info, 7));
  return env.Undefined();
}

// swiGlu(gate, up, h)
Napi::Value SwiGlu(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 3 || !IsFloat32Array(info[0])) return Fail(env, "swiGlu takes (gate, up, h: Float32Array)");
  const uint64_t n = info[0].As<Napi::Float32Array>().ElementLength();
  if (!Float32Of(info, {1, 2}, n)) return Fail(env, "swiGlu: gate, up and h must be float32 arrays of one length");
  moepp::SwiGlu(F32(info, 0), F32(info, 1), static_cast<int64_t>(n), F32(info, 2));
  return env.Undefined();
}

// swiGluGrad(gate, up, dh, h, dgate, dup)
Napi::Value SwiGluGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6 || !IsFloat32Array(info[0])) return Fail(env, "swiGluGrad takes (gate, up, dh, h, dgate, dup: Float32Array)");
  const uint64_t n = info[0].As<Napi::Float32Array>().ElementLength();
  if (!Float32Of(info, {1, 2, 3, 4, 5}, n)) return Fail(env, "swiGluGrad: every array must be float32 of the gate's length");
  moepp::SwiGluGrad(F32(info, 0), F32(info, 1), F32(info, 2), static_cast<int64_t>(n), F32(info, 3), F32(info, 4), F32(info, 5));
  return env.Undefined();
}

// Reads (batch, seqLen, heads, headDim) at info[at…at+3]; hd even, each ≥ 1, and T, D within int.
bool ReadAttentionShape(const Napi::CallbackInfo& info, int at, moepp::AttentionShape* s) {
  if (!ReadDim(info[at], &s->batch) || !ReadDim(info[at + 1], &s->seqLen) || !ReadDim(info[at + 2], &s->heads) || !ReadDim(info[at + 3], &s->headDim)) return false;
  if (s->batch < 1 || s->seqLen < 1 || s->heads < 1 || s->headDim < 2 || s->headDim % 2 != 0) return false;
  return static_cast<uint64_t>(s->heads) * s->headDim <= 2147483647ull;
}

// Null when the arrays at `tokens` hold B·T·H·hd float32 values, those at `tables` T·hd (cos, sin)
// and the one at `probs` B·H·T²; otherwise what is wrong.
const char* AttentionSizesWrong(const Napi::CallbackInfo& info, const moepp::AttentionShape& s, std::initializer_list<int> tokens,
                                std::initializer_list<int> tables, int probs) {
  const uint64_t t = static_cast<uint64_t>(s.seqLen);
  if (!Float32Of(info, tokens, static_cast<uint64_t>(s.batch) * t * s.heads * s.headDim)) return "every (B·T, D) array must hold batch · seqLen · heads · headDim float32 values";
  if (!Float32Of(info, tables, t * s.headDim)) return "cos and sin must hold seqLen · headDim float32 values";
  if (!Float32Of(info, {probs}, static_cast<uint64_t>(s.batch) * s.heads * t * t)) return "probs must hold batch · heads · seqLen² float32 values";
  return nullptr;
}

// causalAttention(q, k, v, cos, sin, batch, seqLen, heads, headDim, out, probs, qRot, kRot)
Napi::Value CausalAttention(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  moepp::AttentionShape s;
  if (info.Length() != 13 || !ReadAttentionShape(info, 5, &s)) return Fail(env, "causalAttention takes (q, k, v, cos, sin, batch, seqLen, heads, headDim ≥ 2 and even, out, probs, qRot, kRot)");
  if (const char* why = AttentionSizesWrong(info, s, {0, 1, 2, 9, 11, 12}, {3, 4}, 10)) return Fail(env, std::string("causalAttention: ") + why);
  moepp::CausalAttention(F32(info, 0), F32(info, 1), F32(info, 2), F32(info, 3), F32(info, 4), s, F32(info, 9), F32(info, 10), F32(info, 11), F32(info, 12));
  return env.Undefined();
}

// causalAttentionGrad(qRot, kRot, v, probs, dOut, cos, sin, batch, seqLen, heads, headDim, dq, dk, dv)
Napi::Value CausalAttentionGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  moepp::AttentionShape s;
  if (info.Length() != 14 || !ReadAttentionShape(info, 7, &s)) return Fail(env, "causalAttentionGrad takes (qRot, kRot, v, probs, dOut, cos, sin, batch, seqLen, heads, headDim ≥ 2 and even, dq, dk, dv)");
  if (const char* why = AttentionSizesWrong(info, s, {0, 1, 2, 4, 11, 12, 13}, {5, 6}, 3)) return Fail(env, std::string("causalAttentionGrad: ") + why);
  moepp::CausalAttentionGrad(F32(info, 0), F32(info, 1), F32(info, 2), F32(info, 3), F32(info, 4), F32(info, 5), F32(info, 6), s, F32(info, 11), F32(info, 12), F32(info, 13));
  return env.Undefined();
}

// rowDots(x, v, mask, d, out): out[n] = ⟨x row n, v⟩ where mask[n] ≠ 0, else 0 (row_ops.h);
// x holds mask.length rows of d values, v d values, out (Float64Array) one value per row.
Napi::Value RowDots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t d;
  if (info.Length() != 5 || !AllFloat32(info, {0, 1, 2}) || !ReadDim(info[3], &d) || !IsFloat64Array(info[4])) return Fail(env, "rowDots takes (x, v, mask: Float32Array, d, out: Float64Array)");
  auto x = info[0].As<Napi::Float32Array>(), v = info[1].As<Napi::Float32Array>(), mask = info[2].As<Napi::Float32Array>();
  auto out = info[4].As<Napi::Float64Array>();
  const size_t rows = mask.ElementLength();
  if (v.ElementLength() != static_cast<size_t>(d)) return Fail(env, "rowDots: v must hold d values");
  if (x.ElementLength() != rows * static_cast<size_t>(d)) return Fail(env, "rowDots: x must hold one row of d values per mask entry");
  if (out.ElementLength() != rows) return Fail(env, "rowDots: out must hold one value per mask entry");
  moepp::RowDots(x.Data(), v.Data(), mask.Data(), static_cast<int64_t>(rows), d, out.Data());
  return env.Undefined();
}

// addScaledVector(out, c, v, d) and addScaledRows(out, c, x, d): out (c.length rows of d) gains
// c[n]·v, respectively c[n]·(row n of x), where c[n] ≠ 0.
Napi::Value AddScaled(const Napi::CallbackInfo& info, bool rowsOfX) {
  Napi::Env env = info.Env();
  const char* name = rowsOfX ? "addScaledRows" : "addScaledVector";
  int64_t d;
  if (info.Length() != 4 || !IsFloat32Array(info[0]) || !IsFloat64Array(info[1]) || !IsFloat32Array(info[2]) || !ReadDim(info[3], &d)) return Fail(env, std::string(name) + " takes (out: Float32Array, c: Float64Array, " + (rowsOfX ? "x" : "v") + ": Float32Array, d)");
  auto out = info[0].As<Napi::Float32Array>(), src = info[2].As<Napi::Float32Array>();
  auto c = info[1].As<Napi::Float64Array>();
  const size_t rows = c.ElementLength();
  if (out.ElementLength() != rows * static_cast<size_t>(d)) return Fail(env, std::string(name) + ": out must hold one row of d values per entry of c");
  if (src.ElementLength() != (rowsOfX ? rows * static_cast<size_t>(d) : static_cast<size_t>(d))) return Fail(env, std::string(name) + (rowsOfX ? ": x must have out's size" : ": v must hold d values"));
  if (rowsOfX) moepp::AddScaledRows(out.Data(), c.Data(), src.Data(), static_cast<int64_t>(rows), d);
  else moepp::AddScaledVector(out.Data(), c.Data(), src.Data(), static_cast<int64_t>(rows), d);
  return env.Undefined();
}

Napi::Value AddScaledVector(const Napi::CallbackInfo& info) { return AddScaled(info, false); }
Napi::Value AddScaledRows(const Napi::CallbackInfo& info) { return AddScaled(info, true); }

// pairDots(a, b, d, out): out[n] = ⟨a row n, b row n⟩ (row_ops.h); a and b hold out.length rows
// of d values, out is a Float64Array.
Napi::Value PairDots(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t d;
  if (info.Length() != 4 || !AllFloat32(info, {0, 1}) || !ReadDim(info[2], &d) || !IsFloat64Array(info[3])) return Fail(env, "pairDots takes (a, b: Float32Array, d, out: Float64Array)");
  auto a = info[0].As<Napi::Float32Array>(), b = info[1].As<Napi::Float32Array>();
  auto out = info[3].As<Napi::Float64Array>();
  const size_t rows = out.ElementLength();
  if (a.ElementLength() != rows * static_cast<size_t>(d) || b.ElementLength() != rows * static_cast<size_t>(d)) return Fail(env, "pairDots: a and b must hold one row of d values per entry of out");
  moepp::PairDots(a.Data(), b.Data(), static_cast<int64_t>(rows), d, out.Data());
  return env.Undefined();
}

// addWeightedRowSum(out, c, x, d): out (d values) gains Σ_n c[n]·(row n of x) over c.length rows
// (row_ops.h); c is a Float64Array.
Napi::Value AddWeightedRowSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t d;
  if (info.Length() != 4 || !IsFloat32Array(info[0]) || !IsFloat64Array(info[1]) || !IsFloat32Array(info[2]) || !ReadDim(info[3], &d)) return Fail(env, "addWeightedRowSum takes (out: Float32Array, c: Float64Array, x: Float32Array, d)");
  auto out = info[0].As<Napi::Float32Array>(), x = info[2].As<Napi::Float32Array>();
  auto c = info[1].As<Napi::Float64Array>();
  if (out.ElementLength() != static_cast<size_t>(d)) return Fail(env, "addWeightedRowSum: out must hold d values");
  if (x.ElementLength() != c.ElementLength() * static_cast<size_t>(d)) return Fail(env, "addWeightedRowSum: x must hold one row of d values per entry of c");
  moepp::AddWeightedRowSum(out.Data(), c.Data(), x.Data(), static_cast<int64_t>(c.ElementLength()), d);
  return env.Undefined();
}

// packedGemmSupported(): whether this CPU runs the packed-weight kernel (packed_gemm.h).
Napi::Value PackedGemmSupported(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), moepp::PackedGemmSupported());
}

// packWeight(b, k, n, packed): packed = the panels of b (k, n); packed holds PackedSize(k, n) floats.
Napi::Value PackWeight(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t k, n;
  if (info.Length() != 4 || !IsFloat32Array(info[0]) || !ReadDim(info[1], &k) || !ReadDim(info[2], &n) || !IsFloat32Array(info[3])) return Fail(env, "packWeight takes (b: Float32Array, k, n, packed: Float32Array)");
  if (!moepp::PackedGemmSupported()) return Fail(env, "packWeight: this CPU lacks AVX2/FMA");
  auto b = info[0].As<Napi::Float32Array>();
  auto packed = info[3].As<Napi::Float32Array>();
  if (b.ElementLength() != static_cast<size_t>(k * n)) return Fail(env, "packWeight: b must hold k · n values");
  if (packed.ElementLength() != static_cast<size_t>(moepp::PackedSize(k, n))) return Fail(env, "packWeight: packed must hold k · (n rounded up to 16) values");
  moepp::PackB(b.Data(), k, n, packed.Data());
  return env.Undefined();
}

// gemmPacked(a, packed, m, n, k, c): c (m, n) = a (m, k) · B, B as packWeight left it; c is
// overwritten. One thread.
Napi::Value GemmPacked(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t m, n, k;
  if (info.Length() != 6 || !IsFloat32Array(info[0]) || !IsFloat32Array(info[1]) || !ReadDim(info[2], &m) || !ReadDim(info[3], &n) || !ReadDim(info[4], &k) || !IsFloat32Array(info[5])) return Fail(env, "gemmPacked takes (a: Float32Array, packed: Float32Array, m, n, k, c: Float32Array)");
  if (!moepp::PackedGemmSupported()) return Fail(env, "gemmPacked: this CPU lacks AVX2/FMA");
  auto a = info[0].As<Napi::Float32Array>();
  auto packed = info[1].As<Napi::Float32Array>();
  auto c = info[5].As<Napi::Float32Array>();
  if (a.ElementLength() != static_cast<size_t>(m * k)) return Fail(env, "gemmPacked: a must hold m · k values");
  if (packed.ElementLength() != static_cast<size_t>(moepp::PackedSize(k, n))) return Fail(env, "gemmPacked: packed does not hold a (k, n) weight");
  if (c.ElementLength() != static_cast<size_t>(m * n)) return Fail(env, "gemmPacked: c must hold m · n values");
  moepp::GemmPacked(a.Data(), packed.Data(), m, n, k, c.Data());
  return env.Undefined();
}

// packedSwiGluExpert(x, index, weightIndex, w, gate, up, down, d, hidden, out): one SwiGLU
// expert's forward on its slots, added into out with their weights (packed_swiglu_expert.h);
// x and out hold the same whole rows of d, gate and up packWeight's form of (d, hidden) weights,
// down of a (hidden, d) one. One thread.
Napi::Value PackedSwiGluExpert(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t d, hidden;
  if (info.Length() != 10 || !IsFloat32Array(info[0]) || !IsInt32Array(info[1]) || !IsInt32Array(info[2]) || !AllFloat32(info, {3, 4, 5, 6, 9}) || !ReadDim(info[7], &d) || !ReadDim(info[8], &hidden)) {
    return Fail(env, "packedSwiGluExpert takes (x: Float32Array, index, weightIndex: Int32Array, w, gate, up, down: Float32Array, d, hidden, out: Float32Array)");
  }
  if (!moepp::PackedGemmSupported()) return Fail(env, "packedSwiGluExpert: this CPU lacks AVX2/FMA");
  auto x = info[0].As<Napi::Float32Array>(), w = info[3].As<Napi::Float32Array>(), out = info[9].As<Napi::Float32Array>();
  auto index = info[1].As<Napi::Int32Array>(), weightIndex = info[2].As<Napi::Int32Array>();
  auto gate = info[4].As<Napi::Float32Array>(), up = info[5].As<Napi::Float32Array>(), down = info[6].As<Napi::Float32Array>();
  if (out.ElementLength() != x.ElementLength()) return Fail(env, "packedSwiGluExpert: out must have x's size");
  const size_t inSize = static_cast<size_t>(moepp::PackedSize(d, hidden));
  if (gate.ElementLength() != inSize || up.ElementLength() != inSize) return Fail(env, "packedSwiGluExpert: gate and up must be packed (d, hidden) weights");
  if (down.ElementLength() != static_cast<size_t>(moepp::PackedSize(hidden, d))) return Fail(env, "packedSwiGluExpert: down must be a packed (hidden, d) weight");
  RowMove move;
  std::string why;
  if (!CheckRowMove(index, weightIndex, d, x.ElementLength(), w.ElementLength(), {}, &move, &why)) return Fail(env, "packedSwiGluExpert: " + why);
  moepp::PackedSwiGluExpertForward(x.Data(), index.Data(), weightIndex.Data(), move.count, w.Data(), gate.Data(), up.Data(), down.Data(), d, hidden, out.Data());
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
  exports.Set("softmaxCrossEntropy", Napi::Function::New(env, SoftmaxCrossEntropy, "softmaxCrossEntropy"));
  exports.Set("softmaxCrossEntropyGrad", Napi::Function::New(env, SoftmaxCrossEntropyGrad, "softmaxCrossEntropyGrad"));
  exports.Set("sumOfSquares", Napi::Function::New(env, SumOfSquares, "sumOfSquares"));
  exports.Set("adamwUpdate", Napi::Function::New(env, AdamWUpdate, "adamwUpdate"));
  exports.Set("rmsNorm", Napi::Function::New(env, RmsNorm, "rmsNorm"));
  exports.Set("rmsNormGrad", Napi::Function::New(env, RmsNormGrad, "rmsNormGrad"));
  exports.Set("swiGlu", Napi::Function::New(env, SwiGlu, "swiGlu"));
  exports.Set("swiGluGrad", Napi::Function::New(env, SwiGluGrad, "swiGluGrad"));
  exports.Set("causalAttention", Napi::Function::New(env, CausalAttention, "causalAttention"));
  exports.Set("causalAttentionGrad", Napi::Function::New(env, CausalAttentionGrad, "causalAttentionGrad"));
  exports.Set("scatterAddWeighted", Napi::Function::New(env, ScatterAddWeighted, "scatterAddWeighted"));
  exports.Set("gatherWeighted", Napi::Function::New(env, GatherWeighted, "gatherWeighted"));
  exports.Set("scatterAddWithDot", Napi::Function::New(env, ScatterAddWithDot, "scatterAddWithDot"));
  exports.Set("rowDots", Napi::Function::New(env, RowDots, "rowDots"));
  exports.Set("addScaledVector", Napi::Function::New(env, AddScaledVector, "addScaledVector"));
  exports.Set("addScaledRows", Napi::Function::New(env, AddScaledRows, "addScaledRows"));
  exports.Set("pairDots", Napi::Function::New(env, PairDots, "pairDots"));
  exports.Set("addWeightedRowSum", Napi::Function::New(env, AddWeightedRowSum, "addWeightedRowSum"));
  exports.Set("packedGemmSupported", Napi::Function::New(env, PackedGemmSupported, "packedGemmSupported"));
  exports.Set("packWeight", Napi::Function::New(env, PackWeight, "packWeight"));
  exports.Set("gemmPacked", Napi::Function::New(env, GemmPacked, "gemmPacked"));
  exports.Set("packedSwiGluExpert", Napi::Function::New(env, PackedSwiGluExpert, "packedSwiGluExpert"));
  exports.Set("cudaOpen", Napi::Function::New(env, CudaOpenJs, "cudaOpen"));
  exports.Set("cudaSgemmBatch", Napi::Function::New(env, CudaSgemmBatchJs, "cudaSgemmBatch"));
  exports.Set("cudaLastTimings", Napi::Function::New(env, CudaLastTimingsJs, "cudaLastTimings"));
  exports.Set("cudaClose", Napi::Function::New(env, CudaCloseJs, "cudaClose"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("getNumThreads", Napi::Function::New(env, GetNumThreads, "getNumThreads"));
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  return exports;
}

}  // namespace

NODE_API_MODULE(moepp_blas, Init)
