import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuPercents, parseCpuTimes, parseDiskstats, parseMeminfo, parseNetDev, parsePidStat, rate, realMounts } from '../../../agent/sense/proc-parse.ts';

test('cpu percentages come from deltas of the aggregate line', () => {
  const a = parseCpuTimes('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3 4\n');
  const b = parseCpuTimes('cpu  160 0 70 880 90 0 0 0 0 0\n');
  const p = cpuPercents(a, b); // dt = 200: user 60, system 20, iowait 40
  assert.equal(p.user, 30);
  assert.equal(p.system, 10);
  assert.equal(p.iowait, 20);
  assert.deepEqual(cpuPercents(b, b), { user: 0, system: 0, iowait: 0 });
});

test('meminfo: used % from MemAvailable, swap 0 when there is none', () => {
  const m = parseMeminfo('MemTotal:       1000 kB\nMemFree: 100 kB\nMemAvailable:    250 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n');
  assert.equal(m.memUsedPct, 75);
  assert.equal(m.swapUsedPct, 0);
  assert.equal(m.memTotalBytes, 1_024_000);
  assert.equal(parseMeminfo('MemTotal: 100 kB\nMemAvailable: 50 kB\nSwapTotal: 200 kB\nSwapFree: 50 kB').swapUsedPct, 75);
});

test('diskstats sums whole disks only, in bytes', () => {
  const text = [
    '   8       0 sda 100 0 2000 0 50 0 4000 0 0 0 0 0 0 0 0 0 0',
    '   8       1 sda1 100 0 2000 0 50 0 4000 0 0 0 0 0 0 0 0 0 0',
    '   7       0 loop0 1 0 999 0 1 0 999 0 0 0 0 0 0 0 0 0 0',
  ].join('\n');
  assert.deepEqual(parseDiskstats(text, new Set(['sda'])), { read: 2000 * 512, write: 4000 * 512 });
});

test('net/dev excludes loopback', () => {
  const text = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 5000 10 0 0 0 0 0 0 5000 10 0 0 0 0 0 0
  eth0: 1200 10 0 0 0 0 0 0 3400 10 0 0 0 0 0 0
  wlan0:100 1 0 0 0 0 0 0 200 1 0 0 0 0 0 0`;
  assert.deepEqual(parseNetDev(text), { rx: 1300, tx: 3600 });
});

test('pid stat survives a process name with spaces and parentheses', () => {
  const s = '1234 (my (evil) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000000 321 18446744073709551615';
  assert.deepEqual(parsePidStat(s), { ticks: 300, rssPages: 321, comm: 'my (evil) proc' });
});

test('only real filesystems count as disks; escaped paths are decoded', () => {
  const mounts = [
    '/dev/vda / ext4 rw 0 0',
    'proc /proc proc rw 0 0',
    'tmpfs /run tmpfs rw 0 0',
    'overlay /var/lib/docker/x overlay rw 0 0',
    '/dev/sdb1 /mnt/my\\040disk xfs rw 0 0',
    '/dev/loop0 /snap/core squashfs ro 0 0',
  ].join('\n');
  assert.deepEqual(realMounts(mounts), ['/', '/mnt/my disk']);
});

test('rates: per second, and 0 when a counter goes backwards (reset or wrap)', () => {
  assert.equal(rate(1000, 3000, 2), 1000);
  assert.equal(rate(3000, 1000, 1), 0);
  assert.equal(rate(0, 10, 0), 0);
});
