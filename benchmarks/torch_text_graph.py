"""The folded text tower (Apple's `mct` or `base`) in PyTorch, random weights.

The graph our engine runs (inference/model/text_encoder.c), written with
torch.nn.functional so that torch_baseline.py can time it and export it to
ONNX:
  - token embedding + positional embedding;
  - `mct` only: a RepMixer block first and last.  Its token mixer is one
    1×k depthwise conv (identity + layer_scale·(mixer − norm) folded, as
    Apple's reparameterize does); its ConvFFN is a 1×k depthwise conv with the
    BN folded in, a 1×1 conv to the hidden width, exact GELU, and a 1×1 conv
    back carrying the block's layer scale, added to the mixer output.  Like
    Apple's block it works on the prompt as a [B, D, 1, T] map;
  - pre-norm transformer blocks: LayerNorm without γ/β (the engine folds them
    into the qkv and fc1 weights), multi-head attention, residual, LayerNorm,
    fc1 + GELU, fc2, residual;
  - final LayerNorm (with γ/β) at the EOT position (argmax of the ids: the
    LayerNorm acts per row, so picking first is the same), projection.
The engine runs the last `mct` RepMixer block's ConvFFN at the pooled
position only, since nothing else reads the other rows; pooled_last_block
does the same here (its depthwise conv still runs over the 77 positions,
11·D MACs a position, which is noise).  Without it the last block runs over
every position, as Apple's module does, which is the work `mobileclip bench`
counts in its GFLOP/s.
"""
import torch
import torch.nn.functional as F


def _linear_params(n_out, n_in):
    return torch.randn(n_out, n_in) / n_in ** 0.5, torch.randn(n_out) * 0.1


def _dw_row_params(c, k):
    """A 1×k depthwise kernel near the identity: the folded mixer's shape."""
    w = torch.randn(c, 1, 1, k) * (0.5 / k ** 0.5)
    w[:, 0, 0, k // 2] += 1.0
    return w, torch.randn(c) * 0.1


class TextTower:
    """Folded `mct`/`base` text tower: tokens int64 [B, T] -> embedding [B, E]."""

    def __init__(self, cfg, pooled_last_block=True):
        tc = cfg["text_cfg"]
        if tc["model_name"] not in ("mct", "base"):
            raise ValueError("text_cfg.model_name %r: only mct and base are built" % tc["model_name"])
        self.D = D = tc["dim"]
        self.T = tc["context_length"]
        self.eps = tc["layer_norm_eps"]
        self.pooled_last_block = pooled_last_block and tc["model_name"] == "mct"
        n = tc["n_transformer_layers"]
        heads = tc["n_heads_per_layer"]
        heads = heads if isinstance(heads, list) else [heads] * n
        self.table = torch.randn(tc["vocab_size"], D) * 0.5
        self.pos = torch.randn(self.T, D) * 0.5
        self.mask = None
        if tc["causal_masking"]:
            self.mask = torch.full((self.T, self.T), float("-inf")).triu(1)
        self.blocks = []
        if tc["model_name"] == "mct":
            self.blocks.append(self._repmixer(D, tc["text_repmixer_kernel_size"], tc["text_repmixer_mlp_ratio"]))
        for i in range(n):
            self.blocks.append(self._transformer(D, heads[i], tc["ffn_dims"][i]))
        if tc["model_name"] == "mct":
            self.blocks.append(self._repmixer(D, tc["text_repmixer_kernel_size"], tc["text_repmixer_mlp_ratio"]))
        self.final_gamma = 1.0 + torch.randn(D) * 0.1
        self.final_beta = torch.randn(D) * 0.1
        self.proj = torch.randn(D, cfg["embed_dim"]) / D ** 0.5

    @staticmethod
    def _repmixer(D, k, mlp_ratio):
        hidden = int(D * mlp_ratio)
        wm, bm = _dw_row_params(D, k)
        wd, bd = _dw_row_params(D, k)
        w1, b1 = _linear_params(hidden, D)
        w2, b2 = _linear_params(D, hidden)
        pad = (0, k // 2)

        def mixer(y):
            return F.conv2d(y, wm, bm, 1, pad, 1, D)

        def ffn_conv(y):
            return F.conv2d(y, wd, bd, 1, pad, 1, D)

        def block(x):
            y = mixer(x.transpose(1, 2).unsqueeze(2))
            h = F.gelu(F.conv2d(ffn_conv(y), w1.view(hidden, D, 1, 1), b1))
            y = y + F.conv2d(h, w2.view(D, hidden, 1, 1), b2)
            return y.squeeze(2).transpose(1, 2)

        def pooled(x, eot):
            """The block at the EOT rows only: [B, T, D] -> [B, D]."""
            y = mixer(x.transpose(1, 2).unsqueeze(2)).squeeze(2)       # [B, D, T]
            h = ffn_conv(y.unsqueeze(2)).squeeze(2)
            rows = torch.arange(x.shape[0])
            y, h = y[rows, :, eot], h[rows, :, eot]                      # [B, D]
            return y + F.linear(F.gelu(F.linear(h, w1, b1)), w2, b2)

        block.pooled = pooled
        return block

    def _transformer(self, D, heads, ffn):
        dh = D // heads
        wqkv, bqkv = _linear_params(3 * D, D)
        wo, bo = _linear_params(D, D)
        w1, b1 = _linear_params(ffn, D)
        w2, b2 = _linear_params(D, ffn)
        eps, mask = self.eps, self.mask
        # γ = 1 and β = 0 given explicitly: torch 1.13 exports a LayerNorm
        # without weight as an ONNX LayerNormalization missing its required
        # scale, and ONNX Runtime 1.30's SkipLayerNormFusion crashes (SIGSEGV
        # while creating the session) on one without the optional bias
        ones, zeros = torch.ones(D), torch.zeros(D)

        def block(x):
            b, t, _ = x.shape
            qkv = F.linear(F.layer_norm(x, (D,), ones, zeros, eps), wqkv, bqkv)
            q, k, v = qkv.reshape(b, t, 3, heads, dh).permute(2, 0, 3, 1, 4).unbind(0)
            s = (q * dh ** -0.5) @ k.transpose(-2, -1)
            if mask is not None:
                s = s + mask
            o = (s.softmax(-1) @ v).transpose(1, 2).reshape(b, t, D)
            x = x + F.linear(o, wo, bo)
            return x + F.linear(F.gelu(F.linear(F.layer_norm(x, (D,), ones, zeros, eps), w1, b1)), w2, b2)
        return block

    def __call__(self, tokens):
        x = F.embedding(tokens, self.table) + self.pos
        eot = tokens.argmax(-1)
        blocks = self.blocks[:-1] if self.pooled_last_block else self.blocks
        for block in blocks:
            x = block(x)
        if self.pooled_last_block:
            x = self.blocks[-1].pooled(x, eot)
        else:
            x = x[torch.arange(x.shape[0]), eot]
        x = F.layer_norm(x, (self.D,), self.final_gamma, self.final_beta, self.eps)
        return x @ self.proj

    def example_tokens(self, batch):
        """The ids `mobileclip bench --text` encodes: SOT, 11 words, EOT, zeros."""
        t = torch.zeros(batch, self.T, dtype=torch.int64)
        for b in range(batch):
            t[b, 0] = 49406
            t[b, 1:12] = torch.arange(1, 12) + 320 + 37 * b
            t[b, 12] = 49407
        return t
