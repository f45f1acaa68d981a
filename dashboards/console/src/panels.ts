/**
 * The console's panels, each drawn whole from the state on every change: the warnings (active,
 * then recent), the warning looked at (versions, why, reach, who has not answered, actions), what
 * waits for approval, alerts with their silences, silences, loudspeakers and equipment faults.
 */
import * as A from './actions.js'
import { h } from './dom.js'
import { clock, duration, t, tr } from './i18n.js'
import { LEVEL_COLOURS, rankOf } from './map.js'
import { airLevel, hasRole, state } from './store.js'
import type { Explanation, Pending, Version, VersionCoverage, Warning } from './types.js'

/** Whether actions are drawn at all (a wall display shows none). */
export const ui = { kiosk: false }
const can = (role: 'operator' | 'approver') => !ui.kiosk && hasRole(role)

export const regionName = (code: string): string => state.regions.find((r) => r.code === code)?.name ?? code
export const stationName = (id: string): string => state.stations.find((s) => s.id === id)?.name ?? id

export function badge(level: string | null | undefined): HTMLElement {
  return h(
    'span.level',
    { class: `lv-${level ?? 'none'}`, style: `background:${(level && LEVEL_COLOURS[level]) ?? '#8c959f'}` },
    tr('lvl', level),
  )
}

/** Most severe on the air first; of those, one with a more severe version waiting first. */
const severity = (w: Warning) => rankOf(airLevel(w)) * 10 + rankOf(w.versions[w.versions.length - 1]?.level)

/** Active warnings, most severe first, then the most recent. */
export function sortedWarnings(): { active: Warning[]; recent: Warning[] } {
  const active = state.warnings
    .filter((w) => w.state === 'active')
    .sort((a, b) => severity(b) - severity(a) || runningSince(b) - runningSince(a))
  const recent = state.warnings.filter((w) => w.state !== 'active').slice(0, 20)
  return { active, recent }
}

const currentVersion = (w: Warning): Version | undefined => w.versions.find((v) => v.version === w.version)

/** The most severe level a warning reached (a lifted one is shown with it). */
const highest = (w: Warning): Warning['level'] =>
  w.versions.reduce<Warning['level']>((m, v) => (rankOf(v.level) > rankOf(m) ? v.level : m), null)

/** When the gateway first recorded the warning (wall clock; `issuedAt` is the readings' event time). */
export const runningSince = (w: Warning): number => w.versions[0]?.createdAt ?? w.issuedAt
/** When it was lifted (wall clock). */
const liftedAtOf = (w: Warning): number | null =>
  w.state === 'active' ? null : (w.versions[w.versions.length - 1]?.createdAt ?? w.liftedAt)
const who = (id: string) => (id === 'system' ? t('system') : id)
const latestVersion = (w: Warning): Version | undefined => w.versions[w.versions.length - 1]
const coverageOf = (w: Warning): VersionCoverage | undefined =>
  state.coverage.get(w.id)?.versions.find((v) => v.version === w.version)

function sources(w: Warning): string[] {
  const ids = new Set<string>()
  for (const v of w.versions.slice(-1))
    for (const a of v.alerts) {
      ids.add(a.stationId)
      for (const c of (v.explanation as Explanation | null)?.contributors ?? []) ids.add(c.stationId)
    }
  if (ids.size === 0 && w.stationId) ids.add(w.stationId)
  return [...ids]
}

