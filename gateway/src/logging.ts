/**
 * The gateway's root logger, and the one place that decides how its lines look: readable lines
 * (pino-pretty) for a person at a terminal, JSON lines for everything else (pipes, files, systemd,
 * tests). `--log-format json|pretty`, then `SHAOBING_LOG_FORMAT`, override what stdout looks like.
 *
 * Pretty lines are formatted and written synchronously at the call, like the JSON ones: they stay
 * in order with what the CLI writes itself, and nothing is lost when the process exits.
 */
import { pino, type DestinationStream, type Logger } from 'pino'
import { prettyFactory } from 'pino-pretty'

export const LOG_FORMATS = ['json', 'pretty'] as const
export type LogFormat = (typeof LOG_FORMATS)[number]

export const LOG_FORMAT_ENV = 'SHAOBING_LOG_FORMAT'

const isLogFormat = (v: string): v is LogFormat => (LOG_FORMATS as readonly string[]).includes(v)

/** What stdout is, as far as the choice goes. */
export interface OutputStream {
  readonly isTTY?: boolean
}

/**
 * The format: the option if given, else the environment's `SHAOBING_LOG_FORMAT`, else pretty
 * exactly when stdout is a terminal. Throws on a value that is neither json nor pretty.
 */
export function chooseLogFormat(opts: {
  readonly option?: string | undefined
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly stdout?: OutputStream
}): LogFormat {
  const option = opts.option
  if (option !== undefined) {
    if (!isLogFormat(option)) throw new Error(`--log-format must be json or pretty, got ${option}`)
    return option
  }
  const env = (opts.env ?? process.env)[LOG_FORMAT_ENV]
  if (env !== undefined && env !== '') {
    if (!isLogFormat(env)) throw new Error(`${LOG_FORMAT_ENV} must be json or pretty, got ${env}`)
    return env
  }
  return (opts.stdout ?? process.stdout).isTTY === true ? 'pretty' : 'json'
}

const REDACT = ['*.password', '*.token', '*.authorization']

/**
 * Fields a person does not need on every line (the process, the host: one gateway per terminal;
 * fastify's request objects, whose essentials are in the message) or that the line shows in front
 * (the component).
 */
const PRETTY_IGNORE = 'pid,hostname,component,req,res,reqId'

/**
 * A pretty line: `[12:04:31.207] INFO: [warnings] warning changed {"warningId":…,"warningLevel":"red"}`.
 * The time is the machine's local time; colours only on a terminal that has not asked for none.
 */
function prettyStream(
  out: OutputStream & { write(s: string): unknown },
  colorize: boolean,
): DestinationStream {
  const prettify = prettyFactory({
    colorize,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: PRETTY_IGNORE,
    singleLine: true,
    messageFormat: (log, messageKey) => {
      const msg = String(log[messageKey] ?? '')
      return typeof log.component === 'string' ? `[${log.component}] ${msg}` : msg
    },
  })
  return { write: (line: string) => void out.write(prettify(line)) }
}

/**
 * The root logger at `level` in `format`, writing to `destination` (default: stdout, synchronously).
 * Secrets (passwords, tokens, authorization headers) are redacted in either format.
 */
export function createLogger(opts: {
  readonly level: string
  readonly format: LogFormat
  readonly destination?: OutputStream & { write(s: string): unknown }
  readonly env?: Readonly<Record<string, string | undefined>>
}): Logger {
  const options = { level: opts.level, redact: REDACT }
  const out = opts.destination ?? pino.destination({ dest: 1, sync: true })
  if (opts.format === 'json') return pino(options, out as DestinationStream)
  const env = opts.env ?? process.env
  const tty = opts.destination ? opts.destination.isTTY === true : process.stdout.isTTY
  const colorize = tty && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb'
  return pino(options, prettyStream(out, colorize))
}
