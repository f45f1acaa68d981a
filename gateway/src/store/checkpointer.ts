/**
 * WAL checkpoints off the event loop. SQLite checkpoints automatically in whichever connection
 * commits when the WAL passes 1,000 pages, and that commit then copies the WAL into the database
 * file before returning: a stall of several milliseconds on the gateway's only thread, felt as a
 * late PUBACK or a late loudspeaker command. Here the gateway's connection never checkpoints; a
 * worker thread with its own connection runs PASSIVE checkpoints (which never block the writer)
 * every `everyMs`. Should the worker fail, automatic checkpoints are switched back on.
 *
 * A PASSIVE checkpoint never rewinds the WAL: SQLite starts it over from the beginning only when a
 * writer begins after a checkpoint that copied every frame. Under a steady load the gateway commits
 * (every few ms) while the worker copies, so that moment can fail to come for minutes and the WAL
 * grows (the soak, bench/soak.ts, saw 51 → 187 MB in 45 s at 500 readings/s with 8 MB of data);
 * and it never shrinks by itself. So once the WAL holds more than `walLimitBytes`, the worker runs
 * one RESTART checkpoint right after the PASSIVE one (only the frames written meanwhile are left
 * to copy, so the writer waits a few milliseconds, once per `walLimitBytes` written), and
 * `journal_size_limit` truncates the file back to that size each time the WAL starts over.
 */
import { once } from 'node:events'
import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'
import type { Db } from './db.js'

/** The worker, as CommonJS source (so it runs the same from the TypeScript sources and the build). */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.module)
const db = new Database(workerData.file)
db.pragma('busy_timeout = 5000')
const pageSize = db.pragma('page_size', { simple: true })
const checkpoint = () => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)')
    if (r && r.log * pageSize > workerData.walLimitBytes) db.pragma('wal_checkpoint(RESTART)')
  } catch (e) {
    parentPort.postMessage({ error: String((e && e.message) || e) })
  }
}
const timer = setInterval(checkpoint, workerData.everyMs)
parentPort.on('message', () => {
  clearInterval(timer)
  checkpoint()
  db.close()
  parentPort.close()
})
`

export interface Checkpointer {
  /** Runs a last checkpoint and ends the worker. */
  stop(): Promise<void>
}

/** The WAL size past which the worker rewinds it (and to which its file is truncated). */
export const WAL_LIMIT_BYTES = 64 * 1024 * 1024

export function startCheckpointer(
  db: Db,
  file: string,
  everyMs: number,
  onError: (message: string) => void,
  walLimitBytes = WAL_LIMIT_BYTES,
): Checkpointer {
  db.pragma('wal_autocheckpoint = 0')
  db.pragma(`journal_size_limit = ${Math.floor(walLimitBytes)}`)
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: {
      file,
      everyMs,
      walLimitBytes,
      module: createRequire(import.meta.url).resolve('better-sqlite3'),
    },
  })
  const fallBack = (message: string) => {
    onError(message)
    if (db.open) db.pragma('wal_autocheckpoint = 1000')
  }
  worker.on('message', (m: { error?: string }) => {
    if (m.error !== undefined) onError(m.error)
  })
  worker.on('error', (e) => fallBack(e.message))
  let exited = false
  worker.once('exit', () => (exited = true))
  return {
    async stop() {
      if (exited) return
      worker.postMessage('stop')
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 2000).unref())
      await Promise.race([once(worker, 'exit').then(() => undefined), timeout])
      if (!exited) await worker.terminate()
    },
  }
}
