/**
 * The officer's commands: each is one API call; the gateway decides (roles, two-person rule,
 * conditions) and the console shows its answer. The buttons a role may not use are not drawn,
 * and the gateway refuses them anyway.
 */
import { ApiError, call, post } from './api.js'
import { toast } from './dom.js'
import { t } from './i18n.js'
import { reload, reloadWarning } from './store.js'

async function act(what: () => Promise<unknown>, after: () => void): Promise<boolean> {
  try {
    await what()
    toast(t('done'))
    after()
    return true
  } catch (err) {
    const reason = err instanceof ApiError ? `${err.status} ${err.message}` : String(err)
    toast(`${t('refused')}: ${reason}`, 'error')
    return false
  }
}

const w = (id: string) => `/api/warnings/${encodeURIComponent(id)}`
const refresh = (id: string) => () => {
  reload('warnings', 'pending', 'alerts')
  reloadWarning(id)
}

export const approve = (id: string, version: number) =>
  act(() => post(`${w(id)}/versions/${version}/approve`), refresh(id))
export const reject = (id: string, version: number) =>
  act(() => post(`${w(id)}/versions/${version}/reject`), refresh(id))
export const acknowledge = (id: string) => act(() => post(`${w(id)}/ack`), refresh(id))
export const lift = (id: string) => act(() => post(`${w(id)}/lift`), refresh(id))
export const reset = (id: string) => act(() => post(`${w(id)}/reset`), refresh(id))
export const update = (id: string, level: string, text?: string) =>
  act(() => post(`${w(id)}/update`, { level, ...(text ? { text } : {}) }), refresh(id))
export const answer = (id: string, personId: string) =>
  act(() => post(`${w(id)}/answer`, { personId }), refresh(id))
export const issue = (body: {
  hazard: string
  level: string
  regions: string[]
  text?: string
  status?: string
}) =>
  act(
    () => post('/api/warnings', body),
    () => reload('warnings', 'pending'),
  )
export const silence = (body: Record<string, unknown>) =>
  act(
    () => post('/api/silences', body),
    () => reload('silences', 'alerts'),
  )
export const endSilence = (id: number) =>
  act(
    () => call('DELETE', `/api/silences/${id}`),
    () => reload('silences', 'alerts'),
  )
