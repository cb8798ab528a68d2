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

/** One key's entry in the file; the short member names are the file format (kept, so files stay readable). */
interface Entry {
  /** The value. */
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
  readonly #backing: Backing;

  constructor(path: string) {
    this.path = path;
    const abs = resolve(path);
    let backing = backings.get(abs);
    if (!backing) backings.set(abs, (backing = { data: undefined, writing: Promise.resolve() }));
    this.#backing = backing;
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.#load()[key];
    if (!entry) return undefined;
    if (entry.e !== undefined && Date.now() >= entry.e) return undefined;
    return entry.v;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) return this.delete(key); // the CacheStore contract: a ttl of 0 or less stores nothing
    this.#load()[key] =
      Number.isFinite(ttlMs) && ttlMs > 0 && ttlMs < 10 * 365 * 24 * 3600 * 1000 ? { v: value, e: Date.now() + ttlMs } : { v: value };
    await this.#flush();
  }

  async delete(key: string): Promise<void> {
    delete this.#load()[key];
    await this.#flush();
  }

  #load(): Record<string, Entry> {
    if (this.#backing.data) return this.#backing.data;
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      this.#backing.data = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, Entry>) : {};
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StoreError({
          code: 'ERR_STORE_UNREADABLE',
          message: `the store file ${this.path} is unreadable: ${(err as Error).message}`,
          cause: err,
        });
      }
      this.#backing.data = {};
    }
    return this.#backing.data;
  }

  #flush(): Promise<void> {
    const now = Date.now();
    const write = async () => {
      const data = this.#load();
      for (const [key, entry] of Object.entries(data)) if (entry.e !== undefined && now >= entry.e) delete data[key];
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
    this.#backing.writing = this.#backing.writing.then(write, write);
    return this.#backing.writing;
  }
}
