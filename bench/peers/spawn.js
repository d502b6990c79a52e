// spawn.js - the Node.js peer of bench/spawn.c: spawn-and-wait of N
// `true` processes one at a time with child_process.spawn, awaiting each
// child's 'exit' (stdio inherited, as in the other peers). Prints
// "node_spawn_ms <ms per child>", the median of ROUNDS rounds.
//
// Usage: node bench/peers/spawn.js [N=1000] [ROUNDS=5]
'use strict';
const { spawn } = require('child_process');

function runOne() {
    return new Promise((resolve, reject) => {
        const p = spawn('true', [], { stdio: 'inherit' });
        p.on('error', reject);
        p.on('exit', (code) =>
            code === 0 ? resolve() : reject(new Error('true failed')));
    });
}

async function oneRound(n) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++)
        await runOne();
    return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

async function main() {
    const n = parseInt(process.argv[2] || '1000', 10);
    const rounds = parseInt(process.argv[3] || '5', 10);
    const ms = [];
    for (let r = 0; r < rounds; r++)
        ms.push(await oneRound(n));
    ms.sort((a, b) => a - b);
    console.log('node_spawn_ms ' + ms[Math.floor(ms.length / 2)].toFixed(4));
}

main().catch((e) => { console.error(e); process.exit(1); });
