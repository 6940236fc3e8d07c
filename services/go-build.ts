import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cached } from './cache.js';
import { HarnessError, progress, runCommand } from './processes.js';

/** Go binaries built from a released module fetched through the Go module proxy, cached by version. */
export interface GoBuildSpec {
  /** Names the component in progress lines and errors, e.g. `kubernetes`. */
  component: string;
  /** Cache key, which must change with the version, e.g. `go/kubernetes-v1.36.3`. */
  cacheKey: string;
  module: string;
  version: string;
  /**
   * `module => version` pins for the wrapper's go.mod (a dependency's own replaces are ignored), worked
   * out only when a build is needed; gets the folder the build runs in.
   */
  replaces?: (buildDir: string) => Promise<Record<string, string>>;
  /** Binary name => main package import path. Built one after the other (the machine has 2 cores). */
  binaries: Record<string, string>;
  ldflags?: string;
}

/** Returns the folder holding the built binaries; builds them into the cache on the first run only. */
export async function goBuild(spec: GoBuildSpec): Promise<string> {
  const dir = await cached(spec.cacheKey, async (buildDir) => {
    const replaces = (await spec.replaces?.(buildDir)) ?? {};
    await writeFile(join(buildDir, 'go.mod'), wrapperGoMod(spec, replaces));
    for (const [binary, pkg] of Object.entries(spec.binaries)) {
      progress(`building ${binary} ${spec.version} from ${pkg} (first run only, several minutes)`);
      await buildBinary(spec.component, buildDir, binary, pkg, goEnv('mod'), spec.ldflags);
    }
  });
  return join(dir, 'bin');
}

/** A main module kept in this repo, with its own go.mod and go.sum, built as committed. */
export interface LocalGoBuildSpec {
  component: string;
  /** Cache key, which must change with the sources, e.g. `go/alertmanager-render-v0.27.0-<hash>`. */
  cacheKey: string;
  /** The module's folder (main package at its root). */
  sourceDir: string;
  binary: string;
}

/**
 * Returns the path of the built binary; copies the module into the cache and builds it on the first run
 * only. `-mod=readonly`: a go.sum that does not pin every dependency fails the build instead of being
 * filled in from whatever the proxy serves that day.
 */
export async function goBuildLocal(spec: LocalGoBuildSpec): Promise<string> {
  const dir = await cached(spec.cacheKey, async (buildDir) => {
    await cp(spec.sourceDir, buildDir, { recursive: true });
    progress(`building ${spec.binary} from ${spec.sourceDir} (first run only, about two minutes)`);
    await buildBinary(spec.component, buildDir, spec.binary, '.', goEnv('readonly'));
  });
  return join(dir, 'bin', spec.binary);
}

async function buildBinary(
  component: string,
  buildDir: string,
  binary: string,
  pkg: string,
  env: NodeJS.ProcessEnv,
  ldflags?: string,
): Promise<void> {
  const started = Date.now();
  const args = ['build', '-trimpath', '-ldflags', `-s -w ${ldflags ?? ''}`.trim()];
  const output = await runCommand(component, 'go', [...args, '-o', join('bin', binary), pkg], {
    cwd: buildDir,
    env,
  });
  await writeFile(join(buildDir, `build-${binary}.log`), output);
  progress(`built ${binary} in ${Math.round((Date.now() - started) / 1000)}s`);
}

/** Downloads `module@version` through the proxy and returns the text of its go.mod. */
export async function goModFile(
  component: string,
  module: string,
  version: string,
  cwd: string,
): Promise<string> {
  const output = await runCommand(component, 'go', ['mod', 'download', '-json', `${module}@${version}`], {
    cwd,
    env: goEnv('mod'),
  });
  const info = JSON.parse(output) as { GoMod?: string; Error?: string };
  if (!info.GoMod) {
    throw new HarnessError(
      component,
      `go mod download ${module}@${version} gave no go.mod: ${info.Error ?? output}`,
    );
  }
  return readFile(info.GoMod, 'utf8');
}

function wrapperGoMod(spec: GoBuildSpec, replaces: Record<string, string>): string {
  const name = spec.component.replace(/[^a-z0-9-]/gi, '-');
  const lines = Object.entries(replaces).map(([mod, version]) => `\t${mod} => ${mod} ${version}\n`);
  return [
    `module ibcp.local/${name}-build\n\ngo 1.26.0\n\nrequire ${spec.module} ${spec.version}\n`,
    lines.length > 0 ? `\nreplace (\n${lines.join('')})\n` : '',
  ].join('');
}

/**
 * `-mod=mod` lets `go build` fill go.sum and missing requirements of a generated wrapper; `readonly` builds
 * a committed module exactly as pinned. A local toolchain only (no download).
 */
function goEnv(mod: 'mod' | 'readonly'): NodeJS.ProcessEnv {
  return { GOFLAGS: `-mod=${mod} -buildvcs=false`, GOTOOLCHAIN: 'local', GOWORK: 'off' };
}
