/** The play command a loudspeaker terminal receives for a version (`terminals/{id}/cmd`). */
import { isAlarmStage, rank, type Level } from '../../../../rules/src/index.js'
import type { TerminalCommand } from '../../contracts/payloads.js'
import type { Policy } from '../../dissemination/policy.js'
import type { Registry } from '../../registry/registry.js'
import type { VersionRow, WarningRow } from '../../warnings/model.js'
import { localizedText } from '../../warnings/text.js'

/**
 * Emergency content pre-empts routine broadcasts; higher levels pre-empt lower. A gas alarm's
 * second stage calls for evacuation like a red warning, its first stage for action like orange.
 */
export const priorityOf = (level: Level): number =>
  100 + 10 * (isAlarmStage(level) ? rank(level) + 2 : rank(level))

export function playCommand(
  registry: Registry,
  policy: Policy,
  w: Pick<WarningRow, 'id' | 'hazard' | 'targets'>,
  v: Pick<VersionRow, 'action' | 'level' | 'prevLevel' | 'text' | 'version'>,
  o: { expiresAt: number; language: string; round: number; repeat: number; sentAt: number },
): TerminalCommand {
  const level = v.level ?? v.prevLevel!
  // A terminal in a minority-language area reads the template in its language where one exists.
  const localized = localizedText(o.language, {
    action: v.action,
    level: v.level,
    prevLevel: v.prevLevel,
    hazard: w.hazard,
    // Only a template reads the place: named lazily, not for every Mandarin terminal.
    place: () => w.targets.map((t) => registry.placeName(t, o.language)).join('، '),
  })
  return {
    action: 'play',
    warningId: w.id,
    version: v.version,
    kind: v.action,
    level,
    hazard: w.hazard,
    text: localized?.text ?? v.text,
    language: localized?.language ?? 'zh-CN',
    priority: policy.priority ?? priorityOf(level),
    repeat: v.action === 'lift' ? 1 : (policy.repeat ?? o.repeat),
    round: o.round,
    expiresAt: o.expiresAt,
    sentAt: o.sentAt,
  }
}
