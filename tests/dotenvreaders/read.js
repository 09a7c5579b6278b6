// Reads dotenv files the way the app's own tools do and prints what each one sees, as JSON.
// stdin: [{"path": "/abs/dir/.env.local", "reader": "dotenv" | "@next/env" | "wrangler"}, ...]
// stdout: [{"key": "value", ...}, ...] in the same order.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const readers = {
  // Node's dotenv, as `require("dotenv").config()` / the Convex CLI read .env.local
  dotenv: (file) => require("dotenv").parse(fs.readFileSync(file)),
  // wrangler dev: dotenv.parse(contents) of .dev.vars (packages/wrangler/src/dev/dev-vars.ts)
  wrangler: (file) => require("wrangler-dotenv").parse(fs.readFileSync(file, "utf8")),
  // Next.js: loadEnvConfig(dir, dev) reads .env.local (then expands), as `next dev` does
  "@next/env": (file) => {
    const { loadEnvConfig } = require("@next/env");
    const quiet = { info() {}, error() {}, warn() {}, log() {} };
    return loadEnvConfig(path.dirname(file), true, quiet, true).parsedEnv;
  },
};

const requests = JSON.parse(fs.readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(requests.map(({ path: file, reader }) => readers[reader](file))));
