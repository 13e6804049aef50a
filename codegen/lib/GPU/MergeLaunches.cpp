//===- MergeLaunches.cpp - Independent launches as one kernel -------------===//
//
// A decode step is hundreds of small kernels whose cost is mostly launch
// and ramp-up: the q, k and v projections of a layer, or the rope and the
// two cache updates after them, each fill a fraction of the GPU. Launches
// that follow one another, belong to ops none of which reads or writes what
// another writes, and share a block shape run as one launch of a merged
// kernel: part i takes the next grid.x_i blocks and sees its own block
// index. Launches guarded by token count merge per guard; a launch moves
// back to its group only past launches that never run in the same call
// (disjoint guards over one value) or belong to other ops and touch none
// of its buffers. Tuning variants, dynamic shared memory, and kernels of
// more than one block or with more than 48 KiB of workgroup memory
// together are left alone.
//
//===----------------------------------------------------------------------===//

#include "GpuEmitter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetOperations.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;

namespace kopt::gpu {
namespace {

/// How many earlier launches a launch may move back past to join a group.
constexpr size_t kMergeWindow = 64;
/// Static workgroup memory all parts of one merged kernel may hold.
constexpr int64_t kMergedWorkgroupBytes = 48 * 1024;

int64_t workgroupBytes(mlir::gpu::GPUFuncOp kernel) {
  int64_t bytes = 0;
  for (BlockArgument arg : kernel.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(arg.getType());
    bytes += type.getNumElements() *
             llvm::divideCeil(type.getElementTypeBitWidth(), 8);
  }
  return bytes;
}

/// Whether `kernel` can be a part of a merged kernel: one block of
/// structured code, static workgroup memory only, a known block size.
bool canBePart(mlir::gpu::GPUFuncOp kernel) {
  if (!kernel || !kernel.isKernel() || !kernel.getBody().hasOneBlock() ||
      !kernel.getPrivateAttributions().empty() ||
      !kernel.getKnownBlockSizeAttr())
    return false;
  for (BlockArgument arg : kernel.getWorkgroupAttributions())
    if (!cast<MemRefType>(arg.getType()).hasStaticShape())
      return false;
  bool plain = true;
  kernel.walk([&](Operation *op) {
    if (isa<mlir::gpu::DynamicSharedMemoryOp>(op))
      plain = false;
  });
  return plain;
}

} // namespace

FailureOr<std::string> KernelLibrary::merged(ArrayRef<std::string> kernels,
                                             Location loc) {
  std::string key = "merged:" + llvm::join(kernels, ",");
  if (auto it = byText_.find(key); it != byText_.end())
    return it->second;
  SmallVector<mlir::gpu::GPUFuncOp> parts;
  int64_t workgroup = 0;
  for (const std::string &name : kernels) {
    auto part = module_.lookupSymbol<mlir::gpu::GPUFuncOp>(name);
    if (!canBePart(part) || (!parts.empty() && part.getKnownBlockSizeAttr() !=
                                                   parts[0].getKnownBlockSizeAttr()))
      return failure();
    workgroup += workgroupBytes(part);
    parts.push_back(part);
  }
  if (workgroup > kMergedWorkgroupBytes)
    return failure();

  MLIRContext *ctx = module_.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointToEnd(&module_.getBodyRegion().front());
  SmallVector<Type> inputs, workgroupTypes;
  SmallVector<DictionaryAttr> argAttrs;
  for (mlir::gpu::GPUFuncOp part : parts) {
    for (unsigned i = 0; i < part.getNumArguments(); ++i) {
      inputs.push_back(part.getArgument(i).getType());
      argAttrs.push_back(part.getArgAttrDict(i));
    }
    for (BlockArgument arg : part.getWorkgroupAttributions())
      workgroupTypes.push_back(arg.getType());
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    inputs.push_back(b.getI64Type());
    argAttrs.push_back(DictionaryAttr());
  }
  std::string name = "merged_" + std::to_string(count_++);
  auto kernel = mlir::gpu::GPUFuncOp::create(
      b, loc, name, b.getFunctionType(inputs, {}), workgroupTypes,
      TypeRange());
  kernel->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(),
                  b.getUnitAttr());
  kernel.setKnownBlockSizeAttr(parts[0].getKnownBlockSizeAttr());
  for (auto [i, attrs] : llvm::enumerate(argAttrs))
    if (attrs)
      kernel.setArgAttrs(i, attrs);

