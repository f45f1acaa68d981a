/**
 * The small builder every Shaobing dashboard is made with, typed against Grafana's published schema
 * (`@grafana/schema`): the two datasources and their queries, panels laid out left to right in rows
 * of Grafana's 24 columns, ids handed out in order, and the dashboard around them.
 *
 * Two flavours of each data dashboard: `influxdb` (an InfluxDB 1.x datasource, raw InfluxQL) and
 * `prometheus` (VictoriaMetrics through Grafana's Prometheus datasource, MetricsQL/PromQL). The
 * datasource uids are the ones `provisioning/datasources/shaobing.yaml` defines.
 */
import {
  DashboardCursorSync,
  defaultDashboard,
  MappingType,
  ThresholdsMode,
  VariableHide,
  VariableRefresh,
  VariableSort,
  type AnnotationQuery,
  type DataQuery,
  type Dashboard,
  type DataSourceRef,
  type FieldConfigSource,
  type Panel,
  type RowPanel,
  type ThresholdsConfig,
  type ValueMapping,
  type VariableModel,
} from '@grafana/schema'

export type Flavour = 'influxdb' | 'prometheus'

/** The datasources the provisioning file defines, by flavour (uid and plugin type). */
export const DATASOURCES: Readonly<Record<Flavour, Required<Pick<DataSourceRef, 'type' | 'uid'>>>> = {
  influxdb: { type: 'influxdb', uid: 'shaobing-influxdb' },
  prometheus: { type: 'prometheus', uid: 'shaobing-victoriametrics' },
}

/** A raw InfluxQL query of Grafana's InfluxDB datasource (`$timeFilter`, `$__interval`, `$var`). */
export interface InfluxTarget extends DataQuery {
  readonly query: string
  readonly rawQuery: true
  readonly resultFormat: 'time_series' | 'table'
  /** Series names: `$col` the column, `$tag_x` a tag's value. */
  readonly alias?: string
}

/** A query of Grafana's Prometheus datasource (`$__rate_interval`, `$__interval`, `$__range`, `$var`). */
export interface PromTarget extends DataQuery {
  readonly expr: string
  readonly legendFormat?: string
  readonly range: boolean
  readonly instant: boolean
  readonly format?: 'time_series' | 'table' | 'heatmap'
}

export type Target = InfluxTarget | PromTarget

/** Grafana's InfluxDB annotation: the InfluxQL query, and which columns make the text and the tags. */
export interface InfluxAnnotationTarget extends DataQuery {
  readonly query: string
  readonly rawQuery: true
  readonly fromAnnotations: true
  readonly textColumn: string
  readonly tagsColumn: string
  readonly titleColumn?: string
}

/** The query of Grafana's Prometheus annotation: `interval` is its step. */
export interface PromAnnotationTarget extends DataQuery {
  readonly expr: string
  readonly interval: string
}

/**
 * Grafana's Prometheus annotation: an event wherever the series has a sample, its title and tags
 * from the series' labels (these options sit beside the query, where Grafana's editor keeps them).
 */
export interface PromAnnotation extends AnnotationQuery<PromAnnotationTarget> {
  readonly titleFormat: string
  readonly tagKeys: string
  readonly textFormat?: string
  readonly useValueForTime: boolean
}

export const isInflux = (t: Target): t is InfluxTarget => 'query' in t

export const influx =
  (query: string, alias?: string, resultFormat: InfluxTarget['resultFormat'] = 'time_series') =>
  (refId: string): InfluxTarget => ({
    refId,
    datasource: DATASOURCES.influxdb,
    query,
    rawQuery: true,
    resultFormat,
    ...(alias !== undefined ? { alias } : {}),
  })

export const prom =
  (expr: string, legendFormat?: string, opts: { instant?: boolean; format?: PromTarget['format'] } = {}) =>
  (refId: string): PromTarget => ({
    refId,
    datasource: DATASOURCES.prometheus,
    expr,
    ...(legendFormat !== undefined ? { legendFormat } : {}),
    range: !opts.instant,
    instant: opts.instant ?? false,
    ...(opts.format !== undefined ? { format: opts.format } : {}),
  })

/** The level ranks the line protocol writes (rules' `rank`): 0 none … 4 red; alarm stages 1 and 2. */
export const LEVEL_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '0': { text: 'none 无', color: 'green', index: 0 },
      '1': { text: 'blue 蓝 / 一级', color: 'blue', index: 1 },
      '2': { text: 'yellow 黄 / 二级', color: 'yellow', index: 2 },
      '3': { text: 'orange 橙', color: 'orange', index: 3 },
      '4': { text: 'red 红', color: 'red', index: 4 },
    },
  },
]

/** A fault's `active` field: 1 raised, 0 cleared. */
export const FAULT_MAPPINGS: ValueMapping[] = [
  {
    type: MappingType.ValueToText,
    options: {
      '0': { text: 'cleared 已恢复', color: 'green', index: 0 },
      '1': { text: 'fault 故障', color: 'purple', index: 1 },
    },
  },
]

/** Colours Grafana names for each warning level (the alarm stages as the colours of their rank). */
export const LEVEL_COLOURS: Readonly<Record<string, string>> = {
  blue: 'blue',
  yellow: 'yellow',
  orange: 'orange',
  red: 'red',
  level_1: 'orange',
  level_2: 'red',
  none: 'green',
}

