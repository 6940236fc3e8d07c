import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

// In a Lambda bundle, stack traces name the TypeScript sources through the bundle's source map. Node's
// `--enable-source-maps` reads and parses the whole map while the bundle loads, on every cold start; here
// the map is read the first time a stack is formatted, which on a healthy path is never.

const bundleUrl = import.meta.url;
const mapFile = `${fileURLToPath(bundleUrl)}.map`;
let sourceMap: SourceMap | null | undefined;

function bundleMap(): SourceMap | null {
  if (sourceMap === undefined) {
    try {
      sourceMap = new SourceMap(
        JSON.parse(readFileSync(mapFile, 'utf8')) as ConstructorParameters<typeof SourceMap>[0],
      );
    } catch {
      sourceMap = null; // an unreadable map leaves the frames as V8 wrote them
    }
  }
  return sourceMap;
}

function frame(site: NodeJS.CallSite): string {
  const [line, column] = [site.getLineNumber(), site.getColumnNumber()];
  const map = site.getFileName() === bundleUrl && line !== null && column !== null ? bundleMap() : null;
  const origin = map?.findEntry(line! - 1, column! - 1);
  if (!origin || !('originalSource' in origin)) return site.toString();
  // Sources are relative to the map, as Node's own mapping resolves them.
  const source = fileURLToPath(new URL(origin.originalSource, pathToFileURL(mapFile)));
  const at = `${source}:${origin.originalLine + 1}:${origin.originalColumn + 1}`;
  const name = site.getFunctionName();
  return `${site.isAsync() ? 'async ' : ''}${name ? `${name} (${at})` : at}`;
}

// Only inside a bundle that ships its map, and only when Node does not map stacks itself.
if (existsSync(mapFile) && !process.sourceMapsEnabled) {
  Error.prepareStackTrace = (error: Error, sites: NodeJS.CallSite[]) =>
    [Error.prototype.toString.call(error), ...sites.map((site) => `    at ${frame(site)}`)].join('\n');
}
