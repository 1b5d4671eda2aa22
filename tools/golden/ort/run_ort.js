#!/usr/bin/env node
// Runs a batch of single-node ONNX models through ONNX Runtime's CPU library (the one shipped in
// the npm package onnxruntime-node) and writes their raw outputs, for tools/golden/gen_ort.py.
//
//   node run_ort.js DIR
//
// DIR/manifest.json: {"cases": [{"name", "model", "input", "dtype": "uint8"|"int8", "dims": [N,C,H,W]}]}
// with "model" and "input" file names relative to DIR (input = raw NCHW bytes).
// Writes, per case, <name>.all.bin and <name>.noopt.bin (raw output bytes), and DIR/results.json:
// {"ort_version", "results": [{"name", "ok", "error", "dims"}]}.
//
// Each model runs in two sessions: the default graph optimisation level ("all": what users get; ORT
// then rewrites QLinearConv to its NHWC contrib kernel with inserted transposes) and "disabled"
// (the plain NCHW QLinearConv kernel). The caller checks that both give the same bytes.
// One intra-op thread, so the result cannot depend on how work is split between threads.
'use strict';

const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const LEVELS = { all: 'all', noopt: 'disabled' };

// ORT errors carry a source location and a node name that changes per case; keep them verbatim
// (the caller decides what to record) but on one line.
function oneLine(err) {
  return String(err && err.message ? err.message : err).replace(/\s+/g, ' ').trim();
}

async function runOne(dir, c) {
  const bytes = fs.readFileSync(path.join(dir, c.input));
  const data = c.dtype === 'uint8'
    ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length)
    : new Int8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const result = { name: c.name, ok: true, error: null, dims: null };
  for (const [tag, level] of Object.entries(LEVELS)) {
    let session;
    try {
      session = await ort.InferenceSession.create(path.join(dir, c.model), {
        executionProviders: ['cpu'],
        intraOpNumThreads: 1,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: level,
      });
      const out = await session.run({ x: new ort.Tensor(c.dtype, data, c.dims) });
      const y = out.y;
      if (y.type !== c.dtype) throw new Error(`output type ${y.type}, expected ${c.dtype}`);
      result.dims = y.dims;
      const raw = Buffer.from(y.data.buffer, y.data.byteOffset, y.data.byteLength);
      fs.writeFileSync(path.join(dir, `${c.name}.${tag}.bin`), raw);
    } catch (e) {
      // The two levels fail alike in practice; the first error is the one reported.
      return { name: c.name, ok: false, error: `${tag}: ${oneLine(e)}`, dims: null };
    } finally {
      if (session) await session.release();
    }
  }
  return result;
}

async function main() {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node run_ort.js DIR');
    process.exit(2);
  }
  // Keep ORT's own logging (e.g. warnings about unused initializers) off the generator's stderr.
  ort.env.logLevel = 'error';
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const results = [];
  for (const c of manifest.cases) results.push(await runOne(dir, c));
  fs.writeFileSync(path.join(dir, 'results.json'),
    JSON.stringify({ ort_version: ort.env.versions.common, results }, null, 1));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
