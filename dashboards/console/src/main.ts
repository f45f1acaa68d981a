/**
 * The duty officer's console (值班台): one screen with the map and region tree, the warnings and
 * the one looked at, what waits for approval, alerts, silences, loudspeakers and faults; live over
 * the event stream, with a banner while the gateway is lost. `?kiosk` is the wall display: the
 * same picture, larger, without actions.
 */
import './app.css'
import { enableSound, soundAlarm, soundEnabled, sounding } from './alarm.js'
import { ApiError, authHeaders, currentSession, get, post, setSession, whenExpired } from './api.js'
import { fill, h } from './dom.js'
import { clock, currentLang, duration, setLang, t } from './i18n.js'
import { CountyMap, rankOf } from './map.js'
import * as P from './panels.js'
import { issueForm, resetForms, silenceForm } from './forms.js'
import { stationDetail } from './station.js'
import { airLevel, apply, changed, hasRole, loadAll, loadWarning, onChange, state } from './store.js'
import { EventStream, type StreamState } from './stream.js'
import { regionTree } from './tree.js'
import type { LoggedIn, Me } from './types.js'

const app = document.getElementById('app')!
const params = new URLSearchParams(location.search)
P.ui.kiosk = params.has('kiosk')
document.body.classList.toggle('kiosk', P.ui.kiosk)
setLang(currentLang())

type Tab = 'warnings' | 'approvals' | 'alerts' | 'silences' | 'terminals'
let tab: Tab = 'warnings'
let link: { state: StreamState; since: number } = { state: 'connecting', since: Date.now() }
let stream: EventStream | undefined
let map: CountyMap | undefined
let expiredNotice = false

/** What the browser tests read: the stream's state, the alarm, the last event id handled. */
const probe = {
  get link() {
    return link.state
  },
  get alarm() {
    return sounding()
  },
  get lastEventId() {
    return state.lastEventId
  },
  get reconnects() {
    return reconnects
  },
  /** performance.now() when the console first showed the gateway's state (bench/console.ts). */
  get readyAt() {
    return readyAt
  },
}
let readyAt: number | undefined
let reconnects = 0
Object.assign(window, { shaobing: probe })

// ---- login -----------------------------------------------------------------------------------

function loginScreen(message?: string): void {
  stream?.stop()
  soundAlarm(false)
  const user = h('input#login-user', { autocomplete: 'username', required: true, placeholder: t('username') })
  const pass = h('input#login-password', {
    type: 'password',
    autocomplete: 'current-password',
    placeholder: t('password'),
  })
  const token = h('input#login-token', { type: 'password', placeholder: 'sbt_…' })
  const error = h('p#login-error.error', message ?? '')
  const form = h(
    'form.login#login',
    {
      onsubmit: (e: Event) => {
        e.preventDefault()
        void enableSound() // the click that logs in also unlocks the alarm's sound
        void logIn(user.value, pass.value, token.value).catch((err: unknown) => {
          error.textContent = err instanceof ApiError && err.status === 401 ? t('loginRefused') : String(err)
        })
      },
    },
    h('h1', '哨兵 Shaobing'),
    h('p.meta', t('title')),
    h('label', t('username'), user),
    h('label', t('password'), pass),
    h('details', h('summary', t('apiToken')), token),
    error,
    h('button#login-submit.primary', { type: 'submit' }, t('login')),
    langToggle(),
  )
  fill(app, h('div.login-screen', form))
  user.focus()
}

async function logIn(username: string, password: string, token: string): Promise<void> {
  if (token.trim()) {
    // An API token (a wall display's): who it is comes from /api/me.
    setSession({ token: token.trim(), operator: { id: '', name: '', roles: [] } })
    try {
      const me = await get<Me>('/api/me')
      setSession({ token: token.trim(), operator: { id: me.id, name: me.name, roles: me.roles } })
    } catch (err) {
      setSession(null)
      throw err
    }
  } else {
    const r = await post<LoggedIn>('/api/login', { username, password })
    setSession({ token: r.token, operator: r.operator })
  }
  expiredNotice = false
  await start()
}