export function warningCard(w: Warning, now: number): HTMLElement {
  const cov = coverageOf(w)
  const last = latestVersion(w)
  const waiting = last && last.release === 'pending'
  const air = w.state === 'active' ? airLevel(w) : highest(w)
  return h(
    'li.warning',
    {
      class: [
        `lv-${air ?? last?.level ?? 'none'}`,
        w.id === state.selected ? 'selected' : '',
        waiting ? 'waiting' : '',
      ].join(' '),
      dataset: { warning: w.id, level: air ?? 'none', proposed: last?.level ?? 'none', state: w.state },
      onclick: () => select(w.id),
      tabindex: 0,
    },
    h(
      'div.row',
      // On the air, and where a version waits for approval, the level it would bring.
      air || !waiting ? badge(air) : null,
      waiting && air ? h('span.meta', '→') : null,
      waiting ? badge(last.level) : null,
      h('strong', tr('hz', w.hazard)),
      h('span.place', regionName(w.region)),
      w.status !== 'Actual' ? h('span.tag', w.status === 'Exercise' ? t('exercise') : t('test')) : null,
      w.state !== 'active' ? h('span.tag', t('stateLifted')) : null,
    ),
    h(
      'div.row.meta',
      w.state === 'active'
        ? h('span', `${t('duration')} ${duration(now - runningSince(w))}`)
        : h('span', `${t('liftedAt')} ${clock(liftedAtOf(w), true)}`),
      h('span', `v${w.version}`),
      waiting ? h('span.tag.pending', t('pendingApproval')) : null,
      w.state === 'active'
        ? h('span', { class: w.ackedAt ? 'ok' : 'warn' }, w.ackedAt ? t('acked') : t('notAcked'))
        : null,
    ),
    h('div.row.meta', `${t('stations')}: ${sources(w).map(stationName).join('、') || '—'}`),
    cov
      ? h(
          'div.row.meta.reach-line',
          `${t('played')} ${cov.played}/${cov.targeted}`,
          cov.offline ? ` · ${t('offline')} ${cov.offline}` : '',
          cov.failed ? ` · ${t('failed')} ${cov.failed}` : '',
        )
      : null,
  )
}

let onSelect: (id: string | null) => void = () => {}
export const whenSelected = (f: (id: string | null) => void) => {
  onSelect = f
}
export function select(id: string | null): void {
  state.selected = id
  onSelect(id)
}

export function warningsPanel(now: number): HTMLElement {
  const { active, recent } = sortedWarnings()
  return h(
    'section.panel.warnings',
    h('h2', `${t('active')} (${active.length})`),
    active.length
      ? h(
          'ul#active-warnings.cards',
          active.map((w) => warningCard(w, now)),
        )
      : h('p.empty', t('noWarnings')),
    recent.length ? h('h3', t('recent')) : null,
    recent.length
      ? h(
          'ul.cards.recent',
          recent.map((w) => warningCard(w, now)),
        )
      : null,
  )
}

function explanationOf(v: Version): HTMLElement | null {
  const e = v.explanation as Explanation | null
  if (!e?.conditions?.length) return null
  // Branches of an any_of that had nothing to compare (a quantity this station does not report).
  const shown = e.conditions.filter((c) => c.observed !== null || c.threshold !== null)
  return h(
    'ul.why',
    shown.map((c) =>
      h(
        'li',
        h('code', c.quantity),
        c.agg && c.agg !== 'last' ? ` ${c.agg}${c.window ? `(${c.window})` : ''}` : '',
        ` = ${c.observed ?? '—'} ${c.op} ${c.threshold ?? '—'}`,
        c.ref ? h('span.ref', ` (${c.ref})`) : '',
      ),
    ),
  )
}

function approvalLine(
  id: string,
  version: number,
  approvals: readonly { operator: string; decision: string }[],
  needed: number,
  due: number | null,
) {
  const approvedBy = approvals.filter((a) => a.decision === 'approve').map((a) => a.operator)
  const mine = state.me && approvals.some((a) => a.operator === state.me!.id)
  return h(
    'div.approval',
    { dataset: { approvals: String(approvedBy.length), needed: String(needed) } },
    needed >= 2 ? h('span.tag', `${t('twoPerson')} ${approvedBy.length}/${needed}`) : null,
    approvedBy.length ? h('span', ` ${t('approvedBy')}: ${approvedBy.map(who).join('、')}`) : null,
    needed >= 2 && approvedBy.length === 1 ? h('span.warn', ` · ${t('waitingSecond')}`) : null,
    due ? h('span.meta', ` · ${t('due')} ${clock(due)}`) : null,
    can('approver') && !mine
      ? h(
          'span.buttons',
          h('button.primary.approve', { onclick: () => void A.approve(id, version) }, t('approve')),
          h('button.reject', { onclick: () => void A.reject(id, version) }, t('reject')),
        )
      : null,
  )
}

