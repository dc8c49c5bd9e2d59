#!/usr/bin/env node
// Same-run baseline: one ONNX model (exported by torch_baseline.py) timed in
// ONNX Runtime's CPU provider the way `mobileclip bench` times our engine:
// warm-up passes, then the median, min and max of K passes, for each thread
// count.  One session per thread count: intra-op pool of N threads (the
// calling thread is one of them), one inter-op thread, sequential execution,
// every graph optimization.  Prints one JSON line per thread count, in the
// shape of torch_baseline.py's lines.
//
// onnxruntime-node comes from benchmarks/ort/package.json, installed by
// benchmarks/ort-baseline.sh into the build directory; point NODE_PATH at
// that node_modules:
//   NODE_PATH=BUILD/ort-baseline/node/node_modules node benchmarks/ort_baseline.js MODEL.onnx
//       [--name NAME] [--threads 1 2] [--iterations 30] [--warmup 3] [--batch 1]
//       [--save-optimized PATH]
// --batch sets a free batch dimension (torch_baseline.py exports a fixed
// one).  --save-optimized writes the graph ONNX Runtime runs after its passes
// (for benchmarks/onnx_ops.py), from the first thread count's session; its
// layout passes make that file specific to this CPU.
'use strict';

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  process.stderr.write('ort_baseline: onnxruntime-node not found: run benchmarks/ort-baseline.sh, or point ' +
      'NODE_PATH at BUILD/ort-baseline/node/node_modules\n');
  process.exit(1);
}

function usage (code) {
  (code ? process.stderr : process.stdout).write(
      'usage: node ort_baseline.js MODEL.onnx [--name NAME] [--threads N...] [--iterations K]\n' +
      '           [--warmup W] [--batch B] [--save-optimized PATH]\n');
  process.exit(code);
}

function parseArgs (argv) {
  const args = { model: null, name: null, threads: [1, 2], iterations: 30, warmup: 3, batch: 1,
    saveOptimized: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length)
        usage(2);
      return argv[++i];
    };
    const count = (min) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n < min)
        usage(2);
      return n;
    };
    if (a === '--name') {
      args.name = value();
    } else if (a === '--threads') {
      args.threads = [];
      while (i + 1 < argv.length && /^[0-9]+$/.test(argv[i + 1]))
        args.threads.push(Number(argv[++i]));
      if (!args.threads.length || args.threads.includes(0))
        usage(2);
    } else if (a === '--iterations') {
      args.iterations = count(1);
    } else if (a === '--warmup') {
      args.warmup = count(0);
    } else if (a === '--batch') {
      args.batch = count(1);
    } else if (a === '--save-optimized') {
      args.saveOptimized = value();
    } else if (a === '--help' || a === '-h') {
      usage(0);
    } else if (!args.model && !a.startsWith('-')) {
      args.model = a;
    } else {
      usage(2);
    }
  }
  if (!args.model)
    usage(2);
  return args;
}

// Inputs like those `mobileclip bench` feeds: an image of hashed values in [0, 1], or
// prompts of SOT, 11 word ids, EOT and padding.  Values do not change the
// work, but the same ones rule out any data-dependent shortcut.
function makeInput (meta, batch) {
  if (!meta.isTensor)
    throw new Error(`input ${meta.name} is not a tensor`);
  const dims = meta.shape.map((d, i) => (typeof d === 'number' && d > 0 ? d : (i === 0 ? batch : NaN)));
  if (dims.some(Number.isNaN))
    throw new Error(`input ${meta.name}: free dimension other than the batch in [${meta.shape}]`);
  const n = dims.reduce((p, d) => p * d, 1);
  if (meta.type === 'float32') {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++)
      data[i] = (Math.imul(i, 2654435761) >>> 24) / 255;
    return new ort.Tensor('float32', data, dims);
  }
  if (meta.type === 'int64') {
    const data = new BigInt64Array(n);
    const len = dims[dims.length - 1];
    for (let b = 0; b < n / len; b++) {
      const row = b * len;
      data[row] = 49406n;
      for (let i = 1; i < 12; i++)
        data[row + i] = BigInt(320 + 37 * b + i);
      data[row + 12] = 49407n;
    }
    return new ort.Tensor('int64', data, dims);
  }
  throw new Error(`input ${meta.name}: type ${meta.type} not handled`);
}

function median (sorted) {
  const m = sorted.length >> 1;
  return sorted.length % 2 ? sorted[m] : 0.5 * (sorted[m - 1] + sorted[m]);
}

const round3 = (x) => Math.round(x * 1000) / 1000;

async function timeOne (args, threads, saveOptimized) {
  const options = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  if (saveOptimized)
    options.optimizedModelFilePath = saveOptimized;
  const session = await ort.InferenceSession.create(args.model, options);
  const meta = session.inputMetadata;
  if (meta.length !== 1)
    throw new Error(`${args.model}: ${meta.length} inputs, expected one`);
  const input = makeInput(meta[0], args.batch);
  const feeds = { [meta[0].name]: input };
  const times = [];
  for (let i = -args.warmup; i < args.iterations; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (i >= 0)
      times.push(ms);
  }
  await session.release();
  times.sort((a, b) => a - b);
  const line = {
    engine: `onnxruntime ${ort.env.versions.node || ort.env.versions.common}`,
    model: args.name || args.model,
    threads,
    batch: input.dims[0],
  };
  if (input.type === 'float32' && input.dims.length === 4)
    line.size = input.dims[3];
  Object.assign(line, {
    iterations: args.iterations,
    median_ms: round3(median(times)),
    min_ms: round3(times[0]),
    max_ms: round3(times[times.length - 1]),
  });
  return line;
}

async function main () {
  const args = parseArgs(process.argv.slice(2));
  for (let t = 0; t < args.threads.length; t++) {
    const line = await timeOne(args, args.threads[t], t === 0 ? args.saveOptimized : null);
    process.stdout.write(JSON.stringify(line) + '\n');
  }
}

main().catch((e) => {
  process.stderr.write(`ort_baseline: ${e.message}\n`);
  process.exit(1);
});
