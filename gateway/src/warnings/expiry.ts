/** How long a released version is valid: the one definition loudspeakers, resends and CAP use. */
import type { VersionRow } from './model.js'

/** Wall-clock time after which a version is never played (and its CAP alert's `expires`). */
export const expiresAt = (v: Pick<VersionRow, 'releasedAt' | 'createdAt'>, playableForMs: number): number =>
  (v.releasedAt ?? v.createdAt) + playableForMs
