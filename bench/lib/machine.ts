// How busy the machine was during a phase, and how much of that was someone else: the benchmarks share the
// host with other work, and a figure taken while another process ate the CPUs must say so.
// Linux only (/proc); elsewhere every figure is NaN.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

let ticksPerSecond: number | undefined;

/** USER_HZ (clock ticks per second in /proc), usually 100. */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** User + system CPU time of a process in ms, from /proc/PID/stat; NaN where unavailable. */
export function cpuTimeMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / clockTicks();
  } catch {
    return NaN;
  }
}

interface MachineTimes {
  busyMs: number;
  totalMs: number;
  stealMs: number;
}

function machineTimes(): MachineTimes {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1, 9)
      .map(Number) as [number, number, number, number, number, number, number, number];
    const ms = 1000 / clockTicks();
    const busy = user + nice + system + irq + softirq + steal;
    return { busyMs: busy * ms, totalMs: (busy + idle + iowait) * ms, stealMs: steal * ms };
  } catch {
    return { busyMs: NaN, totalMs: NaN, stealMs: NaN };
  }
}

export interface CpuShare {
  /** Percent of all CPUs' time that was busy during the phase. */
  machineBusyPct: number;
  /** Percent of all CPUs' time used by the benchmark's own processes. */
  ownPct: number;
  /** Percent of all CPUs' time used by anything else (other users' jobs, the kernel, steal). */
  otherPct: number;
}

/** Starts watching; the returned function ends the phase and returns the shares. `pids`: our children. */
export function watchCpu(pids: readonly number[] = []): () => CpuShare {
  const m0 = machineTimes();
  const self0 = process.cpuUsage();
  const kids0 = pids.map(cpuTimeMs);
  return () => {
    const m1 = machineTimes();
    const self = process.cpuUsage(self0);
    const kids = pids.map((p, i) => cpuTimeMs(p) - kids0[i]!).reduce((a, b) => a + b, 0);
    const own = (self.user + self.system) / 1000 + kids;
    const total = m1.totalMs - m0.totalMs;
    const busy = m1.busyMs - m0.busyMs;
    return {
      machineBusyPct: (100 * busy) / total,
      ownPct: (100 * own) / total,
      otherPct: Math.max(0, (100 * (busy - own)) / total),
    };
  };
}

export function loadAverage(): string {
  try {
    return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  } catch {
    return 'n/a';
  }
}

export function cpuCount(): number {
  return cpus().length;
}

/**
 * Samples the machine in `windowMs` windows until one where other processes used less than `thresholdPct` of
 * the CPUs, or until `maxWaitMs` has passed. Returns the last window's share of other processes.
 */
export async function waitForQuiet(
  maxWaitMs: number,
  thresholdPct: number,
  windowMs: number,
  progress?: (msg: string) => void,
): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const stop = watchCpu();
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const other = stop().otherPct;
    if (!(other >= thresholdPct) || Date.now() + windowMs > deadline) return other;
    progress?.(`other processes are using ${other.toFixed(0)}% of the CPUs; waiting for a quieter moment`);
  }
}
