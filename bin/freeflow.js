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

// each entry point owns its command: the relay's lives with the relay, the member commands with the Node peer
const [command, ...rest] = process.argv.slice(2)
const commands = {
  relay: async () => (await import('../dist/relay/command.js')).main(rest),
  room: async () => (await import('../dist/node/cli.js')).main([command, ...rest]),
  join: async () => (await import('../dist/node/cli.js')).main([command, ...rest]),
  record: async () => (await import('../dist/node/cli.js')).main([command, ...rest])
}
async function usage () {
  const [member, relay] = await Promise.all([import('../dist/node/cli.js'), import('../dist/relay/command.js')])
  return `${member.USAGE}\n${relay.USAGE.replace(/^usage:\n/, '')}\n`
}

let code
if (command === 'help' || command === '--help' || command === '-h') {
  process.stdout.write(await usage())
  code = 0
} else if (command == null || !Object.hasOwn(commands, command)) {
  process.stderr.write(`${command == null ? '' : `freeflow: unknown command '${command}'\n`}${await usage()}`)
  code = 2
} else {
  code = await commands[command]()
}
// -1: a long-running command (join, relay, record) that exits on SIGINT/SIGTERM
if (code >= 0) { process.exitCode = code }
process.on('unhandledRejection', (err) => {
  process.stderr.write(`freeflow: unexpected error (still running): ${err?.stack ?? err}\n`)
})
