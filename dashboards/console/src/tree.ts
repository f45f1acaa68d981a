/**
 * The region tree beside the map (county → township → village): each region with the highest
 * warning inside it; ticking regions chooses where a warning issued by hand goes.
 */
import { h } from './dom.js'
import { t } from './i18n.js'
import { levelIn } from './map.js'
import { badge } from './panels.js'
import { changed, state, type Region } from './store.js'

export function regionTree(canChoose: boolean): HTMLElement {
  const children = new Map<string | null, Region[]>()
  for (const r of state.regions) {
    const list = children.get(r.parent) ?? []
    list.push(r)
    children.set(r.parent, list)
  }
  const terminals = new Map<string, number>()
  for (const tm of state.terminals) terminals.set(tm.region, (terminals.get(tm.region) ?? 0) + 1)
  const node = (r: Region): HTMLElement => {
    const level = levelIn(r.code, state.warnings)
    const kids = children.get(r.code) ?? []
    return h(
      'li',
      { dataset: { region: r.code, level: level ?? 'none' } },
      h(
        'label',
        canChoose
          ? h('input', {
              type: 'checkbox',
              checked: state.chosen.has(r.code),
              onchange: (e: Event) => {
                const on = (e.target as HTMLInputElement).checked
                if (on) state.chosen.add(r.code)
                else state.chosen.delete(r.code)
                changed()
              },
            })
          : null,
        h('span.name', r.name),
        terminals.get(r.code) ? h('span.meta', ` ${terminals.get(r.code)} ${t('speakers')}`) : null,
        level ? badge(level) : null,
      ),
      kids.length ? h('ul', kids.map(node)) : null,
    )
  }
  return h(
    'section.panel.tree',
    h('h2', t('regions')),
    h('ul#region-tree.tree', (children.get(null) ?? []).map(node)),
  )
}