function reachTable(versions: readonly VersionCoverage[]): HTMLElement {
  const cols: [string, (v: VersionCoverage) => string | number][] = [
    [t('version'), (v) => `v${v.version} ${tr('action', v.action)}`],
    [t('targeted'), (v) => v.targeted],
    [t('reached'), (v) => v.reached],
    [t('played'), (v) => v.played],
    [t('failed'), (v) => v.failed],
    [t('offline'), (v) => v.offline],
    [t('sms'), (v) => `${v.sms.delivered}/${v.sms.targeted}`],
    [t('callouts'), (v) => `${v.callouts.answered}/${v.callouts.called}`],
    [t('firstPlay'), (v) => (v.firstPlayMs === null ? '—' : duration(v.firstPlayMs))],
    [t('p95Play'), (v) => (v.p95PlayMs === null ? '—' : duration(v.p95PlayMs))],
  ]
  return h(
    'table.reach',
    h(
      'thead',
      h(
        'tr',
        cols.map(([c]) => h('th', c)),
      ),
    ),
    h(
      'tbody',
      versions.map((v) =>
        h(
          'tr',
          { dataset: { version: String(v.version) } },
          cols.map(([name, f]) => h('td', { dataset: { col: name } }, f(v))),
        ),
      ),
    ),
  )
}

