/**
 * Topic access control in the conventions of Mosquitto's `acl_file`, so a site can bring the file
 * it has (and take ours to a Mosquitto broker):
 *
 *   # comment
 *   topic [read|write|readwrite|deny] <topic>    before any `user` line: anonymous clients
 *   user <username>
 *   topic [read|write|readwrite|deny] <topic>    for that user (no access word: readwrite)
 *   pattern [read|write|readwrite|deny] <topic>  for every client; %u is its username, %c its
 *                                                client id, each standing for a whole topic level
 *
 * Publishing to a topic needs a write entry whose filter matches it; subscribing to a filter needs
 * a read entry whose filter covers every topic the subscription could match (subscribing to `#`
 * needs `topic read #`). A deny entry wins over any grant: a publish it matches, or a subscription
 * that could receive any topic it matches, is refused. (Mosquitto checks a deny against each
 * message delivered instead; refusing the whole subscription is stricter and needs no check per
 * message.)
 */
import type { FileIssue } from '../../../rules/src/index.js'
import type { Result } from '../core/result.js'

export type Access = 'read' | 'write' | 'readwrite' | 'deny'

export interface AclEntry {
  readonly access: Access
  readonly filter: string
}

export interface AclFile {
  /** `topic` lines before the first `user` line. */
  readonly anonymous: readonly AclEntry[]
  readonly users: ReadonlyMap<string, readonly AclEntry[]>
  /** `pattern` lines, with %u and %c unexpanded. */
  readonly patterns: readonly AclEntry[]
}

export const EMPTY_ACL: AclFile = { anonymous: [], users: new Map(), patterns: [] }

/** Whether `topic` (no wildcards) matches the MQTT filter `filter`; `$` topics only match `$` filters. */
export function matches(filter: string, topic: string): boolean {
  if (filter === topic) return true
  const f = filter.split('/')
  const t = topic.split('/')
  if (t[0]!.startsWith('$') !== f[0]!.startsWith('$')) return false
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= t.length) return false
    if (f[i] !== '+' && f[i] !== t[i]) return false
  }
  return f.length === t.length
}

/**
 * A set of filters, split into levels once, for checks on every message: the topic is split once
 * per check rather than once per filter.
 */
export class FilterSet {
  private readonly exact = new Set<string>()
  private readonly wild: string[][] = []

  constructor(filters: readonly string[]) {
    for (const f of filters) {
      if (/[#+]/.test(f)) this.wild.push(f.split('/'))
      else this.exact.add(f)
    }
  }

  get size(): number {
    return this.exact.size + this.wild.length
  }

  /** Whether `topic` (no wildcards) matches one of the filters. */
  has(topic: string): boolean {
    if (this.exact.has(topic)) return true
    if (this.wild.length === 0) return false
    const t = topic.split('/')
    const dollar = t[0]!.startsWith('$')
    outer: for (const f of this.wild) {
      if (dollar !== f[0]!.startsWith('$')) continue
      for (let i = 0; i < f.length; i++) {
        if (f[i] === '#') return true
        if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) continue outer
      }
      if (f.length === t.length) return true
    }
    return false
  }
}

/** Whether every topic the subscription `sub` can match is matched by `filter`. */
export function within(sub: string, filter: string): boolean {
  const s = sub.split('/')
  const f = filter.split('/')
  if (s[0]!.startsWith('$') && !f[0]!.startsWith('$') && f[0] !== s[0]) return false
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true
    if (i >= s.length || s[i] === '#') return false
    if (f[i] === '+') continue
    if (s[i] !== f[i]) return false // a literal level covers only itself, not + or #
  }
  return s.length === f.length
}

/** Whether some topic matches both filters. */
export function overlaps(a: string, b: string): boolean {
  const x = a.split('/')
  const y = b.split('/')
  for (let i = 0; ; i++) {
    if (x[i] === '#' || y[i] === '#') return true
    if (i >= x.length || i >= y.length) return x.length === y.length
    if (x[i] !== '+' && y[i] !== '+' && x[i] !== y[i]) return false
  }
}

