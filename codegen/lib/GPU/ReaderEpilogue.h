//===- ReaderEpilogue.h - Linear epilogues applied by the GEMVs reading them -*- C++ -*-===//
//
// A linear_epilogue group whose chain ends in one product with an operand
// of its output's shape (SwiGLU: silu(gate) * up), 16-bit, and whose every
// reader is a linear with a small-row kernel that can transform its
// activations as it loads them (Families.h, linearPrologueRows: the packed
// int4 one-token-tile band) leaves that tail to those readers, within the
// band: there the group's linear applies only the head (silu), writes it
// as `raw`, and each reader computes
//   x[m, k] = raw[m, k] * operand[m, k]
// from 16-byte loads of both, one packed multiply, which rounds as the
// epilogue (and the unfused ops) would: the same bits. The
// group's linear no longer reads the operands (the up projection's
// output), so its kernel runs beside the one producing them as one merged
// launch. Above the band the group runs as before.
//
//===----------------------------------------------------------------------===//

#ifndef KOPT_CODEGEN_GPU_READEREPILOGUE_H
#define KOPT_CODEGEN_GPU_READEREPILOGUE_H

#include "GpuEmitter.h"
#include "LinearEpilogue.h"
#include "PackedLinearText.h"

namespace kopt::gpu {

/// Decides whether the epilogue of `linear` (yielding `result`) moves into
/// the readers of `result` and, if so, records it
/// (FunctionEmitter::readerEpilogueOf, rawOutputOf) with a new buffer for
/// the raw output.
void deferEpilogueIntoReaders(kopt::LinearOp linear,
                              const LinearEpilogue &epilogue,
                              mlir::Value result, FunctionEmitter &e);

/// Appends a reading kernel's arguments for the epilogue (the operands'
/// buffers, its parameters after `rows`) and marks them and the raw output
/// read.
void addReaderEpilogueArguments(Launch &l, FunctionEmitter &e,
                                const ReaderEpilogue &epilogue);

/// In a reading kernel over activations of type `t`: declares the
/// operand's buffer and returns the transform of an 8-element load of the
/// raw output (chunkActivations) into the epilogue's result.
ActivationTransform readerEpilogueTransform(KernelText &k,
                                            const ReaderEpilogue &epilogue,
                                            const std::string &t);

} // namespace kopt::gpu

#endif // KOPT_CODEGEN_GPU_READEREPILOGUE_H
