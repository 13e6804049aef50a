/*===- runtime.h - The kopt runtime C API ------------------------*- C -*-===*
 *
 * A C API with opaque handles and status codes, no exceptions across the ABI
 * and no LLVM/MLIR dependency. Conventions (after IREE):
 *   - objects are `kopt_<object>_t`, functions `kopt_<object>_<verb>`;
 *   - every fallible call returns a `kopt_status_t`: NULL means success, any
 *     other value carries a code and a message and must be freed with
 *     kopt_status_free();
 *   - out-parameters come last;
 *   - reference-counted objects have `_retain` / `_release`.
 *
 *===----------------------------------------------------------------------===*/

#ifndef KOPT_RUNTIME_RUNTIME_H
#define KOPT_RUNTIME_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define KOPT_API __attribute__((visibility("default")))
#else
#define KOPT_API
#endif

/*===----------------------------------------------------------------------===*
 * Status
 *===----------------------------------------------------------------------===*/

typedef enum kopt_status_code_e {
  KOPT_STATUS_OK = 0,
  KOPT_STATUS_INVALID_ARGUMENT = 1, /* the caller passed something wrong */
  KOPT_STATUS_NOT_FOUND = 2,        /* a file, weight or function is missing */
  KOPT_STATUS_OUT_OF_RANGE = 3,     /* an index or size past its bound */
  KOPT_STATUS_DATA_LOSS = 4,        /* a file is corrupt or truncated */
  KOPT_STATUS_UNAVAILABLE = 5,      /* no driver or device */
  KOPT_STATUS_UNIMPLEMENTED = 6,    /* valid, but not supported yet */
  KOPT_STATUS_RESOURCE_EXHAUSTED = 7, /* out of memory */
  KOPT_STATUS_IO_ERROR = 8,         /* the operating system refused */
  KOPT_STATUS_INTERNAL = 9,         /* a bug in kopt */
} kopt_status_code_t;

/* NULL on success; otherwise owned by the caller. */
typedef struct kopt_status_s *kopt_status_t;

KOPT_API kopt_status_code_t kopt_status_code(kopt_status_t status);
/* The message, valid until kopt_status_free(); "" for NULL. */
KOPT_API const char *kopt_status_message(kopt_status_t status);
KOPT_API void kopt_status_free(kopt_status_t status);
KOPT_API const char *kopt_status_code_name(kopt_status_code_t code);

/*===----------------------------------------------------------------------===*
 * Element types
 *===----------------------------------------------------------------------===*/

typedef enum kopt_dtype_e {
  KOPT_DTYPE_F32 = 0,
  KOPT_DTYPE_F16 = 1,
  KOPT_DTYPE_BF16 = 2,
  KOPT_DTYPE_F64 = 3,
  KOPT_DTYPE_F8E4M3 = 4, /* float8 e4m3fn */
  KOPT_DTYPE_F8E5M2 = 5,
  KOPT_DTYPE_I8 = 6,
  KOPT_DTYPE_U8 = 7,
  KOPT_DTYPE_I16 = 8,
  KOPT_DTYPE_I32 = 9,
  KOPT_DTYPE_I64 = 10,
  KOPT_DTYPE_BOOL = 11,
} kopt_dtype_t;

/* Bytes per element. */
KOPT_API size_t kopt_dtype_size(kopt_dtype_t dtype);
/* "f32", "bf16", "i32", ... as in MLIR element types. */
KOPT_API const char *kopt_dtype_name(kopt_dtype_t dtype);

/* The largest rank a kopt tensor may have. */
#define KOPT_MAX_RANK 8

/* A read-only view of tensor data owned by someone else. */
typedef struct kopt_tensor_view_t {
  kopt_dtype_t dtype;
  int32_t rank;
  int64_t shape[KOPT_MAX_RANK];
  const void *data;
  size_t byte_size;
} kopt_tensor_view_t;

/*===----------------------------------------------------------------------===*
 * Weights: safetensors files, memory-mapped and validated
 *===----------------------------------------------------------------------===*/

typedef struct kopt_weights_s kopt_weights_t;

/* Opens `path`: a .safetensors file, or a sharded checkpoint's
 * *.safetensors.index.json (shards resolved relative to it). Every header is
 * validated (length, JSON, dtypes, shapes, offsets in bounds, no overlap)
 * before anything is returned. */
KOPT_API kopt_status_t kopt_weights_open(const char *path,
                                         kopt_weights_t **out_weights);
KOPT_API void kopt_weights_retain(kopt_weights_t *weights);
KOPT_API void kopt_weights_release(kopt_weights_t *weights);

/* Number of tensors, and the name of tensor `index` (sorted by name). */
KOPT_API size_t kopt_weights_count(const kopt_weights_t *weights);
KOPT_API kopt_status_t kopt_weights_name(const kopt_weights_t *weights,
                                         size_t index, const char **out_name);

/* A view of the tensor called `name` (KOPT_STATUS_NOT_FOUND if absent). The
 * data stays valid while `weights` is alive. */
KOPT_API kopt_status_t kopt_weights_lookup(const kopt_weights_t *weights,
                                           const char *name,
                                           kopt_tensor_view_t *out_view);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KOPT_RUNTIME_RUNTIME_H */
