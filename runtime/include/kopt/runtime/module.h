/*===- module.h - Compiled modules and host tensors: the C API ---*- C -*-===*
 *
 * Loading a compiled CPU artifact (`model.so`) with the host plan beside it
 * (`model.plan.json`), binding a checkpoint's weights, and invoking its
 * functions on host tensors. Same conventions as runtime.h: opaque
 * reference-counted handles, a kopt_status_t from every fallible call
 * (NULL on success), out-parameters last, no exceptions across the ABI.
 *
 *   kopt_module_t *module;   kopt_weights_t *weights;
 *   kopt_module_load("model.so", &module);
 *   kopt_weights_open("w.safetensors", &weights);
 *   kopt_module_bind_weights(module, weights);
 *   kopt_tensor_t *ids;      int64_t shape[2] = {1, 5};
 *   kopt_tensor_create_copy(KOPT_DTYPE_I32, 2, shape, data, 20, &ids);
 *   kopt_tensor_t *out[1];   size_t count;
 *   kopt_module_invoke(module, "forward", &ids, 1, out, 1, &count);
 *
 *===----------------------------------------------------------------------===*/

#ifndef KOPT_RUNTIME_MODULE_H
#define KOPT_RUNTIME_MODULE_H

#include "kopt/runtime/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===*
 * Host tensors: owned, contiguous, row-major
 *===----------------------------------------------------------------------===*/

typedef struct kopt_tensor_s kopt_tensor_t;

/* A zero-filled tensor of `dtype` and `shape` (`rank` dims, rank <=
 * KOPT_MAX_RANK, every dim >= 0; `shape` may be NULL when rank is 0). */
KOPT_API kopt_status_t kopt_tensor_create(kopt_dtype_t dtype, int32_t rank,
                                          const int64_t *shape,
                                          kopt_tensor_t **out_tensor);
/* A tensor holding a copy of `data`, which must be exactly the tensor's
 * byte size (little-endian elements in row-major order). */
KOPT_API kopt_status_t kopt_tensor_create_copy(kopt_dtype_t dtype, int32_t rank,
                                               const int64_t *shape,
                                               const void *data,
                                               size_t byte_size,
                                               kopt_tensor_t **out_tensor);
KOPT_API void kopt_tensor_retain(kopt_tensor_t *tensor);
KOPT_API void kopt_tensor_release(kopt_tensor_t *tensor);

/* Accessors. A NULL tensor reports rank 0, no shape, no data, byte size 0
 * and dtype KOPT_DTYPE_F32. */
KOPT_API kopt_dtype_t kopt_tensor_dtype(const kopt_tensor_t *tensor);
KOPT_API int32_t kopt_tensor_rank(const kopt_tensor_t *tensor);
/* `rank` dims, valid while the tensor lives; NULL when the rank is 0. */
KOPT_API const int64_t *kopt_tensor_shape(const kopt_tensor_t *tensor);
KOPT_API int64_t kopt_tensor_element_count(const kopt_tensor_t *tensor);
KOPT_API size_t kopt_tensor_byte_size(const kopt_tensor_t *tensor);
/* The elements, writable, valid while the tensor lives; may be NULL when
 * the byte size is 0. Tensors passed to kopt_module_invoke are only read. */
KOPT_API void *kopt_tensor_data(kopt_tensor_t *tensor);
/* A read-only view of the whole tensor. */
KOPT_API kopt_status_t kopt_tensor_view(const kopt_tensor_t *tensor,
                                        kopt_tensor_view_t *out_view);

/*===----------------------------------------------------------------------===*
 * Compiled modules
 *===----------------------------------------------------------------------===*/

typedef struct kopt_module_s kopt_module_t;

/* Loads a compiled artifact: reads and validates the plan beside it
 * ("dir/model.so" -> "dir/model.plan.json"), dlopens the shared object
 * (RTLD_NOW | RTLD_LOCAL; this runs its constructors, so load only
 * artifacts you trust) and resolves every function's symbol. A missing plan
 * or symbol is KOPT_STATUS_NOT_FOUND, a malformed plan
 * KOPT_STATUS_DATA_LOSS, an artifact kind this build cannot run (PTX)
 * KOPT_STATUS_UNIMPLEMENTED. */
