// Under Jest's CommonJS runtime the development AS runs in Node's own module context: its errors still reach
// the test as this context's errors, so `rejects.toThrow(Error)` works as it does everywhere else.
const { startDevAuthorizationServer } = require('oauth-resource-server/testing');

test('a refused mint rejects with an Error of the test context', async () => {
  const as = await startDevAuthorizationServer({ resources: [{ identifier: 'https://api.example.com/orders', scopes: ['read:orders'] }] });
  try {
    await expect(as.mintAccessToken({ resource: 'https://unknown.example.com', scope: 'read:orders' })).rejects.toThrow(Error);
  } finally {
    await as.close();
  }
});

test('bad options reject with a TypeError of the test context', async () => {
  await expect(startDevAuthorizationServer({ registration: {} })).rejects.toThrow(TypeError);
});
