/**
 * An {@link AtomicStore} on Redis, for many replicas of one API: the introspection verdicts, the DPoP
 * replay set, the PAT, the registration mapping and lock, shared by every process.
 *
 * Built on `ioredis`, an optional peer dependency: this module never imports it statically. Pass an
 * ioredis instance (`new RedisStore({ client })`) or let {@link RedisStore.connect} import it on demand.
 * Every command is bounded by `timeoutMs`, so a hung Redis never hangs a request; a failing Redis surfaces
 * as rejections, which the kit handles per use (the introspection cache falls back to the AS).
 */
import { randomBytes } from 'node:crypto';
import { ConfigurationError } from '../answers/errors.js';
import { runWithLease, type AtomicStore, type LockOptions } from './store.js';
import { StoreError } from './store-error.js';
import { importPeer } from '../peers/peer-import.js';

/**
 * What the store needs of a Redis client: the generic command call and `quit`. An `ioredis` `Redis`
 * instance (5.x or 6.x) fits as it is.
 */
export interface RedisClientLike {
  /** Send `command` with `args`; resolves to Redis's reply. */
  call(command: string, args: (string | number)[]): Promise<unknown>;
  /** Close the connection politely. */
  quit(): Promise<unknown>;
}

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions {
  /** A connected (or connecting) ioredis client. The store does not close it: its owner does. */
  client: RedisClientLike;
  /** Put before every key, to share one Redis with other applications. Default `ors:`. */
  prefix?: string;
  /** Longest wait for one command's reply, in ms; past it the call rejects. Default 1000. */
  timeoutMs?: number;
}

/** Options of {@link RedisStore.connect}. */
export interface RedisConnectOptions {
  /** Put before every key. Default `ors:`. */
  prefix?: string;
  /** Longest wait for one command's reply (and for the first connection), in ms. Default 1000. */
  timeoutMs?: number;
  /**
   * More ioredis options (TLS, password, database, retry strategy…), merged over the store's: `lazyConnect`,
   * `enableOfflineQueue: false` (while Redis is unreachable, commands fail at once instead of queueing, so
   * the kit falls back without waiting), `maxRetriesPerRequest: 1`, and `connectTimeout`.
   */
  redisOptions?: Record<string, unknown>;
}

/** The ioredis client as {@link RedisStore.connect} uses it. */
interface OwnedClient extends RedisClientLike {
  connect(): Promise<void>;
  disconnect(): void;
  on(event: 'error', listener: (err: Error) => void): unknown;
}
type RedisConstructor = new (url: string, options: Record<string, unknown>) => OwnedClient;

/** TTLs this long (or not finite) mean "no expiry", as in {@link FileStore}. */
const NO_EXPIRY_MS = 10 * 365 * 24 * 3600 * 1000;

/** How long a reading of Redis's eviction settings is trusted before it is read again, in ms. */
const EVICTION_RECHECK_MS = 60_000;

/** Delete the lock only if it still holds the caller's token (a lock taken over is left alone). */
const RELEASE_SCRIPT = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/** A shared store on Redis: keys prefixed, values strings, TTLs in ms (`PX`), every command time-bounded. */
export class RedisStore implements AtomicStore {
  /** What is put before every key. */
  readonly prefix: string;
  /** Longest wait for one command, in ms. */
  readonly timeoutMs: number;
  readonly #client: RedisClientLike;
  /** The client {@link RedisStore.connect} opened, which {@link RedisStore.close} closes. */
  #owned: OwnedClient | undefined;
  /** The last reading of Redis's eviction settings: the policy that may evict keys early, if any. */
  #eviction: { atMs: number; evictingPolicy: string | undefined } | undefined;
  #evictionReading: Promise<string | undefined> | undefined;

  constructor(options: RedisStoreOptions) {
    if (!options?.client || typeof options.client.call !== 'function')
      throw new ConfigurationError('RedisStore needs an ioredis client: new RedisStore({ client: new Redis(url) })');
    this.#client = options.client;
    this.prefix = options.prefix ?? 'ors:';
    this.timeoutMs = options.timeoutMs ?? 1000;
    if (!(this.timeoutMs > 0)) throw new ConfigurationError('RedisStore timeoutMs must be a positive number of ms');
  }

