"""Candidate speed-ups of the VAE's training step, raced in one run against the shipped step and pythae's.

    python bench/vae_step_variants.py [--steps 40] [--rounds 4] [--batch-size 64] [--threads 1] [--compile]

Issue 15 asks for our VAE step at 1.2x pythae's images/s (bench/peers.py: 1.05-1.08x). The step's
profile (bench/README.md) is the same oneDNN convolutions and MKL matmuls on both sides; this script
measures the changes the profile suggested, each as its own variant of the same model (same weights at
the start, same batches, steps interleaved with the order reversed every other step):

* ``shipped``: ``zoo.create("vae")`` with ``VAETrainingStep``, as ``zoo train vae`` runs it.
* ``analytic``: the discretized-logistic likelihood as one ``torch.autograd.Function`` whose backward
  is written out (d log P / d mean and d log P / d log-scale computed in the forward pass), instead of
  autograd through its ~20 elementwise ops.
* ``subpixel``: the decoder's last ``ConvTranspose2d(32, 2, 4, 2, 1)``, where oneDNN's kernel is slow
  for two output channels, computed forward as the equivalent 3x3 convolution to 4x2 channels and
  ``pixel_shuffle`` (its backward is the native one).
* ``both``: the two together.
* ``compiled`` (``--compile``): the shipped model under ``torch.compile`` (inductor); the compilation
  (tens of seconds) happens in untimed warm-up steps.
* ``pythae``: bench/peers.py's pythae VAE and step (Adam 1e-3, BCE).

Every variant computes the same function: the script checks the likelihood's value and gradients
against the shipped one in float64 (they differ by ~1e-9 and ~1e-7: the shipped version's softplus
switches to the identity above 20) and the sub-pixel layer's output against ConvTranspose2d. Like
bench/peers.py, it installs pythae into bench/.venv-peers and re-executes itself there when this
interpreter lacks it. Prints ms per step and each variant's images/s over pythae's.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent)]


def build_variants(with_compile: bool):
    import torch
    import torch.nn.functional as F
    from torch import nn
    from zoo_plugins.vae.model import VAE

    log_bin = math.log(127.5)

    class AnalyticNLL(torch.autograd.Function):
        """-log P(x | mean, log_scale) per image for the discretized logistic (PixelCNN++ eq. 2), gradients
        computed in the forward pass."""

        @staticmethod
        def forward(ctx, x, mean, log_scale):
            inv_s = torch.exp(-log_scale)
            mid = inv_s * (x - mean)
            half = inv_s * (1.0 / 255)
            p, n = mid + half, mid - half
            sp, sn = torch.sigmoid(p), torch.sigmoid(n)
            lo, hi = x < -0.999, x > 0.999
            delta = sp - sn
            ok = delta > 1e-5
            fallback = ~(lo | hi | ok)
            log_pdf_mid = mid - log_scale - 2.0 * F.softplus(mid) - log_bin  # where the bin mass underflows
            log_mid = torch.where(ok, torch.log(delta.clamp_min(1e-12)), log_pdf_mid)
            logp = torch.where(lo, -F.softplus(-p), torch.where(hi, -F.softplus(n), log_mid))
            inv_delta = 1.0 / delta.clamp_min(1e-12)
            gp = torch.where(lo, 1 - sp, torch.where(hi | ~ok, 0.0, sp * (1 - sp) * inv_delta))
            gn = torch.where(hi, -sn, torch.where(lo | ~ok, 0.0, -sn * (1 - sn) * inv_delta))
            gmid = torch.where(fallback, 1 - 2 * torch.sigmoid(mid), 0.0)
            ctx.save_for_backward(-inv_s * (gp + gn + gmid), -(p * gp + n * gn + mid * gmid) - fallback.to(p.dtype))
            return -logp.flatten(1).sum(1)

        @staticmethod
        def backward(ctx, grad):
            d_mean, d_log_scale = ctx.saved_tensors
            g = -grad.view(-1, *([1] * (d_mean.dim() - 1)))
            return None, g * d_mean, g * d_log_scale

    class AnalyticVAE(VAE):
        def neg_elbo(self, images, generator=None):
            mu, logvar = self.posterior(images)
            z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
            mean, log_scale = self.likelihood_params(z)
            recon = AnalyticNLL.apply(images * 2 - 1, mean, log_scale)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)
            return {"nll_bound": recon + kl, "recon": recon, "kl": kl}

    # tap of the 4x4 transposed kernel that output phase (a, b) reads at 3x3 window offset (i, j); 16: zero
    taps = torch.full((2, 2, 3, 3), 16, dtype=torch.long)
    for a in range(2):
        for b in range(2):
            for i in range(3):
                for j in range(3):
                    ki, kj = a + 3 - 2 * i, b + 3 - 2 * j
                    if 0 <= ki < 4 and 0 <= kj < 4:
                        taps[a, b, i, j] = ki * 4 + kj

    class SubpixelForward(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, weight, bias):
            cin, cout = weight.shape[:2]
            w = torch.cat([weight.flatten(2), weight.new_zeros(cin, cout, 1)], 2)[:, :, taps]
            w = w.permute(1, 2, 3, 0, 4, 5).reshape(cout * 4, cin, 3, 3).contiguous(memory_format=torch.channels_last)
            ctx.save_for_backward(x, weight)
            return F.pixel_shuffle(F.conv2d(x, w, bias.repeat_interleave(4), padding=1), 2)

        @staticmethod
        def backward(ctx, grad):
            x, weight = ctx.saved_tensors
            return torch.ops.aten.convolution_backward(grad, x, weight, [weight.shape[1]], [2, 2], [1, 1], [1, 1],
                                                       True, [0, 0], 1, [ctx.needs_input_grad[0], True, True])

    class SubpixelConvTranspose2d(nn.ConvTranspose2d):
        def forward(self, x, output_size=None):
            return SubpixelForward.apply(x, self.weight, self.bias)

    def subpixel(model):
        old = model.decoder[-1]
        new = SubpixelConvTranspose2d(old.in_channels, old.out_channels, 4, 2, 1)
        new.load_state_dict(old.state_dict())
        model.decoder[-1] = new
        return model

    variants = {"shipped": lambda: VAE(), "analytic": lambda: AnalyticVAE(), "subpixel": lambda: subpixel(VAE()),
                "both": lambda: subpixel(AnalyticVAE())}
    if with_compile:
        variants["compiled"] = lambda: VAE()
    return variants, AnalyticNLL, SubpixelConvTranspose2d


def check_equivalence(analytic_nll, subpixel_cls) -> str:
    import torch
    from torch import nn
    from zoo_plugins.vae.model import discretized_logistic_log_prob

    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (8, 1, 28, 28), generator=gen).double() / 127.5 - 1
    x[0, 0, :4] = -1.0
    x[1, 0, :4] = 1.0
    mean = torch.tanh(2 * torch.randn(x.shape, generator=gen, dtype=torch.double)).requires_grad_()
    log_scale = (3 * torch.randn(x.shape, generator=gen, dtype=torch.double) - 2).clamp(-7, 2).requires_grad_()
    w = torch.randn(8, generator=gen, dtype=torch.double)
    ref = -discretized_logistic_log_prob(x, mean, log_scale).flatten(1).sum(1)
    new = analytic_nll.apply(x, mean, log_scale)
    g_ref = torch.autograd.grad((ref * w).sum(), (mean, log_scale))
    g_new = torch.autograd.grad((new * w).sum(), (mean, log_scale))
    conv = nn.ConvTranspose2d(32, 2, 4, 2, 1)
    fast = subpixel_cls(32, 2, 4, 2, 1)
    fast.load_state_dict(conv.state_dict())
    xc = torch.randn(4, 32, 14, 14, generator=gen)
    return (f"likelihood max |diff| {(ref - new).abs().max().item():.1e} (value), "
            f"{max((a - b).abs().max().item() for a, b in zip(g_ref, g_new)):.1e} (gradients); "
            f"sub-pixel layer {(conv(xc) - fast(xc)).abs().max().item():.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40, help="batches per round (default 40)")
    parser.add_argument("--rounds", type=int, default=4, help="passes over those batches (default 4)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--compile", action="store_true", help="add the shipped model under torch.compile")
    args = parser.parse_args()
    if min(args.steps, args.rounds, args.batch_size, args.threads) < 1:
        parser.error("--steps, --rounds, --batch-size and --threads must be positive")

    import peers

    if not peers.in_venv() and peers.version_of(peers.VAE_PEER) is None:  # as bench/peers.py: pythae in its venv
        torch_version, constraints = peers.prepare_venv("vae-variants")
        attempt = peers._ensure_peer(peers.VAE_PEER, constraints)
        if not attempt["ok"]:
            sys.exit(f"[vae-variants] {peers.VAE_PEER}: {attempt['error']}")
        peers.reexec_in_venv(__file__, torch_version, {})

    import torch
    from pythae.data.datasets import DatasetOutput
    from zoo_plugins.vae.train import VAETrainingStep

    from zoo.data import load_fashion_mnist
    torch.set_num_threads(args.threads)
    variants, analytic_nll, subpixel_cls = build_variants(args.compile)
    print(f"[vae-variants] equivalence: {check_equivalence(analytic_nll, subpixel_cls)}", file=sys.stderr)
    x, _ = load_fashion_mnist("train")
    acc = peers._Backward()
    steps = {}
    for name, build in variants.items():
        torch.manual_seed(args.seed)
        step = VAETrainingStep(build().train())
        if name == "compiled":
            step.model = torch.compile(step.model)
        step.optimizers = step.configure_optimizers()
        steps[name] = lambda i, b, s=step: s.step(b, None, i, acc)
    torch.manual_seed(args.seed)
    peer = peers.build_pythae_vae().train()
    opt = torch.optim.Adam(peer.parameters(), lr=1e-3)

    def peer_step(i, b):
        loss = peer(DatasetOutput(data=b)).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    steps["pythae"] = peer_step
    batches = peers.batch_indices(len(x), args.steps, args.batch_size, args.seed)
    for fn in steps.values():  # warm-up, untimed (and the compilation)
        for i in range(2):
            fn(i, x[batches[i]])
    seconds = dict.fromkeys(steps, 0.0)
    order = list(steps)
    for r in range(args.rounds):
        for i, idx in enumerate(batches):
            b = x[idx]
            for name in order if (r * len(batches) + i) % 2 == 0 else order[::-1]:
                t0 = time.perf_counter()
                steps[name](i, b)
                seconds[name] += time.perf_counter() - t0
    n = args.rounds * len(batches)
    print(f"{'variant':10s} {'ms/step':>8s} {'img/s':>7s} {'vs pythae':>9s} {'vs shipped':>10s}")
    for name, s in seconds.items():
        print(f"{name:10s} {s / n * 1e3:8.2f} {n * args.batch_size / s:7.0f} {seconds['pythae'] / s:9.3f} "
              f"{seconds['shipped'] / s:10.3f}")
    print(f"{n} steps of batch {args.batch_size} each, interleaved; torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)")


if __name__ == "__main__":
    main()