export const thresholds = (steps: ThresholdsConfig['steps']): ThresholdsConfig => ({
  mode: ThresholdsMode.Absolute,
  steps: [{ color: 'green', value: null }, ...steps],
})

export interface PanelSpec {
  readonly type: 'timeseries' | 'state-timeline' | 'table' | 'bargauge' | 'stat' | 'heatmap'
  readonly title: string
  readonly description?: string
  readonly targets: readonly ((refId: string) => Target)[]
  /** Width in Grafana's 24 columns and height in rows (default 12 × 8). */
  readonly w?: number
  readonly h?: number
  readonly fieldConfig?: FieldConfigSource
  readonly options?: Record<string, unknown>
  /** The smallest `$__interval` (bars of a count per interval). */
  readonly interval?: string
  readonly transformations?: Panel['transformations']
}

/** A row heading the panels after it (open: its panels stay in the dashboard's list). */
export interface RowSpec {
  readonly row: string
}

/**
 * Panels with ids 1, 2, … placed left to right, wrapping at 24 columns, on the datasource of their
 * targets; a row starts a new line across the whole width.
 */
export function layout(specs: readonly (PanelSpec | RowSpec)[], flavour: Flavour): (Panel | RowPanel)[] {
  let x = 0
  let y = 0
  let rowH = 0
  const newLine = () => {
    x = 0
    y += rowH
    rowH = 0
  }
  return specs.map((s, i): Panel | RowPanel => {
    if ('row' in s) {
      if (x > 0) newLine()
      const row: RowPanel = {
        id: i + 1,
        type: 'row',
        title: s.row,
        collapsed: false,
        gridPos: { x: 0, y, w: 24, h: 1 },
        panels: [],
      }
      y += 1
      return row
    }
    const w = s.w ?? 12
    const h = s.h ?? 8
    if (x + w > 24) newLine()
    const gridPos = { x, y, w, h }
    x += w
    rowH = Math.max(rowH, h)
    return {
      id: i + 1,
      type: s.type,
      title: s.title,
      ...(s.description !== undefined ? { description: s.description } : {}),
      datasource: DATASOURCES[flavour],
      gridPos,
      targets: s.targets.map((t, k) => ({ ...t(String.fromCharCode(65 + k)) })),
      fieldConfig: s.fieldConfig ?? { defaults: {}, overrides: [] },
      options: s.options ?? {},
      ...(s.interval !== undefined ? { interval: s.interval } : {}),
      ...(s.transformations !== undefined ? { transformations: s.transformations } : {}),
    }
  })
}

/** A query variable of one value (no "All"), refreshed when the dashboard loads. */
export function queryVariable(name: string, label: string, flavour: Flavour, query: string): VariableModel {
  return {
    type: 'query',
    name,
    label,
    datasource: DATASOURCES[flavour],
    query,
    refresh: VariableRefresh.onDashboardLoad,
    sort: VariableSort.alphabeticalAsc,
    hide: VariableHide.dontHide,
    multi: false,
    includeAll: false,
  }
}

/** Grafana's own annotation (annotations and alerts made in Grafana), kept as Grafana adds it. */
const builtIn: AnnotationQuery = {
  builtIn: 1,
  datasource: { type: 'grafana', uid: '-- Grafana --' },
  enable: true,
  hide: true,
  iconColor: 'rgba(0, 211, 255, 1)',
  name: 'Annotations & Alerts',
  type: 'dashboard',
}

export function influxAnnotation(
  name: string,
  iconColor: string,
  target: Omit<InfluxAnnotationTarget, 'refId' | 'rawQuery' | 'fromAnnotations'>,
): AnnotationQuery<InfluxAnnotationTarget> {
  return {
    name,
    enable: true,
    iconColor,
    datasource: DATASOURCES.influxdb,
    target: { refId: 'Anno', rawQuery: true, fromAnnotations: true, ...target },
  }
}

export function promAnnotation(
  name: string,
  iconColor: string,
  a: { expr: string; step: string; titleFormat: string; tagKeys: string; textFormat?: string },
): PromAnnotation {
  return {
    name,
    enable: true,
    iconColor,
    datasource: DATASOURCES.prometheus,
    target: { refId: 'Anno', expr: a.expr, interval: a.step },
    titleFormat: a.titleFormat,
    tagKeys: a.tagKeys,
    ...(a.textFormat !== undefined ? { textFormat: a.textFormat } : {}),
    useValueForTime: false,
  }
}

export interface DashboardSpec {
  readonly uid: string
  readonly title: string
  readonly description: string
  readonly tags: readonly string[]
  readonly panels: (Panel | RowPanel)[]
  readonly variables?: readonly VariableModel[]
  readonly annotations?: readonly AnnotationQuery[]
  readonly time?: { from: string; to: string }
  readonly refresh?: string
}

/** The dashboard at the schema version of the published types (what Grafana migrates from). */
export function dashboard(s: DashboardSpec): Dashboard {
  return {
    uid: s.uid,
    title: s.title,
    description: s.description,
    tags: [...s.tags],
    schemaVersion: defaultDashboard.schemaVersion,
    editable: true,
    graphTooltip: DashboardCursorSync.Crosshair,
    timezone: 'browser',
    time: s.time ?? { from: 'now-6h', to: 'now' },
    refresh: s.refresh ?? '1m',
    annotations: { list: [builtIn, ...(s.annotations ?? [])] },
    templating: { list: [...(s.variables ?? [])] },
    panels: s.panels,
    links: [],
  }
}
