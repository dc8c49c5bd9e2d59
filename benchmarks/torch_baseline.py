#!/usr/bin/python3
"""Same-run baseline: the reparameterized MCi image encoder in PyTorch.

Builds the inference-time graph of an MCi config (every MobileOne, RepMixer
and RepCPE branch already folded into one conv, as after Apple's
reparameterize_model) from torch.nn.functional calls, with random weights,
and times one forward pass the way `mobileclip bench` does: warm-up passes,
then the median of K passes, on 1 and 2 threads.  Only timing is compared;
numerical agreement is the golden tests' job.  --text does the same for the
folded text tower (torch_text_graph.py).

It prints the graph's MACs, counted from the shapes of its conv, linear and
matmul nodes as traced: the count `mobileclip bench` turns into GFLOP/s, so
equal counts show both engines run the same work (for text, see
torch_text_graph.py about the last block).  --export-onnx writes the same
graph as an ONNX model (opset 17, exact-erf GELU, batch fixed at --batch)
for ort-bench (ort_bench.c) and prints its op histogram; --iterations 0 exports
without timing.  benchmarks/ort-baseline.sh runs both.

Needs Debian's python3-torch (run with /usr/bin/python3):
    benchmarks/torch_baseline.py configs/mobileclip_s0.json [--iterations 30]
        [--text [--full-last-block]] [--export-onnx PATH]
"""
import argparse
import json
import statistics
import sys
import time
import warnings

import torch
import torch.nn.functional as F


def conv_params(cout, cin_per_group, k):
    return torch.randn(cout, cin_per_group, k, k) / (cin_per_group * k * k) ** 0.5, torch.randn(cout) * 0.1


