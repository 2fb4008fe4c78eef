// Builds the tiny browser app of bundlers.test.ts with a bundler's own JS API and NO configuration
// beyond what the brief allows, then prints one JSON line on stdout:
//   { warnings: string[], errors: string[], modules: string[], files: string[] }
// `modules` are the absolute (real) paths of the source files that went into the bundle, `files` the
// output files (relative to the output directory).
//
//   cd <projectDir> && node <repo>/test/bundlers/build-app.mjs vite      -> <projectDir>/dist
//   cd <projectDir> && node <repo>/test/bundlers/build-app.mjs webpack   -> <projectDir>/dist
//
// The project directory is the working directory, as when a user runs `npx vite build` or `npx webpack`
// in it (webpack's default context AND output.path are relative to process.cwd()). `vite` and
// `webpack` themselves resolve from this repository's devDependencies: bare imports in this file
// resolve relative to the file, not to the working directory.
// It runs in a child process rather than inside the vitest worker so that the bundlers see an
// ordinary environment: vitest sets NODE_ENV=test, which would change what a production build does.
import { existsSync, readdirSync } from 'node:fs';
import { relative, join } from 'node:path';

const [bundler] = process.argv.slice(2);
if (bundler !== 'vite' && bundler !== 'webpack') {
  console.error('usage: (cd <projectDir> && node build-app.mjs <vite|webpack>)');
  process.exit(2);
}
const dir = process.cwd();

function listFiles(root) {
  const out = [];
  if (!existsSync(root)) return out; // nothing emitted (webpack emits nothing when a module fails)
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(root, join(d, e.name)));
    }
  };
  walk(root);
  return out.sort();
}

async function buildVite() {
  const { build, createLogger } = await import('vite');
  const warnings = [];
  const errors = [];
  // Only observes: every warning and error Vite (and Rolldown/Rollup below it) logs is recorded.
  const base = createLogger('warn');
  const customLogger = {
    ...base,
    warn(msg, options) {
      warnings.push(msg);
      base.warn(msg, options);
    },
    warnOnce(msg, options) {
      warnings.push(msg);
      base.warnOnce(msg, options);
    },
    error(msg, options) {
      errors.push(msg);
      base.error(msg, options);
    },
  };
  // The configuration a user gets from `vite build` in a project without vite.config.*.
  const result = await build({ root: dir, configFile: false, logLevel: 'warn', customLogger });
  const outputs = Array.isArray(result) ? result : [result];
  const modules = new Set();
  for (const o of outputs) {
    for (const item of o.output) if (item.type === 'chunk') for (const id of item.moduleIds) modules.add(id);
  }
  return { warnings, errors, modules: [...modules], files: listFiles(join(dir, 'dist')) };
}

async function buildWebpack() {
  const { default: webpack } = await import('webpack');
  // The configuration a user gets from running `webpack --mode production --target web` in `dir`
  // with no webpack.config.js: entry ./src/index.js, output ./dist/main.js, `experiments` untouched.
  const compiler = webpack({ mode: 'production', target: 'web' });
  const stats = await new Promise((ok, fail) => compiler.run((err, s) => (err ? fail(err) : ok(s))));
  await new Promise((ok) => compiler.close(() => ok()));
  const json = stats.toJson({ all: false, warnings: true, errors: true, moduleTrace: true });
  const text = (w) => [w.moduleName, w.message].filter(Boolean).join(': ');
  const modules = new Set();
  const visit = (m) => {
    if (m.resource) modules.add(m.resource);
    for (const inner of m.modules ?? []) visit(inner); // modules concatenated into one scope
  };
  for (const m of stats.compilation.modules) visit(m);
  return {
    warnings: (json.warnings ?? []).map(text),
    errors: (json.errors ?? []).map(text),
    modules: [...modules],
    files: listFiles(join(dir, 'dist')),
  };
}

try {
  const result = bundler === 'vite' ? await buildVite() : await buildWebpack();
  process.stdout.write('\n' + JSON.stringify(result) + '\n');
} catch (e) {
  console.error(`${bundler} build failed:`, e);
  process.exit(1);
}
