#!/usr/bin/python3
"""Issue 5's targets measured on this machine, one verdict per target.

    benchmarks/targets.py [BUILD_DIR] [--rounds R] [--iterations K]
                          [--s0 FILE] [--s2 FILE] [--no-golden] [--no-ort]

Runs the measurements each target names (`mobileclip bench`, bench-preprocess,
the golden precision test, bench-versus-ort) ROUNDS times, rotating their order
from round to round so that a slow phase of the machine does not always land on
the same one, and prints one JSON line per measurement, then a table: the
target, its limit, the median over the rounds with the rounds' spread, and
"met" or "not met".  A reduced-precision target only applies where
precision=auto picks bf16 or int8; the other reduced precision is timed next
to it for information (whether auto picks the faster one), and where auto
stays fp32 (no AVX512-BF16), int8 alone.  Side by side with ONNX Runtime (what ort-baseline.sh installs)
gives the engine / ONNX Runtime ratio in pairs of blocks, for reading, with no
verdict: the issue asks for "well ahead" without a number.  Before each
measurement bench-peak probes the machine (a vector multiply-add burst, a
64 MiB read and a cache line passed between the first two CPUs); the table
gives the probes' medians next to each target, so that a slow round shows
whether the core, the memory side or the two vCPUs' placement (the round trip:
~100 ns where they share a cache, several hundred where they do not) was the
cause then.

Weights: full-size S0 and MCi2 with random values (the real checkpoints cannot
be downloaded here; values do not change the work), made with
make-random-weights when missing, as run-all.sh does; --s0 and --s2 take real
checkpoints instead.  Nothing here is a test: the machine's speed is what is
measured.  Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ORT_LIB = "ort-baseline/node/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"


def run_json(cmd, env=None):
    """Runs cmd and returns its output as one JSON object."""
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out)


class Bench:
    def __init__(self, build, s0, s2, iterations):
        self.build, self.s0, self.s2, self.iterations = build, s0, s2, iterations
        self.mc = os.path.join(build, "tools", "mobileclip")

    def model(self, which=None, threads=2, batch=1, text=False, precision="fp32", versus=None):
        path, config = (self.s2, "mobileclip_s2") if which == "s2" else (self.s0, "mobileclip_s0")
        cmd = [self.mc, "bench", "--model", path, "--config", config, "--threads", str(threads),
               "--batch", str(batch), "--iterations", str(self.iterations), "--precision", precision]
        if versus:
            cmd += ["--versus-batch", str(versus)]
        return run_json(cmd + (["--text"] if text else []))

    def peak(self):
        """The multiply-add peak per thread just now, 1 thread and 2 at once
        (the slower of the two), in GFLOP/s, the read of 64 MiB in GB/s and
        the round trip between the first two CPUs in ns (None with one CPU)."""
        d = run_json([os.path.join(self.build, "benchmarks", "bench-peak"), "--ms", "10",
                      "--reps", "3"])
        rt = d["round_trip_ns"]
        return d["gflops_1t"]["median"], min(d["gflops_2t_thread0"]["median"],
                                             d["gflops_2t_thread1"]["median"]), \
            d["read_gbs"]["median"], rt["median"] if rt else None

    def preprocess(self):
        return run_json([os.path.join(self.build, "benchmarks", "bench-preprocess")])

    def versus(self, which, threads):
        graph, extra = {"image": ("s0_image.onnx", []), "text": ("s0_text.onnx", ["--text"]),
                        "mci2": ("s2_image.onnx", [])}[which]
        model, config = (self.s2, "mobileclip_s2") if which == "mci2" else (self.s0, "mobileclip_s0")
        cmd = [os.path.join(self.build, "benchmarks", "bench-versus-ort"),
               os.path.join(self.build, ORT_LIB), model,
               os.path.join(self.build, "ort-baseline", graph), "--config", config,
               "--threads", str(threads)] + extra
        return run_json(cmd)


def brief(d):
    """d without the per-family breakdowns, for the JSON lines."""
    return {k: brief(v) if isinstance(v, dict) else v for k, v in d.items()
            if k != "breakdown_ms_per_forward"}


def golden_cosines(build, precision):
    """The lowest reduced-precision/fp32 cosine over the golden cases, from the
    suite's own precision test (it prints one line per case and tower)."""
    exe = os.path.join(build, "tests", "model", "test-precision-golden")
    env = dict(os.environ, MOBILECLIP_CONFIG_DIR=os.path.join(HERE, "configs"),
               MOBILECLIP_PRECISION="fp32")
    p = subprocess.run([exe, precision], capture_output=True, text=True, env=env)
    if p.returncode == 77:
        lines = (p.stdout + p.stderr).strip().splitlines()
        return None, "skipped: " + (lines[-1] if lines else "no reason given")
    if p.returncode != 0:
        return None, "test-precision-golden %s failed (exit %d)" % (precision, p.returncode)
    key = "vs fp32 min cosine "
    values = [float(line.split(key)[1].split(",")[0]) for line in p.stdout.splitlines()
              if key in line and "vs reference" in line]
    return (min(values), "%d image and text checks" % len(values)) if values else \
        (None, "no cosine printed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", nargs="?",
                    default=os.environ.get("MOBILECLIP_BUILD_DIR", os.path.join(HERE, "build")))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--s0", help="S0 checkpoint (image + text); default: random weights")
    ap.add_argument("--s2", help="S2 image checkpoint; default: random weights")
    ap.add_argument("--no-golden", action="store_true", help="skip the golden cosines")
    ap.add_argument("--no-ort", action="store_true", help="skip the side-by-side ONNX Runtime runs")
    a = ap.parse_args()

    make = os.path.join(a.build, "benchmarks", "make-random-weights")
    s0 = a.s0 or os.path.join(a.build, "benchmarks", "random_s0_full.safetensors")
    s2 = a.s2 or os.path.join(a.build, "benchmarks", "random_s2_image.safetensors")
    if not os.path.exists(s0):
        subprocess.run([make, os.path.join(HERE, "..", "shared", "real", "mobileclip_s0.keys.tsv"),
                        "", s0], check=True)
    if not os.path.exists(s2):
        subprocess.run([make, "--config", "mobileclip_s2", "image_encoder.", s2], check=True)
    b = Bench(a.build, s0, s2, a.iterations)

    # precision=auto resolved once: bf16 or int8 where the CPU has a fast path
    auto = b.model(threads=2, precision="auto")
    reduced = auto["precision"] if auto["precision"] != "fp32" else None
    # both reduced precisions where both are fast (which one auto should
    # pick), else int8 alone for information: bf16 is emulated, and slow,
    # without AVX512-BF16
    lows = ["bf16", "int8"] if auto["bf16_native"] else ["int8"]
    ort = (not a.no_ort) and os.path.exists(os.path.join(a.build, ORT_LIB)) \
        and os.path.exists(os.path.join(a.build, "ort-baseline", "s2_image.onnx"))

    jobs = [
        ("mci0_1t", lambda: b.model(threads=1)),
        ("mci0_2t", lambda: b.model(threads=2)),
        # batch 4 against batch 1 in pairs of forwards in one process, so that
        # both sides of a pair see the same phase of the machine
        ("batch_2t", lambda: b.model(threads=2, batch=4, versus=1)),
        ("text_2t", lambda: b.model(threads=2, text=True)),
        ("mci2_2t", lambda: b.model("s2", threads=2)),
    ] + [
        ("%s_2t" % p, lambda p=p: b.model(threads=2, precision=p)) for p in lows
    ] + [
        ("preprocess", b.preprocess),
    ]
    if ort:
        jobs += [("versus_image_1t", lambda: b.versus("image", 1)),
                 ("versus_image_2t", lambda: b.versus("image", 2)),
                 ("versus_text_2t", lambda: b.versus("text", 2)),
                 ("versus_mci2_2t", lambda: b.versus("mci2", 2))]
    res = {name: [] for name, _ in jobs}
    # the vCPU's multiply-add peak probed just before each measurement: on
    # a shared VM it tells a slow core (another tenant on its ports) from a
    # slow engine
    peaks = {name: [] for name, _ in jobs}
    reads = {name: [] for name, _ in jobs}
    trips = {name: [] for name, _ in jobs}
    for r in range(a.rounds):
        k = r % len(jobs)
        for name, fn in jobs[k:] + jobs[:k]:
            p1, p2, gbs, rt = b.peak()
            d = fn()
            res[name].append(d)
            peaks[name].append(p1 if name.endswith("_1t") or name == "preprocess" else p2)
            reads[name].append(gbs)
            if rt is not None:
                trips[name].append(rt)
            print(json.dumps({"round": r + 1, "measurement": name, "fma_peak_gflops_1t": p1,
                              "fma_peak_gflops_2t_per_thread": p2, "read_gbs_64mib": gbs,
                              "cpu_round_trip_ns": rt, **brief(d)}), flush=True)

    def spread(values, fmt):
        """The median and 'median unit (min–max)'; fmt is "%.1f ms" and the like."""
        values = sorted(values)
        med = statistics.median(values)
        num = fmt.split(" ")[0].rstrip("×")
        return med, (fmt % med) + " (" + ((num % values[0]) + "–" + (num % values[-1])
                                          if len(values) > 1 else "1 round") + ")"

    rows = []

    def peak_of(name):
        text = spread(peaks[name], "%.0f")[1] + "; " + spread(reads[name], "%.1f")[1]
        return text + ("; " + spread(trips[name], "%.0f")[1] if trips[name] else "")

    def target(what, limit, values, fmt, ok, name):
        med, text = spread(values, fmt)
        rows.append((what, limit, text, "met" if ok(med) else "not met", peak_of(name)))

    ms = lambda name: [d["median_ms"] for d in res[name]]
    target("MCi0 fp32, 1 thread", "≤ 43 ms", ms("mci0_1t"), "%.1f ms", lambda v: v <= 43, "mci0_1t")
    target("MCi0 fp32, 2 threads", "≤ 30 ms", ms("mci0_2t"), "%.1f ms", lambda v: v <= 30, "mci0_2t")
    target("MCi0 fp32, 2 threads, effective GFLOP/s", "≥ 160",
           [d["gflops_effective"] for d in res["mci0_2t"]], "%.0f", lambda v: v >= 160, "mci0_2t")
    target("S0 text fp32, one prompt, 2 threads", "≤ 17 ms", ms("text_2t"), "%.1f ms",
           lambda v: v <= 17, "text_2t")
    target("MCi2 fp32, 2 threads", "≤ 85 ms", ms("mci2_2t"), "%.1f ms", lambda v: v <= 85, "mci2_2t")
    for p in lows:
        kernel = res["%s_2t" % p][0]["gemm_kernel"]
        if p == reduced:
            target("MCi0 %s (auto's pick, %s), 2 threads" % (p, kernel), "≤ 13 ms", ms("%s_2t" % p),
                   "%.1f ms", lambda v: v <= 13, "%s_2t" % p)
        else:
            med, text = spread(ms("%s_2t" % p), "%.1f ms")
            rows.append(("MCi0 %s (%s), 2 threads, for information" % (p, kernel), "≤ 13 ms",
                         text + ("" if reduced else "; auto runs fp32 on this CPU"),
                         "not auto's pick" if reduced else "not applicable", peak_of("%s_2t" % p)))
        if not a.no_golden:
            cos, note = golden_cosines(a.build, p)
            if cos is None:
                rows.append(("%s cosine to fp32, golden cases" % p, "≥ 0.999", note, "not measured", ""))
            else:
                rows.append(("%s cosine to fp32, golden cases (%s)" % (p, note), "≥ 0.999",
                             "min %.6f" % cos, "met" if cos >= 0.999 else "not met", ""))
    gain = [d["versus_batch"]["gain_median"] for d in res["batch_2t"]]
    target("Batch 4 frames/s over batch 1, 2 threads", "≥ 1.3×", gain, "%.2f×", lambda v: v >= 1.3,
           "batch_2t")
    # A batch covering the threads runs whole images side by side, each at
    # the 1-thread speed at best, so its gain over batch 1 on 2 threads is
    # at most 2 × (batch 1's 2-thread time) / (the 1-thread time): the same
    # round's two measurements.
    cap = [2 * t2["median_ms"] / t1["median_ms"] for t1, t2 in zip(res["mci0_1t"], res["mci0_2t"])]
    rows.append(("Batch gain's cap: 2 × (MCi0 2 threads) / (1 thread), same rounds",
                 "for information", spread(cap, "%.2f×")[1], "", peak_of("mci0_2t")))
    pre = res["preprocess"][0]
    target("Preprocess 1080p %s → 256², 1 thread (%s)" % (pre["format"], pre["variant"]), "≤ 1 ms",
           [d["median_ms"] for d in res["preprocess"]], "%.2f ms", lambda v: v <= 1, "preprocess")
    rss = [d["rss_after_run_mib"] / d["fp32_weights_mib"] for d in res["mci0_2t"]]
    target("Resident S0 (image + text) after a forward / fp32 weights", "≤ 1.3×", rss, "%.3f×",
           lambda v: v <= 1.3, "mci0_2t")
    for name, label in (("versus_image_1t", "MCi0 fp32, 1 thread"),
                        ("versus_image_2t", "MCi0 fp32, 2 threads"),
                        ("versus_text_2t", "S0 text, 2 threads"),
                        ("versus_mci2_2t", "MCi2 fp32, 2 threads")):
        if name in res:
            med, text = spread([d["engine_over_onnxruntime"] for d in res[name]], "%.3f")
            rows.append(("Engine / ONNX Runtime side by side: " + label,
                         "ahead (< 1); reference targets ≈ 0.71", text, "ahead" if med < 1 else "behind",
                         peak_of(name)))
    if not ort:
        rows.append(("Engine / ONNX Runtime side by side", "", "not run (%s)" % (
            "--no-ort" if a.no_ort else "run benchmarks/ort-baseline.sh first"), "not measured", ""))

    m = auto["machine"]
    print("\n# %s, %d CPUs (%s); %d rounds of %d iterations; fp32 GEMM kernel %s"
          % (m["cpu"], m["online_cpus"], m["features"], a.rounds, a.iterations,
             res["mci0_2t"][0]["gemm_kernel"]))
    print("\n| target | limit | median (rounds' min–max) | verdict |"
          " probes before it: FMA GFLOP/s a thread; 64 MiB read GB/s; CPU round trip ns |"
          "\n|---|---|---|---|---|")
    for row in rows:
        print("| %s | %s | %s | %s | %s |" % row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
