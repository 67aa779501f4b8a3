#!/usr/bin/env node
// Checked before anything is loaded: libp2p 3 needs Node.js 22 or newer.
const major = Number(process.versions.node.split('.')[0])
if (major < 22) {
  process.stderr.write(`freeflow: Node.js 22 or newer is needed, this is ${process.version}. ` +
    'Run it through npm (npm start) or with the project\'s node: node_modules/.bin/node bin/freeflow.js\n')
  process.exit(1)
}
// start-up is most of the time it takes to join: keep compiled modules between runs
const { enableCompileCache } = await import('node:module')
enableCompileCache?.()
const { main } = await import('../dist/node/cli.js')
const code = await main(process.argv.slice(2))
// -1: a long-running command (join, relay) that exits on SIGINT/SIGTERM
if (code >= 0) process.exitCode = code
process.on('unhandledRejection', (err) => {
  process.stderr.write(`freeflow: unexpected error (still running): ${err?.stack ?? err}\n`)
})
