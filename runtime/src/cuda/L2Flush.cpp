//===- L2Flush.cpp - Leaving L2 cold and clean between timed runs ---------===//

#include "L2Flush.h"

namespace kopt::rt::cuda {
namespace {

constexpr size_t kFlushBytes = size_t(256) << 20;

// Grid-stride 16-byte loads over `vectors` 16-byte words; the xor of
// everything read is stored only if it equals a value the zero-filled
// buffer cannot give, so the loads stay live and nothing is written.
constexpr const char *kReadKernel = R"(
.version 7.0
.target sm_70
.address_size 64
.visible .entry kopt_l2_read(.param .u64 buf, .param .u64 vectors, .param .u64 sink)
{
  .reg .pred %p<3>;
  .reg .b32 %r<12>;
  .reg .b64 %rd<10>;
  ld.param.u64 %rd1, [buf];
  ld.param.u64 %rd2, [vectors];
  ld.param.u64 %rd3, [sink];
  mov.u32 %r1, %ctaid.x;
  mov.u32 %r2, %ntid.x;
  mov.u32 %r3, %tid.x;
  mov.u32 %r4, %nctaid.x;
  mul.wide.u32 %rd4, %r1, %r2;
  cvt.u64.u32 %rd5, %r3;
  add.u64 %rd4, %rd4, %rd5;
  mul.wide.u32 %rd6, %r4, %r2;
  mov.u32 %r5, 0;
LOOP:
  setp.ge.u64 %p1, %rd4, %rd2;
  @%p1 bra DONE;
  shl.b64 %rd7, %rd4, 4;
  add.u64 %rd8, %rd1, %rd7;
  ld.global.v4.u32 {%r6, %r7, %r8, %r9}, [%rd8];
  xor.b32 %r5, %r5, %r6;
  xor.b32 %r5, %r5, %r7;
  xor.b32 %r5, %r5, %r8;
  xor.b32 %r5, %r5, %r9;
  add.u64 %rd4, %rd4, %rd6;
  bra LOOP;
DONE:
  setp.ne.u32 %p2, %r5, 1;
  @%p2 bra END;
  st.global.u32 [%rd3], %r5;
END:
  ret;
}
)";

} // namespace

StatusOr<L2Flush> L2Flush::create(const Driver &d, CUdevice device,
                                  CUstream stream) {
  L2Flush f(d, stream);
  KOPT_RETURN_IF_ERROR(
      check(d.cuModuleLoadDataEx(&f.module_, kReadKernel, 0, nullptr, nullptr),
            "loading the L2 flush kernel"));
  KOPT_RETURN_IF_ERROR(
      check(d.cuModuleGetFunction(&f.read_, f.module_, "kopt_l2_read"),
            "cuModuleGetFunction(kopt_l2_read)"));
  KOPT_RETURN_IF_ERROR(
      check(d.cuMemAlloc(&f.buffer_, kFlushBytes), "allocating the L2 flush"));
  KOPT_RETURN_IF_ERROR(check(d.cuMemAlloc(&f.sink_, 256), "cuMemAlloc(256)"));
  KOPT_RETURN_IF_ERROR(
      check(d.cuMemsetD8Async(f.buffer_, 0, kFlushBytes, stream),
            "clearing the L2 flush buffer"));
  int sms = 0;
  if (d.cuDeviceGetAttribute(&sms, kAttrMultiprocessorCount, device) != 0)
    sms = 132;
  f.blocks_ = 8 * sms;
  return f;
}

L2Flush::L2Flush(L2Flush &&other) noexcept
    : d_(other.d_), stream_(other.stream_), module_(other.module_),
      read_(other.read_), buffer_(other.buffer_), sink_(other.sink_),
      blocks_(other.blocks_) {
  other.module_ = nullptr;
  other.buffer_ = other.sink_ = 0;
}

L2Flush::~L2Flush() {
  if (buffer_ || sink_)
    d_->cuStreamSynchronize(stream_);
  if (buffer_)
    d_->cuMemFree(buffer_);
  if (sink_)
    d_->cuMemFree(sink_);
  if (module_)
    d_->cuModuleUnload(module_);
}

Status L2Flush::flush() {
  unsigned long long vectors = kFlushBytes / 16;
  void *params[] = {&buffer_, &vectors, &sink_};
  return check(d_->cuLaunchKernel(read_, blocks_, 1, 1, 256, 1, 1, 0, stream_,
                                  params, nullptr),
               "launching the L2 flush");
}

} // namespace kopt::rt::cuda
