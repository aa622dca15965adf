// The form says what the command line says: every chalet of every given content folder is
// checked by the WebAssembly checker and by `chalet check`, and their messages must be the same,
// byte for byte, in the same order.
//
//   node form/tests/compare.mjs <checker.wasm> <chalet binary> <themes dir> <content dir>…
import { readFileSync, readdirSync, statSync, existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, dirname, basename, resolve } from "node:path";
import { spawnSync } from "node:child_process";
// The page's own script (the theme's apply.js) wraps the checker: imported as a module here.
const applyJs = readFileSync(new URL("../../themes/default/static/apply.js", import.meta.url));
const { checker } = await import(`data:text/javascript;base64,${applyJs.toString("base64")}`);

const [wasmPath, bin, themesDir, ...contents] = process.argv.slice(2);
const [chaletBin, themes] = [resolve(bin), resolve(themesDir)];
const { instance } = await WebAssembly.instantiate(readFileSync(wasmPath), {});
const form = checker(instance);

const TEXT = /\.(md|ya?ml|markdown|mdown)$/;
function filesOf(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith(".")) continue;
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const path = relative(dir, p).split("\\").join("/");
        const bytes = readFileSync(p);
        out.push(TEXT.test(name) ? { path, text: bytes.toString("utf8") } : { path, base64: bytes.toString("base64") });
      }
    }
  };
  walk(dir);
  return out;
}

/** `chalet check`'s output cut into one block per diagnostic (its hint lines included). */
function cliBlocks(content) {
  // A test fixture gets a cache of its own, so it stays as committed; any other market (the
  // example) its usual one, warm from the build before (a cold check encodes every photo).
  const fixture = resolve(content).split("\\").join("/").includes("/tests/fixtures/");
  const cache = mkdtempSync(join(tmpdir(), "chalet-form-compare-"));
  const args = ["check", "--content", basename(content), "--themes", themes, ...(fixture ? ["--cache", cache] : [])];
  const run = spawnSync(chaletBin, args, {
    cwd: dirname(content),
    encoding: "utf8",
  });
  rmSync(cache, { recursive: true, force: true });
  if (run.error) throw run.error;
  // 0: no errors, 1: content errors; anything else (a crash, a signal) compares nothing.
  if (run.status !== 0 && run.status !== 1) {
    throw new Error(`chalet check on ${content} ended with ${run.status ?? run.signal}:\n${run.stderr}`);
  }
  const blocks = [];
  for (const line of run.stderr.split("\n")) {
    if (/^content\/.*:\d+:\d+: /.test(line)) blocks.push([line]);
    else if (line.startsWith("    ") && blocks.length) blocks[blocks.length - 1].push(line);
  }
  return blocks.map((b) => b.join("\n"));
}

let passed = 0, failed = 0, compared = 0;
for (const content of contents) {
  const chalets = join(content, "chalets");
  if (!existsSync(join(content, "market.yaml")) || !existsSync(chalets)) continue;
  const market = readFileSync(join(content, "market.yaml"), "utf8");
  const cli = cliBlocks(content);
  for (const slug of readdirSync(chalets).sort()) {
    if (slug.startsWith(".") || !statSync(join(chalets, slug)).isDirectory()) continue;
    const name = `${relative(process.cwd(), content)}/chalets/${slug}`;
    const answer = form.call({ op: "check", market, slug, files: filesOf(join(chalets, slug)) });
    const expected = cli.filter((b) => b.startsWith(`content/chalets/${slug}/`));
    const got = answer.error ? [`error: ${answer.error}`] : answer.diagnostics.map((d) => d.text);
    if (JSON.stringify(got) === JSON.stringify(expected)) {
      passed++;
      compared += expected.length;
      console.log(`ok ${name} (${expected.length} messages)`);
    } else {
      failed++;
      console.log(`FAILED ${name}\n  chalet check:\n    ${expected.join("\n    ")}\n  the form:\n    ${got.join("\n    ")}`);
    }
  }
}
// A comparison of empty lists proves nothing: the fixtures must give the checker work.
if (compared < 20) {
  console.log(`only ${compared} messages compared: the fixtures no longer exercise the checker`);
  failed++;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
