/** A small element builder: `h('button.primary', { onclick }, t('approve'))`. Text is never parsed as HTML. */
type Child = Node | string | number | null | undefined | false
type Attrs = Record<string, unknown>

/** The tag of a spec like `li.warning.selected#w1`. */
type TagOf<S extends string> = S extends `${infer T}#${string}`
  ? TagOf<T>
  : S extends `${infer T}.${string}`
    ? T
    : S
type ElementOf<S extends string> =
  TagOf<S> extends keyof HTMLElementTagNameMap ? HTMLElementTagNameMap[TagOf<S>] : HTMLElement

export function h<S extends string>(
  spec: S,
  attrs?: Attrs | Child | Child[],
  ...children: (Child | Child[])[]
): ElementOf<S> {
  const id = /#([\w-]+)/.exec(spec)?.[1]
  const [tag, ...classes] = spec.replace(/#[\w-]+/, '').split('.')
  const el = document.createElement(tag!) as ElementOf<S>
  if (id) el.id = id
  if (classes.length) el.className = classes.join(' ')
  if (Array.isArray(attrs) || attrs instanceof Node || typeof attrs !== 'object' || attrs === null)
    children.unshift(attrs as Child | Child[])
  else
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener)
      else if (k === 'class') el.className = [el.className, String(v)].filter(Boolean).join(' ')
      else if (k === 'dataset') Object.assign(el.dataset, v)
      else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v)
      else if (k === 'checked' || k === 'disabled' || k === 'selected')
        (el as unknown as Record<string, boolean>)[k] = !!v
      else el.setAttribute(k, v === true ? '' : String(v))
    }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue
    el.append(c instanceof Node ? c : String(c))
  }
  return el
}

/** Replace an element's children. */
export function fill(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren(
    ...children
      .flat()
      .filter((c): c is Node | string => c !== null && c !== undefined && c !== false)
      .map((c) => (c instanceof Node ? c : String(c))),
  )
}

/** A short notice at the bottom of the screen. */
export function toast(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const el = h('div.toast', { class: kind, role: 'status' }, message)
  document.body.append(el)
  setTimeout(() => el.remove(), kind === 'error' ? 8000 : 3000)
}
