//===- kopt-opt.cpp - Pass-level driver for kopt --------------------------===//
//
// mlir-opt with the kopt dialect, passes and pipelines: the tool lit tests
// drive, and the one that replays crash reproducers (`--run-reproducer`).
//
//===----------------------------------------------------------------------===//

#include "kopt/InitAll.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kopt::registerKoptDialects(registry);
  kopt::registerKoptPassesAndPipelines();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kopt pass driver\n", registry));
}
