'use strict'
/**
 * The gateway's HTTP API for the Node-RED nodes: a call with the config node's API token, and
 * the gateway's refusals as errors that carry their status and reason (for a Catch node).
 */

/** A refused or failed call: `status` (HTTP, 0 when the gateway was not reached), `reason`, `body`. */
class GatewayError extends Error {
  constructor(message, status, reason, body) {
    super(message)
    this.name = 'GatewayError'
    this.status = status
    this.reason = reason
    this.body = body
  }
}

/**
 * One call. Resolves with the answer's JSON (or null), rejects with a GatewayError naming what the
 * gateway said (`{"error", "reason", "message"}`, `{"issues": [...]}`) or why it was not reached.
 */
async function call(gateway, method, path, body, timeoutMs = 10_000) {
  const headers = { accept: 'application/json' }
  if (gateway.token) headers.authorization = `Bearer ${gateway.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res
  try {
    res = await fetch(`${gateway.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    const why = err && err.cause ? err.cause.code || err.cause.message : err && err.message
    throw new GatewayError(`gateway not reached (${method} ${path}): ${why}`, 0, 'unreachable')
  }
  const text = await res.text()
  let json = null
  try {
    json = text === '' ? null : JSON.parse(text)
  } catch {
    json = null
  }
  if (!res.ok) {
    const reason = (json && (json.reason || json.error)) || `http_${res.status}`
    const detail =
      (json && json.message) ||
      (json && Array.isArray(json.issues) && json.issues.map((i) => `${i.field}: ${i.message}`).join('; ')) ||
      text.slice(0, 200)
    throw new GatewayError(
      `${method} ${path}: ${res.status} ${reason}${detail ? ` (${detail})` : ''}`,
      res.status,
      reason,
      json,
    )
  }
  return json
}

/** True when the 12-digit region `inner` lies inside (or is) `outer` (a county holds its villages). */
function regionContains(outer, inner) {
  if (typeof outer !== 'string' || typeof inner !== 'string') return false
  let digits = 12
  if (outer.slice(9) === '000') digits = 9
  if (digits === 9 && outer.slice(6, 9) === '000') digits = 6
  if (digits === 6 && outer.slice(4, 6) === '00') digits = 4
  if (digits === 4 && outer.slice(2, 4) === '00') digits = 2
  return inner.startsWith(outer.slice(0, digits))
}

/** A comma or space separated list from a node's setting (empty: no filter). */
const list = (s) =>
  String(s ?? '')
    .split(/[\s,]+/)
    .filter(Boolean)

/**
 * A released version's loudspeaker coverage so far (`GET /api/warnings/{id}/coverage`), or null
 * when it cannot be read (told to `node` as a warning: the message still goes out without it).
 */
async function coverageOf(gateway, node, warningId, version) {
  try {
    const c = await call(gateway, 'GET', `/api/warnings/${encodeURIComponent(warningId)}/coverage`)
    return (c && Array.isArray(c.versions) ? c.versions : []).find((v) => v.version === version) ?? null
  } catch (err) {
    node.warn(`coverage of ${warningId} v${version} not read: ${err.message}`)
    return null
  }
}

module.exports = { call, coverageOf, GatewayError, regionContains, list }
