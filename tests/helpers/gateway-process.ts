/**
 * Runs the gateway CLI from source in a child process (`node --import tsx tests/helpers/gateway-process.ts start …`),
 * so process-level tests (SIGKILL, crashes) exercise the same code as `shaobing start`.
 */
import { main } from '../../gateway/src/cli/main.js'

process.exitCode = await main(process.argv.slice(2))
