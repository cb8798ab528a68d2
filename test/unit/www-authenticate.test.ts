/** The `WWW-Authenticate` writer and parser (RFC 9110 §11.6.1 syntax, RFC 6750 §3 value rules). */
import { describe, expect, it } from '@jest/globals';
import { formatChallenge, parseChallenges, sanitizeDescription, isScopeToken, type Challenge } from '../../src/answers/www-authenticate.js';
import { answerFor, bearerChallenge } from '../../src/answers/error-answer.js';
import {
  AuthorizationServerUnavailableError,
  ConfigurationError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingCredentialsError,
} from '../../src/answers/errors.js';

describe('formatChallenge', () => {
  it('writes a bare scheme when there are no params', () => {
    expect(formatChallenge({ scheme: 'Bearer', params: [] })).toBe('Bearer');
  });

  it('writes every value as a quoted-string, comma-separated, in order', () => {
    expect(
      formatChallenge({
        scheme: 'Bearer',
        params: [
          ['realm', 'example'],
          ['error', 'invalid_token'],
          ['scope', 'a b'],
        ],
      }),
    ).toBe('Bearer realm="example", error="invalid_token", scope="a b"');
  });

  it('escapes " and \\ in ordinary values (quoted-pair) and the parser reads them back (CONFORMANCE 13)', () => {
    const header = formatChallenge({ scheme: 'Bearer', params: [['realm', 'a "quoted" \\ realm']] });
    expect(header).toBe('Bearer realm="a \\"quoted\\" \\\\ realm"');
    expect(parseChallenges(header)[0]!.params).toEqual([['realm', 'a "quoted" \\ realm']]);
  });

  it('keeps only the first of repeated params, case-insensitively (CONFORMANCE 13)', () => {
    const header = formatChallenge({
      scheme: 'Bearer',
      params: [
        ['error', 'a'],
        ['ERROR', 'b'],
        ['realm', 'r'],
        ['Realm', 's'],
      ],
    });
    expect(header).toBe('Bearer error="a", realm="r"');
  });

  it('turns ", \\ and control characters of error and error_description into spaces (CONFORMANCE 14)', () => {
    const header = formatChallenge({
      scheme: 'Bearer',
      params: [
        ['error', 'x"y'],
        ['error_description', 'say "hi" \\ now\r\nSet-Cookie: a=b\u00e9'],
      ],
    });
    expect(header).not.toMatch(/[\r\n]/);
    const params = Object.fromEntries(parseChallenges(header)[0]!.params);
    expect(params.error).toBe('x y');
    expect(params.error_description).toBe('say  hi    now  Set-Cookie: a=b ');
    expect(params.error_description).toMatch(/^[\x20\x21\x23-\x5B\x5D-\x7E]*$/);
  });

  it('drops control characters from any value', () => {
    const header = formatChallenge({ scheme: 'Bearer', params: [['realm', 'a\r\nb\u0000c']] });
    expect(header).not.toMatch(/[\x00-\x1F]/);
  });

  it('writes a token68 challenge', () => {
    expect(formatChallenge({ scheme: 'Negotiate', params: [], token68: 'YWJj==' })).toBe('Negotiate YWJj==');
  });
});

describe('parseChallenges', () => {
  it('parses one challenge with quoted and token values, lower-casing param names', () => {
    expect(parseChallenges('Bearer Realm="example", error=invalid_token, error_description="The token expired"')).toEqual([
      {
        scheme: 'Bearer',
        params: [
          ['realm', 'example'],
          ['error', 'invalid_token'],
          ['error_description', 'The token expired'],
        ],
      },
    ]);
  });

  it('parses several comma-joined challenges (RFC 9110 §11.6.1)', () => {
    const cs = parseChallenges('Bearer realm="api", scope="a b", DPoP algs="ES256 PS256", Basic realm="x"');
    expect(cs.map((c) => c.scheme)).toEqual(['Bearer', 'DPoP', 'Basic']);
    expect(cs[0]!.params).toEqual([
      ['realm', 'api'],
      ['scope', 'a b'],
    ]);
    expect(cs[1]!.params).toEqual([['algs', 'ES256 PS256']]);
    expect(cs[2]!.params).toEqual([['realm', 'x']]);
  });

  it('parses bare schemes, with or without commas and whitespace', () => {
    expect(parseChallenges('Bearer').map((c) => c.scheme)).toEqual(['Bearer']);
    expect(parseChallenges('Bearer, Basic realm="x"').map((c) => [c.scheme, c.params.length])).toEqual([
      ['Bearer', 0],
      ['Basic', 1],
    ]);
    expect(parseChallenges('  Bearer   realm = "r" ,  error="e"  ')[0]!.params).toEqual([
      ['realm', 'r'],
      ['error', 'e'],
    ]);
  });

  it('parses a token68 challenge, including trailing =', () => {
    expect(parseChallenges('Negotiate YWJjZA==, Bearer realm="r"')).toEqual([
      { scheme: 'Negotiate', params: [], token68: 'YWJjZA==' },
      { scheme: 'Bearer', params: [['realm', 'r']] },
    ]);
  });

  it('keeps commas and = inside quoted values', () => {
    expect(parseChallenges('Bearer error_description="a, b=c", realm="r"')[0]!.params).toEqual([
      ['error_description', 'a, b=c'],
      ['realm', 'r'],
    ]);
  });

  it.each(['Bearer realm="unterminated', 'Bearer realm="a" error="b"', '"quoted"', 'Bearer realm=@'])(
    'throws SyntaxError on malformed input %p',
    (bad) => {
      expect(() => parseChallenges(bad)).toThrow(SyntaxError);
    },
  );

  it('round-trips what formatChallenge writes', () => {
    const challenges: Challenge[] = [
      {
        scheme: 'Bearer',
        params: [
          ['realm', 'r "q" \\'],
          ['scope', 'read:orders https://api.example.com/x:read'],
        ],
      },
      {
        scheme: 'Bearer',
        params: [
          ['error', 'insufficient_scope'],
          ['error_description', 'needs more'],
          ['error_uri', 'https://e.example/doc?a=1,2'],
        ],
      },
    ];
    for (const c of challenges) expect(parseChallenges(formatChallenge(c))).toEqual([c]);
  });
});

