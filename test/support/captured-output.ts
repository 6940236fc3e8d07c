/**
 * The JSON lines a piece of code printed (Powertools writes logs and EMF to stdout, ERROR logs to
 * stderr, as Lambda's console does), captured while `run` runs and parsed.
 */
export async function jsonLinesPrinted(run: () => unknown): Promise<Record<string, unknown>[]> {
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  for (const stream of streams) {
    stream.write = ((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    }) as typeof stream.write;
  }
  try {
    await run();
  } finally {
    streams.forEach((stream, i) => (stream.write = originals[i]!));
  }
  return lines
    .flatMap((line) => line.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}