  /**
   * Import ioredis, connect to `url` (`redis://…` or `rediss://…`) and wait until Redis is ready (at most
   * `timeoutMs`): rejects if it is unreachable at start-up. Once connected, the client reconnects by itself
   * after an outage. {@link RedisStore.close} closes this client.
   */
  static async connect(url: string, options: RedisConnectOptions = {}): Promise<RedisStore> {
    const mod = (await importPeer('ioredis', 'RedisStore.connect')) as {
      Redis?: RedisConstructor;
      default?: RedisConstructor | { Redis?: RedisConstructor };
    };
    const Redis = mod.Redis ?? (typeof mod.default === 'function' ? mod.default : mod.default?.Redis);
    if (!Redis) throw new ConfigurationError('the installed ioredis exports no Redis client');
    const timeoutMs = options.timeoutMs ?? 1000;
    const client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: timeoutMs,
      ...options.redisOptions,
    });
    // Failures reach callers as rejected commands; without a listener ioredis would print each one.
    client.on('error', () => undefined);
    try {
      await withTimeout(client.connect(), timeoutMs, `Redis at ${redactUrl(url)} was not ready within ${timeoutMs} ms`);
    } catch (err) {
      client.disconnect();
      throw err;
    }
    const store = new RedisStore({ client, prefix: options.prefix, timeoutMs });
    store.#owned = client;
    return store;
  }

  async get(key: string): Promise<string | undefined> {
    const v = await this.#run('GET', [this.prefix + key]);
    return typeof v === 'string' ? v : v instanceof Buffer ? v.toString('utf8') : undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    if (!(ttlMs > 0)) {
      await this.#run('DEL', [this.prefix + key]);
      return;
    }
    await this.#run('SET', [this.prefix + key, value, ...expiry(ttlMs)]);
  }

  async delete(key: string): Promise<void> {
    await this.#run('DEL', [this.prefix + key]);
  }

  /**
   * `SET NX PX`. The claim must last its whole TTL (a DPoP `jti` forgotten early is a replay accepted), so
   * this rejects while Redis has a memory limit with an evicting `maxmemory-policy` (read with `INFO memory`
   * at most once a minute): under memory pressure such a Redis drops keys before their TTL. With
   * `noeviction` a full Redis refuses the write instead, and the kit fails closed. A Redis that does not let
   * this client run `INFO` is trusted to be configured so.
   */
  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    if (!(ttlMs > 0)) return false;
    const policy = await this.#evictingPolicy();
    if (policy !== undefined) {
      throw new StoreError({
        code: 'ERR_STORE_EVICTING',
        message:
          `Redis may evict keys before their TTL (maxmemory-policy ${policy} with a maxmemory limit): ` +
          'set-if-absent refuses; configure maxmemory-policy noeviction',
      });
    }
    return (await this.#run('SET', [this.prefix + key, value, ...expiry(ttlMs), 'NX'])) === 'OK';
  }

  /** The `maxmemory-policy` when Redis may evict keys early (a limit and a policy other than noeviction). */
  #evictingPolicy(): string | undefined | Promise<string | undefined> {
    const known = this.#eviction;
    if (known && Date.now() - known.atMs < EVICTION_RECHECK_MS) return known.evictingPolicy;
    this.#evictionReading ??= this.#run('INFO', ['memory'])
      .then(
        (reply) => {
          const info = typeof reply === 'string' ? reply : reply instanceof Buffer ? reply.toString('utf8') : '';
          const limit = Number(/^maxmemory:(\d+)/m.exec(info)?.[1] ?? 0);
          const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
          return limit > 0 && policy !== undefined && policy !== 'noeviction' ? policy : undefined;
        },
        () => undefined, // INFO refused or failed: nothing learnt (a failing Redis fails the SET too)
      )
      .then((evictingPolicy) => {
        this.#eviction = { atMs: Date.now(), evictingPolicy };
        return evictingPolicy;
      })
      .finally(() => {
        this.#evictionReading = undefined;
      });
    return this.#evictionReading;
  }

  async withLock<T>(name: string, leaseMs: number, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    if (!(leaseMs > 0) || !Number.isFinite(leaseMs)) throw new RangeError('the lock lease must be a positive, finite number of ms');
    const key = `${this.prefix}lock:${name}`;
    const token = randomBytes(16).toString('hex');
    const release = async () => {
      await this.#run('EVAL', [RELEASE_SCRIPT, 1, key, token]);
    };
    const tryAcquire = async () => {
      try {
        return (await this.#run('SET', [key, token, 'PX', Math.ceil(leaseMs), 'NX'])) === 'OK';
      } catch (err) {
        // A SET whose reply timed out may still run, holding the lock with this token (known to nobody once
        // this rejects) for the whole lease. Release it behind the SET: commands on one connection run in
        // order. Not awaited, and its own failure is moot (the lease still frees the lock).
        void release().catch(() => undefined);
        throw err;
      }
    };
    return runWithLease(name, options.waitMs ?? 2 * leaseMs, tryAcquire, release, fn);
  }

  /** Close the client if {@link RedisStore.connect} opened it (a client passed in is left to its owner). */
  async close(): Promise<void> {
    const client = this.#owned;
    if (!client) return;
    this.#owned = undefined;
    await withTimeout(client.quit(), this.timeoutMs, 'Redis QUIT timed out').catch(() => client.disconnect());
  }

  #run(command: string, args: (string | number)[]): Promise<unknown> {
    let reply: Promise<unknown>;
    try {
      reply = this.#client.call(command, args);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return withTimeout(reply, this.timeoutMs, `Redis ${command} did not answer within ${this.timeoutMs} ms`);
  }
}

/** `PX ms`, or nothing for a TTL that means "keep". */
function expiry(ttlMs: number): (string | number)[] {
  return Number.isFinite(ttlMs) && ttlMs < NO_EXPIRY_MS ? ['PX', Math.ceil(ttlMs)] : [];
}

/** `p`, or a rejection with `message` after `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreError({ code: 'ERR_STORE_TIMEOUT', message })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the given URL';
  }
}
