/**
 * A real redis-server for the tests, started from PATH on a free loopback port with no persistence, and
 * stopped by the test. It can be paused (SIGSTOP: a hung Redis), stopped and started again on the same port
 * (an outage and its end). Without redis-server on PATH, starting one fails with a message naming the
 * Debian package (`.ci/run` installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export interface RedisServerHandle {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Start it again (on the same port) after {@link RedisServerHandle.stop}. */
  start(): Promise<void>;
  /** Stop it (SIGTERM, SIGKILL after 5 s) and wait until it has exited. */
  stop(): Promise<void>;
  /** Freeze it (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Thaw it (SIGCONT). */
  resume(): void;
  /** Stop it for good and remove its working directory. */
  close(): Promise<void>;
}

/** The redis-server executable on PATH, or a thrown error naming the Debian package. */
export function findRedisServer(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(
    'redis-server is not on PATH: the Redis tests need a real Redis. Install the Debian package redis-server ' +
      '(apt-get install -y redis-server; .ci/run does this), then run the tests again.',
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no free port');
  return address.port;
}

/** One PING over a raw socket: true on +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
  });
}

export async function startRedisServer(): Promise<RedisServerHandle> {
  const executable = findRedisServer();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ors-redis-'));
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  async function start(): Promise<void> {
    if (child) throw new Error('redis-server is already running');
    const p = spawn(executable, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = p;
    let output = '';
    const keep = (d: Buffer) => {
      output = (output + d.toString('utf8')).slice(-4000);
    };
    p.stdout?.on('data', keep);
    p.stderr?.on('data', keep);
    let gone = false;
    exited = new Promise<void>((resolve) => {
      p.once('exit', () => {
        gone = true;
        if (child === p) child = undefined;
        resolve();
      });
    });
    p.once('error', () => undefined); // a spawn failure shows as exit below
    for (let attempt = 0; attempt < 200; attempt++) {
      if (gone) throw new Error(`redis-server exited before answering PING on port ${port}:\n${output}`);
      if (await ping(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    p.kill('SIGKILL');
    throw new Error(`redis-server did not answer PING on port ${port} within 10 s:\n${output}`);
  }

  async function stop(): Promise<void> {
    const p = child;
    if (!p) return;
    p.kill('SIGCONT');
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  try {
    await start();
  } catch (err) {
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    start,
    stop,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async close() {
      await stop();
      process.removeListener('exit', killOnExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
