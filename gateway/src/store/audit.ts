/** The append-only audit log: who did what and when (the triggers refuse changes and deletions). */
import type { AuditRow } from '../warnings/model.js'
import type { Db } from './db.js'

export class AuditLog {
  constructor(private readonly db: Db) {}

  audit(at: number, actor: string, action: string, subject: string, detail: unknown): void {
    this.db
      .prepare('INSERT INTO audit_log (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)')
      .run(at, actor, action, subject, JSON.stringify(detail))
  }

  auditLog(filter: { subject?: string | undefined; action?: string | undefined; limit: number }): AuditRow[] {
    const where: string[] = []
    const args: unknown[] = []
    if (filter.subject !== undefined) {
      where.push('subject = ?')
      args.push(filter.subject)
    }
    if (filter.action !== undefined) {
      where.push('action = ?')
      args.push(filter.action)
    }
    return (
      this.db
        .prepare(
          `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        )
        .all(...args, filter.limit) as Record<string, unknown>[]
    ).map((r) => ({
      id: r.id as number,
      at: r.at as number,
      actor: r.actor as string,
      action: r.action as string,
      subject: r.subject as string,
      detail: JSON.parse(r.detail as string) as unknown,
    }))
  }
}