export function detailPanel(now: number): HTMLElement | null {
  const w = state.warnings.find((x) => x.id === state.selected)
  if (!w) return null
  const detail = state.detail.get(w.id)
  const cov = state.coverage.get(w.id)
  const deliveries = state.deliveries.get(w.id)
  const cur = currentVersion(w) ?? latestVersion(w)
  const active = w.state === 'active'
  const gas =
    w.hazard === 'gas_leak' || w.hazard === 'toxic_gas' || w.level === 'level_1' || w.level === 'level_2'
  // Who has not answered: each person once, by their latest call.
  const latestCall = new Map((detail?.callouts ?? []).map((c) => [c.personId, c]))
  const waiting = [...latestCall.values()].filter((c) => c.state === 'waiting' || c.state === 'escalated')
  const terminalNames = new Map(state.terminals.map((x) => [x.id, x.name ?? x.id]))
  const current = (deliveries?.deliveries ?? []).filter((d) => d.version === w.version)
  return h(
    'section.panel.detail#detail',
    { dataset: { warning: w.id } },
    h(
      'header',
      badge(active ? (airLevel(w) ?? latestVersion(w)?.level) : highest(w)),
      h('h2', `${tr('hz', w.hazard)} · ${regionName(w.region)}`),
      h('button.close', { onclick: () => select(null), title: t('close') }, '×'),
    ),
    h(
      'p.meta',
      `${w.id} · ${active ? t('stateActive') : t('stateLifted')} · ${t('issuedAt')} ${clock(runningSince(w), true)}`,
      active
        ? ` · ${t('duration')} ${duration(now - runningSince(w))}`
        : ` · ${t('liftedAt')} ${clock(liftedAtOf(w), true)}`,
      w.ackedBy ? ` · ${t('acked')} (${w.ackedBy})` : '',
    ),
    cur ? h('blockquote.text', cur.text) : null,
    cur && !cur.verified ? h('p.warn', t('unverified')) : null,
    h('p.meta', `${t('stations')}: ${sources(w).map(stationName).join('、')}`),
    !ui.kiosk
      ? h(
          'div.actions',
          active && !w.ackedAt && can('operator')
            ? h('button.primary.ack', { onclick: () => void A.acknowledge(w.id) }, t('acknowledge'))
            : null,
          active && can('operator') && w.origin === 'manual' ? updateControl(w) : null,
          active && can('operator')
            ? h(
                'button.danger.lift',
                { onclick: () => confirm(t('confirmLift')) && void A.lift(w.id) },
                t('lift'),
              )
            : null,
          active && gas && can('operator')
            ? h('button.reset', { onclick: () => void A.reset(w.id) }, t('reset'))
            : null,
          state.me && !hasRole('operator') && !hasRole('approver') ? h('p.meta', t('viewerOnly')) : null,
        )
      : null,
    h('h3', t('reach')),
    cov && cov.versions.length ? reachTable(cov.versions) : h('p.empty', '—'),
    waiting.length
      ? h(
          'div.unanswered',
          h('h3', `${t('notAnswered')} (${waiting.length})`),
          h(
            'ul',
            waiting.map((c) =>
              h(
                'li',
                `${c.personName ?? c.personId} ${c.phone ?? ''} · ${regionName(c.region)} · ×${c.sends}`,
                can('operator')
                  ? h('button.small', { onclick: () => void A.answer(w.id, c.personId) }, t('answered'))
                  : null,
              ),
            ),
          ),
        )
      : null,
    h('h3', t('versions')),
    h(
      'ol.versions',
      (detail?.versions ?? w.versions).map((v) =>
        h(
          'li',
          { dataset: { version: String(v.version), release: v.release } },
          h(
            'div.row',
            badge(v.level),
            h('strong', `v${v.version} ${tr('action', v.action)}`),
            h('span.tag', tr('release', v.release)),
            h('span.meta', clock(v.releasedAt ?? v.createdAt, true)),
          ),
          v.release === 'pending'
            ? approvalLine(
                w.id,
                v.version,
                'approvals' in v ? (v.approvals as { operator: string; decision: string }[]) : [],
                pendingFor(w.id, v.version)?.approvalsNeeded ?? 1,
                v.releaseDue,
              )
            : null,
          explanationOf(v),
          v.releasedBy.length ? h('div.meta', `${t('by')}: ${v.releasedBy.map(who).join('、')}`) : null,
        ),
      ),
    ),
    current.length
      ? h(
          'details.deliveries',
          { open: current.length <= 12 },
          h('summary', `${t('terminals')} (${current.length})`),
          h(
            'table',
            h(
              'tbody',
              current.map((d) =>
                h(
                  'tr',
                  { dataset: { terminal: d.terminalId, state: d.state } },
                  h('td', terminalNames.get(d.terminalId) ?? d.terminalId),
                  h('td', d.state),
                  h('td.meta', clock(d.updatedAt)),
                  h('td.meta', d.detail ?? ''),
                ),
              ),
            ),
          ),
        )
      : null,
  )
}

function updateControl(w: Warning): HTMLElement {
  const sel = h(
    'select.update-level',
    ['blue', 'yellow', 'orange', 'red'].map((l) =>
      h('option', { value: l, selected: l === w.level }, tr('lvl', l)),
    ),
  )
  return h(
    'span.update',
    sel,
    h('button.update', { onclick: () => void A.update(w.id, sel.value) }, t('update')),
  )
}

const pendingFor = (id: string, version: number): Pending | undefined =>
  state.pending.find((p) => p.warningId === id && p.version === version)

