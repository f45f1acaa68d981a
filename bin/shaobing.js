#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript (npm install runs the build through `prepare`).
import { main } from '../dist/gateway/src/cli/main.js'

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code
  },
  (err) => {
    console.error(err)
    process.exitCode = 1
  },
)
