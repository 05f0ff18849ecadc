import assert from 'node:assert/strict';
import { existsSync, lstatSync, lutimesSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import type { FsSpace } from '../../../../agent/heal/actions/clean-dir.ts';
import type { Action } from '../../../../shared/policy/actions.ts';
import { LocalActionExecutor } from '../../../../agent/heal/actions/executor-impl.ts';

let base = '';
let root = '';
let outside = '';
const now = Date.now();
const hoursAgo = (h: number) => (now - h * 3_600_000) / 1000;

/** Writes a file of `size` bytes with an mtime `ageH` hours ago. */
function file(path: string, size: number, ageH: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, Buffer.alloc(size, 120));
  utimesSync(path, hoursAgo(ageH), hoursAgo(ageH));
}

beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'homeostat-clean-'));
  root = join(base, 'allowed');
  outside = join(base, 'outside');
  file(join(outside, 'secret.txt'), 50, 10);
  file(join(outside, 'old-outside.log'), 50, 10);
  file(join(root, 'a.log'), 100, 3);
  file(join(root, 'b.log'), 200, 2);
  file(join(root, 'fresh.log'), 300, 0);
  file(join(root, 'sub', 'c.log'), 400, 4);
  // A link to a file outside, and a link to a whole directory outside: both old.
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-to-secret'));
  lutimesSync(join(root, 'link-to-secret'), hoursAgo(5), hoursAgo(5));
  symlinkSync(outside, join(root, 'link-to-outside-dir'));
  lutimesSync(join(root, 'link-to-outside-dir'), hoursAgo(6), hoursAgo(6));
});

afterEach(() => rmSync(base, { recursive: true, force: true }));

const ctx = (dryRun = false) => ({ signal: AbortSignal.timeout(30_000), dryRun, correlationId: 'test' });
const clean = (path: string, extra: Partial<Extract<Action, { type: 'clean_dir' }>> = {}): Action => ({ type: 'clean_dir', path, olderThanSec: 3600, ...extra });
const left = () => listAll(root).sort();

function listAll(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(relative(root, p));
    if (e.isDirectory()) out.push(...listAll(p));
  }
  return out;
}

test('deletes only old files inside the root, oldest first; links go as links, their targets stay; the root and its subdirectories stay', async () => {
  const ex = new LocalActionExecutor({ cleanDirs: [{ path: root }] });
  const out = await ex.execute(clean(root), ctx());
  assert.equal(out.ok, true, out.detail);
  const d = out.data as { deleted: string[]; files: number; bytes: number; stoppedBecause: string };
  assert.deepEqual(
    d.deleted.map((p) => relative(root, p)),
    ['link-to-outside-dir', 'link-to-secret', 'sub/c.log', 'a.log', 'b.log'],
  );
  assert.equal(d.files, 5);
  assert.equal(d.stoppedBecause, 'no_more_old_files');
  assert.deepEqual(left(), ['fresh.log', 'sub']);
  assert.equal(readFileSync(join(outside, 'secret.txt'), 'utf8').length, 50, 'the link target is untouched');
  assert.ok(existsSync(join(outside, 'old-outside.log')), 'nothing was followed through the directory link');
  assert.ok(statSync(root).isDirectory());
  assert.deepEqual(await ex.targetState(clean(root)), { healthy: true, detail: `${root}: 0 file(s) older than 3600 s` });
});

test('refuses a path outside the allow-list, a symlink inside that points outside, and a relative path', async () => {
  const ex = new LocalActionExecutor({ cleanDirs: [{ path: root }] });
  const out = await ex.execute(clean(outside), ctx());
  assert.equal(out.ok, false);
  assert.match(out.detail, /is not inside an allow-listed directory \(allowed: .*allowed\)/);
  const escape = await ex.execute(clean(join(root, 'link-to-outside-dir')), ctx());
  assert.equal(escape.ok, false);
  assert.match(escape.detail, new RegExp(`really ${outside}\\) is not inside`));
  const rel = await ex.execute(clean('allowed'), ctx());
  assert.equal(rel.ok, false);
  assert.match(rel.detail, /is not absolute/);
  assert.equal(readdirSync(outside).length, 2);
  assert.equal(left().length, 7, 'nothing deleted anywhere');
  const none = await new LocalActionExecutor().execute(clean(root), ctx());
  assert.match(none.detail, /allowed: none/);
});

test('a subdirectory of an allowed root is allowed; an allowed root reached through a symlink means its target', async () => {
  const viaLink = join(base, 'link-to-allowed');
  symlinkSync(root, viaLink);
  const ex = new LocalActionExecutor({ cleanDirs: [{ path: viaLink }] });
  const out = await ex.execute(clean(join(root, 'sub')), ctx());
  assert.equal(out.ok, true, out.detail);
  assert.deepEqual(left(), ['a.log', 'b.log', 'fresh.log', 'link-to-outside-dir', 'link-to-secret', 'sub']);
});