describe('helpers', () => {
  it('sanitizeDescription keeps the allowed set and replaces everything else with a space', () => {
    const allowed = Array.from({ length: 0x7f - 0x20 }, (_, i) => String.fromCharCode(0x20 + i))
      .filter((c) => c !== '"' && c !== '\\')
      .join('');
    expect(sanitizeDescription(allowed)).toBe(allowed);
    expect(sanitizeDescription('"\\\t\n\u007f\u00e9')).toBe('      ');
  });

  it('isScopeToken accepts NQCHAR strings only', () => {
    for (const s of ['read:orders', 'https://api.example.com/orders:read', "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~"])
      expect(isScopeToken(s)).toBe(true);
    for (const s of ['', 'a b', 'a"b', 'a\\b', 'caf\u00e9', 'a\tb']) expect(isScopeToken(s)).toBe(false);
  });
});

describe('answers (RFC 6750 §3, §3.1)', () => {
  const settings = { realm: 'api', includeScopeInChallenge: true, format: 'json' as const };
  const params = (h: string | undefined) => Object.fromEntries(parseChallenges(h!)[0]!.params);

  it('no credentials: 401, realm only, empty body (CONFORMANCE 4)', () => {
    const a = answerFor(new MissingCredentialsError(), settings);
    expect(a.status).toBe(401);
    expect(params(a.headers['www-authenticate'])).toEqual({ realm: 'api' });
    expect(a.body).toBeUndefined();
    expect(bearerChallenge(undefined, { ...settings, realm: undefined })).toEqual({ scheme: 'Bearer', params: [] });
  });

  it("no credentials on a route with written scopes: the challenge names them, still without error (RFC 6750 §3; MCP's 401 scope)", () => {
    const a = answerFor(new MissingCredentialsError(undefined, ['mcp:tools', 'notes:read']), settings);
    expect(a.status).toBe(401);
    expect(params(a.headers['www-authenticate'])).toEqual({ realm: 'api', scope: 'mcp:tools notes:read' });
    expect(a.body).toBeUndefined();
    const dpop = answerFor(new MissingCredentialsError(undefined, ['mcp:tools']), {
      ...settings,
      dpop: { algs: ['ES256'], required: false },
    });
    expect(parseChallenges(dpop.headers['www-authenticate']!).map((c) => [c.scheme, Object.fromEntries(c.params).scope])).toEqual([
      ['Bearer', 'mcp:tools'],
      ['DPoP', 'mcp:tools'],
    ]);
    expect(
      params(
        answerFor(new MissingCredentialsError(undefined, ['mcp:tools']), { ...settings, includeScopeInChallenge: false }).headers[
          'www-authenticate'
        ],
      ),
    ).toEqual({ realm: 'api' });
  });

  it('invalid_request: 400 with the error in challenge and body', () => {
    const a = answerFor(new InvalidRequestError('ERR_TOKEN_MULTIPLE', 'two tokens'), settings);
    expect(a.status).toBe(400);
    expect(params(a.headers['www-authenticate'])).toEqual({ realm: 'api', error: 'invalid_request', error_description: 'two tokens' });
    expect(JSON.parse(a.body!)).toEqual({ error: 'invalid_request', error_description: 'two tokens' });
    expect(a.headers['cache-control']).toBe('no-store');
  });

  it('invalid_token: 401 (CONFORMANCE 11)', () => {
    const a = answerFor(new InvalidTokenError('ERR_TOKEN_EXPIRED', 'expired'), settings);
    expect(a.status).toBe(401);
    expect(params(a.headers['www-authenticate']).error).toBe('invalid_token');
  });

  it('insufficient_scope: 403 with scope, or without when configured (CONFORMANCE 12)', () => {
    const err = new InsufficientScopeError(['read:orders', 'read:customers']);
    const a = answerFor(err, settings);
    expect(a.status).toBe(403);
    expect(params(a.headers['www-authenticate'])).toMatchObject({ error: 'insufficient_scope', scope: 'read:orders read:customers' });
    expect(params(answerFor(err, { ...settings, includeScopeInChallenge: false }).headers['www-authenticate']).scope).toBeUndefined();
  });

  it('503 with Retry-After and no challenge when the AS is unreachable', () => {
    const a = answerFor(new AuthorizationServerUnavailableError('down', 7), settings);
    expect(a.status).toBe(503);
    expect(a.headers['retry-after']).toBe('7');
    expect(a.headers['www-authenticate']).toBeUndefined();
    expect(JSON.parse(a.body!).error).toBe('temporarily_unavailable');
  });

  it('a configuration error or a foreign error is a 500 that leaks nothing', () => {
    for (const err of [new ConfigurationError('secret path /etc/x'), new Error('db password hunter2')]) {
      const a = answerFor(err, settings);
      expect(a.status).toBe(500);
      expect(a.body).not.toMatch(/etc|hunter2/);
      expect(JSON.parse(a.body!).error).toBe('server_error');
    }
  });

  it('problem format: application/problem+json with the OAuth code', () => {
    const a = answerFor(new InvalidTokenError('ERR_TOKEN_EXPIRED', 'expired'), { ...settings, format: 'problem' });
    expect(a.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(a.body!)).toEqual({
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      detail: 'expired',
      error: 'invalid_token',
    });
  });
});