KOPT_API kopt_status_t kopt_module_load(const char *artifact_path,
                                        kopt_module_t **out_module);
KOPT_API void kopt_module_retain(kopt_module_t *module);
KOPT_API void kopt_module_release(kopt_module_t *module);

/* Checks that every weight of every function is in `weights` with the
 * plan's dtype and shape (missing: KOPT_STATUS_NOT_FOUND; other dtype or
 * shape: KOPT_STATUS_INVALID_ARGUMENT, naming the weight and both shapes),
 * then binds them, replacing weights bound before (a failed bind keeps
 * them). The module retains `weights`; its data is used in place, without
 * copies. Safe while other threads invoke the module: calls already running
 * keep the weights they started with. */
KOPT_API kopt_status_t kopt_module_bind_weights(kopt_module_t *module,
                                                kopt_weights_t *weights);

/* The checkpoint the plan names as default, resolved against the plan's
 * folder; NULL when it names none. Valid while the module lives. */
KOPT_API const char *kopt_module_default_weights(const kopt_module_t *module);

/* Number of functions, and the name of function `index`. */
KOPT_API size_t kopt_module_function_count(const kopt_module_t *module);
KOPT_API kopt_status_t kopt_module_function_name(const kopt_module_t *module,
                                                 size_t index,
                                                 const char **out_name);

typedef struct kopt_function_signature_t {
  size_t input_count;
  size_t weight_count;
  size_t output_count;
} kopt_function_signature_t;

KOPT_API kopt_status_t kopt_module_function_signature(
    const kopt_module_t *module, const char *function,
    kopt_function_signature_t *out_signature);

/* A dim whose size depends on the inputs. */
#define KOPT_DYNAMIC_DIM (-1)

/* The dtype, rank and dims of an input or output; dims that depend on the
 * inputs are KOPT_DYNAMIC_DIM. */
typedef struct kopt_tensor_spec_t {
  kopt_dtype_t dtype;
  int32_t rank;
  int64_t shape[KOPT_MAX_RANK];
} kopt_tensor_spec_t;

KOPT_API kopt_status_t kopt_module_function_input(const kopt_module_t *module,
                                                  const char *function,
                                                  size_t index,
                                                  kopt_tensor_spec_t *out_spec);
KOPT_API kopt_status_t
kopt_module_function_output(const kopt_module_t *module, const char *function,
                            size_t index, kopt_tensor_spec_t *out_spec);

/* Calls `function` on `inputs` (one per input, in order). Input dtypes,
 * ranks and dims are checked against the plan and bind its symbolic dims;
 * a mismatch is KOPT_STATUS_INVALID_ARGUMENT naming the input and both
 * shapes. On success writes the outputs (each a new tensor the caller
 * releases) to `out_outputs` and their number to `out_output_count`. When
 * `output_capacity` is too small the call fails with
 * KOPT_STATUS_INVALID_ARGUMENT before running anything and still sets
 * `*out_output_count` to the number needed. A data-dependent error the
 * compiled code detects (an id outside an embedding table, a KV-cache
 * overflow) is KOPT_STATUS_OUT_OF_RANGE naming the op and its location.
 * Thread-safe: concurrent calls on one module are independent. */
KOPT_API kopt_status_t kopt_module_invoke(
    kopt_module_t *module, const char *function, kopt_tensor_t *const *inputs,
    size_t input_count, kopt_tensor_t **out_outputs, size_t output_capacity,
    size_t *out_output_count);

/* The plan's reference graph as JSON text (for the reference device), or
 * NULL when the plan has none. Valid while the module lives. */
KOPT_API const char *kopt_module_plan_graph_json(const kopt_module_t *module);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* KOPT_RUNTIME_MODULE_H */
