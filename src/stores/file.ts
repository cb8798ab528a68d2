/**
 * A {@link CacheStore} in one JSON file: for what must survive a restart on one machine (the registration
 * mapping, later the resource server's own credentials). Written atomically (a temporary file, fsync,
 * rename) and readable only by the owner (mode 0600). Writes are serialised.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { CacheStore } from './store.js';
import { StoreError } from './store-error.js';

interface Entry {
  v: string;
  /** Expiry in ms since the epoch; absent = no expiry. */
  e?: number;
}

/** What every FileStore of one file in this process shares, so two instances never overwrite each other. */
interface Backing {
  data: Record<string, Entry> | undefined;
  writing: Promise<void>;
}
const backings = new Map<string, Backing>();

/**
 * A JSON-file store. Instances on the same path in one process share their contents and their write queue;
 * separate processes must not share a file (use `RedisStore` across processes).
 */
export class FileStore implements CacheStore {
  readonly path: string;
  readonly #b: Backing;

  constructor(path: string) {
    this.path = path;
    const abs = resolve(path);
    let b = backings.get(abs);
    if (!b) backings.set(abs, (b = { data: undefined, writing: Promise.resolve() }));
    this.#b = b;
  }

  async get(key: string): Promise<string | undefined> {
    const e = this.#load()[key];
    if (!e) return undefined;
    if (e.e !== undefined && Date.now() >= e.e) return undefined;
    return e.v;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return this.delete(key); // the CacheStore contract: a ttl of 0 or less stores nothing
    this.#load()[key] = Number.isFinite(ttlMs) && ttlMs > 0 && ttlMs < 10 * 365 * 24 * 3600 * 1000 ? { v: value, e: Date.now() + ttlMs } : { v: value };
    await this.#flush();
  }

  async delete(key: string): Promise<void> {
    delete this.#load()[key];
    await this.#flush();
  }

  #load(): Record<string, Entry> {
    if (this.#b.data) return this.#b.data;
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      this.#b.data = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, Entry>) : {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StoreError({ code: 'ERR_STORE_UNREADABLE', message: `the store file ${this.path} is unreadable: ${(err as Error).message}`, cause: err });
      this.#b.data = {};
    }
    return this.#b.data;
  }

  #flush(): Promise<void> {
    const now = Date.now();
    const write = async () => {
      const data = this.#load();
      for (const [k, e] of Object.entries(data)) if (e.e !== undefined && now >= e.e) delete data[k];
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      const tmp = `${this.path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(data));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
    };
    this.#b.writing = this.#b.writing.then(write, write);
    return this.#b.writing;
  }
}
