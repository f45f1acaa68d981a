/**
 * A gateway in a child process, started on free loopback ports; resolves once it logs "gateway
 * ready". Tests run it from source (tsx); benchmarks from the build, as `shaobing start` runs.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { enrollTestDevices } from './devices.js'

const ROOT = join(import.meta.dirname, '../..')

export interface ChildGateway {
  readonly proc: ChildProcess
  readonly mqttPort: number
  readonly httpPort: number
  readonly mqttUrl: string
  readonly httpUrl: string
  readonly logs: Record<string, unknown>[]
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

export interface ChildOptions {
  /** `source` (default) runs the TypeScript through tsx; `built` runs bin/shaobing.js (npm run build first). */
  readonly entry?: 'source' | 'built'
  /** Node flags for the child, e.g. --cpu-prof. */
  readonly nodeArgs?: readonly string[]
  readonly extraArgs?: readonly string[]
  /** Environment variables added to the child's. */
  readonly env?: Readonly<Record<string, string>>
  readonly readyTimeoutMs?: number
  /** Enrolls the test devices first (default); false when the caller provisioned identities itself. */
  readonly enroll?: boolean
}

/** Enrolls the test devices of the configuration's registry (unless told not to), then starts the gateway process. */
export async function startChildGateway(config: string, opts: ChildOptions = {}): Promise<ChildGateway> {
  if (opts.enroll !== false) await enrollTestDevices(config)
  const entry =
    opts.entry === 'built'
      ? [join(ROOT, 'bin/shaobing.js')]
      : ['--import', 'tsx', join(ROOT, 'tests/helpers/gateway-process.ts')]
  const proc = spawn(
    process.execPath,
    [
      ...(opts.nodeArgs ?? []),
      ...entry,
      'start',
      '--config',
      config,
      '--mqtt-port',
      '0',
      '--ws-port',
      '0',
      '--http-port',
      '0',
      ...(opts.extraArgs ?? []),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } },
  )
  const logs: Record<string, unknown>[] = []
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL') // never leave a half-started gateway behind
      reject(new Error(`gateway did not start:\n${stderr}`))
    }, opts.readyTimeoutMs ?? 20_000)
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      let entry: Record<string, unknown>
      try {
        entry = JSON.parse(line) as Record<string, unknown>
      } catch {
        return
      }
      logs.push(entry)
      if (entry.msg === 'gateway ready') {
        clearTimeout(timer)
        resolve({
          proc,
          mqttPort: Number(entry.mqttPort),
          httpPort: Number(entry.httpPort),
          mqttUrl: `mqtt://127.0.0.1:${String(entry.mqttPort)}`,
          httpUrl: `http://127.0.0.1:${String(entry.httpPort)}`,
          logs,
          exited,
        })
      }
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`gateway exited (${code ?? signal}) before it was ready:\n${stderr}`))
    })
  })
}

/** A registry with `n` water-level stations in one village, for load-shaped tests. */
export function gaugeRegistry(n: number): string {
  const lines = [
    'regions:',
    "  - { code: '511823000000', name: 示范县, level: county }",
    "  - { code: '511823100000', name: 河口镇, level: township }",
    "  - { code: '511823100201', name: 柳湾村, level: village }",
    'stations:',
  ]
  for (let i = 0; i < n; i++) {
    const id = String(i).padStart(5, '0')
    lines.push(
      `  - { id: WL-${id}, name: gauge ${id}, region: '511823100201', params: { warning_level: 32.5, guaranteed_level: 34.0, historical_max_level: 35.2 }, sensors: [{ id: wl-${id}, kind: water_level }] }`,
    )
  }
  lines.push('terminals:', "  - { id: T-1, region: '511823100201' }")
  return lines.join('\n') + '\n'
}
