/** The two forms an operator fills in: a warning issued by hand to chosen regions, and a silence. */
import * as A from './actions.js'
import { h } from './dom.js'
import { t, tr } from './i18n.js'
import { regionName, stationName } from './panels.js'
import { changed, state } from './store.js'

const HAZARDS = [
  'flood',
  'flash_flood',
  'rainstorm',
  'reservoir',
  'earthquake',
  'geohazard',
  'gale',
  'toxic_gas',
]
const LEVELS = ['blue', 'yellow', 'orange', 'red']

/**
 * Forms are made once and kept, so that what an officer is typing survives the panels being
 * drawn again around them; only their changing parts are brought up to date.
 */
let issue: { el: HTMLElement; refresh(): void } | undefined
let silence: { el: HTMLElement; key: string } | undefined

export function issueForm(): HTMLElement {
  issue ??= makeIssueForm()
  issue.refresh()
  return issue.el
}

export function silenceForm(): HTMLElement {
  const key = `${state.stations.length}/${state.regions.length}`
  if (silence?.key !== key) silence = { el: makeSilenceForm(), key }
  return silence.el
}

function makeIssueForm(): { el: HTMLElement; refresh(): void } {
  const hazard = h(
    'select#issue-hazard',
    HAZARDS.map((x) => h('option', { value: x }, tr('hz', x))),
  )
  const level = h(
    'select#issue-level',
    LEVELS.map((x) => h('option', { value: x }, tr('lvl', x))),
  )
  const status = h(
    'select#issue-status',
    h('option', { value: 'Actual' }, t('actual')),
    h('option', { value: 'Exercise' }, t('exercise')),
    h('option', { value: 'Test' }, t('test')),
  )
  const text = h('textarea#issue-text', { rows: 3, placeholder: t('text') })
  const chosenLine = h('span#issue-regions.chosen')
  const submit: HTMLButtonElement = h('button#issue-submit.primary', { type: 'submit' }, t('send'))
  const form = h(
    'form.issue',
    {
      onsubmit: (e: Event) => {
        e.preventDefault()
        void A.issue({
          hazard: hazard.value,
          level: level.value,
          status: status.value,
          regions: [...state.chosen],
          ...(text.value.trim() ? { text: text.value.trim() } : {}),
        }).then((ok) => {
          if (ok) {
            text.value = ''
            state.chosen.clear()
            changed()
          }
        })
      },
    },
    h('h3', t('issue')),
    h('div.row', hazard, level, status),
    h('div.meta', `${t('regionsChosen')}: `, chosenLine),
    text,
    submit,
  )
  return {
    el: form,
    refresh: () => {
      const chosen = [...state.chosen]
      chosenLine.textContent = chosen.length ? chosen.map(regionName).join('、') : '—'
      submit.disabled = chosen.length === 0
    },
  }
}

/** Forget the forms (the language changed, or another officer logged in). */
export function resetForms(): void {
  issue = undefined
  silence = undefined
}

function makeSilenceForm(): HTMLElement {
  const station = h(
    'select#silence-station',
    h('option', { value: '' }, t('anyStation')),
    state.stations.map((s) => h('option', { value: s.id }, stationName(s.id))),
  )
  const region = h(
    'select#silence-region',
    h('option', { value: '' }, t('anyRegion')),
    state.regions.map((r) => h('option', { value: r.code }, r.name)),
  )
  const hazard = h(
    'select#silence-hazard',
    h('option', { value: '' }, t('anyHazard')),
    HAZARDS.map((x) => h('option', { value: x }, tr('hz', x))),
  )
  const hours = h('input#silence-hours', { type: 'number', min: 0.25, step: 0.25, value: 2 })
  const reason = h('input#silence-reason', { type: 'text', required: true, placeholder: t('reason') })
  return h(
    'form.silence',
    {
      onsubmit: (e: Event) => {
        e.preventDefault()
        void A.silence({
          ...(station.value ? { stationId: station.value } : {}),
          ...(region.value ? { region: region.value } : {}),
          ...(hazard.value ? { hazard: hazard.value } : {}),
          endsAt: Date.now() + Number(hours.value) * 3600_000,
          reason: reason.value,
        })
      },
    },
    h('h3', t('newSilence')),
    h('div.row', station, region, hazard),
    h('div.row', h('label', `${t('endsAt')} (h) `, hours), reason),
    h('button.primary', { type: 'submit' }, t('newSilence')),
  )
}
