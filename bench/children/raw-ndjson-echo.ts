/**
 * The stdio baseline's child: answers NDJSON `components/execute` requests by hand, no flowrun
 * code. Every line of one read is answered in one `write()` (batched, as our writer does);
 * method `cpu` answers this process's CPU µs so far.
 */
process.stdin.setEncoding('utf8');
let partial = '';
process.stdin.on('data', (chunk: string) => {
  const lines = (partial + chunk).split('\n');
  partial = lines.pop()!;
  let out = '';
  for (const line of lines) {
    if (line === '') continue;
    const m = JSON.parse(line) as { id: number; method: string; params: { input: unknown } };
    const output = m.method === 'cpu' ? cpuMicros() : m.params.input;
    out += JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { output } }) + '\n';
  }
  if (out !== '') process.stdout.write(out);
});
process.stdin.on('end', () => process.exit(0));

function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}
