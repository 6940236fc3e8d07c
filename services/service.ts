/** What each harness module returns once its service answers on loopback. */
export interface StartedService {
  readonly name: string;
  /** Environment variables through which tests find the service (inherited by jest's workers). */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** Reads an endpoint published by the harness; a clear message when a test runs outside it. */
export function harnessEnv(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: integration tests get their services from test/global-setup.js; ` +
        'run them with `npm run jest -- --selectProjects integration`.',
    );
  }
  return value;
}
