#!/usr/bin/python3
"""Same-run baseline: the reparameterized MCi image encoder in PyTorch.

Builds the inference-time graph of an MCi config (every MobileOne, RepMixer
and RepCPE branch already folded into one conv, as after Apple's
reparameterize_model) from torch.nn.functional calls, with random weights,
and times one forward pass the way `mobileclip bench` does: warm-up passes,
then the median of K passes, on 1 and 2 threads.  Only timing is compared;
numerical agreement is the golden tests' job.

Needs Debian's python3-torch (run with /usr/bin/python3):
    benchmarks/torch_baseline.py configs/mobileclip_s0.json [--iterations 30]
"""
import argparse
import json
import statistics
import sys
import time

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
        heads = c // head_dim
        wqkv = torch.randn(3 * c, c) / c ** 0.5
        bqkv = torch.randn(3 * c) * 0.1
        wp = torch.randn(c, c) / c ** 0.5
        bp = torch.randn(c) * 0.1

        def attn(x):
            b, _, h, w = x.shape
            t = x.flatten(2).transpose(1, 2)
            qkv = F.linear(t, wqkv, bqkv).reshape(b, h * w, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
            q, k, v = qkv.unbind(0)
            a = ((q * head_dim ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
            o = F.linear((a @ v).transpose(1, 2).reshape(b, h * w, c), wp, bp)
            return x + o.transpose(1, 2).reshape(b, c, h, w)
        self.ops.append(attn)

    def __call__(self, x):
        for op in self.ops:
            x = op(x)
        return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("config")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    cfg = json.load(open(args.config))
    torch.manual_seed(0)
    model = Mci(cfg)
    size = cfg["image_cfg"]["image_size"]
    x = torch.rand(args.batch, 3, size, size)
    for n in args.threads:
        torch.set_num_threads(n)
        times = []
        with torch.no_grad():
            for i in range(args.warmup + args.iterations):
                t0 = time.perf_counter()
                model(x)
                if i >= args.warmup:
                    times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({"engine": "pytorch " + torch.__version__, "config": args.config,
                          "threads": n, "batch": args.batch, "size": size,
                          "median_ms": round(statistics.median(times), 3),
                          "min_ms": round(min(times), 3), "max_ms": round(max(times), 3)}))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
