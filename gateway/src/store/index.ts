/** The store modules over one database, as the composition root hands them out. */
import { AlertStore } from './alerts.js'
import { AuditLog } from './audit.js'
import { atomically, type Db } from './db.js'
import { DeliveryStore } from './deliveries.js'
import { EventStore } from './events.js'
import { SilenceStore } from './silences.js'
import { WarningStore } from './warnings.js'

/** Every store module over one database, and its transaction. */
export interface Stores {
  readonly db: Db
  readonly warnings: WarningStore
  readonly alerts: AlertStore
  readonly silences: SilenceStore
  readonly audit: AuditLog
  readonly deliveries: DeliveryStore
  readonly events: EventStore
  /** Runs `fn` in one transaction (nested ones become savepoints); a throw rolls it all back. */
  atomically<T>(fn: () => T): T
}

export function storesOf(db: Db): Stores {
  return {
    db,
    warnings: new WarningStore(db),
    alerts: new AlertStore(db),
    silences: new SilenceStore(db),
    audit: new AuditLog(db),
    deliveries: new DeliveryStore(db),
    events: new EventStore(db),
    atomically: (fn) => atomically(db, fn),
  }
}
