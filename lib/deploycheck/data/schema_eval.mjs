// Bundle a Convex schema.ts the way the Convex CLI does (src/bundler/debugBundle.ts
// innerEsbuild: bundle, platform "browser", format "esm", conditions ["convex", "module"],
// server-only stubbed), evaluate the bundle, and print defineSchema(...)'s export():
// the JSON the CLI sends to the deployment.
//
// usage: node schema_eval.mjs ESBUILD_DIR ENTRY NODE_MODULES OUT_DIR
// prints one JSON line: {"schema": <export()>, "inputs": [...]} or {"error": "..."}.
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [esbuildDir, entry, nodeModules, outDir] = process.argv.slice(2);

function fail(message) {
  process.stdout.write(JSON.stringify({ error: message }) + "\n");
  process.exit(1);
}

let esbuild;
try {
  esbuild = createRequire(path.join(esbuildDir, "package.json"))(esbuildDir);
} catch (err) {
  fail(`esbuild could not be loaded from ${esbuildDir}: ${err.message}`);
}

const serverOnly = {
  name: "server-only-stub",
  setup(build) {
    build.onResolve({ filter: /^server-only$/ }, (args) => ({ path: args.path, namespace: "server-only-stub" }));
    build.onLoad({ filter: /.*/, namespace: "server-only-stub" }, () => ({ contents: "", loader: "js" }));
  },
};

let result;
try {
  result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "esnext",
    jsx: "automatic",
    conditions: ["convex", "module"],
    nodePaths: [nodeModules],
    plugins: [serverOnly],
    write: false,
    metafile: true,
    logLevel: "silent",
    outdir: outDir,
  });
} catch (err) {
  const errors = (err.errors || []).map((e) => {
    const where = e.location ? `${e.location.file}:${e.location.line}:${e.location.column + 1}: ` : "";
    return `${where}${e.text}`;
  });
  fail(`esbuild: ${errors.join("; ") || err.message}`);
}

const out = path.join(outDir, "schema.bundle.mjs");
writeFileSync(out, result.outputFiles.find((f) => f.path.endsWith(".js")).text);
let module;
try {
  module = await import(pathToFileURL(out).href);
} catch (err) {
  fail(`evaluating the bundled schema failed: ${err && err.stack ? err.stack.split("\n").slice(0, 3).join(" ") : err}`);
}
const schema = module.default;
if (!schema || typeof schema.export !== "function") {
  fail("the default export of schema.ts is not defineSchema(...)");
}
let exported;
try {
  exported = JSON.parse(schema.export());
} catch (err) {
  fail(`defineSchema(...).export() failed: ${err.message}`);
}
process.stdout.write(JSON.stringify({ schema: exported, inputs: Object.keys(result.metafile.inputs) }) + "\n");
