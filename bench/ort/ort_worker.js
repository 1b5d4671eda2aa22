#!/usr/bin/env node
// qk-bench's ONNX Runtime worker: runs one single-QLinearConv model at a time through the CPU
// library of the npm package onnxruntime-node and times session.run itself. qk-bench starts it
// (`node ort_worker.js`) and speaks one line per request, one line per reply:
//
//   setup MODEL INPUT H W C THREADS  -> "ok <what runs>" | "err <message>"
//        (INPUT: raw u8 NHWC bytes; the model's input is x [1, H, W, C], its output y)
//   run N                            -> "t <nanoseconds for N runs>"
//   out PATH                         -> writes the last output's raw bytes, "ok"
//   quit
//
// Timing covers `await session.run(feeds)` only: the binding's overhead (argument conversion, the
// hop to ORT's thread and back) is part of what a node user pays and is reported in the docs.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  ort = null;
  var loadError = String(e && e.message ? e.message : e).split('\n')[0];
}

let session = null;
let feeds = null;
let lastOutput = null;

function oneLine(e) {
  return String(e && e.message ? e.message : e).replace(/\s+/g, ' ').trim();
}

function sessionOptions(threads, profile) {
  const o = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  if (profile) {
    o.enableProfiling = true;
    o.profileFilePrefix = profile;
  }
  return o;
}

// Which kernel ran, from ORT's own profile: op type and execution provider of the node.
async function describe(model, threads) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qk-ort-'));
  let what = 'QLinearConv';
  let s;
  try {
    s = await ort.InferenceSession.create(model, sessionOptions(threads, path.join(dir, 'p')));
    await s.run(feeds);
    s.endProfiling();
    for (const f of fs.readdirSync(dir)) {
      const events = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
      for (const ev of events) {
        if (ev.cat === 'Node' && ev.args && ev.args.op_name && ev.name.endsWith('_kernel_time')) {
          what = `${ev.args.op_name} on ${ev.args.provider}`;
        }
      }
    }
  } catch (e) {
    what = `QLinearConv (profile unavailable: ${oneLine(e)})`;
  } finally {
    if (s) await s.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return what;
}

async function handle(line) {
  const a = line.trim().split(/\s+/);
  switch (a[0]) {
    case 'setup': {
      if (!ort) return `err onnxruntime-node cannot be loaded: ${loadError}`;
      const [model, input, h, w, c, threads] = [a[1], a[2], +a[3], +a[4], +a[5], +a[6]];
      if (session) await session.release();
      session = null;
      const bytes = fs.readFileSync(input);
      const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
      feeds = { x: new ort.Tensor('uint8', data, [1, h, w, c]) };
      const what = await describe(model, threads);
      session = await ort.InferenceSession.create(model, sessionOptions(threads, null));
      lastOutput = (await session.run(feeds)).y;
      return `ok onnxruntime ${ort.env.versions.common} (node ${process.version}): ` +
             `com.microsoft ${what}, NHWC, intra-op threads ${threads}`;
    }
    case 'run': {
      const n = Math.max(1, +a[1] || 1);
      const t0 = process.hrtime.bigint();
      let out;
      for (let i = 0; i < n; i++) out = await session.run(feeds);
      const t = process.hrtime.bigint() - t0;
      lastOutput = out.y;
      return `t ${t}`;
    }
    case 'out': {
      const y = lastOutput;
      fs.writeFileSync(a[1], Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength));
      return 'ok';
    }
    case 'quit':
      process.exit(0);
      return '';
    default:
      return `err unknown command '${a[0]}'`;
  }
}

if (ort) ort.env.logLevel = 'error';
const rl = readline.createInterface({ input: process.stdin, terminal: false });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    let reply;
    try {
      reply = await handle(line);
    } catch (e) {
      reply = `err ${oneLine(e)}`;
    }
    process.stdout.write(reply + '\n');
  });
});
rl.on('close', () => chain.then(() => process.exit(0)));