class Mci:
    """Folded MCi: a list of closures over NCHW tensors."""

    def __init__(self, cfg):
        ic = cfg["image_cfg"]
        dims, layers = ic["embed_dims"], ic["layers"]
        self.ops = []
        c0 = dims[0]
        self._conv(3, c0, 3, 2, 1, 1, gelu=True)            # stem 3×3 s2
        self._conv(c0, c0, 3, 2, 1, c0, gelu=True)          # stem depthwise s2
        self._conv(c0, c0, 1, 1, 0, 1, gelu=True)           # stem 1×1
        for i, (c, n) in enumerate(zip(dims, layers)):
            if ic["pos_embs"][i]:
                self._conv(c, c, ic["rpce_spatial_shape"][0], 1, ic["rpce_spatial_shape"][0] // 2, c)
            for _ in range(n):
                hidden = int(c * ic["mlp_ratios"][i])
                if ic["token_mixers"][i] == "repmixer":
                    self._conv(c, c, ic["repmixer_kernel_size"], 1, ic["repmixer_kernel_size"] // 2, c)
                else:
                    self._attention(c, ic["head_dim"])
                self._ffn(c, hidden, ic["conv_ffn_kernel_size"])
            if i + 1 < len(dims):
                c2 = dims[i + 1]
                k = ic["down_patch_size"]
                se = ic["se_downsamples"][i + 1]
                self._conv(c, c2, k, ic["down_stride"], k // 2, c, gelu=not se)
                if se:
                    self._se(c2, max(8, int(c2 * ic["se_downsample_rd_ratio"] + 4) // 8 * 8))
                self._conv(c2, c2, 1, 1, 0, 1, gelu=True)
        cl = dims[-1]
        cf = int(cl * ic["cls_ratio"])
        self._conv(cl, cf, 3, 1, 1, cl, gelu=False)
        self._se(cf, int(cf * ic["conv_exp_se_rd_ratio"]))
        proj = torch.randn(cf, cfg["embed_dim"]) / cf ** 0.5
        self.ops.append(lambda x: x.mean((2, 3)) @ proj)

    def _conv(self, cin, cout, k, stride, pad, groups, gelu=False):
        w, b = conv_params(cout, cin // groups, k)
        act = F.gelu if gelu else (lambda t: t)
        self.ops.append(lambda x: act(F.conv2d(x, w, b, stride, pad, 1, groups)))

    def _se(self, c, rd):
        w1, b1 = conv_params(rd, c, 1)
        w2, b2 = conv_params(c, rd, 1)

        def se(x):
            g = F.conv2d(F.relu(F.conv2d(x.mean((2, 3), keepdim=True), w1, b1)), w2, b2)
            return F.gelu(x * torch.sigmoid(g))
        self.ops.append(se)

    def _ffn(self, c, hidden, k):
        wd, bd = conv_params(c, 1, k)
        w1, b1 = conv_params(hidden, c, 1)
        w2, b2 = conv_params(c, hidden, 1)
        self.ops.append(lambda x: x + F.conv2d(F.gelu(F.conv2d(F.conv2d(x, wd, bd, 1, k // 2, 1, c), w1, b1)), w2, b2))

    def _attention(self, c, head_dim):
        # The block's BatchNorm stays a per-channel scale and shift before a
        # qkv without bias, as in Apple's reparameterized model (qkv_bias is
        # false), where the engine folds it into the qkv weights and a bias:
        # ONNX Runtime 1.30 fuses exactly this form (MobileClipMHA) into its
        # MultiHeadAttention op, and the bias would hide the pattern from it.
        heads = c // head_dim
        bn_scale = (torch.rand(c) + 0.5).view(1, c, 1, 1)
        bn_shift = (torch.randn(c) * 0.1).view(1, c, 1, 1)
        wqkv = torch.randn(3 * c, c) / c ** 0.5
        wp = torch.randn(c, c) / c ** 0.5
        bp = torch.randn(c) * 0.1

        def attn(x):
            b, _, h, w = x.shape
            t = (x * bn_scale + bn_shift).flatten(2).transpose(1, 2)
            qkv = F.linear(t, wqkv).reshape(b, h * w, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            a = ((q * head_dim ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
            o = F.linear((a @ v).transpose(1, 2).reshape(b, h * w, c), wp, bp)
            return x + o.transpose(1, 2).reshape(b, c, h, w)
        self.ops.append(attn)

    def __call__(self, x):
        for op in self.ops:
            x = op(x)
        return x


class Graph(torch.nn.Module):
    """A closure list (Mci, TextTower) as a module, for tracing and export.
    Its weights are captured tensors: traced as constants, they become the
    ONNX model's initializers."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def graph_macs(module, example):
    """Multiply-accumulates of one pass, from the traced graph: a conv's
    output elements × (cin/groups·kh·kw), a linear's or matmul's output
    elements × its inner dimension."""
    graph = torch.jit.trace(module, example, check_trace=False).inlined_graph
    macs = 0
    for node in graph.nodes():
        kind = node.kind()
        if kind not in ("aten::_convolution", "aten::conv2d", "aten::linear", "aten::matmul"):
            continue
        inputs = list(node.inputs())
        out = node.output().type().sizes()
        if kind == "aten::matmul":
            inner = inputs[0].type().sizes()[-1]
        else:
            w = inputs[1].toIValue()
            w = w.shape if w is not None else inputs[1].type().sizes()
            inner = w[1] if kind == "aten::linear" else w[1] * w[2] * w[3]
        n = 1
        for d in out:
            n *= d
        macs += n * inner
    return macs


def export_onnx(module, example, path, input_name):
    """The batch is fixed at the example's: with a free batch the attention
    reshapes read their sizes at run time, and ONNX Runtime's attention
    fusion needs them constant."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")    # the exporter's shape-inference notes
        torch.onnx.export(module, example, path, opset_version=17, do_constant_folding=True,
                          input_names=[input_name], output_names=["embedding"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("--iterations", type=int, default=30, help="timed passes; 0: none")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--text", action="store_true", help="the text tower instead of the image tower")
    ap.add_argument("--full-last-block", action="store_true",
                    help="text: run mct's last RepMixer block over every position, not only the EOT row")
    ap.add_argument("--export-onnx", metavar="PATH", help="write the graph as an ONNX model")
    args = ap.parse_args()
    cfg = json.load(open(args.config))
    torch.manual_seed(0)
    if args.text:
        from torch_text_graph import TextTower
        tower = TextTower(cfg, pooled_last_block=not args.full_last_block)
        x = tower.example_tokens(args.batch)
        size = None
        name = "%s text%s" % (cfg["text_cfg"]["model_name"], " full last block" if args.full_last_block else "")
    else:
        tower = Mci(cfg)
        size = cfg["image_cfg"]["image_size"]
        x = torch.rand(args.batch, 3, size, size)
        name = "%s image %d" % (cfg["image_cfg"]["model_name"], size)
    model = Graph(tower).eval()
    with torch.no_grad():
        macs = graph_macs(model, x[:1])
    print(json.dumps({"graph": name, "config": args.config, "gmacs_per_item": round(macs / 1e9, 4),
                      "macs_per_item": macs}))
    if args.export_onnx:
        from onnx_ops import op_histogram
        with torch.no_grad():
            export_onnx(model, x, args.export_onnx, "tokens" if args.text else "image")
        ops = op_histogram(args.export_onnx)
        print(json.dumps({"exported": args.export_onnx, "graph": name, "nodes": sum(ops.values()),
                          "ops": dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0])))}))
    sys.stdout.flush()
    if args.iterations < 1:
        return
    for n in args.threads:
        torch.set_num_threads(n)
        times = []
        with torch.no_grad():
            for i in range(args.warmup + args.iterations):
                t0 = time.perf_counter()
                model(x)
                if i >= args.warmup:
                    times.append((time.perf_counter() - t0) * 1000)
        line = {"engine": "pytorch " + torch.__version__, "model": name, "config": args.config,
                "threads": n, "batch": args.batch}
        if size:
            line["size"] = size
        line.update({"median_ms": round(statistics.median(times), 3),
                     "min_ms": round(min(times), 3), "max_ms": round(max(times), 3)})
        print(json.dumps(line))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
