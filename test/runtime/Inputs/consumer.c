/* A user program of the installed runtime: C API only. */
#include <kopt/runtime/module.h>
#include <stdio.h>

int main(void) {
  /* A missing checkpoint is a status with a message, not a crash. */
  kopt_weights_t *weights = NULL;
  kopt_status_t status = kopt_weights_open("/nonexistent.safetensors", &weights);
  if (kopt_status_code(status) != KOPT_STATUS_NOT_FOUND || weights != NULL) {
    printf("unexpected status %s\n", kopt_status_code_name(kopt_status_code(status)));
    return 1;
  }
  kopt_status_free(status);
  if (kopt_dtype_size(KOPT_DTYPE_BF16) != 2)
    return 1;
  printf("kopt runtime consumer: ok\n");
  return 0;
}
