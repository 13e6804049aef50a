/*===- fake_model.c - A hand-written stand-in for a compiled model.so -----===*
 *
 * Implements the ABI of a compiled CPU artifact for ModuleTest: one
 * `void kopt_call_NAME(void **args)` per function, each argument a memref
 * descriptor {allocated, aligned, offset, sizes[r], strides[r]} in the order
 * of the plan's "call" list. Every function first checks the descriptors it
 * receives (allocated == aligned, offset 0, contiguous row-major strides,
 * consistent sizes) and reports a malformed call as status code 99.
 *
 *   add(a: f32[n], b: f32[n], bias: f32[1] weight) -> f32[n], status
 *       out[i] = a[i] + b[i] + bias[0]
 *   embed(table: f32[V, D] weight, ids: i32[1, S]) -> f32[1, S, D], status
 *       an id outside [0, V) reports {1, 1, id, V} (node 1 of the graph)
 *   tile2(x: f32[n]) -> f32[2n], f32[]        (no status argument)
 *       out0 = x twice in a row, out1 = sum(x)
 *   kv_append(offset: i32[1]) -> status
 *       reports {2, 0, offset + 8, 64} when offset + 8 > 64
 *   first_half(x: f32[n]) -> f32[n]          (no status argument)
 *       writes only out[0 .. n/2), so poisoned outputs show the rest
 *
 *===----------------------------------------------------------------------===*/

#include <stdint.h>

typedef struct {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes_and_strides[]; /* sizes[rank], then strides[rank] */
} descriptor_t;

#define SIZE(d, i) ((d)->sizes_and_strides[i])
#define STRIDE(d, rank, i) ((d)->sizes_and_strides[(rank) + (i)])

/* Whether `d` is a well-formed contiguous rank-`rank` descriptor. */
static int well_formed(const descriptor_t *d, int rank) {
  if (!d || !d->aligned || d->allocated != d->aligned || d->offset != 0)
    return 0;
  int64_t stride = 1;
  for (int i = rank - 1; i >= 0; --i) {
    if (SIZE(d, i) < 0 || STRIDE(d, rank, i) != stride)
      return 0;
    stride *= SIZE(d, i);
  }
  return 1;
}

static void report(const descriptor_t *status, int64_t code, int64_t node,
                   int64_t value, int64_t bound) {
  int64_t *s = (int64_t *)status->aligned;
  s[0] = code;
  s[1] = node;
  s[2] = value;
  s[3] = bound;
}

static int status_ok(const descriptor_t *status) {
  return well_formed(status, 1) && SIZE(status, 0) == 4;
}

void kopt_call_add(void **args) {
  const descriptor_t *a = args[0], *b = args[1], *bias = args[2],
                     *out = args[3], *status = args[4];
  if (!status_ok(status))
    return;
  if (!well_formed(a, 1) || !well_formed(b, 1) || !well_formed(bias, 1) ||
      !well_formed(out, 1) || SIZE(a, 0) != SIZE(b, 0) ||
      SIZE(a, 0) != SIZE(out, 0) || SIZE(bias, 0) != 1) {
    report(status, 99, 0, 0, 0);
    return;
  }
  const float *x = a->aligned, *y = b->aligned, *w = bias->aligned;
  float *z = out->aligned;
  for (int64_t i = 0; i < SIZE(a, 0); ++i)
    z[i] = x[i] + y[i] + w[0];
}

void kopt_call_embed(void **args) {
  const descriptor_t *table = args[0], *ids = args[1], *out = args[2],
                     *status = args[3];
  if (!status_ok(status))
    return;
  if (!well_formed(table, 2) || !well_formed(ids, 2) || !well_formed(out, 3) ||
      SIZE(ids, 0) != 1 || SIZE(out, 0) != 1 || SIZE(out, 1) != SIZE(ids, 1) ||
      SIZE(out, 2) != SIZE(table, 1)) {
    report(status, 99, 0, 0, 0);
    return;
  }
  int64_t vocab = SIZE(table, 0), dim = SIZE(table, 1);
  const float *t = table->aligned;
  const int32_t *id = ids->aligned;
  float *y = out->aligned;
  for (int64_t s = 0; s < SIZE(ids, 1); ++s) {
    if (id[s] < 0 || id[s] >= vocab) {
      report(status, 1, 1, id[s], vocab);
      return;
    }
    for (int64_t d = 0; d < dim; ++d)
      y[s * dim + d] = t[id[s] * dim + d];
  }
}

void kopt_call_tile2(void **args) {
  const descriptor_t *x = args[0], *out0 = args[1], *out1 = args[2];
  /* No status buffer: a malformed call sets the sum to -1. */
  int64_t n = SIZE(x, 0);
  float *y = out0->aligned, *sum = out1->aligned;
  if (!well_formed(x, 1) || !well_formed(out0, 1) || !well_formed(out1, 0) ||
      SIZE(out0, 0) != 2 * n) {
    *sum = -1.0f;
    return;
  }
  const float *v = x->aligned;
  float total = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    y[i] = v[i];
    y[n + i] = v[i];
    total += v[i];
  }
  *sum = total;
}

void kopt_call_kv_append(void **args) {
  const descriptor_t *offset = args[0], *status = args[1];
  if (!status_ok(status))
    return;
  if (!well_formed(offset, 1) || SIZE(offset, 0) != 1) {
    report(status, 99, 0, 0, 0);
    return;
  }
  int32_t start = *(const int32_t *)offset->aligned;
  if ((int64_t)start + 8 > 64)
    report(status, 2, 0, (int64_t)start + 8, 64);
}

void kopt_call_first_half(void **args) {
  const descriptor_t *x = args[0], *out = args[1];
  if (!well_formed(x, 1) || !well_formed(out, 1) || SIZE(x, 0) != SIZE(out, 0))
    return;
  const float *v = x->aligned;
  float *y = out->aligned;
  for (int64_t i = 0; i < SIZE(x, 0) / 2; ++i)
    y[i] = v[i];
}
