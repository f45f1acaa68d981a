/**
 * The WAL checkpointer: the gateway's connection never checkpoints (no stall on its thread); a
 * worker thread copies the WAL into the database file; if the worker fails, automatic checkpoints
 * come back on.
 */
import { mkdtempSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { startCheckpointer } from '../../../gateway/src/store/checkpointer.js'
import { dbFile, openDb } from '../../../gateway/src/store/db.js'
import { until } from '../../helpers/wait.js'

test('a worker checkpoints the WAL into the database file; the gateway connection never does', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shaobing-ckpt-'))
  const db = openDb({ dataDir, synchronous: 'normal' })
  const errors: string[] = []
  const ck = startCheckpointer(db, dbFile(dataDir), 50, (m) => errors.push(m))
  try {
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(0)
    const before = statSync(dbFile(dataDir)).size
    const insert = db.prepare(
      'INSERT INTO readings (station_id, sensor_id, kind, ts, seq, received_at, vals) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    db.transaction(() => {
      for (let i = 0; i < 20_000; i++) insert.run('S', 's', 'rain', i, i, 0, '{"rain_mm":0.5}')
    })()
    // Nothing on this connection checkpoints: the database file grows only by the worker's hand.
    await until(
      () => statSync(dbFile(dataDir)).size,
      (size) => size > before + 500_000,
      'the WAL checkpointed into the database file',
    )
    expect(errors).toEqual([])
  } finally {
    await ck.stop()
    db.close()
  }
})

test('a WAL past its limit is rewound and its file truncated back to the limit', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shaobing-ckpt-'))
  const db = openDb({ dataDir, synchronous: 'normal' })
  const limit = 256 * 1024
  const ck = startCheckpointer(db, dbFile(dataDir), 50, () => undefined, limit)
  const wal = () => statSync(dbFile(dataDir) + '-wal').size
  try {
    const insert = db.prepare(
      'INSERT INTO readings (station_id, sensor_id, kind, ts, seq, received_at, vals) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
    db.transaction(() => {
      for (let i = 0; i < 20_000; i++) insert.run('S', 's', 'rain', i, i, 0, '{"rain_mm":0.5}')
    })()
    expect(wal()).toBeGreaterThan(4 * limit)
    // A PASSIVE checkpoint alone leaves the file at its high-water mark for good; past the limit the
    // worker rewinds the WAL, and the next commit starts it over and truncates the file.
    let i = 20_000
    await until(
      () => (insert.run('S', 's', 'rain', i, i++, 0, '{"rain_mm":0.5}'), wal()),
      (size) => size <= limit,
      'the WAL file back under its limit',
    )
  } finally {
    await ck.stop()
    db.close()
  }
})

test('a checkpointer that cannot open the database reports it and turns automatic checkpoints back on', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'shaobing-ckpt-'))
  const db = openDb({ dataDir, synchronous: 'normal' })
  const errors: string[] = []
  const ck = startCheckpointer(db, join(dataDir, 'no/such/dir/x.db'), 50, (m) => errors.push(m))
  try {
    await until(
      () => errors.length,
      (n) => n > 0,
      'the failure reported',
    )
    expect(errors[0]).toMatch(/directory|unable to open/i)
    expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000)
  } finally {
    await ck.stop()
    db.close()
  }
})
