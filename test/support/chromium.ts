import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What a page did while it loaded, as Chromium's DevTools protocol reported it. */
export interface OpenedPage {
  /** Console errors, uncaught exceptions and browser log errors. */
  readonly errors: string[];
  /** Every URL the page asked for, beyond the page itself. */
  readonly requests: string[];
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the page at `width`, the whole page or its first `height` pixels. */
  screenshot(width: number, height?: number): Promise<Buffer>;
  close(): Promise<void>;
}

/**
 * Opens a file in Debian's headless Chromium and talks to it over the DevTools protocol (WebSocket, on
 * loopback): console and exception events are collected from before the page loads.
 */
export async function openInChromium(path: string): Promise<OpenedPage> {
  const profile = await mkdtemp(join(tmpdir(), 'chromium-'));
  const browser = spawn(
    'chromium',
    [
      '--headless=new',
      // Root in CI containers cannot use Chromium's sandbox; the page is our own report.
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      `--user-data-dir=${profile}`,
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  try {
    const endpoint = await devToolsEndpoint(browser);
    const port = new URL(endpoint).port;
    const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
      type: string;
      webSocketDebuggerUrl: string;
    }[];
    const page = targets.find((t) => t.type === 'page');
    if (!page) throw new Error('Chromium opened no page');
    const session = await Session.connect(page.webSocketDebuggerUrl);
    const errors: string[] = [];
    const requests: string[] = [];
    const url = `file://${path}`;
    session.on(
      'Runtime.consoleAPICalled',
      (p: { type: string; args: { value?: unknown; description?: string }[] }) => {
        if (p.type === 'error' || p.type === 'assert')
          errors.push(p.args.map((a) => String(a.value ?? a.description)).join(' '));
      },
    );
    session.on('Runtime.exceptionThrown', (p: { exceptionDetails: { text: string } }) =>
      errors.push(p.exceptionDetails.text),
    );
    session.on('Log.entryAdded', (p: { entry: { level: string; text: string } }) => {
      if (p.entry.level === 'error') errors.push(p.entry.text);
    });
    session.on('Network.requestWillBeSent', (p: { request: { url: string } }) => {
      if (p.request.url !== url) requests.push(p.request.url);
    });
    await Promise.all(
      ['Runtime.enable', 'Log.enable', 'Page.enable', 'Network.enable'].map((m) => session.send(m)),
    );
    const loaded = session.once('Page.loadEventFired');
    await session.send('Page.navigate', { url });
    await loaded;
    const evaluate = async <T>(expression: string): Promise<T> => {
      const { result, exceptionDetails } = (await session.send('Runtime.evaluate', {
        expression,
        returnByValue: true,
      })) as { result: { value: T }; exceptionDetails?: { text: string } };
      if (exceptionDetails) throw new Error(exceptionDetails.text);
      return result.value;
    };
    return {
      errors,
      requests,
      evaluate,
      async screenshot(width: number, clipHeight?: number) {
        const height = clipHeight ?? (await evaluate<number>('document.documentElement.scrollHeight'));
        await session.send('Emulation.setDeviceMetricsOverride', {
          width,
          height,
          deviceScaleFactor: 1,
          mobile: false,
        });
        const { data } = (await session.send('Page.captureScreenshot', { format: 'png' })) as {
          data: string;
        };
        return Buffer.from(data, 'base64');
      },
      async close() {
        session.close();
        await stop(browser);
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stop(browser);
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}

function devToolsEndpoint(browser: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start in 30 s:\n${output}`)), 30_000);
    browser.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot run chromium (apt-get install chromium): ${error.message}`));
    });
    browser.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
}

async function stop(browser: ChildProcess): Promise<void> {
  if (browser.exitCode !== null) return;
  const exited = new Promise((resolve) => browser.once('exit', resolve));
  browser.kill('SIGTERM');
  await exited;
}

/** A minimal DevTools protocol client: numbered commands, answers by id, events by method. */
class Session {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  private readonly listeners = new Map<string, ((params: never) => void)[]>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener('message', (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        method?: string;
        params?: unknown;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id !== undefined) {
        const waiting = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.error) waiting?.reject(new Error(message.error.message));
        else waiting?.resolve(message.result);
      } else if (message.method) {
        for (const listener of this.listeners.get(message.method) ?? []) listener(message.params as never);
      }
    });
  }

  static connect(url: string): Promise<Session> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.addEventListener('open', () => resolve(new Session(socket)));
      socket.addEventListener('error', () => reject(new Error(`cannot reach Chromium at ${url}`)));
    });
  }

  send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    this.socket.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  on<T>(method: string, listener: (params: T) => void): void {
    this.listeners.set(method, [...(this.listeners.get(method) ?? []), listener as (params: never) => void]);
  }

  once(method: string): Promise<void> {
    return new Promise((resolve) => this.on(method, () => resolve()));
  }

  close(): void {
    this.socket.close();
  }
}
