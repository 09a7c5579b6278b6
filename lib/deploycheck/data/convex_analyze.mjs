// Analyzes pushed Convex modules the way the backend's isolate does: import each bundled
// module and read what the `convex/server` registration helpers attach to its exports
// (isQuery/isMutation/isAction, isPublic/isInternal, exportArgs(), exportReturns()), the
// schema's export(), the HTTP router's getRoutes() and the cron jobs' export().
// Usage: node convex_analyze.mjs <dir with the modules> <module path>...
// Prints one JSON object: {"modules": {path: analyzedModule}, "schema": ... | null}
// or {"error": message} (exit 1) when a module fails to load.
import { pathToFileURL } from "node:url";
import path from "node:path";

const [dir, ...paths] = process.argv.slice(2);

function udfType(fn) {
  if (fn.isQuery) return "Query";
  if (fn.isMutation) return "Mutation";
  if (fn.isAction) return "Action";
  return null;
}

function visibility(fn) {
  if (fn.isPublic) return { kind: "public" };
  if (fn.isInternal) return { kind: "internal" };
  return null;
}

async function analyze(modulePath) {
  const mod = await import(pathToFileURL(path.join(dir, modulePath)).href);
  const functions = [];
  let httpRoutes = null;
  let cronSpecs = null;
  for (const [name, value] of Object.entries(mod)) {
    if (value && typeof value === "function" && udfType(value)) {
      functions.push({
        name,
        pos: null,
        udfType: udfType(value),
        visibility: visibility(value),
        args: typeof value.exportArgs === "function" ? value.exportArgs() : null,
        returns: typeof value.exportReturns === "function" ? value.exportReturns() : null,
      });
    }
  }
  const fallback = mod.default;
  if (fallback && fallback.isRouter && typeof fallback.getRoutes === "function") {
    httpRoutes = fallback.getRoutes().map(([routePath, method]) => ({
      route: { path: routePath, method },
      pos: null,
    }));
  }
  if (fallback && fallback.isCrons && typeof fallback.export === "function") {
    cronSpecs = JSON.parse(fallback.export());
  }
  return { functions, httpRoutes, cronSpecs, sourceMapped: null };
}

async function main() {
  const out = { modules: {}, schema: null };
  for (const modulePath of paths) {
    try {
      if (modulePath === "schema.js") {
        const mod = await import(pathToFileURL(path.join(dir, modulePath)).href);
        if (!mod.default || typeof mod.default.export !== "function") {
          throw new Error("schema.js must export default defineSchema(...)");
        }
        out.schema = JSON.parse(mod.default.export());
      } else {
        out.modules[modulePath] = await analyze(modulePath);
      }
    } catch (err) {
      const message = err && err.stack ? String(err.stack).split("\n")[0] : String(err);
      process.stdout.write(JSON.stringify({ error: `Failed to analyze ${modulePath}: ${message}` }));
      process.exit(1);
    }
  }
  process.stdout.write(JSON.stringify(out));
}

await main();