test('stops before maxDeleteBytes would be passed; the root\'s own ceiling wins when smaller', async () => {
  const ex = new LocalActionExecutor({ cleanDirs: [{ path: root, maxDeleteBytes: 10_000 }] });
  // Oldest first: the two links (0 bytes: they hold no data), c.log 400, a.log 100, b.log 200.
  const out = await ex.execute(clean(root, { maxDeleteBytes: 500 }), ctx());
  const d = out.data as { deleted: string[]; bytes: number; stoppedBecause: string };
  assert.deepEqual(d.deleted.map((p) => relative(root, p)), ['link-to-outside-dir', 'link-to-secret', 'sub/c.log', 'a.log']);
  assert.equal(d.stoppedBecause, 'max_bytes');
  assert.equal(d.bytes, 500);
  const capped = new LocalActionExecutor({ cleanDirs: [{ path: root, maxDeleteBytes: 1 }] });
  const c = await capped.execute(clean(root, { maxDeleteBytes: 1_000_000 }), ctx());
  assert.deepEqual([(c.data as { bytes: number }).bytes, (c.data as { stoppedBecause: string }).stoppedBecause], [0, 'max_bytes']);
  assert.ok(existsSync(join(root, 'b.log')), 'the 1-byte ceiling of the root kept the remaining old file');
});

test('with targetFreePct, deletes oldest first only until the filesystem reaches the target', async () => {
  // A modelled 2000-byte disk whose used space is the regular files the root really holds now: deletions really free it.
  const used = () => listAll(root).reduce((s, p) => { const st = lstatSync(join(root, p), { throwIfNoEntry: false }); return s + (st?.isFile() ? st.size : 0); }, 0);
  const statfs = (): FsSpace => ({ bsize: 1, blocks: 2000, bfree: 2000 - used(), bavail: 2000 - used() });
  // Files hold 1000 bytes (50% free). 75% free needs 500 bytes gone: the links (0 bytes on this model), c.log (400), a.log (100).
  const ex = new LocalActionExecutor({ cleanDirs: [{ path: root }], clean: { statfs } });
  const out = await ex.execute(clean(root, { targetFreePct: 75 }), ctx());
  assert.equal(out.ok, true, out.detail);
  const d = out.data as { deleted: string[]; stoppedBecause: string; freePctBefore: number; freePctAfter: number };
  assert.deepEqual(d.deleted.map((p) => relative(root, p)), ['link-to-outside-dir', 'link-to-secret', 'sub/c.log', 'a.log']);
  assert.equal(d.stoppedBecause, 'target_reached');
  assert.deepEqual([d.freePctBefore, d.freePctAfter], [50, 75]);
  assert.ok(existsSync(join(root, 'b.log')), 'b.log was old but no longer needed');
  assert.equal((await ex.targetState(clean(root, { targetFreePct: 75 }))).healthy, true);
  assert.equal((await ex.targetState(clean(root, { targetFreePct: 90 }))).healthy, false);
  const unreachable = await ex.execute(clean(root, { targetFreePct: 99 }), ctx());
  assert.equal(unreachable.ok, false, 'target not reachable with old files only');
  assert.deepEqual(left(), ['fresh.log', 'sub']);
});

test('dry-run with targetFreePct estimates from the bytes it would free, and deletes nothing', async () => {
  const used = () => listAll(root).reduce((s, p) => { const st = lstatSync(join(root, p), { throwIfNoEntry: false }); return s + (st?.isFile() ? st.size : 0); }, 0);
  const statfs = (): FsSpace => ({ bsize: 1, blocks: 2000, bfree: 2000 - used(), bavail: 2000 - used() });
  const ex = new LocalActionExecutor({ cleanDirs: [{ path: root }], clean: { statfs } });
  const out = await ex.execute(clean(root, { targetFreePct: 75 }), ctx(true));
  const d = out.data as { deleted: string[]; stoppedBecause: string; freePctAfter: number };
  assert.deepEqual(d.deleted.map((p) => relative(root, p)), ['link-to-outside-dir', 'link-to-secret', 'sub/c.log', 'a.log']);
  assert.deepEqual([d.stoppedBecause, d.freePctAfter], ['target_reached', 75]);
  assert.equal(left().length, 7);
});

test('dry-run reports what would go and deletes nothing', async () => {
  const ex = new LocalActionExecutor({ cleanDirs: [{ path: root }] });
  const out = await ex.execute(clean(root), ctx(true));
  assert.equal(out.ok, true);
  assert.match(out.detail, /^would delete 5 file\(s\)/);
  assert.equal(out.data!.dryRun, true);
  assert.equal(left().length, 7);
  assert.equal((await ex.targetState(clean(root))).healthy, false);
});
