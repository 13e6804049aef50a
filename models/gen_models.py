#!/usr/bin/env python3
"""Writes the bundled kopt models (.mlir) from a small architecture config.

    python3 models/gen_models.py llama --out models/tiny_llama.mlir
    python3 models/gen_models.py embed --out models/tiny_embed.mlir
    python3 models/gen_models.py llama --layers 16 --hidden 2048 ... (bigger)

The output is deterministic, so the committed models can be regenerated and
diffed. Weight names follow Hugging Face checkpoints (Llama / BERT).
"""

import argparse
import sys


class Emitter:
    """Accumulates one func.func body with fresh SSA names."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.lines = []
        self.counter = 0
        self.weights = {}

    def t(self, shape, dtype=None):
        dims = "x".join("?" if d is None else str(d) for d in shape)
        return f"tensor<{dims}{'x' if dims else ''}{dtype or self.dtype}>"

    def fresh(self, hint):
        self.counter += 1
        return f"%{hint}{self.counter}"

    def weight(self, name, shape):
        if name not in self.weights:
            value = self.fresh("w")
            self.lines.append(f'{value} = kopt.weight "{name}" : {self.t(shape)}')
            self.weights[name] = (value, shape)
        return self.weights[name][0]

    def op(self, name, operands, operand_types, result_type, attrs="", hint="v"):
        value = self.fresh(hint)
        attr_text = f" {{{attrs}}}" if attrs else ""
        self.lines.append(
            f"{value} = kopt.{name} {', '.join(operands)}{attr_text} : "
            f"({', '.join(operand_types)}) -> {result_type}")
        return value


def llama_block(e, cfg, layer, x, pos, seq, cache=None):
    """One pre-norm Llama decoder block; returns (x, new caches)."""
    hd, h, kvh, d, f = cfg.hidden, cfg.heads, cfg.kv_heads, cfg.head_dim, cfg.ffn
    p = f"model.layers.{layer}"
    act = e.t([1, seq, hd])
    eps = f"epsilon = {cfg.eps:.1e} : f32"

    w = e.weight(f"{p}.input_layernorm.weight", [hd])
    n = e.op("rmsnorm", [x, w], [act, e.t([hd])], act, eps, "norm")

    def proj(name, out, inp, inp_type):
        wt = e.weight(f"{p}.{name}.weight", [out, inp_type[1]])
        return e.op("linear", [inp, wt], [inp_type[0], e.t([out, inp_type[1]])],
                    e.t([1, seq, out]), hint=name.split(".")[-1].replace("_proj", ""))

    q = proj("self_attn.q_proj", h * d, n, (act, hd))
    k = proj("self_attn.k_proj", kvh * d, n, (act, hd))
    v = proj("self_attn.v_proj", kvh * d, n, (act, hd))
    q4t, kv4t = e.t([1, seq, h, d]), e.t([1, seq, kvh, d])
    q4 = e.op("reshape", [q], [e.t([1, seq, h * d])], q4t, hint="q")
    k4 = e.op("reshape", [k], [e.t([1, seq, kvh * d])], kv4t, hint="k")
    v4 = e.op("reshape", [v], [e.t([1, seq, kvh * d])], kv4t, hint="v")
    rope = f"theta = {cfg.theta:.1f} : f32"
    post = e.t([1, seq], "i32")
    qr = e.op("rope", [q4, pos], [q4t, post], q4t, rope, "q")
    kr = e.op("rope", [k4, pos], [kv4t, post], kv4t, rope, "k")

    new_caches = []
    if cache is None:
        attn = e.op("attention", [qr, kr, v4], [q4t, kv4t, kv4t], q4t,
                    "causal = true", "attn")
    else:
        k_cache, v_cache, offset, kv_len = cache
        ct = e.t([1, cfg.max_len, kvh, d])
        b1 = e.t([1], "i32")
        kc = e.op("cache_update", [k_cache, kr, offset], [ct, kv4t, b1], ct, hint="kcache")
        vc = e.op("cache_update", [v_cache, v4, offset], [ct, kv4t, b1], ct, hint="vcache")
        attn = e.op("attention", [qr, kc, vc, kv_len], [q4t, ct, ct, b1], q4t,
                    "causal = true", "attn")
        new_caches = [kc, vc]
    a = e.op("reshape", [attn], [q4t], e.t([1, seq, h * d]), hint="attn")
    o = proj("self_attn.o_proj", hd, a, (e.t([1, seq, h * d]), h * d))
    x = e.op("add", [x, o], [act, act], act, hint="res")

    w = e.weight(f"{p}.post_attention_layernorm.weight", [hd])
    n = e.op("rmsnorm", [x, w], [act, e.t([hd])], act, eps, "norm")
    g = proj("mlp.gate_proj", f, n, (act, hd))
    u = proj("mlp.up_proj", f, n, (act, hd))
    ft = e.t([1, seq, f])
    s = e.op("silu", [g], [ft], ft, hint="act")
    m = e.op("mul", [s, u], [ft, ft], ft, hint="act")
    dn = proj("mlp.down_proj", hd, m, (ft, f))
    x = e.op("add", [x, dn], [act, act], act, hint="res")
    return x, new_caches


def llama_function(cfg, with_cache):
    e = Emitter(cfg.dtype)
    seq = None
    ids_t, pos_t = e.t([1, seq], "i32"), e.t([1, seq], "i32")
    args = [f"%ids: {ids_t}", f"%pos: {pos_t}"]
    cache_t = e.t([1, cfg.max_len, cfg.kv_heads, cfg.head_dim])
    if with_cache:
        args += [f"%offset: {e.t([1], 'i32')}", f"%kv_len: {e.t([1], 'i32')}"]
        for i in range(cfg.layers):
            args += [f"%k_cache{i}: {cache_t}", f"%v_cache{i}: {cache_t}"]
    table = e.weight("model.embed_tokens.weight", [cfg.vocab, cfg.hidden])
    act = e.t([1, seq, cfg.hidden])
    x = e.op("embedding", [table, "%ids"], [e.t([cfg.vocab, cfg.hidden]), ids_t],
             act, hint="x")
    caches = []
    for i in range(cfg.layers):
        cache = (f"%k_cache{i}", f"%v_cache{i}", "%offset", "%kv_len") if with_cache else None
        x, new = llama_block(e, cfg, i, x, "%pos", seq, cache)
        caches += new
    w = e.weight("model.norm.weight", [cfg.hidden])
    x = e.op("rmsnorm", [x, w], [act, e.t([cfg.hidden])], act,
             f"epsilon = {cfg.eps:.1e} : f32", "norm")
    head = e.weight("lm_head.weight", [cfg.vocab, cfg.hidden])
    logits_t = e.t([1, seq, cfg.vocab])
    logits = e.op("linear", [x, head], [act, e.t([cfg.vocab, cfg.hidden])],
                  logits_t, hint="logits")
    results = [(logits, logits_t)] + [(c, cache_t) for c in caches]
    name = "forward_cached" if with_cache else "forward"
    return render(name, args, e, results)


def render(name, args, e, results):
    ret_types = ", ".join(t for _, t in results)
    sig = f"({ret_types})" if len(results) > 1 else ret_types
    body = "\n".join(f"    {line}" for line in e.lines)
    return (f"  func.func @{name}({', '.join(args)}) -> {sig} {{\n{body}\n"
            f"    return {', '.join(v for v, _ in results)} : {ret_types}\n  }}")


def llama(cfg):
    params = (cfg.vocab * cfg.hidden * 2 + cfg.hidden +
              cfg.layers * (2 * cfg.hidden +
                            cfg.hidden * cfg.heads * cfg.head_dim * 2 +
                            cfg.hidden * cfg.kv_heads * cfg.head_dim * 2 +
                            3 * cfg.hidden * cfg.ffn))
    header = (f"// {cfg.name}: a Llama-style decoder, {cfg.layers} layers, hidden "
              f"{cfg.hidden}, {cfg.heads} query / {cfg.kv_heads} kv heads of "
              f"{cfg.head_dim},\n// SwiGLU {cfg.ffn}, vocab {cfg.vocab}, "
              f"{params} parameters, {cfg.dtype}.\n"
              "// @forward: logits for a whole sequence of any length (no cache).\n"
              f"// @forward_cached: the same with per-layer KV caches of {cfg.max_len} "
              "positions, written at\n//   `offset`; attention reads "
              "`kv_len = offset + S` positions. Prefill and decode steps both use it.\n"
              "// Generated by models/gen_models.py; do not edit by hand.\n")
    return (header + f"module @{cfg.name} {{\n" + llama_function(cfg, False) +
            "\n\n" + llama_function(cfg, True) + "\n}\n")


def embed(cfg):
    e = Emitter(cfg.dtype)
    s, hd, h, d, f = cfg.max_len, cfg.hidden, cfg.heads, cfg.head_dim, cfg.ffn
    ids_t = e.t([None, s], "i32")
    args = [f"%ids: {ids_t}", f"%positions: {ids_t}",
            f"%lengths: {e.t([None], 'i32')}", f"%mask: {e.t([None, s, 1])}"]
    act = e.t([None, s, hd])
    eps = f"epsilon = {cfg.eps:.1e} : f32"
    tok = e.weight("embeddings.word_embeddings.weight", [cfg.vocab, hd])
    posw = e.weight("embeddings.position_embeddings.weight", [s, hd])
    x = e.op("embedding", [tok, "%ids"], [e.t([cfg.vocab, hd]), ids_t], act, hint="x")
    pe = e.op("embedding", [posw, "%positions"], [e.t([s, hd]), ids_t], act, hint="x")
    x = e.op("add", [x, pe], [act, act], act, hint="x")

    def layernorm(x, prefix):
        w = e.weight(f"{prefix}.weight", [hd])
        b = e.weight(f"{prefix}.bias", [hd])
        return e.op("layernorm", [x, w, b], [act, e.t([hd]), e.t([hd])], act, eps, "ln")

    def dense(x, prefix, out, inp):
        w = e.weight(f"{prefix}.weight", [out, inp])
        b = e.weight(f"{prefix}.bias", [out])
        return e.op("linear", [x, w, b], [e.t([None, s, inp]), e.t([out, inp]), e.t([out])],
                    e.t([None, s, out]), hint="dense")

    x = layernorm(x, "embeddings.LayerNorm")
    heads_t = e.t([None, s, h, d])
    for i in range(cfg.layers):
        p = f"encoder.layer.{i}"
        q = dense(x, f"{p}.attention.self.query", h * d, hd)
        k = dense(x, f"{p}.attention.self.key", h * d, hd)
        v = dense(x, f"{p}.attention.self.value", h * d, hd)
        q, k, v = (e.op("reshape", [t], [e.t([None, s, h * d])], heads_t, hint=n)
                   for t, n in ((q, "q"), (k, "k"), (v, "v")))
        a = e.op("attention", [q, k, v, "%lengths"],
                 [heads_t, heads_t, heads_t, e.t([None], "i32")], heads_t, hint="attn")
        a = e.op("reshape", [a], [heads_t], e.t([None, s, h * d]), hint="attn")
        a = dense(a, f"{p}.attention.output.dense", hd, h * d)
        x = layernorm(e.op("add", [x, a], [act, act], act, hint="res"),
                      f"{p}.attention.output.LayerNorm")
        m = dense(x, f"{p}.intermediate.dense", f, hd)
        m = e.op("gelu", [m], [e.t([None, s, f])], e.t([None, s, f]), hint="act")
        m = dense(m, f"{p}.output.dense", hd, f)
        x = layernorm(e.op("add", [x, m], [act, act], act, hint="res"),
                      f"{p}.output.LayerNorm")
    # Masked mean pooling over the real tokens, then L2 normalisation.
    xm = e.op("mul", [x, "%mask"], [act, e.t([None, s, 1])], act, hint="pool")
    total = e.op("reduce_sum", [xm], [act], e.t([None, hd]), "axes = array<i64: 1>", "pool")
    count = e.op("reduce_sum", ["%mask"], [e.t([None, s, 1])], e.t([None, 1]),
                 "axes = array<i64: 1>", "count")
    mean = e.op("div", [total, count], [e.t([None, hd]), e.t([None, 1])], e.t([None, hd]),
                hint="pool")
    out_t = e.t([None, hd])
    out = e.op("l2norm", [mean], [out_t], out_t, "axis = -1 : i64", "embedding")
    header = (f"// {cfg.name}: a BERT-style encoder for sentence embeddings, {cfg.layers} "
              f"layers, hidden {hd},\n// {h} heads of {d}, GELU {f}, vocab {cfg.vocab}, "
              f"{cfg.dtype}. Batches of any size, padded to {s} tokens:\n"
              "// `lengths` masks the padded keys, `mask` (1 for real tokens) the mean "
              "pooling.\n// Generated by models/gen_models.py; do not edit by hand.\n")
    return (header + f"module @{cfg.name} {{\n" +
            render("forward", args, e, [(out, out_t)]) + "\n}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arch", choices=["llama", "embed"])
    parser.add_argument("--name")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int)
    parser.add_argument("--heads", type=int)
    parser.add_argument("--kv-heads", type=int)
    parser.add_argument("--head-dim", type=int, default=32)
    parser.add_argument("--ffn", type=int)
    parser.add_argument("--vocab", type=int)
    parser.add_argument("--max-len", type=int)
    parser.add_argument("--theta", type=float, default=10000.0)
    parser.add_argument("--eps", type=float)
    parser.add_argument("--dtype", default="f32", choices=["f32", "f16", "bf16"])
    parser.add_argument("--out", default="-")
    cfg = parser.parse_args()
    defaults = {
        "llama": dict(name="tiny_llama", hidden=256, heads=8, kv_heads=2, ffn=688,
                      vocab=512, max_len=256, eps=1e-5),
        "embed": dict(name="tiny_embed", hidden=128, heads=4, kv_heads=4, ffn=512,
                      vocab=1024, max_len=32, eps=1e-12),
    }[cfg.arch]
    for key, value in defaults.items():
        if getattr(cfg, key) is None:
            setattr(cfg, key, value)
    if cfg.heads % cfg.kv_heads:
        parser.error("--heads must be a multiple of --kv-heads")
    text = llama(cfg) if cfg.arch == "llama" else embed(cfg)
    if cfg.out == "-":
        sys.stdout.write(text)
    else:
        with open(cfg.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
