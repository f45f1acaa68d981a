/**
 * A one-page status view served at `/` until the operator console (dashboards/) arrives:
 * active warnings, their versions and delivery counts, refreshed every two seconds from the API.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>哨兵 Shaobing</title>
<style>
body{font-family:system-ui,"Noto Sans CJK SC",sans-serif;margin:2rem;background:#f6f7f9;color:#1b1f24}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;background:#fff}
td,th{border:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}
.lv{display:inline-block;min-width:3.5rem;text-align:center;color:#fff;border-radius:3px;padding:0 .3rem}
.blue{background:#1f6feb}.yellow{background:#d4a72c}.orange{background:#e16f24}.red,.level_2{background:#cf222e}.level_1{background:#e16f24}.none{background:#8c959f}
</style></head><body>
<h1>哨兵 Shaobing — 预警 warnings</h1>
<p id="info"></p>
<table><thead><tr><th>状态</th><th>级别</th><th>预警</th><th>版本</th><th>内容</th><th>送达 deliveries</th></tr></thead>
<tbody id="rows"></tbody></table>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]))
async function refresh() {
  const info = await (await fetch('/api/info')).json()
  document.getElementById('info').textContent = 'MQTT ' + info.mqttUrl + (info.wsUrl ? ' · WS ' + info.wsUrl : '') + ' · stations ' + info.stations + ' · terminals ' + info.terminals
  const { warnings } = await (await fetch('/api/warnings?limit=50')).json()
  const rows = await Promise.all(warnings.map(async (w) => {
    const d = await (await fetch('/api/warnings/' + encodeURIComponent(w.id) + '/deliveries')).json()
    const s = d.summary[w.version] || {}
    const last = w.versions[w.versions.length - 1]
    return '<tr><td>' + (w.state === 'active' ? '生效' : '已解除') + '</td><td><span class="lv ' + (w.level || 'none') + '">' + (w.level || '—') +
      '</span></td><td>' + esc(w.id) + '</td><td>' + w.version + '</td><td>' + esc(last ? last.text : '') + '</td><td>' +
      Object.entries(s).map(([k, v]) => esc(k) + ' ' + v).join(', ') + '</td></tr>'
  }))
  document.getElementById('rows').innerHTML = rows.join('') || '<tr><td colspan="6">无预警 no warnings</td></tr>'
}
refresh(); setInterval(refresh, 2000)
</script></body></html>
`