  Block &entry = kernel.getBody().front();
  b.setInsertionPointToStart(&entry);
  Value block = mlir::gpu::BlockIdOp::create(b, loc, mlir::gpu::Dimension::x);
  Value first = arith::ConstantIndexOp::create(b, loc, 0);
  unsigned nextArg = 0, nextWorkgroup = 0;
  unsigned countArg = inputs.size() - parts.size();
  for (auto [i, part] : llvm::enumerate(parts)) {
    Value count = arith::IndexCastOp::create(
        b, loc, b.getIndexType(), kernel.getArgument(countArg + i));
    Value end = arith::AddIOp::create(b, loc, first, count);
    Value inPart = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, block, first),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, block, end));
    auto ifPart = scf::IfOp::create(b, loc, inPart, /*withElse=*/false);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&ifPart.getThenRegion().front());
      Value local = arith::SubIOp::create(b, loc, block, first);
      IRMapping mapping;
      // (The entry block's arguments after these are its attributions.)
      for (unsigned a = 0; a < part.getNumArguments(); ++a)
        mapping.map(part.getArgument(a), kernel.getArgument(nextArg++));
      for (BlockArgument arg : part.getWorkgroupAttributions())
        mapping.map(arg, kernel.getWorkgroupAttributions()[nextWorkgroup++]);
      // The part's own block index replaces gpu.block_id x.
      auto isBlockX = [](Operation *op) {
        auto id = dyn_cast<mlir::gpu::BlockIdOp>(op);
        return id && id.getDimension() == mlir::gpu::Dimension::x;
      };
      for (Operation &op : part.getBody().front().without_terminator()) {
        if (isBlockX(&op)) {
          mapping.map(op.getResult(0), local);
          continue;
        }
        Operation *copy = b.clone(op, mapping);
        copy->walk([&](mlir::gpu::BlockIdOp id) {
          if (id.getDimension() == mlir::gpu::Dimension::x) {
            id.replaceAllUsesWith(local);
            id.erase();
          }
        });
      }
    }
    first = end;
  }
  b.setInsertionPointToEnd(&entry);
  mlir::gpu::ReturnOp::create(b, loc);
  byText_[key] = name;
  return name;
}

