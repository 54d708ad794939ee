#!/usr/bin/env node
// A stand-in for the native `solc` binary, backed by the npm `solc` package (soljson).
//
// py-solc-x, ape-solidity and Slither (crytic-compile) drive solc through three command
// lines; this script answers each of them the way native solc does:
//   solc --version
//   solc --standard-json [--base-path P] [--allow-paths A,B] [--include-path I]  (JSON on stdin)
//   solc <files...> --combined-json abi,bin,... [prefix=path ...] [--allow-paths A]  (Slither)
// Imports that are not inlined in the input are read from disk relative to the base path,
// the include paths and the allowed paths.
"use strict";
const fs = require("fs");
const path = require("path");

function loadSolc() {
  const where = process.env.PYLENDER_SOLC_MODULE || "solc";
  try {
    return require(require.resolve(where, { paths: [process.cwd(), __dirname, ...(module.paths || [])] }));
  } catch (err) {
    process.stderr.write(`solc-bridge: cannot load the npm 'solc' package (${where}): ${err.message}\n`);
    process.exit(2);
  }
}

// Write and let stdout drain before exiting: process.exit() right after a large write
// truncates the output at the pipe buffer (64 KiB).
function finish(text, code) {
  process.stdout.write(text, () => {
    process.exitCode = code;
  });
}

function parseArgs(argv) {
  const opts = { files: [], remaps: [], roots: [], combined: null, standardJson: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => argv[++i];
    if (a === "--version") opts.version = true;
    else if (a === "--standard-json") opts.standardJson = true;
    else if (a === "--combined-json") opts.combined = value().split(",");
    else if (a === "--base-path" || a === "--include-path") opts.roots.push(value());
    else if (a === "--allow-paths") opts.roots.push(...value().split(","));
    else if (a.startsWith("--")) {
      // Flags without meaning for soljson (--optimize, --overwrite, ...); a few take a value.
      if (["--optimize-runs", "--evm-version", "--output-dir", "-o"].includes(a)) opts[a] = value();
      else opts[a] = true;
    } else if (/^[^=]*=[^=]+$/.test(a) && !fs.existsSync(a)) opts.remaps.push(a);
    else opts.files.push(a);
  }
  return opts;
}

function makeImportCallback(roots, remaps) {
  const bases = [process.cwd(), ...roots.filter(Boolean)];
  return function findImports(importPath) {
    let candidate = importPath;
    for (const r of remaps) {
      const [prefix, target] = r.split("=");
      if (candidate.startsWith(prefix)) candidate = target + candidate.slice(prefix.length);
    }
    const tries = path.isAbsolute(candidate) ? [candidate] : bases.map((b) => path.resolve(b, candidate));
    for (const p of tries) {
      if (fs.existsSync(p) && fs.statSync(p).isFile()) return { contents: fs.readFileSync(p, "utf8") };
    }
    return { error: `File not found: ${importPath} (looked in ${tries.join(", ")})` };
  };
}

function versionText(solc) {
  const v = solc.version().replace(".Emscripten.clang", ".Linux.g++");
  return `solc, the solidity compiler commandline interface\nVersion: ${v}\n`;
}

function standardJson(solc, opts) {
  const input = fs.readFileSync(0, "utf8");
  const out = solc.compile(input, { import: makeImportCallback(opts.roots, opts.remaps) });
  finish(out + "\n", 0);
}

// Slither mode: compile files and answer in solc's --combined-json format.
function combinedJson(solc, opts) {
  const sources = {};
  for (const f of opts.files) sources[f] = { content: fs.readFileSync(f, "utf8") };
  const wanted = opts.combined;
  const input = {
    language: "Solidity",
    sources,
    settings: {
      remappings: opts.remaps,
      optimizer: { enabled: Boolean(opts["--optimize"]), runs: Number(opts["--optimize-runs"] || 200) },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode", "evm.deployedBytecode", "evm.methodIdentifiers", "userdoc", "devdoc", "metadata"], "": ["ast"] } },
    },
  };
  if (opts["--evm-version"]) input.settings.evmVersion = opts["--evm-version"];
  if (opts["--via-ir"]) input.settings.viaIR = true;
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: makeImportCallback(opts.roots, opts.remaps) }));
  const errors = (out.errors || []).filter((e) => e.severity === "error");
  for (const e of out.errors || []) process.stderr.write((e.formattedMessage || e.message) + "\n");
  if (errors.length) {
    process.exitCode = 1;
    return;
  }
  const combined = { contracts: {}, sources: {}, sourceList: Object.keys(out.sources || {}), version: solc.version() };
  for (const [file, src] of Object.entries(out.sources || {})) combined.sources[file] = { AST: src.ast, id: src.id };
  for (const [file, contracts] of Object.entries(out.contracts || {})) {
    for (const [name, c] of Object.entries(contracts)) {
      const entry = {};
      const pick = {
        abi: () => c.abi,
        bin: () => c.evm.bytecode.object,
        "bin-runtime": () => c.evm.deployedBytecode.object,
        srcmap: () => c.evm.bytecode.sourceMap,
        "srcmap-runtime": () => c.evm.deployedBytecode.sourceMap,
        hashes: () => c.evm.methodIdentifiers,
        userdoc: () => c.userdoc,
        devdoc: () => c.devdoc,
        metadata: () => c.metadata,
      };
      for (const w of wanted) if (pick[w]) entry[w] = pick[w]();
      combined.contracts[`${file}:${name}`] = entry;
    }
  }
  finish(JSON.stringify(combined) + "\n", 0);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const solc = loadSolc();
  if (opts.version) return finish(versionText(solc), 0);
  if (opts.standardJson) return standardJson(solc, opts);
  if (opts.combined) return combinedJson(solc, opts);
  process.stderr.write("solc-bridge: use --version, --standard-json or <files> --combined-json\n");
  process.exitCode = 2;
}

main();
