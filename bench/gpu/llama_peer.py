"""PyTorch peer of the TinyLlama-1.1B-shaped kopt model (bench/gpu/decode.sh):
the same architecture (models/gen_models.py llama: pre-norm blocks, HF
RMSNorm, rotate-half RoPE, grouped-query attention over a static KV cache
of 2048 positions, SwiGLU, untied LM head) and the same weights (the
safetensors kopt-run loads), eager and torch.compile'd (CUDA graphs), timed
like kopt-run --benchmark (clean_flush.bench). Weights and KV caches are
buffers of one nn.Module, so torch.compile's CUDA graphs may update the
caches in place (as inputs of the call they would be skipped).

    python3 llama_peer.py w_bf16.safetensors
"""
import json
import struct
import sys

import torch
import torch.nn.functional as F
from clean_flush import bench

LAYERS, HIDDEN, HEADS, KV_HEADS, HEAD_DIM, FFN, VOCAB, MAX_LEN = 22, 2048, 32, 4, 64, 5632, 32000, 2048
THETA, EPS = 10000.0, 1e-5


def load(path):
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(size))
        data = bytearray(f.read())
    base = torch.frombuffer(data, dtype=torch.uint8)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "BF16", (name, info["dtype"])
        lo, hi = info["data_offsets"]
        out[name] = base[lo:hi].view(torch.bfloat16).view(info["shape"]).cuda()
    return out


W = load(sys.argv[1])
inv_freq = 1.0 / (THETA ** (torch.arange(0, HEAD_DIM, 2, device="cuda", dtype=torch.float32) / HEAD_DIM))


def rmsnorm(x, w):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS)).to(x.dtype) * w


def rope(x, pos):  # x [1, S, H, D], pos [1, S]
    freqs = pos[0].float()[:, None] * inv_freq[None]
    emb = torch.cat((freqs, freqs), -1)
    cos, sin = emb.cos()[None, :, None], emb.sin()[None, :, None]
    xf = x.float()
    x1, x2 = xf[..., : HEAD_DIM // 2], xf[..., HEAD_DIM // 2:]
    return (xf * cos + torch.cat((-x2, x1), -1) * sin).to(x.dtype)


class Llama(torch.nn.Module):
    def __init__(self):
        super().__init__()
        for name, tensor in W.items():
            self.register_buffer(name.replace(".", "__"), tensor)
        for i in range(LAYERS):
            for kind in ("k", "v"):
                self.register_buffer(f"{kind}cache{i}", torch.zeros(
                    1, MAX_LEN, KV_HEADS, HEAD_DIM, dtype=torch.bfloat16, device="cuda"))

    def w(self, name):
        return getattr(self, name.replace(".", "__"))

    def forward(self, ids, pos, offset):
        """Logits [1, S, V]; writes the new keys/values at `offset` (a 0-d
        device tensor) and attends to the first offset + S positions, causally."""
        s = ids.shape[1]
        x = F.embedding(ids, self.w("model.embed_tokens.weight"))
        kv_len = offset + s
        keys = torch.arange(MAX_LEN, device="cuda")
        query_pos = offset + torch.arange(s, device="cuda")
        mask = (keys[None, :] <= query_pos[:, None]) & (keys[None, :] < kv_len)
        for i in range(LAYERS):
            p = f"model.layers.{i}."
            h = rmsnorm(x, self.w(p + "input_layernorm.weight"))
            q = F.linear(h, self.w(p + "self_attn.q_proj.weight")).view(1, s, HEADS, HEAD_DIM)
            k = F.linear(h, self.w(p + "self_attn.k_proj.weight")).view(1, s, KV_HEADS, HEAD_DIM)
            v = F.linear(h, self.w(p + "self_attn.v_proj.weight")).view(1, s, KV_HEADS, HEAD_DIM)
            q, k = rope(q, pos), rope(k, pos)
            kc, vc = getattr(self, f"kcache{i}"), getattr(self, f"vcache{i}")
            kc.index_copy_(1, query_pos, k)
            vc.index_copy_(1, query_pos, v)
            a = F.scaled_dot_product_attention(
                q.transpose(1, 2), kc.transpose(1, 2), vc.transpose(1, 2),
                attn_mask=mask[None, None], enable_gqa=True)
            x = x + F.linear(a.transpose(1, 2).reshape(1, s, HEADS * HEAD_DIM),
                             self.w(p + "self_attn.o_proj.weight"))
            h = rmsnorm(x, self.w(p + "post_attention_layernorm.weight"))
            m = F.silu(F.linear(h, self.w(p + "mlp.gate_proj.weight"))) * \
                F.linear(h, self.w(p + "mlp.up_proj.weight"))
            x = x + F.linear(m, self.w(p + "mlp.down_proj.weight"))
        return F.linear(rmsnorm(x, self.w("model.norm.weight")), self.w("lm_head.weight"))


model = Llama()
decode_in = (torch.tensor([[7]], device="cuda", dtype=torch.int32),
             torch.tensor([[512]], device="cuda", dtype=torch.int32),
             torch.tensor(512, device="cuda"))
prefill_in = (torch.arange(512, device="cuda", dtype=torch.int32)[None] % VOCAB,
              torch.arange(512, device="cuda", dtype=torch.int32)[None],
              torch.tensor(0, device="cuda"))
with torch.no_grad():
    for name, fn in (("eager", model),
                     ("torch.compile", torch.compile(model, mode="reduce-overhead", fullgraph=True))):
        try:
            d = bench(lambda: fn(*decode_in), rep=100)
            p = bench(lambda: fn(*prefill_in), rep=20)
            print(f"peer tl1b bf16 {name}: decode {d:.3f} ms/token ({1e3 / d:.0f} tokens/s), "
                  f"prefill 512 {p:.2f} ms ({512e3 / p:.0f} tokens/s)")
        except Exception as error:  # report, keep the other numbers
            print(f"peer tl1b bf16 {name}: failed: {type(error).__name__}: {error}")
