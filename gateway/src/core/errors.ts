/** One error class and one registry of codes; codes are never reused. */
export const ErrorCode = {
  CONFIG_INVALID: 'GW_ERR_CONFIG_INVALID',
  PAYLOAD_INVALID: 'GW_ERR_PAYLOAD_INVALID',
  STORE_FAILED: 'GW_ERR_STORE_FAILED',
} as const
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode]

export class GatewayError extends Error {
  readonly retryable: boolean
  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, { cause: opts.cause })
    this.name = 'GatewayError'
    this.retryable = opts.retryable ?? false
  }
}