async function logOut(): Promise<void> {
  await post('/api/logout').catch(() => undefined)
  setSession(null)
  loginScreen()
}

whenExpired(() => {
  if (expiredNotice) return
  expiredNotice = true
  loginScreen(t('sessionExpired'))
})

// ---- the screen ------------------------------------------------------------------------------

function langToggle(): HTMLElement {
  return h(
    'button.lang#lang',
    {
      type: 'button',
      onclick: () => {
        setLang(currentLang() === 'zh' ? 'en' : 'zh')
        resetForms()
        if (state.me) layout()
        else loginScreen()
      },
    },
    currentLang() === 'zh' ? 'English' : '中文',
  )
}

const slots = {
  top: h('header.top'),
  banner: h('div#banner.banner', { role: 'alert' }),
  left: h('aside.left'),
  map: h('div#map.map'),
  right: h('aside.right'),
  detail: h('div.detail-slot'),
  overlay: h('div.overlay'),
}

function layout(): void {
  fill(
    app,
    slots.top,
    slots.banner,
    h('main.screen', slots.left, h('div.centre', slots.map, slots.detail), slots.right),
    slots.overlay,
  )
  if (!map) map = new CountyMap(slots.map, (id) => void openStation(id))
  render()
  requestAnimationFrame(() => map?.invalidate())
}

function topBar(now: number): HTMLElement {
  const me = state.me
  const active = state.warnings.filter((w) => w.state === 'active')
  const counts = ['red', 'orange', 'yellow', 'blue'].map(
    (l) => [l, active.filter((w) => airLevel(w) === l).length] as const,
  )
  return h(
    'div.bar',
    h('h1', '哨兵', h('span', ' Shaobing')),
    h('span.clock', clock(now, true)),
    h(
      'span.link',
      { class: `link-${link.state}`, dataset: { link: link.state } },
      link.state === 'live'
        ? `● ${t('live')}`
        : link.state === 'lost'
          ? `○ ${t('lostSince')} ${duration(now - link.since)}`
          : `◌ ${t('connecting')}`,
    ),
    h(
      'span.counts',
      counts.map(([l, n]) => (n ? h('span', { class: `count lv-${l}` }, P.badge(l), ` ${n}`) : null)),
    ),
    h('span.spacer'),
    P.ui.kiosk ? h('span.tag', t('kiosk')) : null,
    !soundEnabled()
      ? h('button#sound.sound', { onclick: () => void enableSound().then(render) }, t('soundOff'))
      : h('span.meta', t('soundOn')),
    me
      ? h('span#me.me', `${me.name || me.id} · ${me.roles.map((r) => t(`role_${r}` as never)).join('/')}`)
      : null,
    langToggle(),
    me ? h('button#logout', { onclick: () => void logOut() }, t('logout')) : null,
  )
}

function tabs(): HTMLElement {
  const items: [Tab, string, number | null][] = [
    ['warnings', t('warnings'), state.warnings.filter((w) => w.state === 'active').length],
    ['approvals', t('approvals'), state.pending.length],
    ['alerts', t('alerts'), state.alerts.length],
    ['silences', t('silences'), null],
    ['terminals', t('terminals'), state.terminals.length],
  ]
  return h(
    'nav.tabs',
    items.map(([id, label, n]) =>
      h(
        'button',
        { class: id === tab ? 'on' : '', dataset: { tab: id }, onclick: () => ((tab = id), render()) },
        label,
        n ? h('span.n', n) : null,
      ),
    ),
  )
}

/** The top bar and the banner: the clock, the link, the lost-for counter (every second). */
function tick(): void {
  if (!state.me) return
  const now = Date.now()
  fill(slots.top, topBar(now))
  slots.banner.hidden = link.state !== 'lost'
  fill(
    slots.banner,
    link.state === 'lost' ? `⚠ ${t('lost')} (${t('lostSince')} ${duration(now - link.since)})` : '',
  )
}