export function approvalsPanel(): HTMLElement {
  return h(
    'section.panel.approvals',
    state.pending.length
      ? h(
          'ul.cards#pending',
          state.pending.map((p) =>
            h(
              'li.warning.waiting',
              {
                dataset: { warning: p.warningId, version: String(p.version) },
                onclick: () => select(p.warningId),
              },
              h(
                'div.row',
                badge(p.level),
                h('strong', tr('hz', p.warning?.hazard)),
                h('span.place', regionName(p.warning?.region ?? '')),
                h('span', `v${p.version} ${tr('action', p.action)}`),
              ),
              h('div.text', p.text),
              approvalLine(p.warningId, p.version, p.approvals, p.approvalsNeeded, p.releaseDue),
            ),
          ),
        )
      : h('p.empty', t('noApprovals')),
  )
}

export function alertsPanel(): HTMLElement {
  const alerts = [...state.alerts].sort((a, b) => rankOf(b.level) - rankOf(a.level))
  return h(
    'section.panel.alerts',
    alerts.length
      ? h(
          'ul.list',
          alerts.map((a) =>
            h(
              'li',
              { class: a.muted ? 'muted' : '', dataset: { rule: a.ruleId, station: a.stationId } },
              badge(a.level),
              ` ${stationName(a.stationId)} · ${a.ruleId} · ${clock(a.since, true)}`,
              a.muted && a.silence
                ? h(
                    'div.meta',
                    `${t('muted')}: ${a.silence.reason} (${a.silence.author}, → ${clock(a.silence.endsAt, true)})`,
                  )
                : null,
            ),
          ),
        )
      : h('p.empty', t('noAlerts')),
  )
}

export function silencesPanel(now: number, form: () => HTMLElement): HTMLElement {
  const live = state.silences.filter((s) => s.endedAt === null && s.endsAt > now)
  return h(
    'section.panel.silences',
    can('operator') ? form() : null,
    live.length
      ? h(
          'ul.list#silences',
          live.map((s) =>
            h(
              'li',
              { dataset: { silence: String(s.id) } },
              h(
                'strong',
                s.stationId ? stationName(s.stationId) : s.region ? regionName(s.region) : t('anyStation'),
              ),
              s.hazard ? ` · ${tr('hz', s.hazard)}` : '',
              ` · ${clock(s.startsAt, true)} → ${clock(s.endsAt, true)}`,
              h('div.meta', `${s.reason} (${s.author})`),
              can('operator')
                ? h('button.small.end-silence', { onclick: () => void A.endSilence(s.id) }, t('endSilence'))
                : null,
            ),
          ),
        )
      : h('p.empty', t('noSilences')),
  )
}

export function terminalsPanel(): HTMLElement {
  return h(
    'section.panel.terminals',
    h(
      'table.terminals',
      h(
        'thead',
        h(
          'tr',
          h('th', t('terminals')),
          h('th', t('region')),
          h('th', t('state')),
          h('th', t('lastReceipt')),
        ),
      ),
      h(
        'tbody',
        state.terminals.map((tm) =>
          h(
            'tr',
            { dataset: { terminal: tm.id, presence: tm.presence?.state ?? 'unknown' } },
            h('td', tm.name ?? tm.id),
            h('td', regionName(tm.region)),
            h(
              'td',
              { class: tm.presence?.state === 'offline' ? 'warn' : 'ok' },
              tm.presence?.state === 'offline' ? t('offline') : tm.presence ? t('online') : '—',
            ),
            h(
              'td.meta',
              tm.lastReceipt ? `${tm.lastReceipt.state} · ${clock(tm.lastReceipt.at, true)}` : '—',
            ),
          ),
        ),
      ),
    ),
  )
}

export function faultsPanel(): HTMLElement {
  return h(
    'section.panel.faults',
    h('h2', `${t('faults')} (${state.faults.length})`),
    state.faults.length
      ? h(
          'ul.list',
          state.faults.map((f) =>
            h(
              'li',
              { dataset: { fault: f.kind } },
              h('strong', stationName(f.stationId)),
              ` · ${f.kind}`,
              h('div.meta', `${f.sensorId}: ${f.detail} · ${clock(f.since, true)}`),
            ),
          ),
        )
      : h('p.empty', t('noFaults')),
  )
}