void FunctionEmitter::mergeIndependentLaunches() {
  auto root = [&](int64_t id) {
    StringRef source = buffers_[id].source;
    return source.starts_with("alias:") ? std::stoll(source.drop_front(6).str())
                                        : id;
  };
  // What each launch reads (its op's operands and Launch::reads, weights,
  // constants, inputs other than its results: a folded op's operands are
  // not its op's) and
  // writes (its op's results, and every other buffer it takes but the
  // status, which racing reports may share).
  struct Access {
    llvm::DenseSet<int64_t> reads, writes;
  };
  SmallVector<Access> access(launches_.size());
  for (auto [l, a] : llvm::zip(launches_, access)) {
    llvm::DenseSet<int64_t> operands, results;
    if (l.op) {
      for (Value v : l.op->getOperands())
        if (auto it = bufferOfValue_.find(v); it != bufferOfValue_.end())
          operands.insert(root(it->second));
      for (Value v : l.op->getResults())
        if (auto it = bufferOfValue_.find(v); it != bufferOfValue_.end())
          results.insert(root(it->second));
    }
    for (int64_t id : l.reads)
      operands.insert(root(id));
    for (const LaunchArg &arg : l.args) {
      if (arg.kind != LaunchArg::Kind::Buffer || arg.buffer == status_)
        continue;
      int64_t id = root(arg.buffer);
      StringRef source = buffers_[id].source;
      // Function inputs are written only as an op's result (in place).
      bool readOnly = source == "constant" || source.starts_with("weight:");
      if (readOnly || ((operands.contains(id) || source.starts_with("input:")) &&
                       !results.contains(id)))
        a.reads.insert(id);
      else
        a.writes.insert(id);
    }
  }
  auto conflict = [&](const Access &x, const Access &y) {
    for (int64_t id : x.writes)
      if (y.reads.contains(id) || y.writes.contains(id))
        return true;
    for (int64_t id : y.writes)
      if (x.reads.contains(id))
        return true;
    return false;
  };
  auto same = [&](AffineExpr a, AffineExpr b) {
    return shapes_.resolve(a) == shapes_.resolve(b);
  };
  auto sameGuard = [&](const Launch &a, const Launch &b) {
    if (a.guard.has_value() != b.guard.has_value())
      return false;
    return !a.guard || (same(*a.guard, *b.guard) && a.guardMin == b.guardMin &&
                        a.guardMax == b.guardMax);
  };
  // Whether both may run in one call (guards over one value with disjoint
  // ranges never do).
  auto coRun = [&](const Launch &a, const Launch &b) {
    if (!a.guard || !b.guard || !same(*a.guard, *b.guard))
      return true;
    return a.guardMin <= b.guardMax && b.guardMin <= a.guardMax;
  };
  auto candidate = [&](const Launch &l) {
    return l.op && l.tuneGroup < 0 && l.sharedBytes == 0;
  };
  // Whether launch j may run before (or beside) launch r that precedes it.
  auto movable = [&](size_t j, size_t r) {
    const Launch &a = launches_[r], &b = launches_[j];
    if (!coRun(a, b))
      return true;
    return a.op && b.op && a.op != b.op && !conflict(access[r], access[j]);
  };

  // Each launch joins the earliest group it may move back to (same guard
  // and block shape, past only launches it may run before), else starts
  // its own. A group is one launch, of its parts' merged kernel.
  SmallVector<SmallVector<size_t>> groups;
  for (size_t j = 0; j < launches_.size(); ++j) {
    const Launch &l = launches_[j];
    std::optional<size_t> target;
    if (candidate(l)) {
      size_t lookedAt = 0;
      for (size_t g = groups.size(); g-- > 0 && lookedAt < kMergeWindow;) {
        lookedAt += groups[g].size();
        if (!llvm::all_of(groups[g], [&](size_t r) { return movable(j, r); }))
          break;
        const Launch &head = launches_[groups[g][0]];
        if (candidate(head) && sameGuard(head, l) && head.block == l.block &&
            same(head.grid[1], l.grid[1]) && same(head.grid[2], l.grid[2]))
          target = g;
      }
    }
    if (target)
      groups[*target].push_back(j);
    else
      groups.push_back({j});
  }

  SmallVector<Launch> merged;
  for (const SmallVector<size_t> &group : groups) {
    FailureOr<std::string> kernel = failure();
    if (group.size() > 1) {
      SmallVector<std::string> names;
      for (size_t g : group)
        names.push_back(launches_[g].kernel);
      kernel = kernels_.merged(names, launches_[group[0]].op->getLoc());
    }
    if (failed(kernel)) {
      // Kept apart, in their order (still legal: each moved back only past
      // launches it may run before).
      for (size_t g : group)
        merged.push_back(launches_[g]);
      continue;
    }
    Launch l = launches_[group[0]];
    l.kernel = *kernel;
    l.args.clear();
    AffineExpr blocks = constant(0);
    for (size_t g : group) {
      l.args.append(launches_[g].args);
      blocks = blocks + launches_[g].grid[0];
    }
    for (size_t g : group)
      l.index(launches_[g].grid[0]);
    l.grid[0] = blocks;
    merged.push_back(std::move(l));
  }
  launches_ = std::move(merged);
}

} // namespace kopt::gpu