const ACCESS = new Set<string>(['read', 'write', 'readwrite', 'deny'])

/** Parses an ACL file; every bad line is reported with its number, and none is half-applied. */
export function parseAcl(text: string, file: string): Result<AclFile, FileIssue[]> {
  const issues: FileIssue[] = []
  const anonymous: AclEntry[] = []
  const users = new Map<string, AclEntry[]>()
  const patterns: AclEntry[] = []
  let user: string | undefined
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const issue = (message: string) => issues.push({ file, line: i + 1, path: '', message })
    const [word, ...rest] = line.split(/\s+/)
    if (word === 'user') {
      // Mosquitto takes the rest of the line, spaces included, as the name.
      const name = line.slice(4).trim()
      if (name === '') return void issue('user needs a username')
      user = name
      if (!users.has(name)) users.set(name, [])
      return
    }
    if (word !== 'topic' && word !== 'pattern')
      return void issue(`unknown keyword ${word}: expected topic, user or pattern`)
    const access: Access = rest.length > 1 && ACCESS.has(rest[0]!) ? (rest.shift() as Access) : 'readwrite'
    const filter = rest.join(' ')
    const bad = filterProblem(filter, word === 'pattern')
    if (bad) return void issue(bad)
    const entry = { access, filter }
    if (word === 'pattern') patterns.push(entry)
    else if (user === undefined) anonymous.push(entry)
    else users.get(user)!.push(entry)
  })
  return issues.length > 0
    ? { ok: false, error: issues }
    : { ok: true, value: { anonymous, users, patterns } }
}

function filterProblem(filter: string, pattern: boolean): string | undefined {
  if (filter === '') return 'a topic is missing'
  const levels = filter.split('/')
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!
    if (l === '#' && i !== levels.length - 1) return `${filter}: # must be the last level`
    if (l !== '#' && l !== '+' && /[#+]/.test(l)) return `${filter}: a wildcard must be a whole level`
    if (/%[uc]/.test(l) && l !== '%u' && l !== '%c')
      return pattern ? `${filter}: %u and %c must each be a whole level` : undefined
  }
  return undefined
}

/** The file's entries for one connected client: its user's, and every pattern with %u and %c filled in. */
export function entriesFor(acl: AclFile, username: string | undefined, clientId: string): AclEntry[] {
  if (username === undefined) return [...acl.anonymous]
  const out = [...(acl.users.get(username) ?? [])]
  for (const p of acl.patterns) {
    const levels = p.filter.split('/')
    // A level that would take a wildcard or separator from a name matches nothing instead.
    const fill = (v: string) => (/[#+/]/.test(v) || v === '' ? undefined : v)
    const expanded = levels.map((l) => (l === '%u' ? fill(username) : l === '%c' ? fill(clientId) : l))
    if (expanded.some((l) => l === undefined)) continue
    out.push({ access: p.access, filter: expanded.join('/') })
  }
  return out
}

/** What one client may do, compiled once per connection (or after a reload) for checks per message. */
export class Permissions {
  private readonly write: FilterSet
  private readonly read: string[] = []
  private readonly deny: FilterSet
  private readonly denyFilters: string[] = []

  constructor(entries: readonly AclEntry[]) {
    const write: string[] = []
    for (const e of entries) {
      if (e.access === 'deny') this.denyFilters.push(e.filter)
      if (e.access === 'write' || e.access === 'readwrite') write.push(e.filter)
      if (e.access === 'read' || e.access === 'readwrite') this.read.push(e.filter)
    }
    this.write = new FilterSet(write)
    this.deny = new FilterSet(this.denyFilters)
  }

  canPublish(topic: string): boolean {
    if (this.deny.size > 0 && this.deny.has(topic)) return false
    return this.write.has(topic)
  }

  canSubscribe(filter: string): boolean {
    if (this.denyFilters.some((d) => overlaps(d, filter))) return false
    return this.read.some((f) => within(filter, f))
  }
}
