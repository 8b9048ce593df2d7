/**
 * Linux /proc readers for the benchmark: per-process and per-thread CPU time, RSS, children,
 * machine idle time, UDP socket drops per process, and the machine description.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { availableParallelism, totalmem } from 'node:os';

// USER_HZ: /proc reports CPU time in clock ticks; 100 on every Linux this runs on.
const TICKS_PER_S = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

function statFields(path: string): string[] | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  // The comm field may contain spaces and parentheses: split after the last ')'.
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** CPU time (user + system, all threads) of a process in microseconds; undefined once it is gone. */
export function cpuMicros(pid: number): number | undefined {
  const f = statFields(`/proc/${pid}/stat`);
  if (!f) return undefined;
  // Fields 14 and 15 (utime, stime) are at index 11 and 12 after pid and comm are removed.
  return ((Number(f[11]) + Number(f[12])) * 1e6) / TICKS_PER_S;
}

/** CPU time of a process's main thread only (its JS thread for node) in microseconds. */
export function mainThreadCpuMicros(pid: number): number | undefined {
  const f = statFields(`/proc/${pid}/task/${pid}/stat`);
  if (!f) return undefined;
  return ((Number(f[11]) + Number(f[12])) * 1e6) / TICKS_PER_S;
}

/** Resident set size in bytes (VmRSS). */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Number of threads of a process. */
export function threadCount(pid: number): number | undefined {
  try {
    const m = /^Threads:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** PIDs of a process's direct children (pgrep -P). */
export function childPids(pid: number): number[] {
  const r = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8', timeout: 2000 });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}

/** The command name of a process (comm). */
export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Aggregate machine CPU counters from /proc/stat, in ticks. */
export interface MachineCpu {
  busy: number;
  total: number;
}

/** Reads the machine-wide CPU counters. */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  return inodes;
}

/**
 * Datagrams the kernel dropped on a process's UDP sockets (receive buffer full), summed from the
 * `drops` column of /proc/net/udp: it tells whose socket lost packets, whepd's or the receivers'.
 */
export function udpDrops(pid: number): { sockets: number; drops: number } {
  const mine = socketInodes(pid);
  let sockets = 0;
  let drops = 0;
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 13) continue;
      if (!mine.has(cols[9] ?? '')) continue;
      sockets++;
      drops += Number(cols[12] ?? 0);
    }
  }
  return { sockets, drops };
}

/** What the docs print about the machine. */
export interface MachineInfo {
  cpus: number;
  model: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  ffmpeg: string;
  nodeDataChannel: string;
}

/** Describes this machine and the tool versions. */
export function machineInfo(ffmpegPath: string): MachineInfo {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const ff = spawnSync(ffmpegPath, ['-version'], { encoding: 'utf8', timeout: 5000 }).stdout.split('\n')[0] ?? '';
  let ndc = 'unknown';
  try {
    ndc = (JSON.parse(readFileSync('node_modules/node-datachannel/package.json', 'utf8')) as { version: string }).version;
  } catch {
    // not installed where expected
  }
  return {
    cpus: availableParallelism(),
    model,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    ffmpeg: /^ffmpeg version (\S+)/.exec(ff)?.[1] ?? (ff || 'unknown'),
    nodeDataChannel: ndc,
  };
}