function render(): void {
  if (!state.me) return
  const now = Date.now()
  tick()
  const alarmNow = alarmDue()
  fill(
    slots.left,
    regionTree(!P.ui.kiosk && hasRole('operator')),
    !P.ui.kiosk && hasRole('operator') ? issueForm() : null,
    P.faultsPanel(),
  )
  const body =
    tab === 'warnings'
      ? P.warningsPanel(now)
      : tab === 'approvals'
        ? P.approvalsPanel()
        : tab === 'alerts'
          ? P.alertsPanel()
          : tab === 'silences'
            ? P.silencesPanel(now, silenceForm)
            : P.terminalsPanel()
  fill(
    slots.right,
    alarmNow ? h('div#alarm.alarm', t('alarm')) : null,
    P.ui.kiosk ? null : tabs(),
    P.ui.kiosk ? P.warningsPanel(now) : body,
  )
  fill(slots.detail, P.detailPanel(now))
  map?.update()
  soundAlarm(alarmNow)
}

/**
 * A red or orange warning waits for this officer: an active one nobody acknowledged (for an
 * operator), or a version waiting for this approver's decision.
 */
function alarmDue(): boolean {
  if (P.ui.kiosk || !state.me) return false
  const severe = (l: string | null | undefined) => rankOf(l as never) >= 3
  const unacked =
    hasRole('operator') &&
    state.warnings.some((w) => w.state === 'active' && severe(airLevel(w)) && w.ackedAt === null)
  const toDecide =
    hasRole('approver') &&
    state.pending.some((p) => severe(p.level) && !p.approvals.some((a) => a.operator === state.me!.id))
  return unacked || toDecide
}

async function openStation(id: string): Promise<void> {
  const close = h('button.close', { onclick: () => fill(slots.overlay) }, '×')
  fill(slots.overlay, h('div.modal', close, h('p.meta', '…')))
  const el = await stationDetail(id)
  fill(slots.overlay, h('div.modal', close, el))
}

P.whenSelected((id) => {
  if (id) void loadWarning(id)
  changed()
})

async function start(): Promise<void> {
  resetForms()
  state.me = await get<Me>('/api/me')
  layout()
  stream?.stop()
  stream = new EventStream({
    headers: authHeaders,
    onEvent: apply,
    onState: (s, since) => {
      link = { state: s, since }
      document.body.dataset['link'] = s
      tick()
    },
    onConnected: (resumed) => {
      if (resumed) reconnects++
      // Everything again once the stream is there: whatever changed before it connected is in.
      void loadAll().catch(() => undefined)
    },
    onUnauthorized: () => whenExpiredNow(),
  })
  stream.start()
  // The first picture does not wait for the stream to connect; the load on connecting follows.
  void loadAll().then(() => {
    // loadAll asked for a render in the next frame; this runs in that frame, after it.
    if (readyAt === undefined)
      requestAnimationFrame(() => {
        readyAt = performance.now()
        performance.mark('shaobing:ready')
      })
  })
}

function whenExpiredNow(): void {
  setSession(null)
  loginScreen(t('sessionExpired'))
}

onChange(render)
// The clock and the lost-for counter move on their own, the running durations more slowly.
setInterval(tick, 1000)
setInterval(() => state.me && render(), 15_000)
// A session can end while the console only reads (reads on loopback need none): ask who it is.
setInterval(() => state.me && link.state === 'live' && void get<Me>('/api/me').catch(() => undefined), 30_000)
// Stations' latest readings have no event of their own; a slow poll keeps the map's picture fresh.
setInterval(() => state.me && link.state === 'live' && void loadAll().catch(() => undefined), 30_000)

if (currentSession()) void start().catch(() => loginScreen())
else loginScreen()
